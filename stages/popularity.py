"""Stage popularity: the popularity floor (most frequent training items for everyone) through the shared metric code,
on the test users and, for comparing a dataset's validation and test difficulty, on the validation users."""

import numpy as np
import torch

from pipeline_lib.cli import dataset_argparser, run_stage
from pipeline_lib.data.samples import evaluation_samples
from pipeline_lib.data.store import read_split
from pipeline_lib.io import write_json, write_parquet
from pipeline_lib.metrics import hit_ranks, popularity_ranking, rank_frame, ranking_metrics
from pipeline_lib.params import make_config, stage_section
from pipeline_lib.protocol import DecodeConfig
from pipeline_lib.schema import dataset_stage


def main() -> None:
    args, params, spec, paths = dataset_stage(dataset_argparser(__doc__))
    decode = make_config(DecodeConfig, stage_section(params, spec, "evaluate"), args.params, "evaluate")

    split = read_split(paths)
    train_items = np.concatenate([np.asarray(s, dtype=np.int64) for s in split.train["item_ids"]])
    counts = torch.bincount(torch.from_numpy(train_items), minlength=len(split.items))
    test, valid = evaluation_samples(split.test, 1), evaluation_samples(split.valid, 1)
    ranked = popularity_ranking(counts, len(test), decode.top_k)
    write_parquet(paths.user_ranks("popularity"), rank_frame(test.users, test.targets, hit_ranks(ranked, test.targets)))
    write_json(
        paths.eval_metrics("popularity"),
        {
            "model": "popularity",
            "dataset": args.dataset,
            "test": ranking_metrics(ranked, test.targets, decode.ks),
            "valid": ranking_metrics(popularity_ranking(counts, len(valid), decode.top_k), valid.targets, decode.ks),
        },
    )


if __name__ == "__main__":
    run_stage(main)
