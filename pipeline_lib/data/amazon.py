"""Parsers for the Amazon Reviews 2023 files: 5-core rating-only CSV, raw reviews, item metadata.

Each returns interactions as the canonical frame of ``pipeline_lib.data.interactions``
(``user``, ``item``, ``timestamp``) in file order, or metadata as ``ItemMeta``; every malformed
input raises ``PipelineInputError`` naming the file and the line.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from pipeline_lib.data.interactions import canonical_frame
from pipeline_lib.data.meta import ItemMeta, from_amazon2023
from pipeline_lib.errors import PipelineInputError

BENCHMARK_COLUMNS = ("user_id", "parent_asin", "rating", "timestamp")
REVIEW_FIELDS = ("user_id", "parent_asin", "timestamp")
_PARENT_ASIN = re.compile(rb'"parent_asin"\s*:\s*"([^"]*)"')


def _open(path: Path):
    if not path.is_file():
        raise PipelineInputError(path, "file not found")
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def iter_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Yield (1-based line number, raw line) of a plain or gzipped text file; corruption → one-line error."""
    try:
        with _open(path) as fh:
            yield from enumerate(fh, start=1)
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as err:
        raise PipelineInputError(path, f"unreadable or truncated gzip ({err})") from None


def _decode(path: Path, number: int, line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as err:
        raise PipelineInputError(path, f"not valid UTF-8 (byte {err.start})", row=number) from None


def read_benchmark_csv(path: str | Path) -> pd.DataFrame:
    """Official ``benchmark/5core/rating_only/<Category>.csv(.gz)``: user_id, parent_asin, rating, timestamp."""
    path = Path(path)
    lines = iter_lines(path)
    first = next(lines, None)
    if first is None:
        raise PipelineInputError(path, "empty file")
    header = tuple(h.strip() for h in _decode(path, *first).strip().split(","))
    missing = [c for c in BENCHMARK_COLUMNS if c not in header]
    if missing:
        raise PipelineInputError(path, f"missing column(s) {', '.join(missing)}; header is {','.join(header)}", row=1)
    users, items, stamps = [], [], []
    iu, ii, it = header.index("user_id"), header.index("parent_asin"), header.index("timestamp")
    for number, raw in lines:
        text = _decode(path, number, raw).strip()
        if not text:
            continue
        cells = text.split(",")
        if tuple(c.strip() for c in cells) == header:
            raise PipelineInputError(path, "duplicated header line", row=number)
        if len(cells) != len(header):
            raise PipelineInputError(path, f"expected {len(header)} fields, found {len(cells)}", row=number)
        try:
            stamp = int(float(cells[it]))
        except ValueError:
            raise PipelineInputError(path, f"timestamp is not a number: {cells[it]!r}", row=number, field="timestamp") from None
        users.append(cells[iu])
        items.append(cells[ii])
        stamps.append(stamp)
    return canonical_frame(users, items, stamps)


def read_reviews_jsonl(path: str | Path) -> pd.DataFrame:
    """Raw reviews ``raw/review_categories/<Category>.jsonl(.gz)``: one JSON review per line."""
    path = Path(path)
    users, items, stamps = [], [], []
    for number, raw in iter_lines(path):
        text = _decode(path, number, raw).strip()
        if not text:
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as err:
            raise PipelineInputError(path, f"invalid JSON ({err.msg})", row=number) from None
        for name in REVIEW_FIELDS:
            if row.get(name) in (None, ""):
                raise PipelineInputError(path, "missing value", row=number, field=name)
        try:
            stamps.append(int(row["timestamp"]))
        except (TypeError, ValueError):
            raise PipelineInputError(path, "timestamp is not an integer", row=number, field="timestamp") from None
        users.append(str(row["user_id"]))
        items.append(str(row["parent_asin"]))
    return canonical_frame(users, items, stamps)


def read_item_meta(path: str | Path, wanted: set[str], *, require_title: bool = True) -> dict[str, ItemMeta]:
    """Metadata rows ``raw/meta_categories/meta_<Category>.jsonl(.gz)`` for the items in ``wanted``.

    Rows of other items are skipped before JSON parsing (the real files hold far more items than
    survive 5-core filtering). A wanted item with an empty title is an error when ``require_title``.
    """
    path = Path(path)
    found: dict[str, ItemMeta] = {}
    for number, raw in iter_lines(path):
        match = _PARENT_ASIN.search(raw)
        if match is None:
            if raw.strip():
                raise PipelineInputError(path, "no parent_asin in metadata row", row=number, field="parent_asin")
            continue
        asin = _decode(path, number, match.group(1))
        if asin not in wanted or asin in found:
            continue
        try:
            row = json.loads(_decode(path, number, raw))
        except json.JSONDecodeError as err:
            raise PipelineInputError(path, f"invalid JSON ({err.msg})", row=number) from None
        meta = from_amazon2023(row)
        if require_title and not meta.title:
            raise PipelineInputError(path, f"item {asin} has no title", row=number, field="title")
        found[asin] = meta
    return found
