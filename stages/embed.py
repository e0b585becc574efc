"""Stage embed: item metadata → text template → sentence-transformers embeddings, aligned with item ids."""

from pipeline_lib.cli import dataset_argparser, run_stage
from pipeline_lib.data.sources import load_item_meta
from pipeline_lib.data.store import read_table
from pipeline_lib.io import atomic_directory, write_parquet, write_tensors
from pipeline_lib.params import make_config
from pipeline_lib.schema import dataset_stage
from pipeline_lib.text.config import EmbedConfig
from pipeline_lib.text.embedding import embed_items, item_texts


def main() -> None:
    args, params, spec, paths = dataset_stage(dataset_argparser(__doc__))
    config = make_config(EmbedConfig, params["embed"], args.params, "embed")

    items = read_table(paths.items, "items")
    meta = load_item_meta(spec, paths.raw, set(items["parent_asin"]), require_title=config.require_title)
    texts = item_texts(items, meta, config)
    embeddings = embed_items(texts, config)
    with atomic_directory(paths.embedded) as staged:
        write_parquet(staged / paths.item_text.name, texts)
        write_tensors(staged / paths.item_embeddings.name, {"embeddings": embeddings}, metadata={"model": config.model})


if __name__ == "__main__":
    run_stage(main)
