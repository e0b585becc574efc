"""The download stage's work: bring a dataset's source files into ``data/<name>/raw`` with a manifest.

Amazon sources stream from the configured base URL and mirrors (by default the official host, then
the second host) and check the published size and sha256 prefix of the decompressed files;
``lcrec`` copies (through the same verified fetch, as ``file://`` URLs) from a local folder;
``demo`` generates its files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline_lib.data.demo import demo_config, generate_demo
from pipeline_lib.data.download import (
    AMAZON2023_BASE_URL,
    AMAZON2023_MIRRORS,
    AMAZON2023_PUBLISHED,
    FileRecord,
    fetch,
    fetch_from_mirrors,
    sha256_file,
    write_manifest,
)
from pipeline_lib.data.sources import remote_files, source_files
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.params import DatasetSpec


def _fetch_options(download: dict[str, Any]) -> dict[str, Any]:
    return {k: download[k] for k in ("retries", "backoff_s", "timeout_s", "chunk_bytes")}


def _generated(paths: dict[str, Path]) -> list[FileRecord]:
    return [FileRecord(p.name, "generated:demo", p, p.stat().st_size, sha256_file(p)) for p in paths.values()]


def _local_folder(spec: DatasetSpec, raw_dir: Path, download: dict[str, Any]) -> list[FileRecord]:
    folder = Path(spec.path or "")
    names = source_files(spec).values()
    if not spec.path or not folder.is_dir():
        raise PipelineInputError(
            folder,
            f"dataset folder not found; set catalog.{spec.name}.path to the folder holding {' and '.join(names)}",
            field=f"catalog.{spec.name}.path",
        )
    return [
        fetch((folder / name).resolve().as_uri(), raw_dir / name, expected_sha256=spec.sha256.get(name), **_fetch_options(download))
        for name in names
    ]


def _amazon(spec: DatasetSpec, raw_dir: Path, download: dict[str, Any]) -> list[FileRecord]:
    base_urls = [download.get("base_url", AMAZON2023_BASE_URL), *download.get("mirrors", AMAZON2023_MIRRORS)]
    names = source_files(spec)
    return [
        fetch_from_mirrors(
            base_urls,
            rel,
            raw_dir / names[role],
            expected_sha256=spec.sha256.get(names[role]),
            expected_content=AMAZON2023_PUBLISHED.get(rel.removesuffix(".gz")),
            **_fetch_options(download),
        )
        for role, rel in remote_files(spec).items()
    ]


def acquire(spec: DatasetSpec, params: dict[str, Any], raw_dir: Path, manifest: Path) -> list[FileRecord]:
    """Fetch or generate the dataset's files into ``raw_dir`` and write the sha256 manifest."""
    if spec.source == "demo":
        records = _generated(generate_demo(raw_dir, demo_config(params)))
    elif spec.source == "lcrec":
        records = _local_folder(spec, raw_dir, params["download"])
    else:
        records = _amazon(spec, raw_dir, params["download"])
    write_manifest(manifest, records, {"dataset": spec.name, "source": spec.source})
    return records
