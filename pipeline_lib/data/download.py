"""Fetching the Amazon Reviews 2023 files: streaming, resumable, verified downloads.

``fetch`` writes into ``<dest>.part`` and moves it to ``dest`` (``os.replace``) only once the
file is complete and verified (gzip stream decompresses cleanly for ``.gz`` files; sha256 equals
the expected digest when one is given; the decompressed content has the published size and sha256
prefix when the file is in ``AMAZON2023_PUBLISHED``), so ``dest`` never holds a partial or corrupt
file. A network failure keeps the ``.part`` file and the next attempt (or a later run) asks only
for the rest (HTTP ``Range``; ``file://`` seeks); a verification failure deletes it and starts over.
Each URL gets ``retries + 1`` attempts with exponential backoff, then the next mirror is tried; an
intact file whose content differs from the published one (another version of the file) goes to the
next mirror at once, since fetching it again would bring the same bytes.
``file://`` and ``http(s)://`` URLs go through the same code path.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import re
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from typing import Any, BinaryIO
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import Request, url2pathname, urlopen

from tqdm import tqdm

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import write_json

AMAZON2023_BASE_URL = "https://mcauleylab.ucsd.edu/public_datasets/data/amazon_2023"
# The same files under the same relative paths on the McAuley group's second host.
AMAZON2023_MIRRORS = ("https://datarepo.eng.ucsd.edu/mcauley_group/data/amazon_2023",)

_USER_AGENT = "decor-repro/0.1 (urllib)"
# HTTP statuses worth retrying on the same URL; any other error status moves on to the next mirror.
_TRANSIENT_STATUS = frozenset({408, 425, 429})
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


@dataclass(frozen=True)
class PublishedContent:
    """A file's content as published (decompressed, for a ``.gz`` download): size and sha256 prefix."""

    bytes: int
    sha256_prefix: str = ""

    def mismatch(self, size: int, sha256: str) -> str | None:
        """``"is <found>, expected <published>"`` for content of ``size`` bytes with digest ``sha256``
        that is not this content, else None."""
        if size == self.bytes and sha256.startswith(self.sha256_prefix.lower()):
            return None
        expected = f"{self.bytes:,} bytes" + (f" with sha256 {self.sha256_prefix}…" if self.sha256_prefix else "")
        return f"is {size:,} bytes with sha256 {sha256[:8]}…, expected {expected} as published"


# The official Amazon Reviews 2023 files uncompressed, by path relative to the base URL, as
# published with the dataset (sizes and sha256 prefixes; ../shared/data/README.md lists them).
AMAZON2023_PUBLISHED: dict[str, PublishedContent] = {
    "benchmark/5core/rating_only/Industrial_and_Scientific.csv": PublishedContent(23_953_588, "c0cb90d6"),
    "benchmark/5core/rating_only/Musical_Instruments.csv": PublishedContent(29_687_789, "e6832065"),
    "benchmark/5core/rating_only/Video_Games.csv": PublishedContent(47_244_051, "2fb8fd6f"),
    "raw/meta_categories/meta_Musical_Instruments.jsonl": PublishedContent(631_877_970),
    "raw/meta_categories/meta_Industrial_and_Scientific.jsonl": PublishedContent(1_130_006_344),
}


@dataclass(frozen=True)
class FileRecord:
    """One fetched file: where it came from, where it lies, and its size and sha256."""

    name: str
    url: str
    path: Path
    bytes: int
    sha256: str


class _Unavailable(Exception):
    """This URL cannot serve the file (404, missing local file, ...): try the next mirror."""


class _BadContent(Exception):
    """The bytes received are wrong (corrupt gzip, sha256 mismatch, ...): discard them and re-fetch."""


class _OtherVersion(Exception):
    """An intact file whose content is not the published one: discard it and try the next mirror."""


@dataclass(frozen=True)
class _Stream:
    body: BinaryIO
    start: int
    total: int | None


def amazon2023_files(category: str, source: str) -> dict[str, str]:
    """Role (``interactions`` / ``meta``) → path relative to the Amazon Reviews 2023 base URL.

    ``benchmark``: the official 5-core rating-only CSV; ``raw``: the full review dump. Both come
    with the category's item metadata. The local file name is the path's last segment.
    """
    meta = f"raw/meta_categories/meta_{category}.jsonl.gz"
    if source == "benchmark":
        return {"interactions": f"benchmark/5core/rating_only/{category}.csv.gz", "meta": meta}
    if source == "raw":
        return {"interactions": f"raw/review_categories/{category}.jsonl.gz", "meta": meta}
    raise ValueError(f"no Amazon Reviews 2023 download for source {source!r} (expected 'benchmark' or 'raw')")


