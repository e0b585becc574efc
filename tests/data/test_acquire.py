import gzip
import hashlib
import io
import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.error import HTTPError
from urllib.response import addinfourl

import pytest

from pipeline_lib.data import download as download_module
from pipeline_lib.data.acquire import acquire
from pipeline_lib.data.download import AMAZON2023_BASE_URL, AMAZON2023_PUBLISHED, PublishedContent
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import read_json
from pipeline_lib.params import DatasetSpec, dataset_spec
from pipeline_lib.schema import load_params

PARAMS = load_params(Path(__file__).resolve().parents[2] / "params.yaml")
SECOND_HOST = "https://datarepo.eng.ucsd.edu/mcauley_group/data/amazon_2023"

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


def _published(content: bytes) -> PublishedContent:
    return PublishedContent(len(content), hashlib.sha256(content).hexdigest()[:8])


def _official_hosts(monkeypatch, files: dict[str, bytes]) -> list[str]:
    """Stand-in for the network: the first host fails (404) for everything, the second host serves
    ``files`` (path relative to the base URL → bytes). Returns the list of URLs requested."""
    requested = []

    def urlopen(request, timeout):
        url = request.full_url
        requested.append(url)
        if url.startswith(AMAZON2023_BASE_URL + "/"):
            raise HTTPError(url, 404, "Not Found", {}, io.BytesIO())
        assert url.startswith(SECOND_HOST + "/"), f"unexpected host: {url}"
        body = files[url.removeprefix(SECOND_HOST + "/")]
        return addinfourl(io.BytesIO(body), {"Content-Length": str(len(body))}, url, 200)

    monkeypatch.setattr(download_module, "urlopen", urlopen)
    return requested


def _benchmark_files(category: str, rows: bytes) -> dict[str, bytes]:
    return {
        f"benchmark/5core/rating_only/{category}.csv.gz": gzip.compress(rows, mtime=0),
        f"raw/meta_categories/meta_{category}.jsonl.gz": gzip.compress(b'{"parent_asin": "a", "title": "A"}\n', mtime=0),
    }


def test_default_params_fall_back_to_the_second_host(tmp_path, monkeypatch):
    assert PARAMS["download"]["base_url"] == AMAZON2023_BASE_URL
    assert PARAMS["download"]["mirrors"] == [SECOND_HOST]
    requested = _official_hosts(monkeypatch, _benchmark_files("Cat", b"user_id,parent_asin,rating,timestamp\nu,a,5,1\n"))
    spec = DatasetSpec("cat", "benchmark", 0.25, 32, category="Cat")
    raw = tmp_path / "raw"
    acquire(spec, {"download": PARAMS["download"]}, raw, raw / "manifest.json")
    rel = "benchmark/5core/rating_only/Cat.csv.gz"
    assert requested[:2] == [f"{AMAZON2023_BASE_URL}/{rel}", f"{SECOND_HOST}/{rel}"]  # a 404 is not retried
    assert read_json(raw / "manifest.json")["files"]["Cat.csv.gz"]["url"] == f"{SECOND_HOST}/{rel}"


def test_acquire_without_mirrors_setting_uses_the_second_host(tmp_path, monkeypatch):
    requested = _official_hosts(monkeypatch, _benchmark_files("Cat", b"user_id,parent_asin,rating,timestamp\n"))
    download = {k: v for k, v in DOWNLOAD.items() if k not in ("base_url", "mirrors")}
    raw = tmp_path / "raw"
    acquire(DatasetSpec("cat", "benchmark", 0.25, 32, category="Cat"), {"download": download}, raw, raw / "m.json")
    assert f"{SECOND_HOST}/raw/meta_categories/meta_Cat.jsonl.gz" in requested


def test_game_benchmark_file_is_checked_against_its_pinned_sha256(tmp_path, monkeypatch):
    spec = dataset_spec(PARAMS, "game")
    pinned = "a2bde5f3b945960d161538c200dd87845e6ee471b46da96410dde61613c6901c"
    assert spec.sha256 == {"Video_Games.csv.gz": pinned}
    rows = b"user_id,parent_asin,rating,timestamp\nu,a,5,1\n"
    files = _benchmark_files("Video_Games", rows)
    _official_hosts(monkeypatch, files)
    # let the stand-in pass the published-content check, so only the pinned sha256 can reject it
    monkeypatch.setitem(AMAZON2023_PUBLISHED, "benchmark/5core/rating_only/Video_Games.csv", _published(rows))
    raw = tmp_path / "raw"
    with pytest.raises(PipelineInputError, match=f"differs from the expected {pinned}"):
        download = DOWNLOAD | {"base_url": AMAZON2023_BASE_URL, "mirrors": [SECOND_HOST]}
        acquire(spec, {"download": download}, raw, raw / "m.json")
    assert not (raw / "Video_Games.csv.gz").exists() and not (raw / "m.json").exists()


def test_published_content_is_checked_after_download(tmp_path, monkeypatch):
    rows = b"user_id,parent_asin,rating,timestamp\nu,a,5,1\n"
    _official_hosts(monkeypatch, _benchmark_files("Cat", rows))
    download = DOWNLOAD | {"base_url": AMAZON2023_BASE_URL, "mirrors": [SECOND_HOST]}
    spec = DatasetSpec("cat", "benchmark", 0.25, 32, category="Cat")
    monkeypatch.setitem(AMAZON2023_PUBLISHED, "benchmark/5core/rating_only/Cat.csv", _published(rows))
    raw = tmp_path / "raw"
    acquire(spec, {"download": download}, raw, raw / "manifest.json")
    assert gzip.decompress((raw / "Cat.csv.gz").read_bytes()) == rows

    other = tmp_path / "other"
    scientific = PublishedContent(23_953_588, "c0cb90d6")
    monkeypatch.setitem(AMAZON2023_PUBLISHED, "benchmark/5core/rating_only/Cat.csv", scientific)
    with pytest.raises(PipelineInputError) as err:
        acquire(spec, {"download": download}, other, other / "manifest.json")
    message = str(err.value)
    assert message.startswith(f"{other / 'Cat.csv.gz'}: download failed")
    assert f"decompressed content is {len(rows)} bytes with sha256 {_published(rows).sha256_prefix}…" in message
    assert "expected 23,953,588 bytes with sha256 c0cb90d6… as published" in message
    assert "\n" not in message
    assert not (other / "Cat.csv.gz").exists() and not (other / "Cat.csv.gz.part").exists()
    assert not (other / "manifest.json").exists()
