"""Stage evaluate: full-ranking test metrics of a trained generative variant (trie-constrained beam search).

For a variant with composition it also writes ``composition`` (eq. 16 diagnostics per site on the
teacher-forced test contexts) and the context ablation ``test_constant_context``: the same beam search
with every user's context u replaced by the mean u over the test users (composition made constant),
and ``constant_context_gap`` = test − test_constant_context per metric.

Launched as N processes (``accelerate launch --multi_gpu --num_processes N -m stages.evaluate …``), the
users are decoded in shards and rank 0 writes the same outputs a single process would.
"""

from pipeline_lib.cli import checked_choice, dataset_argparser, run_stage
from pipeline_lib.data.store import read_split
from pipeline_lib.distributed import start
from pipeline_lib.evaluation import (
    composition_report,
    composition_utilization,
    rank_constant_context,
    rank_generative,
)
from pipeline_lib.io import write_json, write_parquet
from pipeline_lib.metrics import hit_ranks, rank_frame, ranking_metrics
from pipeline_lib.models.store import load_generative
from pipeline_lib.models.variants import VARIANTS
from pipeline_lib.params import dataset_spec, load_params, stage_section
from pipeline_lib.paths import DatasetPaths, run_name
from pipeline_lib.protocol import add_seed_argument, decode_settings, training_seed
from pipeline_lib.tokenizer.rqvae import load_codebooks
from pipeline_lib.tokenizer.semantic_ids import read_semantic_ids, utilization
from pipeline_lib.training.generative import generative_data


def main() -> None:
    parser = dataset_argparser(__doc__)
    parser.add_argument("variant", help="a name in params.yaml's variants or tokenizer_variants (checked after the params)")
    add_seed_argument(parser)
    args = parser.parse_args()
    params = load_params(args.params)
    variant = checked_choice(args.variant, VARIANTS, "variant", args.params)
    spec = dataset_spec(params, args.dataset, args.params)
    paths = DatasetPaths(args.dataset)
    run = stage_section(params, spec, "train")
    dist = start(run.get("device", "auto"))
    device = dist.device
    protocol, decode = decode_settings(params, spec, args.params)
    seed = training_seed(params, args.seed, args.params)
    name = run_name(variant, seed)

    tokenizer = VARIANTS[variant].tokenizer
    codebooks = load_codebooks(paths.rqvae_of(tokenizer))
    sids = read_semantic_ids(paths.semantic_ids_of(tokenizer))
    data, test = generative_data(read_split(paths), sids, codebooks.shape[1], protocol.max_history, device)
    model = load_generative(paths.model_weights(name), codebooks, device)

    bf16 = run.get("bf16", True)
    ranked = rank_generative(model, test.histories, data.item_tokens, data.trie, decode, bf16, dist)
    if model.composition is not None:  # the context ablation: every rank decodes with the same constant u
        contexts = (test.histories, test.targets, data.item_tokens)
        constant = rank_constant_context(model, *contexts, data.trie, decode, bf16, dist)
    if dist.is_main:  # every rank holds all users' lists
        composition: dict = {}
        if model.composition is not None:
            layers = composition_utilization(model, test.histories, test.targets, data.item_tokens, decode.batch_size)
            composition = composition_report(model, ranked, constant, *contexts, decode)
        else:
            layers = utilization(sids[:, :-1], codebooks.shape[1])
        write_parquet(paths.user_ranks(name), rank_frame(test.users, test.targets, hit_ranks(ranked, test.targets)))
        write_json(
            paths.eval_metrics(name),
            {
                "model": variant,
                "dataset": args.dataset,
                "seed": seed,
                **protocol.record(),
                "test": ranking_metrics(ranked, test.targets, decode.ks),
                "utilization": {f"layer_{i + 1}": share for i, share in enumerate(layers)},
                **composition,
            },
        )
    dist.finish()


if __name__ == "__main__":
    run_stage(main)
