"""Stage baseline: a sequential recommender (SASRec, GRU4Rec, BERT4Rec, Caser, FDSA or S3Rec) trained, then tested
by full ranking, once per training seed (every entry of ``seeds``, or only ``--seed S``).

FDSA and S3Rec also read the item attributes (category levels, brand) from the raw metadata; S3Rec
pre-trains for ``baselines.s3rec.pretrain_epochs`` epochs before the shared fine-tuning loop.
"""

import time
from functools import partial

import torch

from pipeline_lib.cli import checked_choice, dataset_argparser, run_stage
from pipeline_lib.data.attributes import load_attribute_table
from pipeline_lib.data.store import read_split
from pipeline_lib.device import resolve_device
from pipeline_lib.io import atomic_directory, write_json, write_parquet
from pipeline_lib.metrics import hit_ranks, rank_frame, ranking_metrics
from pipeline_lib.parallel import run_seeds
from pipeline_lib.params import make_config, stage_section
from pipeline_lib.paths import run_name
from pipeline_lib.protocol import add_seed_argument, decode_settings
from pipeline_lib.schema import dataset_stage
from pipeline_lib.training.config import BaselineConfig
from pipeline_lib.training.fingerprint import run_fingerprint
from pipeline_lib.training.loop import run_summary, run_timings
from pipeline_lib.training.runs import training_runs
from pipeline_lib.training.s3rec import pretrain_s3rec, pretraining_sequences
from pipeline_lib.training.sequential import (
    ATTRIBUTE_MODELS,
    SEQUENTIAL_MODELS,
    rank_sequential,
    save_item_embeddings,
    save_sequential,
    sequential_data,
    train_sequential,
    training_objective,
)
from pipeline_lib.training.stopping import validation_subset


def main() -> None:
    parser = dataset_argparser(__doc__)
    parser.add_argument("model", help="a name in params.yaml's baseline_models (checked after the params)")
    add_seed_argument(parser)
    args, params, spec, paths = dataset_stage(parser)
    model_name = checked_choice(args.model, {*SEQUENTIAL_MODELS, *ATTRIBUTE_MODELS}, "model", args.params)
    seeds, cpu, rule = training_runs(params, spec, args.seed, args.params)
    section = stage_section(params, spec, "baselines")
    shared = {key: value for key, value in section.items() if key not in {*SEQUENTIAL_MODELS, *ATTRIBUTE_MODELS}}
    shared = rule.applied(shared)
    device = resolve_device(shared.pop("device", "auto"))
    model_values = dict(section.get(model_name) or {})
    own_lr = model_values.pop("lr", None)  # a model's own learning rate (baselines.<model>.lr) replaces baselines.lr
    optim = make_config(BaselineConfig, shared | ({} if own_lr is None else {"lr": own_lr}), args.params, "baselines")
    protocol, decode = decode_settings(params, spec, args.params)
    ks, max_len = decode.ks, protocol.max_history
    on_cpu = device.type == "cpu"
    threads = cpu.run_threads(on_cpu)

    split = read_split(paths)
    train, valid, test = sequential_data(split, max_len, device)
    valid = validation_subset(rule, valid)
    attributes = load_attribute_table(spec, paths, split.items) if model_name in ATTRIBUTE_MODELS else None
    builder = SEQUENTIAL_MODELS.get(model_name) or partial(ATTRIBUTE_MODELS[model_name], attributes=attributes)

    def run(seed: int) -> None:
        name = run_name(model_name, seed)
        torch.manual_seed(seed)
        model = make_config(
            lambda **values: builder(len(split.items), max_len, values),
            model_values,
            args.params,
            f"baselines.{model_name}",
        ).to(device)

        run_id = run_fingerprint(
            params={"model": model_name, "config": model.config, "baselines": optim, "ks": ks, "max_seq_len": max_len,
                    "seed": seed, "threads": threads, **rule.record()},
            files=[paths.train, paths.valid, paths.items],
            tensors={} if attributes is None else {"item_attributes": attributes.ids},
        )

        started = time.perf_counter()
        # S3Rec's pre-training phase (its objectives at the first and last epoch go to the train metrics); re-run on
        # a resume
        pretraining = pretrain_s3rec(model, pretraining_sequences(train), optim, seed) if model_name == "s3rec" else None
        checkpoint = paths.checkpoint(name)
        result = train_sequential(
            model, train, valid, optim, ks, seed, checkpoint, run_id, paths.curve(name)
        )
        model.load_state_dict(result.best_weights["model"])
        with atomic_directory(paths.model_dir(name)) as staged:
            save_sequential(staged / paths.model_weights(name).name,
                            staged / paths.model_config(name).name, model, model_name)
            if model_name == "sasrec":
                save_item_embeddings(staged / paths.item_embeddings_of(name).name, model)

        ranked = rank_sequential(model, test.histories, max(ks), optim.batch_size, optim.exclude_history)
        write_parquet(paths.user_ranks(name), rank_frame(test.users, test.targets, hit_ranks(ranked, test.targets)))
        write_json(
            paths.eval_metrics(name),
            {
                "model": model_name,
                "dataset": args.dataset,
                "seed": seed,
                "protocol": protocol.name,
                "max_history": protocol.max_history,  # no beam: every item is scored
                "test": ranking_metrics(ranked, test.targets, ks),
            },
        )
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        write_json(
            paths.train_metrics(name),
            {
                **run_summary(result, device, trainable),
                "seed": seed,
                "loss": training_objective(model, optim.loss),
                "exclude_history": optim.exclude_history,
                "threads": threads,
                **rule.record(),
                **({} if pretraining is None else {"pretraining": pretraining}),
            },
        )
        write_json(paths.timings(name), run_timings(result, started))
        checkpoint.unlink(missing_ok=True)  # finished: the next run starts afresh rather than "resuming" a done run

    run_seeds(run, seeds, cpu, on_cpu)


if __name__ == "__main__":
    run_stage(main)