def mirror_urls(base_urls: Sequence[str], rel_path: str) -> list[str]:
    """The file's URL under each base URL, in order (``base/rel``; not ``urljoin``, which drops the last segment)."""
    return [f"{base.rstrip('/')}/{rel_path.lstrip('/')}" for base in base_urls]


def fetch_from_mirrors(base_urls: Sequence[str], rel_path: str, dest: Path, **options: Any) -> FileRecord:
    """``fetch`` the file ``rel_path`` from the first base URL that serves it; ``options`` go to ``fetch``."""
    return fetch(mirror_urls(base_urls, rel_path), dest, **options)


def fetch(
    url_or_urls: str | Sequence[str],
    dest: Path,
    *,
    retries: int = 3,
    backoff_s: float = 2.0,
    timeout_s: float = 60.0,
    chunk_bytes: int = 1 << 20,
    expected_sha256: str | None = None,
    expected_content: PublishedContent | None = None,
    progress: bool = True,
) -> FileRecord:
    """Download a file to ``dest``, trying each URL in order, and return its record.

    ``expected_content`` is the size and sha256 prefix of the file's content, decompressed when
    ``dest`` is a ``.gz``. Skips the network when ``dest`` already holds a file that passes the same
    checks as a download (a ``.gz`` with an intact gzip stream, the expected sha256 and content);
    a present file that fails them is deleted and fetched again.
    Raises ``PipelineInputError`` naming every URL tried and its last problem when none works.
    """
    urls = [url_or_urls] if isinstance(url_or_urls, str) else list(url_or_urls)
    if not urls:
        raise ValueError("fetch needs at least one URL")
    dest = Path(dest)
    existing = _existing_record(dest, urls[0], expected_sha256, expected_content, chunk_bytes)
    if existing is not None:
        return existing
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    failures = []
    for url in urls:
        problem = "not tried"
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(backoff_s * 2 ** (attempt - 1))
            try:
                digest, size = _stream_to_part(url, part, dest.name, timeout_s, chunk_bytes, progress)
                _verify(part, dest.name, digest, expected_sha256, expected_content, chunk_bytes)
            except _Unavailable as err:
                problem = str(err)
                break
            except _OtherVersion as err:
                part.unlink(missing_ok=True)
                problem = str(err)
                break
            except _BadContent as err:
                part.unlink(missing_ok=True)
                problem = str(err)
            except (OSError, HTTPException) as err:  # network errors (URLError, timeouts, drops) keep the .part
                problem = f"network error: {err}"
            else:
                os.replace(part, dest)
                return FileRecord(dest.name, url, dest, size, digest)
        failures.append(f"{url} ({problem})")
    raise PipelineInputError(dest, "download failed; tried " + "; ".join(failures))


def write_manifest(path: Path, records: Sequence[FileRecord], extra: dict[str, Any]) -> None:
    """Write ``extra`` plus ``files``: file name → url, bytes, sha256 (atomically, as JSON)."""
    if "files" in extra:
        raise ValueError("'files' is reserved in the manifest")
    files = {r.name: {"url": r.url, "bytes": r.bytes, "sha256": r.sha256} for r in records}
    write_json(path, {**extra, "files": files})


def sha256_file(path: Path, chunk_bytes: int = 1 << 20) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_bytes):
            hasher.update(chunk)
    return hasher.hexdigest()


def _gunzip_digest(path: Path, chunk_bytes: int) -> tuple[int, str]:
    """Size and sha256 of ``path`` decompressed; ``_BadContent`` when it is not a complete, intact gzip file."""
    if path.stat().st_size == 0:
        raise _BadContent("empty file, expected gzip data")
    hasher = hashlib.sha256()
    size = 0
    try:
        with gzip.open(path, "rb") as f:
            while chunk := f.read(chunk_bytes):
                hasher.update(chunk)
                size += len(chunk)
    except EOFError:
        raise _BadContent("gzip stream is truncated") from None
    except (gzip.BadGzipFile, zlib.error) as err:
        raise _BadContent(f"corrupt gzip data ({err})") from None
    return size, hasher.hexdigest()


