"""The one exception type that stage scripts turn into a one-line error message."""

from __future__ import annotations

import errno
from pathlib import Path

NO_SPACE = "no space left on device"
FULL_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT)  # the disk, or the user's quota on it


def is_disk_full(err: BaseException) -> bool:
    """Whether ``err`` is a write refused for want of space (ENOSPC) or quota (EDQUOT)."""
    return isinstance(err, OSError) and err.errno in FULL_DISK_ERRNOS


class PipelineInputError(Exception):
    """Bad input: a missing file, a malformed row, an impossible configuration.

    The message always names the file (and the row or field when there is one), so the
    stage can print it as one line and exit non-zero without a traceback.
    """

    def __init__(self, path: str | Path | None, problem: str, *, row: int | None = None, field: str | None = None):
        self.path = None if path is None else str(path)
        self.problem = problem
        self.row = row
        self.field = field
        where = self.path or "<input>"
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {problem}")


def stage_error_line(err: BaseException) -> str | None:
    """The one line a stage prints for ``err`` before exiting with code 2 — bad input (``error: <path>, field
    '<key>': <problem>``) or a full disk (``error: <path>: no space left on device``) — or ``None`` for any
    other error, which is a bug and keeps its traceback."""
    if isinstance(err, PipelineInputError):
        return f"error: {err}"
    if is_disk_full(err):  # outside the atomic writers, which name their output themselves
        return f"error: {getattr(err, 'filename', None) or 'a write'}: {NO_SPACE}"
    return None
