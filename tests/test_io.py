"""Artifact writers: byte-reproducible safetensors, normal file modes, all-or-nothing folders."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import struct

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


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_full_disk_while_writing_a_checkpoint_names_it_and_keeps_the_previous_one(tmp_path, monkeypatch):
    """Issue 28: ENOSPC in the header rewrite left `.last.safetensors.<random>.tmp.canonical` behind and a traceback."""
    import errno
    import shutil

    from pipeline_lib.errors import PipelineInputError

    last = tmp_path / "checkpoints" / "last.safetensors"
    write_tensors(last, {"w": torch.ones(3)})
    before = last.read_bytes()

    def full_disk(src, dst, *args):
        dst.write(src.read(5))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(shutil, "copyfileobj", full_disk)
    with pytest.raises(PipelineInputError) as err:
        write_tensors(last, {"w": torch.zeros(1000)})
    assert str(err.value) == f"{last}: no space left on device"
    assert _files(tmp_path / "checkpoints") == ["last.safetensors"]
    assert last.read_bytes() == before


def test_a_full_disk_inside_a_staged_folder_names_the_final_file_and_leaves_no_staging(tmp_path):
    import errno

    from pipeline_lib.errors import PipelineInputError

    target = tmp_path / "models" / "tiger"
    with pytest.raises(PipelineInputError) as err:
        with atomic_directory(target) as staged:
            write_json(staged / "config.json", {})
            raise OSError(errno.ENOSPC, "No space left on device")
    assert str(err.value) == f"{target}: no space left on device"
    with pytest.raises(PipelineInputError) as err:
        with atomic_directory(target) as staged:
            with open(staged / "weights.safetensors", "wb"):
                pass
            from pipeline_lib.io import atomic_path

            with atomic_path(staged / "weights.safetensors"):
                raise OSError(errno.EDQUOT, "Disk quota exceeded")
    assert str(err.value) == f"{target / 'weights.safetensors'}: no space left on device"
    assert _files(tmp_path / "models") == []


FILL_TMPFS = """
import os, sys, torch
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import write_tensors
root = sys.argv[1]
last = os.path.join(root, "last.safetensors")
write_tensors(last, {"w": torch.ones(1000)})
with open(os.path.join(root, "filler"), "wb") as fh:  # fill what is left but 8 kB
    fh.write(b"x" * (os.statvfs(root).f_bavail * os.statvfs(root).f_frsize - 8192))
try:
    write_tensors(last, {"w": torch.zeros(200_000)})
except PipelineInputError as err:
    print(err)
print(sorted(os.listdir(root)))
print(torch.equal(torch.ones(1000), __import__("safetensors.torch").torch.load_file(last)["w"]))
"""


def test_a_real_full_tmpfs_keeps_the_previous_checkpoint(tmp_path):
    """The issue's case on a real file system: a 2 MB tmpfs mounted in a private mount namespace."""
    import shutil
    import subprocess
    import sys

    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1)")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = tmp_path / "fill.py"
    script.write_text(FILL_TMPFS)
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True)
    prefix = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "--user", "--map-root-user", "--mount"]
    if probe.returncode != 0 and os.geteuid() != 0:
        pytest.skip("no mount namespaces here")
    shell = f"mount -t tmpfs -o size=2m tmpfs {mnt} && exec {sys.executable} {script} {mnt}"
    run = subprocess.run([*prefix, "sh", "-c", shell], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if "mount:" in run.stderr:
        pytest.skip(f"cannot mount a tmpfs: {run.stderr.strip()}")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [f"{mnt}/last.safetensors: no space left on device",
                                       "['filler', 'last.safetensors']", "True"]
