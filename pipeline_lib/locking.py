"""One writer at a time per stage output: two runs of the same stage on one workspace fail fast.

Each stage run takes an exclusive ``filelock.FileLock`` (an OS-level lock, released when the
process ends, so a crash leaves nothing stale) on ``.locks/<stage>-<dataset>[-<model>].lock``:
one lock per set of outputs, since a stage's positional arguments decide which files it writes.
A second run of the same stage and arguments stops at once with one line naming the holder
(process id, host, command, start time) instead of interleaving writes to the same checkpoint
or artifacts. Under data-parallel launches only rank 0 (the only writer) takes the lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from filelock import FileLock, Timeout

from pipeline_lib.errors import PipelineInputError

LOCK_DIR = Path(".locks")


OUTPUT_OPTIONS = frozenset({"--seed"})  # options whose value chooses a stage's outputs (<model>/seed_<s>)


def lock_name(argv: Sequence[str]) -> str:
    """``python -m stages.train demo tiger --seed 1 --params p.yaml`` → ``train-demo-tiger-seed1``: the
    script's name, its positional arguments and the ``OUTPUT_OPTIONS`` values (other option values, such
    as ``--params``, do not choose the outputs), so two training seeds of one model may run side by side."""
    parts = [Path(argv[0]).stem]
    skip_value, keep_as = False, ""
    for arg in argv[1:]:
        if arg.startswith("-"):
            option, has_value, value = arg.partition("=")
            if option in OUTPUT_OPTIONS and has_value:
                parts.append(f"{option.lstrip('-')}{value}")
            skip_value = not has_value
            keep_as = option.lstrip("-") if option in OUTPUT_OPTIONS and not has_value else ""
        elif skip_value:
            if keep_as:
                parts.append(f"{keep_as}{arg}")
            skip_value, keep_as = False, ""
        else:
            parts.append(arg)
    return "-".join(parts)


@contextlib.contextmanager
def exclusive_run(name: str, lock_dir: Path = LOCK_DIR) -> Iterator[None]:
    """Hold the lock ``name`` for the block; raise a one-line ``PipelineInputError`` if another run holds it."""
    if os.environ.get("RANK", "0") != "0":  # data-parallel ranks > 0 write nothing
        yield
        return
    lock_dir.mkdir(parents=True, exist_ok=True)
    lock_path = lock_dir / f"{name}.lock"
    holder_path = lock_dir / f"{name}.holder.json"
    lock = FileLock(lock_path, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise PipelineInputError(lock_path, f"another run is writing these outputs ({_holder(holder_path)}); "
                                 "wait for it to finish or stop it") from None
    try:
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv),
                  "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        holder_path.write_text(json.dumps(holder))
        yield
    finally:
        holder_path.unlink(missing_ok=True)
        lock.release()


def _holder(holder_path: Path) -> str:
    try:
        holder = json.loads(holder_path.read_text())
        return f"pid {holder['pid']} on {holder['host']}: {holder['command']}, since {holder['started']}"
    except (OSError, ValueError, KeyError):
        return "holder unknown"
