"""Stage train: one generative recommender variant (TIGER or a DECOR ablation, Table 2; TIGER on the
LETTER / CoST tokenizer, Table 1; or ``tiger_hf``, TIGER on Hugging Face's T5, the cross-check) on one dataset, trained and then evaluated on the test split
(trie-constrained beam search) once per training seed — every entry of ``seeds``, or only ``--seed S``.

For a variant with composition the eval JSON also holds ``composition`` (eq. 16 diagnostics per site on
the teacher-forced test contexts) and the context ablation ``test_constant_context`` (every user's context
u replaced by the mean over the test users) with ``constant_context_gap`` = test − that, per metric.

Data-parallel over N processes (GPUs, or CPU processes) when launched by
``accelerate launch --multi_gpu --num_processes N -m stages.train <dataset> <variant>``.
"""

import time
from dataclasses import replace

import torch

from pipeline_lib.cli import checked_choice, dataset_argparser, run_stage
from pipeline_lib.data.store import read_split
from pipeline_lib.distributed import start
from pipeline_lib.evaluation import evaluate_generative
from pipeline_lib.io import atomic_directory, write_json, write_parquet
from pipeline_lib.metrics import hit_ranks, rank_frame
from pipeline_lib.models.store import save_generative
from pipeline_lib.models.variants import VARIANTS, build_generative
from pipeline_lib.parallel import run_seeds
from pipeline_lib.params import make_config, stage_section
from pipeline_lib.paths import run_name
from pipeline_lib.protocol import add_seed_argument, decode_settings
from pipeline_lib.schema import dataset_stage
from pipeline_lib.tokenizer.rqvae import load_codebooks
from pipeline_lib.tokenizer.semantic_ids import read_semantic_ids
from pipeline_lib.training.config import OptimConfig
from pipeline_lib.training.diagnostics import write_empty_steps
from pipeline_lib.training.fingerprint import run_fingerprint
from pipeline_lib.training.generative import dataset_variant_config, generative_data, resume_settings, train_generative
from pipeline_lib.training.loop import run_summary, run_timings
from pipeline_lib.training.runs import training_runs
from pipeline_lib.training.stopping import validation_subset


def main() -> None:
    parser = dataset_argparser(__doc__)
    parser.add_argument("variant", help="a name in params.yaml's variants or tokenizer_variants (checked after the params)")
    add_seed_argument(parser)
    args, params, spec, paths = dataset_stage(parser)
    variant = checked_choice(args.variant, VARIANTS, "variant", args.params)
    seeds, cpu, rule = training_runs(params, spec, args.seed, args.params)
    section = rule.applied(stage_section(params, spec, "train"))
    dist = start(section.pop("device", "auto"))
    device = dist.device
    optim = make_config(OptimConfig, section, args.params, "train")
    protocol, decode = decode_settings(params, spec, args.params)
    on_cpu = device.type == "cpu" and dist.world_size == 1
    threads = cpu.run_threads(on_cpu)

    max_len = protocol.max_history
    tokenizer = VARIANTS[variant].tokenizer  # letter / cost: their own tokenizer, else the shared one
    codebooks = load_codebooks(paths.rqvae_of(tokenizer))
    sids = read_semantic_ids(paths.semantic_ids_of(tokenizer))
    data, test = generative_data(read_split(paths), sids, codebooks.shape[1], max_len, device)
    data = replace(data, valid=validation_subset(rule, data.valid))
    config = dataset_variant_config(variant, params, spec, codebooks)
    inputs = [paths.train, paths.valid, paths.semantic_ids_of(tokenizer), paths.rqvae_of(tokenizer)]

    def run(seed: int) -> None:
        name = run_name(variant, seed)
        torch.manual_seed(seed)
        model = build_generative(variant, config, codebooks).to(device)
        run_id = run_fingerprint(
            params={"model": config, "train": resume_settings(optim), "evaluate": decode, "max_seq_len": max_len,
                    "seed": seed, "threads": threads, **rule.record()},
            files=inputs,
        )
        steps = paths.steps(name)  # a declared output: header-only unless diagnostics are logged
        if dist.is_main and not (optim.diagnostics_every and model.composition is not None):
            write_empty_steps(steps)
        started = time.perf_counter()
        checkpoint = paths.checkpoint(name)
        result = train_generative(model, data, optim, decode, seed, checkpoint, run_id, paths.curve(name), steps, dist)
        model.load_state_dict(result.best_weights["model"])  # every rank: all of them decode the test users
        ranked, report = evaluate_generative(model, test, data.item_tokens, data.trie, sids, decode, optim.bf16, dist)
        if dist.is_main:  # the other ranks hold the same weights, lists and metrics
            with atomic_directory(paths.model_dir(name)) as staged:
                save_generative(staged / paths.model_weights(name).name,
                                staged / paths.model_config(name).name, model, variant)
            if not steps.is_file():  # diagnostics_every beyond the run's last step
                write_empty_steps(steps)
            trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
            record = {"seed": seed, **protocol.record()}
            write_json(paths.train_metrics(name),
                       {**run_summary(result, device, trainable), **record, "processes": dist.world_size,
                        "threads": threads, **rule.record()})
            write_parquet(paths.user_ranks(name), rank_frame(test.users, test.targets, hit_ranks(ranked, test.targets)))
            write_json(paths.eval_metrics(name), {"model": variant, "dataset": args.dataset, **record, **report})
            write_json(paths.timings(name), run_timings(result, started))
            checkpoint.unlink(missing_ok=True)  # finished: the next run starts afresh rather than "resuming" a done run

    run_seeds(run, seeds, cpu, on_cpu)
    dist.finish()


if __name__ == "__main__":
    run_stage(main)
