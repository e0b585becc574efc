"""Atomic artifact writers: an output either appears complete or not at all."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from pipeline_lib.errors import FULL_DISK_ERRNOS, NO_SPACE, PipelineInputError, is_disk_full

if TYPE_CHECKING:  # torch is imported where tensors are written or read: stages without tensors skip it (~1 s)
    import torch


_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    On any error the temporary is removed and ``path`` keeps its previous content (or stays absent).
    Raises:
        PipelineInputError: ``<path>: no space left on device`` when the disk (or quota) is full.
    """
    path = Path(path)
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        yield tmp
        # mkstemp (and writers that recreate the file, like safetensors) make 0600: give the file
        # the permissions a plain open() would
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except OSError as err:
        if is_disk_full(err):
            raise PipelineInputError(path, NO_SPACE) from None
        raise
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield an empty staging folder beside ``path``; if the block succeeds, it replaces ``path`` whole.

    For outputs made of several files (a split, a tokenizer, a model folder): a failure half-way
    leaves the previous complete folder (or none), never a mix of old and new files. Only the
    instant between two renames has no folder at ``path``.
    """
    path = Path(path)
    staging: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        yield staging
        os.chmod(staging, 0o777 & ~_UMASK)  # mkdtemp makes 0700
        if path.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, retired / path.name)
            os.replace(staging, path)
            shutil.rmtree(retired)
        else:
            os.replace(staging, path)
    except OSError as err:
        if is_disk_full(err):
            raise PipelineInputError(path, NO_SPACE) from None
        raise
    except PipelineInputError as err:  # a file written inside the staging folder: name it at its final place
        if err.problem == NO_SPACE and staging is not None and err.path and Path(err.path).is_relative_to(staging):
            raise PipelineInputError(path / Path(err.path).relative_to(staging), NO_SPACE) from None
        raise
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def write_json(path: str | Path, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def write_parquet(path: str | Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def write_tensors(path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Write tensors as safetensors (contiguous CPU copies), atomically and byte-reproducibly.

    Tensors that share memory (tied weights, e.g. Hugging Face T5's shared embedding and head) are written as
    separate copies, which safetensors requires; loading them back into the module fills each tie with the same
    values. safetensors serialises its header (tensor entries and ``__metadata__``) from hash maps, so the
    key order — and with it the file's bytes — can change from run to run; the header is rewritten
    with sorted keys so the same tensors and metadata always give the same file.
    """
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    flat, storages = {}, set()
    for name, tensor in tensors.items():
        tensor = tensor.detach().to("cpu").contiguous()
        storage = tensor.untyped_storage().data_ptr()
        flat[name] = tensor.clone() if storage in storages else tensor
        storages.add(storage)
    with atomic_path(path) as tmp:
        try:
            save_file(flat, str(tmp), metadata=metadata)
        except SafetensorError as err:  # its Rust writer reports a full disk as text, not as an OSError
            full = [code for code in FULL_DISK_ERRNOS if f"(os error {code})" in str(err)]
            if full:
                raise OSError(full[0], os.strerror(full[0])) from err
            raise
        _canonicalise_safetensors_header(tmp)


def _canonicalise_safetensors_header(path: Path) -> None:
    """Rewrite a safetensors file's JSON header with sorted keys (data offsets are unchanged)."""
    with open(path, "rb") as fh:
        (size,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(size))
        body = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
        body += b" " * (-len(body) % 8)  # the data section starts 8-byte aligned, as safetensors writes it
        rewritten = path.with_name(path.name + ".canonical")
        try:
            with open(rewritten, "wb") as out:
                out.write(struct.pack("<Q", len(body)) + body)
                shutil.copyfileobj(fh, out)
            os.replace(rewritten, path)
        finally:
            rewritten.unlink(missing_ok=True)


def read_tensors(path: str | Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path), device=str(device))

