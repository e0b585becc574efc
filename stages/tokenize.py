"""Stage tokenize: item embeddings → RQ-VAE → unique 4-token semantic IDs, codebooks and tokenizer metrics."""

import time

from pipeline_lib.cli import dataset_argparser, run_stage
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import atomic_directory, write_json, write_parquet
from pipeline_lib.params import dataset_spec, load_params, stage_section
from pipeline_lib.paths import DatasetPaths
from pipeline_lib.tokenizer.evaluation import tokenizer_metrics
from pipeline_lib.tokenizer.inputs import check_enough_items, load_item_embeddings
from pipeline_lib.tokenizer.rqvae import save_rqvae
from pipeline_lib.tokenizer.semantic_ids import CollisionOverflowError, assign_semantic_ids, semantic_id_frame
from pipeline_lib.tokenizer.settings import tokenize_settings
from pipeline_lib.tokenizer.training import new_rqvae, train_rqvae


def main() -> None:
    args = dataset_argparser(__doc__).parse_args()
    params = load_params(args.params)
    spec = dataset_spec(params, args.dataset, args.params)
    paths = DatasetPaths(args.dataset)

    x = load_item_embeddings(paths.item_embeddings, paths.items)
    settings = tokenize_settings(params, stage_section(params, spec, "tokenize"), x.shape[1], args.params)
    check_enough_items(x.shape[0], settings.model.codebook_size, settings.train.kmeans_init, paths.item_embeddings)

    start = time.perf_counter()
    x = x.to(settings.device)
    model = new_rqvae(settings.model, settings.seed, settings.device)
    train_rqvae(model, x, settings.train, settings.seed)
    codes = model.encode(x)
    try:
        ids = assign_semantic_ids(codes, settings.model.codebook_size)
    except CollisionOverflowError as err:
        raise PipelineInputError(paths.item_embeddings, str(err)) from None
    metrics = tokenizer_metrics(model, x, codes)

    with atomic_directory(paths.tokenizer) as staged:
        save_rqvae(model, staged / paths.rqvae.name)
        write_parquet(staged / paths.semantic_ids.name, semantic_id_frame(ids))
    write_json(paths.tokenizer_metrics, metrics)
    summary = ", ".join(f"{k}={v:.4g}" for k, v in metrics.items())
    print(f"tokenize {args.dataset} on {settings.device}: {summary} ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    run_stage(main)
