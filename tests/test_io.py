"""Artifact writers: byte-reproducible safetensors, normal file modes, all-or-nothing folders."""

from __future__ import annotations

import hashlib
import os
import stat
import struct
import json

import pytest
import torch
from safetensors import safe_open

from pipeline_lib.io import atomic_directory, read_tensors, write_json, write_tensors

UMASK = os.umask(0)
os.umask(UMASK)


def _md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_safetensors_header_is_sorted_and_the_file_reproducible(tmp_path):
    tensors = {"zeta": torch.arange(6.0).reshape(2, 3), "alpha": torch.ones(3, dtype=torch.int64)}
    metadata = {"format": "rqvae-v1", "config": '{"levels": 3}', "model": "x", "b": "1", "a": "2"}
    digests = set()
    for i in range(5):
        path = tmp_path / f"t{i}.safetensors"
        write_tensors(path, tensors, metadata=metadata)
        digests.add(_md5(path))
    assert len(digests) == 1
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    assert size % 8 == 0
    header = json.loads(raw[8 : 8 + size])
    assert list(header) == sorted(header)
    assert list(header["__metadata__"]) == sorted(metadata)
    loaded = read_tensors(path)
    assert torch.equal(loaded["zeta"], tensors["zeta"]) and torch.equal(loaded["alpha"], tensors["alpha"])
    with safe_open(str(path), framework="pt") as fh:
        assert fh.metadata() == metadata


@pytest.mark.parametrize("write", [
    lambda p: write_tensors(p, {"x": torch.zeros(2)}, metadata={"k": "v"}),
    lambda p: write_json(p, {"a": 1}),
])
def test_artifacts_get_the_mode_a_plain_open_would_give(tmp_path, write):
    path = tmp_path / "out"
    write(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~UMASK


def test_atomic_directory_replaces_the_whole_folder(tmp_path):
    target = tmp_path / "tokenizer"
    target.mkdir()
    (target / "old_only.txt").write_text("old")
    (target / "shared.txt").write_text("old")
    with atomic_directory(target) as staged:
        (staged / "shared.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["shared.txt"]
    assert (target / "shared.txt").read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o777 & ~UMASK
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokenizer"]  # no staging or retired folder left


def test_atomic_directory_keeps_the_previous_set_on_failure(tmp_path):
    target = tmp_path / "filtered"
    target.mkdir()
    (target / "train.parquet").write_text("complete old set")
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as staged:
            (staged / "train.parquet").write_text("half of a new set")
            raise RuntimeError("killed half-way")
    assert [p.name for p in target.iterdir()] == ["train.parquet"]
    assert (target / "train.parquet").read_text() == "complete old set"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["filtered"]


def test_atomic_directory_leaves_nothing_when_a_first_run_fails(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_directory(tmp_path / "models" / "tiger") as staged:
            (staged / "model.safetensors").write_text("partial")
            raise RuntimeError
    assert list((tmp_path / "models").iterdir()) == []
