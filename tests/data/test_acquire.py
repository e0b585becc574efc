import gzip
import hashlib
import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipeline_lib.data.acquire import acquire
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import read_json
from pipeline_lib.params import DatasetSpec

DOWNLOAD = {"base_url": "unused", "mirrors": [], "retries": 0, "backoff_s": 0.0, "timeout_s": 5, "chunk_bytes": 4096}


def lcrec_folder(tmp_path):
    folder = tmp_path / "lcrec"
    folder.mkdir()
    (folder / "P.inter.json").write_text(json.dumps({"0": [0, 1, 2]}))
    (folder / "P.item.json").write_text(json.dumps({"0": {"title": "a"}}))
    return folder


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_lcrec_copies_and_verifies_checksums(tmp_path):
    folder = lcrec_folder(tmp_path)
    sums = {name: sha(folder / name) for name in ("P.inter.json", "P.item.json")}
    spec = DatasetSpec("x", "lcrec", 0.25, 32, path=str(folder), prefix="P", sha256=sums)
    raw = tmp_path / "raw"
    acquire(spec, {"download": DOWNLOAD}, raw, raw / "manifest.json")
    manifest = read_json(raw / "manifest.json")
    assert {k: v["sha256"] for k, v in manifest["files"].items()} == sums
    assert (raw / "P.inter.json").read_bytes() == (folder / "P.inter.json").read_bytes()


def test_lcrec_checksum_mismatch_is_an_error(tmp_path):
    folder = lcrec_folder(tmp_path)
    spec = DatasetSpec("x", "lcrec", 0.25, 32, path=str(folder), prefix="P", sha256={"P.item.json": "0" * 64})
    raw = tmp_path / "raw"
    with pytest.raises(PipelineInputError, match="sha256"):
        acquire(spec, {"download": DOWNLOAD}, raw, raw / "manifest.json")
    assert not (raw / "P.item.json").exists() and not (raw / "manifest.json").exists()


def test_lcrec_missing_folder_says_what_to_set(tmp_path):
    spec = DatasetSpec("sci", "lcrec", 0.25, 32, path=str(tmp_path / "absent"), prefix="P")
    with pytest.raises(PipelineInputError, match=r"set catalog.sci.path to the folder holding P.inter.json and P.item.json"):
        acquire(spec, {"download": DOWNLOAD}, tmp_path / "raw", tmp_path / "raw" / "m.json")


def test_amazon_benchmark_over_http(tmp_path):
    """The real download path: base URL on a local HTTP server laid out like the McAuley lab site."""
    site = tmp_path / "site"
    (site / "benchmark/5core/rating_only").mkdir(parents=True)
    (site / "raw/meta_categories").mkdir(parents=True)
    csv = gzip.compress(b"user_id,parent_asin,rating,timestamp\nu,a,5,1\n")
    (site / "benchmark/5core/rating_only/Cat.csv.gz").write_bytes(csv)
    (site / "raw/meta_categories/meta_Cat.jsonl.gz").write_bytes(gzip.compress(b'{"parent_asin": "a", "title": "A"}\n'))
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        download = {**DOWNLOAD, "base_url": "http://127.0.0.1:1/nothing-here", "mirrors": [f"http://127.0.0.1:{server.server_port}"]}
        spec = DatasetSpec("cat", "benchmark", 0.25, 32, category="Cat")
        raw = tmp_path / "raw"
        records = acquire(spec, {"download": download}, raw, raw / "manifest.json")
    finally:
        server.shutdown()
    assert sorted(r.name for r in records) == ["Cat.csv.gz", "meta_Cat.jsonl.gz"]
    assert (raw / "Cat.csv.gz").read_bytes() == csv
    assert read_json(raw / "manifest.json")["files"]["Cat.csv.gz"]["url"].endswith("/benchmark/5core/rating_only/Cat.csv.gz")


def test_demo_is_generated_with_manifest(tmp_path):
    spec = DatasetSpec("demo", "demo", 0.4, 16)
    raw = tmp_path / "raw"
    acquire(spec, {"demo": {"n_users": 200, "n_items": 80}, "seed": 1}, raw, raw / "manifest.json")
    files = read_json(raw / "manifest.json")["files"]
    assert set(files) == {"Demo.jsonl.gz", "meta_Demo.jsonl.gz"}
    assert files["Demo.jsonl.gz"]["sha256"] == sha(raw / "Demo.jsonl.gz")
