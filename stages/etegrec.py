"""Stage etegrec: ETEGRec — an RQ-VAE over SASRec item embeddings, pretrained, then trained jointly with a
T5 generative recommender by alternating optimisation (3.4), then the recommender fine-tuned alone (the authors'
final stage); full-ranking test metrics under the params' ``protocol``, once per training seed (every entry of
``seeds``, or only ``--seed S``), each reading the SASRec run of its seed.

The train metrics' top-level ``best_epoch`` / ``epochs`` / ``valid`` are the whole run's (epochs of both phases,
the tested weights' epoch and validation); ``stopped_by`` is patience only when both phases reached their plateau;
``alternation`` and ``finetune`` say what each phase did, with each loss term at its first and last epoch."""

import time
from dataclasses import replace

import torch

from pipeline_lib.cli import dataset_argparser, run_stage
from pipeline_lib.data.store import read_split
from pipeline_lib.device import resolve_device
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import atomic_directory, write_json, write_parquet
from pipeline_lib.metrics import hit_ranks, rank_frame, ranking_metrics
from pipeline_lib.models.etegrec import ETEGRec, save_etegrec
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.parallel import run_seeds
from pipeline_lib.params import stage_section
from pipeline_lib.paths import run_name
from pipeline_lib.protocol import add_seed_argument
from pipeline_lib.schema import dataset_stage
from pipeline_lib.tokenizer.inputs import check_enough_items, load_item_embeddings
from pipeline_lib.tokenizer.rqvae import save_rqvae
from pipeline_lib.tokenizer.semantic_ids import (
    CollisionOverflowError,
    collision_stats,
    semantic_id_frame,
    utilization,
)
from pipeline_lib.tokenizer.training import new_rqvae, train_rqvae
from pipeline_lib.training.etegrec import (
    etegrec_settings,
    finetune_checkpoint,
    joint_data,
    rank_items,
    train_etegrec,
)
from pipeline_lib.training.fingerprint import run_fingerprint
from pipeline_lib.training.loop import run_summary, run_timings
from pipeline_lib.training.runs import training_runs
from pipeline_lib.training.stopping import validation_subset

MODEL = "etegrec"


def main() -> None:
    parser = dataset_argparser(__doc__)
    add_seed_argument(parser)
    args, params, spec, paths = dataset_stage(parser)
    seeds, cpu, rule = training_runs(params, spec, args.seed, args.params)
    on_cpu = resolve_device(stage_section(params, spec, "etegrec").get("device", "auto")).type == "cpu"
    threads = cpu.run_threads(on_cpu)
    split = read_split(paths)

    def run(seed: int) -> None:
        name = run_name(MODEL, seed)
        embeddings_path = paths.item_embeddings_of(run_name("sasrec", seed))  # the SASRec run of the same seed
        if not embeddings_path.is_file():
            raise PipelineInputError(embeddings_path, "not found; run the baseline stage for sasrec first (dvc repro)")
        x = load_item_embeddings(embeddings_path, paths.items)
        settings = etegrec_settings(params, spec, x.shape[1], args.params)  # with the stopping rule applied
        check_enough_items(x.shape[0], settings.rqvae.codebook_size, settings.pretrain.kmeans_init, embeddings_path)
        device = settings.device

        started = time.perf_counter()
        data, test = joint_data(split, x, settings.max_history, device)
        data = replace(data, valid=validation_subset(rule, data.valid))
        tokenizer = new_rqvae(settings.rqvae, seed, device)
        pretrain = train_rqvae(tokenizer, data.embeddings, settings.pretrain, seed)
        torch.manual_seed(seed)
        recommender = GenerativeRecommender(settings.recommender, level_softmax=settings.alignment.rec_softmax == "level")
        alignment = settings.alignment
        model = ETEGRec(tokenizer, recommender, x.shape[0], alignment.sia_space, alignment.init_std).to(device)
        checkpoint = paths.checkpoint(name)
        try:
            model.refresh_semantic_ids(data.embeddings)
            run_id = run_fingerprint(
                params={**settings.resume_settings(), "seed": seed, "threads": threads, **rule.record()},
                files=[paths.sequences, embeddings_path, paths.items],
                tensors={"pretrained_semantic_ids": model.semantic_ids},
            )
            result = train_etegrec(
                model, data, settings.optim, alignment, settings.decode, seed, checkpoint, run_id, paths.curve(name),
            )  # the model now holds the tested weights
        except CollisionOverflowError as err:
            hint = "; lower etegrec.tokenizer_lr / mu / lam or pretrain the tokenizer longer"
            raise PipelineInputError(embeddings_path, f"{err}{hint}") from None
        overall = result.overall()

        with atomic_directory(paths.model_dir(name)) as staged:
            save_etegrec(staged / paths.model_weights(name).name, staged / paths.model_config(name).name, model)
            save_rqvae(model.tokenizer, staged / "tokenizer.safetensors")
            write_parquet(staged / "semantic_ids.parquet", semantic_id_frame(model.semantic_ids))

        ranked = rank_items(model, test.histories, settings.decode, settings.optim.bf16)
        write_parquet(paths.user_ranks(name), rank_frame(test.users, test.targets, hit_ranks(ranked, test.targets)))
        write_json(
            paths.eval_metrics(name),
            {
                "model": MODEL,
                "dataset": args.dataset,
                "seed": seed,
                **settings.protocol.record(),
                "test": ranking_metrics(ranked, test.targets, settings.decode.ks),
            },
        )
        codes = model.semantic_ids[:, :-1]
        write_json(
            paths.train_metrics(name),
            {
                **run_summary(overall, device, sum(p.numel() for p in model.parameters())),
                **result.phases(),
                "seed": seed,
                "threads": threads,
                **rule.record(),
                **settings.protocol.record(),
                "schedule": settings.optim.schedule,
                "sia": alignment.sia,
                "psa": alignment.psa,
                "pretrain_final_loss": pretrain.loss[-1],
                "tokens": {
                    **collision_stats(codes),
                    **{f"utilization_l{i + 1}": u for i, u in enumerate(utilization(codes, settings.rqvae.codebook_size))},
                },
            },
        )
        write_json(paths.timings(name), run_timings(overall, started))
        for done in (checkpoint, finetune_checkpoint(checkpoint)):  # the next run starts afresh, not "resuming"
            done.unlink(missing_ok=True)

    run_seeds(run, seeds, cpu, on_cpu)


if __name__ == "__main__":
    run_stage(main)
