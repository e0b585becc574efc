"""Stage wall times from a timestamped dvc repro log."""

import pytest

from pipeline_lib.ci.stage_times import main, render, stage_seconds

LOG = """18:06:37 Running stage 'download@s':
18:06:38 > python -m stages.download s
18:06:41 Running stage 'filter@s':
18:06:50 Updating lock file 'dvc.lock'
18:06:50 Running stage 'train@s-tiger-1':
no stamp on this line
18:10:00 done"""


def test_each_stage_runs_until_the_next_and_the_last_until_the_log_ends():
    assert stage_seconds(LOG.splitlines()) == {"download@s": 4.0, "filter@s": 9.0, "train@s-tiger-1": 190.0}


def test_a_run_past_midnight_counts_on():
    assert stage_seconds(["23:59:50 Running stage 'a':", "00:00:10 Running stage 'b':", "00:00:20 x"]) == {
        "a": 20.0, "b": 10.0}


def test_render_totals():
    assert "| **total** | **203** (3.4 min) |" in render({"a": 4.0, "b": 9.0, "c": 190.0})


def test_a_log_without_stages_is_one_line(tmp_path, capsys):
    (tmp_path / "x.log").write_text("nothing here\n")
    with pytest.raises(SystemExit) as info:
        from pipeline_lib.cli import run_stage
        run_stage(lambda: main([str(tmp_path / "x.log")]))
    assert info.value.code == 2 and "no timestamped" in capsys.readouterr().err
