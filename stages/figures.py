"""Stage figures: DECOR Figure 4 — t-SNE of static vs contextually composed prefix embeddings of the trained DECOR model
(the run of the first training seed in ``seeds``).

Without ``decor`` in ``variants`` there is no such model: the PNG is a placeholder saying so.
"""

import torch

from pipeline_lib.cli import dataset_argparser, run_stage
from pipeline_lib.data.samples import evaluation_samples
from pipeline_lib.data.store import read_table
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.models.store import load_generative
from pipeline_lib.params import stage_section
from pipeline_lib.paths import run_name
from pipeline_lib.protocol import resolve_protocol
from pipeline_lib.reporting.figures import FIGURES_DIR, save_placeholder_png
from pipeline_lib.reporting.tsne import plot_prefix_case, prefix_case, tsne_layout
from pipeline_lib.schema import FiguresSection, dataset_stage, validated
from pipeline_lib.tokenizer.rqvae import load_codebooks
from pipeline_lib.tokenizer.semantic_ids import read_semantic_ids

VARIANT = "decor"


def main() -> None:
    args, params, spec, paths = dataset_stage(dataset_argparser(__doc__))
    config = validated(FiguresSection, stage_section(params, spec, "figures"), args.params, "figures")
    path = FIGURES_DIR / f"figure4_{args.dataset}.png"
    if VARIANT not in (params.get("variants") or []):
        message = f"Figure 4 skipped: {VARIANT} is not in variants"
        save_placeholder_png(path, message)
        print(f"{path}: {message}")
        return

    sids = read_semantic_ids(paths.semantic_ids)
    test = evaluation_samples(read_table(paths.test, "test"), resolve_protocol(params, spec).max_history)
    model = load_generative(paths.model_weights(run_name(VARIANT, params["seeds"][0])), load_codebooks(paths.rqvae), torch.device("cpu"))
    try:
        case = prefix_case(model, sids, test.histories, test.targets, config.prefix_length, config.max_users)
    except ValueError as err:
        raise PipelineInputError(paths.semantic_ids, str(err)) from None
    layout = tsne_layout(case, config.perplexity, params["seed"])
    plot_prefix_case(case, layout, args.dataset, path)
    static, composed = case.alignment()
    print(f"{path}: prefix {case.prefix}, {len(case.next_codes)} users, {len(case.candidates)} candidates; "
          f"mean cos to true next token: static {static:.3f}, composed {composed:.3f}")


if __name__ == "__main__":
    run_stage(main)