def _existing_record(
    dest: Path, url: str, expected_sha256: str | None, expected_content: PublishedContent | None, chunk_bytes: int
) -> FileRecord | None:
    """The record of an already valid ``dest``; a present but invalid ``dest`` is deleted."""
    if not dest.is_file():
        return None
    digest = sha256_file(dest, chunk_bytes)
    try:
        _verify(dest, dest.name, digest, expected_sha256, expected_content, chunk_bytes)
    except (_BadContent, _OtherVersion):
        dest.unlink()
        return None
    return FileRecord(dest.name, url, dest, dest.stat().st_size, digest)


def _verify(
    path: Path,
    name: str,
    digest: str,
    expected_sha256: str | None,
    expected_content: PublishedContent | None,
    chunk_bytes: int,
) -> None:
    """Raise ``_BadContent`` (corrupt gzip, sha256 mismatch) or ``_OtherVersion`` (intact, but not the
    published content) for the downloaded file ``path`` named ``name`` whose sha256 is ``digest``."""
    gz = name.endswith(".gz")
    size, content_digest = _gunzip_digest(path, chunk_bytes) if gz else (path.stat().st_size, digest)
    if expected_content is not None:
        mismatch = expected_content.mismatch(size, content_digest)
        if mismatch is not None:
            raise _OtherVersion(f"{'decompressed ' if gz else ''}content {mismatch}")
    if expected_sha256 is not None and digest != expected_sha256:
        raise _BadContent(f"sha256 {digest} differs from the expected {expected_sha256}")


def _stream_to_part(
    url: str, part: Path, name: str, timeout_s: float, chunk_bytes: int, progress: bool
) -> tuple[str, int]:
    """Append the rest of ``url`` to ``part`` (or rewrite it when the source restarts at 0); return (sha256, size).

    The digest covers the whole file, the resumed prefix included.
    """
    offset = part.stat().st_size if part.is_file() else 0
    with _open_stream(url, offset, timeout_s) as stream:
        hasher = hashlib.sha256()
        if stream.start:
            with open(part, "rb") as prefix:
                while chunk := prefix.read(chunk_bytes):
                    hasher.update(chunk)
        size = stream.start
        bar = tqdm(
            total=stream.total, initial=stream.start, desc=name, unit="B", unit_scale=True, unit_divisor=1024,
            disable=not progress,
        )
        with open(part, "ab" if stream.start else "wb") as out, bar:
            while chunk := stream.body.read(chunk_bytes):
                out.write(chunk)
                hasher.update(chunk)
                size += len(chunk)
                bar.update(len(chunk))
    if stream.total is not None and size < stream.total:
        raise ConnectionError(f"connection closed after {size} of {stream.total} bytes")
    if stream.total is not None and size > stream.total:
        raise _BadContent(f"received {size} bytes, more than the announced {stream.total}")
    return hasher.hexdigest(), size


@contextlib.contextmanager
def _open_stream(url: str, offset: int, timeout_s: float) -> Iterator[_Stream]:
    """Open ``url`` positioned at ``offset`` when the source allows it (else at 0: check ``start``)."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        try:
            f = open(url2pathname(parts.path), "rb")
        except FileNotFoundError:
            raise _Unavailable("file not found") from None
        with f:
            total = os.fstat(f.fileno()).st_size
            start = offset if offset <= total else 0
            f.seek(start)
            yield _Stream(f, start, total)
    elif parts.scheme in ("http", "https"):
        response, start, total = _http_open(url, offset, timeout_s)
        with response:
            yield _Stream(response, start, total)
    else:
        raise _Unavailable(f"unsupported URL scheme {parts.scheme!r}")


def _http_open(url: str, offset: int, timeout_s: float) -> tuple[BinaryIO, int, int | None]:
    """GET ``url``, asking for ``bytes=offset-`` when resuming; return (response, start, total size or None)."""
    headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urlopen(Request(url, headers=headers), timeout=timeout_s)
    except HTTPError as err:
        err.close()
        if err.code == 416 and offset:  # the partial file is not a prefix of this one: start over
            return _http_open(url, 0, timeout_s)
        if err.code in _TRANSIENT_STATUS or err.code >= 500:
            raise ConnectionError(f"HTTP {err.code} {err.reason}") from None
        raise _Unavailable(f"HTTP {err.code} {err.reason}") from None
    if response.status != 206:
        length = response.headers.get("Content-Length", "")
        return response, 0, int(length) if length.isdigit() else None
    match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
    if match is None or int(match.group(1)) != offset:
        response.close()
        raise _BadContent(f"asked for bytes from {offset}, got Content-Range {response.headers.get('Content-Range')!r}")
    return response, offset, None if match.group(3) == "*" else int(match.group(3))
