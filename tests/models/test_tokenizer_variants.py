"""Table 1's LETTER / CoST rows: TIGER's model on their own tokenizer files."""

from pathlib import Path

from pipeline_lib.models.variants import VARIANTS, variant_config
from pipeline_lib.paths import DatasetPaths


def test_letter_and_cost_are_tiger_on_their_own_tokenizer():
    backbone = {"d_model": 16, "d_kv": 8, "num_heads": 2, "d_ff": 32, "encoder_layers": 1, "decoder_layers": 1}
    tiger = variant_config("tiger", backbone, 0.5, 4, code_dim=16, codebook_size=8)
    for name in ("letter", "cost"):
        assert variant_config(name, backbone, 0.5, 4, code_dim=16, codebook_size=8) == tiger
        assert VARIANTS[name].tokenizer == name
    assert {name for name, v in VARIANTS.items() if v.tokenizer} == {"letter", "cost"}


def test_tokenizer_paths_keep_the_shared_layout_and_add_one_folder_per_method():
    paths = DatasetPaths("demo", Path("/r"))
    assert paths.rqvae_of(None) == paths.rqvae == Path("/r/data/demo/tokenizer/rqvae.safetensors")
    assert paths.semantic_ids_of(None) == paths.semantic_ids
    assert paths.tokenizer_metrics_of(None) == paths.tokenizer_metrics
    assert paths.rqvae_of("letter") == Path("/r/data/demo/tokenizer_letter/rqvae.safetensors")
    assert paths.semantic_ids_of("cost") == Path("/r/data/demo/tokenizer_cost/semantic_ids.parquet")
    assert paths.tokenizer_metrics_of("cost") == Path("/r/reports/metrics/demo/tokenizer_cost.json")
