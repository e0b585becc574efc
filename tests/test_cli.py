"""Stage runner: bad input and a full disk end a stage with one line on stderr and exit code 2."""

from __future__ import annotations

import errno

import pytest

from pipeline_lib.cli import run_stage
from pipeline_lib.errors import PipelineInputError


@pytest.mark.parametrize("raised, line", [
    (PipelineInputError("params.yaml", "must be a list", field="seeds"), "error: params.yaml, field 'seeds': must be a list"),
    (OSError(errno.ENOSPC, "No space left on device", "data/demo/x.bin"), "error: data/demo/x.bin: no space left on device"),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), "error: a write: no space left on device"),
])
def test_input_errors_and_a_full_disk_are_one_line_and_exit_2(raised, line, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)

    def main() -> None:
        raise raised

    with pytest.raises(SystemExit) as exited:
        run_stage(main)
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines() == [line]


def test_other_os_errors_are_not_dressed_up_as_input_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def main() -> None:
        raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(OSError):
        run_stage(main)
