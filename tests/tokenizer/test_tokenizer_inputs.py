import pandas as pd
import pytest
import torch
from safetensors.torch import save_file

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.tokenizer.inputs import check_enough_items, load_item_embeddings


def write_inputs(tmp_path, x: torch.Tensor, n_items: int | None = None):
    n = x.shape[0] if n_items is None else n_items
    items, emb = tmp_path / "items.parquet", tmp_path / "item_embeddings.safetensors"
    pd.DataFrame({"item_id": range(n), "parent_asin": [f"A{i}" for i in range(n)]}).to_parquet(items)
    save_file({"embeddings": x}, str(emb))
    return emb, items


def test_float16_embeddings_load_as_float32(tmp_path):
    x = torch.randn(5, 3).half()
    loaded = load_item_embeddings(*write_inputs(tmp_path, x))
    assert loaded.dtype == torch.float32
    assert torch.equal(loaded, x.float())


def test_row_count_must_match_the_item_map(tmp_path):
    emb, items = write_inputs(tmp_path, torch.randn(5, 3), n_items=6)
    with pytest.raises(PipelineInputError, match="5 embedding rows but .* maps 6 items"):
        load_item_embeddings(emb, items)


@pytest.mark.parametrize("bad, message", [(float("nan"), "contain NaN or Inf"), (float("inf"), "contain NaN or Inf")])
def test_non_finite_rows_are_named(tmp_path, bad, message):
    x = torch.randn(5, 3)
    x[3, 1] = bad
    with pytest.raises(PipelineInputError, match=f"row 3, field 'embeddings': 1 embedding row\\(s\\) {message}"):
        load_item_embeddings(*write_inputs(tmp_path, x))


def test_zero_rows_are_named(tmp_path):
    x = torch.randn(5, 3)
    x[[1, 4]] = 0
    with pytest.raises(PipelineInputError, match=r"row 1, .*2 embedding row\(s\) are all zeros"):
        load_item_embeddings(*write_inputs(tmp_path, x))


def test_wrong_tensor_name_or_shape(tmp_path):
    emb, items = write_inputs(tmp_path, torch.randn(4, 3))
    save_file({"vectors": torch.randn(4, 3)}, str(emb))
    with pytest.raises(PipelineInputError, match="no tensor named 'embeddings'"):
        load_item_embeddings(emb, items)
    save_file({"embeddings": torch.arange(4)}, str(emb))
    with pytest.raises(PipelineInputError, match=r"expected a float matrix \[n_items, dim\]"):
        load_item_embeddings(emb, items)


def test_item_ids_must_be_contiguous(tmp_path):
    emb, items = write_inputs(tmp_path, torch.randn(3, 2))
    pd.DataFrame({"item_id": [0, 2, 1], "parent_asin": ["a", "b", "c"]}).to_parquet(items)
    with pytest.raises(PipelineInputError, match="row 1, field 'item_id': item_id must be 0..n-1"):
        load_item_embeddings(emb, items)


def test_missing_embeddings_file(tmp_path):
    emb, items = write_inputs(tmp_path, torch.randn(3, 2))
    emb.unlink()
    with pytest.raises(PipelineInputError, match="not found; run the embed stage first"):
        load_item_embeddings(emb, items)


def test_fewer_items_than_codes_is_an_error_naming_both_numbers(tmp_path):
    with pytest.raises(PipelineInputError, match="100 items are fewer than the codebook size K=256"):
        check_enough_items(100, 256, kmeans_init=True, path=tmp_path / "e.safetensors")
    check_enough_items(100, 256, kmeans_init=False, path=tmp_path / "e.safetensors")
    check_enough_items(256, 256, kmeans_init=True, path=tmp_path / "e.safetensors")
