"""Downloads against file:// URLs and a local HTTP server that supports Range and can misbehave."""

from __future__ import annotations

import gzip
import hashlib
import random
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipeline_lib.data.download import (
    AMAZON2023_PUBLISHED,
    FileRecord,
    PublishedContent,
    amazon2023_files,
    fetch,
    fetch_from_mirrors,
    write_manifest,
)
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import read_json

NAME = "meta_Test.jsonl.gz"
FAST = {"retries": 1, "backoff_s": 0.0, "timeout_s": 5.0, "chunk_bytes": 4096, "progress": False}


def _payload() -> bytes:
    rng = random.Random(0)
    lines = [f'{{"parent_asin": "B{i:07d}", "title": "{rng.getrandbits(64):x}"}}\n' for i in range(4000)]
    return gzip.compress("".join(lines).encode(), mtime=0)


GOOD = _payload()
GOOD_SHA = hashlib.sha256(GOOD).hexdigest()
GOOD_CONTENT = gzip.decompress(GOOD)
GOOD_PUBLISHED = PublishedContent(len(GOOD_CONTENT), hashlib.sha256(GOOD_CONTENT).hexdigest()[:8])
TRUNCATED = GOOD[: len(GOOD) // 2]
NOT_GZIP = b"<html>maintenance</html>" * 100
BAD_CRC = GOOD[:-8] + bytes(b ^ 0xFF for b in GOOD[-8:-4]) + GOOD[-4:]


@dataclass
class ServerState:
    """What the server serves, how it misbehaves, and the (path, Range header) of each request."""

    files: dict[str, bytes]
    drop_after: int | None = None
    drops: int = 0
    fail_status: int | None = None
    fails: int = 0
    ignore_range: bool = False
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.0: one response per connection, so stopping the write drops the connection."""

    server: _Server

    def do_GET(self) -> None:
        state = self.server.state
        range_header = self.headers.get("Range")
        with state.lock:
            state.requests.append((self.path, range_header))
            drop = state.drops > 0
            state.drops -= drop
            fail = state.fails > 0
            state.fails -= fail
        body = state.files.get(self.path.lstrip("/"))
        if body is None:
            self.send_error(404)
            return
        if fail:
            self.send_error(state.fail_status)
            return
        start = 0
        if range_header and not state.ignore_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", range_header).group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        self.wfile.write(body[start:][: state.drop_after] if drop else body[start:])

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: ServerState


Serve = Callable[..., tuple[str, ServerState]]


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Serve]:
    """Start servers on 127.0.0.1 (random ports): ``serve(files, **misbehaviour) -> (base_url, state)``."""
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    servers = []

    def start(files: dict[str, bytes], **misbehaviour: object) -> tuple[str, ServerState]:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.state = ServerState(files=files, **misbehaviour)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", server.state

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _part(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def test_amazon2023_files() -> None:
    assert amazon2023_files("Video_Games", "benchmark") == {
        "interactions": "benchmark/5core/rating_only/Video_Games.csv.gz",
        "meta": "raw/meta_categories/meta_Video_Games.jsonl.gz",
    }
    assert amazon2023_files("Video_Games", "raw") == {
        "interactions": "raw/review_categories/Video_Games.jsonl.gz",
        "meta": "raw/meta_categories/meta_Video_Games.jsonl.gz",
    }
    with pytest.raises(ValueError, match="lcrec"):
        amazon2023_files("Video_Games", "lcrec")


def test_file_url_fetch(tmp_path: Path) -> None:
    src = tmp_path / "src" / NAME
    src.parent.mkdir()
    src.write_bytes(GOOD)
    dest = tmp_path / "out" / NAME
    record = fetch(src.as_uri(), dest, **FAST)
    assert record == FileRecord(NAME, src.as_uri(), dest, len(GOOD), GOOD_SHA)
    assert dest.read_bytes() == GOOD
    assert not _part(dest).exists()


def test_file_url_resume_seeks_and_hash_covers_prefix(tmp_path: Path) -> None:
    src = tmp_path / "data.bin"
    src.write_bytes(bytes(range(256)) * 64)
    dest = tmp_path / "out" / "data.bin"
    dest.parent.mkdir()
    _part(dest).write_bytes(b"\0" * 100)  # a prefix that differs from the source shows the source was seeked
    record = fetch(src.as_uri(), dest, **FAST)
    expected = b"\0" * 100 + src.read_bytes()[100:]
    assert dest.read_bytes() == expected
    assert record.sha256 == hashlib.sha256(expected).hexdigest()
    assert record.bytes == len(expected)


def test_http_fetch_with_progress_bar(tmp_path: Path, serve: Serve) -> None:
    base, state = serve({f"raw/{NAME}": GOOD})
    dest = tmp_path / NAME
    record = fetch(f"{base}/raw/{NAME}", dest, **{**FAST, "progress": True})
    assert dest.read_bytes() == GOOD
    assert (record.bytes, record.sha256, record.url) == (len(GOOD), GOOD_SHA, f"{base}/raw/{NAME}")
    assert state.requests == [(f"/raw/{NAME}", None)]


def test_resume_requests_only_the_rest(tmp_path: Path, serve: Serve) -> None:
    base, state = serve({NAME: GOOD})
    dest = tmp_path / NAME
    half = len(GOOD) // 2
    _part(dest).write_bytes(GOOD[:half])
    record = fetch(f"{base}/{NAME}", dest, **FAST)
    assert state.requests == [(f"/{NAME}", f"bytes={half}-")]
    assert dest.read_bytes() == GOOD
    assert record.sha256 == GOOD_SHA
    assert not _part(dest).exists()


def test_resume_restarts_when_server_ignores_range(tmp_path: Path, serve: Serve) -> None:
    base, state = serve({NAME: GOOD}, ignore_range=True)
    dest = tmp_path / NAME
    _part(dest).write_bytes(GOOD[:1000])
    record = fetch(f"{base}/{NAME}", dest, **FAST)
    assert state.requests == [(f"/{NAME}", "bytes=1000-")]
    assert dest.read_bytes() == GOOD
    assert record.sha256 == GOOD_SHA


def test_part_longer_than_file_restarts_after_416(tmp_path: Path, serve: Serve) -> None:
    base, state = serve({NAME: GOOD})
    dest = tmp_path / NAME
    _part(dest).write_bytes(GOOD + b"junk")
    fetch(f"{base}/{NAME}", dest, **FAST)
    assert state.requests == [(f"/{NAME}", f"bytes={len(GOOD) + 4}-"), (f"/{NAME}", None)]
    assert dest.read_bytes() == GOOD


def test_dropped_connection_is_retried_and_resumed(tmp_path: Path, serve: Serve) -> None:
    cut = len(GOOD) // 3
    base, state = serve({NAME: GOOD}, drop_after=cut, drops=1)
    dest = tmp_path / NAME
    record = fetch(f"{base}/{NAME}", dest, **FAST)
    assert state.requests == [(f"/{NAME}", None), (f"/{NAME}", f"bytes={cut}-")]
    assert dest.read_bytes() == GOOD
    assert record.sha256 == GOOD_SHA


def test_connection_always_dropping_keeps_part_for_a_later_resume(tmp_path: Path, serve: Serve) -> None:
    base, state = serve({NAME: GOOD}, drop_after=1000, drops=2)
    dest = tmp_path / NAME
    with pytest.raises(PipelineInputError, match="connection closed after 2000 of"):
        fetch(f"{base}/{NAME}", dest, **FAST)
    assert not dest.exists()
    assert _part(dest).read_bytes() == GOOD[:2000]
    fetch(f"{base}/{NAME}", dest, **FAST)
    assert state.requests[-1] == (f"/{NAME}", "bytes=2000-")
    assert dest.read_bytes() == GOOD


def test_server_error_is_retried(tmp_path: Path, serve: Serve) -> None:
    base, state = serve({NAME: GOOD}, fail_status=503, fails=1)
    dest = tmp_path / NAME
    fetch(f"{base}/{NAME}", dest, **FAST)
    assert len(state.requests) == 2
    assert dest.read_bytes() == GOOD


def test_truncated_gzip_is_refetched_from_next_mirror(tmp_path: Path, serve: Serve) -> None:
    bad_base, bad = serve({f"raw/{NAME}": TRUNCATED})
    good_base, good = serve({f"raw/{NAME}": GOOD})
    dest = tmp_path / NAME
    record = fetch_from_mirrors([bad_base, good_base + "/"], f"raw/{NAME}", dest, **FAST)
    assert len(bad.requests) == FAST["retries"] + 1
    assert all(rng is None for _, rng in bad.requests)  # a corrupt .part is discarded, never resumed
    assert good.requests == [(f"/raw/{NAME}", None)]
    assert record.url == f"{good_base}/raw/{NAME}"
    assert dest.read_bytes() == GOOD


@pytest.mark.parametrize(
    ("content", "problem"),
    [(TRUNCATED, "truncated"), (NOT_GZIP, "corrupt gzip"), (BAD_CRC, "CRC"), (b"", "empty")],
)
def test_gzip_that_stays_bad_raises_and_leaves_nothing(
    tmp_path: Path, serve: Serve, content: bytes, problem: str
) -> None:
    base, state = serve({NAME: content})
    dest = tmp_path / NAME
    with pytest.raises(PipelineInputError, match=problem) as err:
        fetch(f"{base}/{NAME}", dest, **FAST)
    assert f"{base}/{NAME}" in str(err.value)
    assert len(state.requests) == FAST["retries"] + 1
    assert not dest.exists()
    assert not _part(dest).exists()


def test_multi_member_gzip_is_accepted_and_its_content_is_all_members(tmp_path: Path) -> None:
    source = tmp_path / "src" / "two.gz"
    source.parent.mkdir()
    source.write_bytes(gzip.compress(b"a\n") + gzip.compress(b"b\n"))
    published = PublishedContent(4, hashlib.sha256(b"a\nb\n").hexdigest()[:8])
    record = fetch(source.as_uri(), tmp_path / "two.gz", expected_content=published, **FAST)
    assert record.bytes == source.stat().st_size


def test_not_found_names_every_url(tmp_path: Path, serve: Serve) -> None:
    base, state = serve({})
    missing = tmp_path / "nowhere" / NAME
    dest = tmp_path / NAME
    with pytest.raises(PipelineInputError) as err:
        fetch([f"{base}/{NAME}", missing.as_uri()], dest, **FAST)
    message = str(err.value)
    assert f"{base}/{NAME} (HTTP 404" in message
    assert f"{missing.as_uri()} (file not found)" in message
    assert len(state.requests) == 1  # a 404 is not retried
    assert not dest.exists()


def test_not_found_falls_through_to_next_mirror(tmp_path: Path, serve: Serve) -> None:
    empty_base, _ = serve({})
    good_base, _ = serve({NAME: GOOD})
    record = fetch_from_mirrors([empty_base, good_base], NAME, tmp_path / NAME, **FAST)
    assert record.url == f"{good_base}/{NAME}"


def test_existing_valid_dest_skips_network(tmp_path: Path, serve: Serve) -> None:
    base, state = serve({NAME: GOOD})
    dest = tmp_path / NAME
    dest.write_bytes(GOOD)
    assert fetch(f"{base}/{NAME}", dest, **FAST).sha256 == GOOD_SHA
    assert fetch(f"{base}/{NAME}", dest, expected_sha256=GOOD_SHA, **FAST).bytes == len(GOOD)
    assert state.requests == []


def test_existing_invalid_dest_is_refetched(tmp_path: Path, serve: Serve) -> None:
    base, state = serve({NAME: GOOD})
    dest = tmp_path / NAME
    dest.write_bytes(TRUNCATED)
    fetch(f"{base}/{NAME}", dest, **FAST)
    assert dest.read_bytes() == GOOD
    other = gzip.compress(b"another version\n", mtime=0)
    dest.write_bytes(other)  # a valid gzip, but not the pinned one
    fetch(f"{base}/{NAME}", dest, expected_sha256=GOOD_SHA, **FAST)
    assert dest.read_bytes() == GOOD
    assert len(state.requests) == 2


def test_sha256_mismatch_refetches_then_raises(tmp_path: Path, serve: Serve) -> None:
    base, state = serve({NAME: GOOD})
    dest = tmp_path / NAME
    with pytest.raises(PipelineInputError, match=f"sha256 {GOOD_SHA} differs from the expected 0+"):
        fetch(f"{base}/{NAME}", dest, expected_sha256="0" * 64, **FAST)
    assert len(state.requests) == FAST["retries"] + 1
    assert not dest.exists()
    assert not _part(dest).exists()


def test_stale_part_caught_by_sha256_is_refetched_whole(tmp_path: Path, serve: Serve) -> None:
    data = bytes(range(256)) * 16
    base, state = serve({"data.bin": data})
    dest = tmp_path / "data.bin"  # not gzip: only the digest can tell the prefix is wrong
    _part(dest).write_bytes(b"\xff" * 1000)  # a prefix from some other file
    record = fetch(f"{base}/data.bin", dest, expected_sha256=hashlib.sha256(data).hexdigest(), **FAST)
    assert state.requests == [("/data.bin", "bytes=1000-"), ("/data.bin", None)]
    assert dest.read_bytes() == data
    assert record.sha256 == hashlib.sha256(data).hexdigest()


def test_write_manifest(tmp_path: Path) -> None:
    records = [
        FileRecord("a.csv.gz", "http://x/a.csv.gz", tmp_path / "a.csv.gz", 10, "aa"),
        FileRecord("meta_a.jsonl.gz", "file:///m/meta_a.jsonl.gz", tmp_path / "meta_a.jsonl.gz", 20, "bb"),
    ]
    path = tmp_path / "raw" / "manifest.json"
    write_manifest(path, records, {"category": "A", "source": "benchmark"})
    assert read_json(path) == {
        "category": "A",
        "source": "benchmark",
        "files": {
            "a.csv.gz": {"url": "http://x/a.csv.gz", "bytes": 10, "sha256": "aa"},
            "meta_a.jsonl.gz": {"url": "file:///m/meta_a.jsonl.gz", "bytes": 20, "sha256": "bb"},
        },
    }
    with pytest.raises(ValueError, match="reserved"):
        write_manifest(path, records, {"files": 1})


def test_retries_back_off_exponentially(tmp_path: Path, serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    base, state = serve({NAME: GOOD}, fail_status=500, fails=3)
    delays: list[float] = []
    monkeypatch.setattr("pipeline_lib.data.download.time.sleep", delays.append)
    fetch(f"{base}/{NAME}", tmp_path / NAME, **{**FAST, "retries": 3, "backoff_s": 0.5})
    assert delays == [0.5, 1.0, 2.0]
    assert len(state.requests) == 4


def test_published_table_lists_the_official_files_uncompressed() -> None:
    video_games = AMAZON2023_PUBLISHED["benchmark/5core/rating_only/Video_Games.csv"]
    assert video_games == PublishedContent(47_244_051, "2fb8fd6f")
    for category in ("Industrial_and_Scientific", "Musical_Instruments"):
        for rel in amazon2023_files(category, "benchmark").values():
            assert rel.removesuffix(".gz") in AMAZON2023_PUBLISHED


def test_published_content_match_and_mismatch() -> None:
    published = PublishedContent(5, "2CF24DBA")  # sha256("hello") = 2cf24dba…
    digest = hashlib.sha256(b"hello").hexdigest()
    assert published.mismatch(5, digest) is None
    assert published.mismatch(6, digest) == (
        f"is 6 bytes with sha256 {digest[:8]}…, expected 5 bytes with sha256 2CF24DBA… as published"
    )
    assert published.mismatch(5, "0" * 64) is not None
    assert PublishedContent(5).mismatch(5, "0" * 64) is None  # no published digest: the size alone


def test_decompressed_content_matching_the_published_one_is_kept(tmp_path: Path, serve: Serve) -> None:
    base, _ = serve({NAME: GOOD})
    dest = tmp_path / NAME
    record = fetch(f"{base}/{NAME}", dest, expected_content=GOOD_PUBLISHED, **FAST)
    assert (record.sha256, dest.read_bytes()) == (GOOD_SHA, GOOD)


@pytest.mark.parametrize(
    "published",
    [
        PublishedContent(len(GOOD_CONTENT) + 1, GOOD_PUBLISHED.sha256_prefix),  # size differs
        PublishedContent(len(GOOD_CONTENT), "00000000"),  # digest differs
    ],
)
def test_other_version_goes_to_next_mirror_at_once_and_fails_naming_expected_and_found(
    tmp_path: Path, serve: Serve, published: PublishedContent
) -> None:
    first, first_state = serve({f"raw/{NAME}": GOOD})
    second, second_state = serve({f"raw/{NAME}": GOOD})
    dest = tmp_path / NAME
    with pytest.raises(PipelineInputError) as err:
        fetch_from_mirrors([first, second], f"raw/{NAME}", dest, expected_content=published, **FAST)
    message = str(err.value)
    found = f"decompressed content is {len(GOOD_CONTENT):,} bytes with sha256 {GOOD_PUBLISHED.sha256_prefix}…"
    expected = f"expected {published.bytes:,} bytes with sha256 {published.sha256_prefix}… as published"
    assert message.startswith(f"{dest}: download failed; tried {first}/raw/{NAME} ({found}, {expected})")
    assert f"{second}/raw/{NAME} ({found}" in message and "\n" not in message
    assert len(first_state.requests) == len(second_state.requests) == 1  # the same bytes again would not help
    assert not dest.exists() and not _part(dest).exists()


def test_existing_dest_of_another_version_is_refetched(tmp_path: Path, serve: Serve) -> None:
    base, state = serve({NAME: GOOD})
    dest = tmp_path / NAME
    dest.write_bytes(gzip.compress(b"an older release\n", mtime=0))  # intact gzip, other content
    fetch(f"{base}/{NAME}", dest, expected_content=GOOD_PUBLISHED, **FAST)
    assert dest.read_bytes() == GOOD
    assert len(state.requests) == 1
    fetch(f"{base}/{NAME}", dest, expected_content=GOOD_PUBLISHED, **FAST)  # now valid: no request
    assert len(state.requests) == 1


def test_published_content_of_a_plain_file_is_the_file(tmp_path: Path) -> None:
    source = tmp_path / "src" / "data.csv"
    source.parent.mkdir()
    source.write_bytes(b"a,b\n")
    published = PublishedContent(4, hashlib.sha256(b"a,b\n").hexdigest()[:8])
    assert fetch(source.as_uri(), tmp_path / "data.csv", expected_content=published, **FAST).bytes == 4
    with pytest.raises(PipelineInputError, match="content is 4 bytes .*expected 5 bytes"):
        fetch(source.as_uri(), tmp_path / "other.csv", expected_content=PublishedContent(5), **FAST)
