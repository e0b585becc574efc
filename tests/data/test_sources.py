import gzip
import json

import pytest

from pipeline_lib.data.sources import load_interactions, load_item_meta, source_files
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.params import DatasetSpec


def spec(source, **kw):
    return DatasetSpec(name="x", source=source, alpha=0.25, bos_queries=32, **kw)


def test_file_names_per_source():
    assert source_files(spec("benchmark", category="Video_Games")) == {
        "interactions": "Video_Games.csv.gz",
        "meta": "meta_Video_Games.jsonl.gz",
    }
    assert source_files(spec("raw", category="Video_Games"))["interactions"] == "Video_Games.jsonl.gz"
    assert source_files(spec("demo"))["meta"] == "meta_Demo.jsonl.gz"
    assert source_files(spec("lcrec", prefix="Scientific")) == {
        "interactions": "Scientific.inter.json",
        "meta": "Scientific.item.json",
    }
    with pytest.raises(PipelineInputError, match="needs a category"):
        source_files(spec("benchmark"))


def test_lcrec_source(tmp_path):
    (tmp_path / "P.inter.json").write_text(json.dumps({"7": [3, 1, 2], "8": [1]}))
    (tmp_path / "P.item.json").write_text(json.dumps({"1": {"title": "one"}, "2": {"title": "two"}, "3": {"title": "x"}}))
    s = spec("lcrec", prefix="P")
    df, path = load_interactions(s, tmp_path)
    assert path.name == "P.inter.json"
    assert df.to_dict("list") == {"user": ["7", "7", "7", "8"], "item": ["3", "1", "2", "1"], "timestamp": [0, 1, 2, 0]}
    assert load_item_meta(s, tmp_path, {"1", "2"}, require_title=True)["2"].title == "two"


def test_item_without_metadata_row_is_named(tmp_path):
    with gzip.open(tmp_path / "meta_Demo.jsonl.gz", "wt") as fh:
        fh.write(json.dumps({"parent_asin": "a", "title": "A"}) + "\n")
    with pytest.raises(PipelineInputError, match=r"meta_Demo.jsonl.gz: 2 item\(s\) have no metadata row \(first: b, c\)"):
        load_item_meta(spec("demo"), tmp_path, {"a", "b", "c"}, require_title=True)
