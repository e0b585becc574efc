"""Stage tokenize: item embeddings → RQ-VAE → unique 4-token semantic IDs, codebooks and tokenizer metrics.

``python -m stages.tokenize <dataset>`` trains the shared tokenizer (``data/<dataset>/tokenizer``) with the
loss ``tokenize.method`` names; ``python -m stages.tokenize <dataset> letter|cost`` trains LETTER's or CoST's
into ``data/<dataset>/tokenizer_<method>`` (stages tokenize_letter / tokenize_cost). LETTER's collaborative
loss reads the item embeddings of SASRec's run with the first training seed (``seeds[0]``). The metrics JSON
holds each loss term's first- and last-epoch mean, raw and weighted (``loss_terms``, :mod:`pipeline_lib.loss_terms`).
"""

import time

from pipeline_lib.cli import dataset_argparser, run_stage
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import atomic_directory, write_json, write_parquet
from pipeline_lib.params import stage_section
from pipeline_lib.paths import run_name
from pipeline_lib.protocol import training_seed
from pipeline_lib.schema import dataset_stage
from pipeline_lib.tokenizer.evaluation import tokenizer_metrics
from pipeline_lib.tokenizer.inputs import check_enough_items, load_item_embeddings
from pipeline_lib.tokenizer.objectives import make_objective
from pipeline_lib.tokenizer.rqvae import save_rqvae
from pipeline_lib.tokenizer.semantic_ids import CollisionOverflowError, assign_semantic_ids, semantic_id_frame
from pipeline_lib.tokenizer.settings import tokenize_settings
from pipeline_lib.tokenizer.training import new_rqvae, train_rqvae

OWN_TOKENIZERS = ("letter", "cost")  # methods with a tokenizer of their own beside the shared one


def main() -> None:
    parser = dataset_argparser(__doc__)
    parser.add_argument(
        "method", nargs="?", choices=OWN_TOKENIZERS,
        help="train this method's own tokenizer (data/<dataset>/tokenizer_<method>); absent: the shared one",
    )
    args, params, spec, paths = dataset_stage(parser)

    x = load_item_embeddings(paths.item_embeddings, paths.items)
    settings = tokenize_settings(params, stage_section(params, spec, "tokenize"), x.shape[1], args.params)
    check_enough_items(x.shape[0], settings.model.codebook_size, settings.train.kmeans_init, paths.item_embeddings)
    method = args.method or settings.method
    if args.method is None and method == "letter":
        problem = (
            "letter reads SASRec's item embeddings, which stage tokenize does not depend on: use stage tokenize_letter"
        )
        raise PipelineInputError(args.params, problem, field="tokenize.method")
    collaborative = None
    if method == "letter":
        sasrec = paths.item_embeddings_of(run_name("sasrec", training_seed(params, None, args.params)))
        if not sasrec.is_file():
            raise PipelineInputError(sasrec, "not found; run the baseline stage for sasrec first (dvc repro)")
        collaborative = load_item_embeddings(sasrec, paths.items).to(settings.device)

    start = time.perf_counter()
    x = x.to(settings.device)
    model = new_rqvae(settings.model, settings.seed, settings.device)
    objective = make_objective(
        method, settings.letter, settings.cost, settings.model.code_dim, settings.seed, collaborative
    )
    history = train_rqvae(model, x, settings.train, settings.seed, objective=objective)
    codes = model.encode(x)
    try:
        ids = assign_semantic_ids(codes, settings.model.codebook_size)
    except CollisionOverflowError as err:
        raise PipelineInputError(paths.item_embeddings, str(err)) from None
    metrics = tokenizer_metrics(model, x, codes)

    with atomic_directory(paths.tokenizer_of(args.method)) as staged:
        save_rqvae(model, staged / paths.rqvae.name)
        write_parquet(staged / paths.semantic_ids.name, semantic_id_frame(ids))
    write_json(paths.tokenizer_metrics_of(args.method), {**metrics, "loss_terms": history.loss_terms})
    summary = ", ".join(f"{k}={v:.4g}" for k, v in metrics.items())
    label = args.dataset if args.method is None else f"{args.dataset} {args.method}"
    print(f"tokenize {label} on {settings.device}: {summary} ({method}, {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    run_stage(main)
