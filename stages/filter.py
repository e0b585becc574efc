"""Stage filter: deduplicate, iterative k-core, chronological sequences, leave-one-out split."""

from pipeline_lib.cli import dataset_argparser, run_stage
from pipeline_lib.data.interactions import deduplicate, k_core
from pipeline_lib.data.sources import load_interactions
from pipeline_lib.data.split import dataset_stats, split_dataset
from pipeline_lib.data.store import write_split
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import write_json
from pipeline_lib.protocol import LONGEST_HISTORY
from pipeline_lib.schema import dataset_stage


def main() -> None:
    args, params, spec, paths = dataset_stage(dataset_argparser(__doc__))
    k = params["filter"]["k_core"]  # ≥ 3, checked by the schema

    interactions, source = load_interactions(spec, paths.raw)
    kept = k_core(deduplicate(interactions), k)
    if kept.empty:
        raise PipelineInputError(source, f"no interactions left after {k}-core filtering")
    split = split_dataset(kept, LONGEST_HISTORY)  # every protocol cuts its own histories from these
    write_split(paths, split)
    write_json(paths.dataset_stats, {"raw_interactions": len(interactions), **dataset_stats(split)})


if __name__ == "__main__":
    run_stage(main)
