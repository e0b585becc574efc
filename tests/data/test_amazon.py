import gzip
import json

import pytest

from pipeline_lib.data.amazon import read_benchmark_csv, read_item_meta, read_reviews_jsonl
from pipeline_lib.errors import PipelineInputError


def write_gz(path, text: bytes):
    with gzip.open(path, "wb") as fh:
        fh.write(text)
    return path


def test_benchmark_csv(tmp_path):
    path = write_gz(tmp_path / "Cat.csv.gz", b"user_id,parent_asin,rating,timestamp\nu1,a,5.0,100\nu2,b,4.0,200\n")
    df = read_benchmark_csv(path)
    assert df.to_dict("list") == {"user": ["u1", "u2"], "item": ["a", "b"], "timestamp": [100, 200]}


@pytest.mark.parametrize(
    "content, message",
    [
        (b"user_id,asin,rating,timestamp\nu1,a,5,1\n", r"Cat\.csv\.gz, row 1: missing column\(s\) parent_asin"),
        (b"user_id,parent_asin,rating,timestamp\nu1,a,5,1\nuser_id,parent_asin,rating,timestamp\n", r"row 3: duplicated header"),
        (b"user_id,parent_asin,rating,timestamp\nu1,a,5,1\nu\xff2,b,5,2\n", r"row 3: not valid UTF-8"),
        (b"user_id,parent_asin,rating,timestamp\nu1,a,5,yesterday\n", r"row 2, field 'timestamp'"),
        (b"user_id,parent_asin,rating,timestamp\nu1,a,5\n", r"row 2: expected 4 fields"),
        (b"", r"empty file"),
    ],
)
def test_benchmark_csv_bad_input(tmp_path, content, message):
    path = write_gz(tmp_path / "Cat.csv.gz", content)
    with pytest.raises(PipelineInputError, match=message):
        read_benchmark_csv(path)


def test_missing_and_truncated_files(tmp_path):
    with pytest.raises(PipelineInputError, match="nope.csv.gz: file not found"):
        read_benchmark_csv(tmp_path / "nope.csv.gz")
    good = gzip.compress(b"user_id,parent_asin,rating,timestamp\n" + b"u1,a,5,1\n" * 5000)
    (tmp_path / "t.csv.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(PipelineInputError, match="truncated gzip"):
        read_benchmark_csv(tmp_path / "t.csv.gz")


def review(**kw):
    row = {"rating": 5.0, "user_id": "u", "parent_asin": "a", "asin": "a1", "timestamp": 1, "text": "ok"}
    row.update(kw)
    return json.dumps(row).encode() + b"\n"


def test_reviews_jsonl(tmp_path):
    path = write_gz(tmp_path / "Cat.jsonl.gz", review(user_id="u1", timestamp=7) + b"\n" + review(parent_asin="b"))
    df = read_reviews_jsonl(path)
    assert df.to_dict("list") == {"user": ["u1", "u"], "item": ["a", "b"], "timestamp": [7, 1]}


def test_reviews_bad_rows(tmp_path):
    path = write_gz(tmp_path / "R.jsonl.gz", review() + review(parent_asin=None))
    with pytest.raises(PipelineInputError, match="R.jsonl.gz, row 2, field 'parent_asin': missing value"):
        read_reviews_jsonl(path)
    path = write_gz(tmp_path / "R.jsonl.gz", review() + b"{not json\n")
    with pytest.raises(PipelineInputError, match="row 2: invalid JSON"):
        read_reviews_jsonl(path)


def meta(asin, **kw):
    return json.dumps({"parent_asin": asin, "title": f"T {asin}", **kw}).encode() + b"\n"


def test_item_meta_keeps_only_wanted(tmp_path):
    path = write_gz(tmp_path / "meta.jsonl.gz", meta("a") + b'{"parent_asin": "zz", broken json\n' + meta("b", store="S"))
    found = read_item_meta(path, {"a", "b"})
    assert found["a"].title == "T a" and found["b"].brand == "S"


def test_item_meta_without_title(tmp_path):
    path = write_gz(tmp_path / "meta.jsonl.gz", meta("a") + meta("b", title=""))
    with pytest.raises(PipelineInputError, match=r"meta.jsonl.gz, row 2, field 'title': item b has no title"):
        read_item_meta(path, {"a", "b"})
    assert read_item_meta(path, {"a", "b"}, require_title=False)["b"].title == ""
