"""Wall time per stage from a timestamped ``dvc repro`` log (evidence reports).

The log is ``dvc repro``'s output with each line prefixed by the wall clock, as
``scripts/timestamped.sh dvc repro`` writes it (``HH:MM:SS <line>``). A stage's time runs from its
``Running stage '<name>':`` line to the next stage's, the last one to the log's last timestamp.
Includes the process start-up and imports, which the models' own timings do not.

CLI: ``python -m pipeline_lib.ci.stage_times LOG`` prints a Markdown table.
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timedelta
from pathlib import Path

from tabulate import tabulate

from pipeline_lib.cli import run_stage
from pipeline_lib.errors import PipelineInputError

_STAMP = re.compile(r"^(\d\d:\d\d:\d\d) (.*)$")
_STAGE = re.compile(r"Running stage '([^']+)':")


def stage_seconds(lines: list[str]) -> dict[str, float]:
    """``stage name → seconds`` in order of running; a day boundary (a clock going back) adds 24 h."""
    starts: list[tuple[str, datetime]] = []
    last: datetime | None = None
    day = timedelta(0)
    for line in lines:
        match = _STAMP.match(line)
        if match is None:
            continue
        clock = datetime.strptime(match.group(1), "%H:%M:%S") + day
        if last is not None and clock < last:
            day += timedelta(days=1)
            clock += timedelta(days=1)
        last = clock
        stage = _STAGE.search(match.group(2))
        if stage is not None:
            starts.append((stage.group(1), clock))
    if last is None:
        return {}
    ends = [start for _, start in starts[1:]] + [last]
    return {name: (end - start).total_seconds() for (name, start), end in zip(starts, ends)}


def render(seconds: dict[str, float]) -> str:
    """A Markdown table of the stages and their seconds, with the total."""
    rows = [[name, f"{s:.0f}"] for name, s in seconds.items()]
    total = sum(seconds.values())
    rows.append(["**total**", f"**{total:.0f}** ({total / 60:.1f} min)"])
    return tabulate(rows, headers=["stage", "seconds"], tablefmt="github", colalign=("left", "right"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path, help="timestamped dvc repro log")
    args = parser.parse_args(argv)
    if not args.log.is_file():
        raise PipelineInputError(args.log, "log not found")
    seconds = stage_seconds(args.log.read_text(errors="replace").replace("\r", "\n").splitlines())
    if not seconds:
        raise PipelineInputError(args.log, "no timestamped `Running stage` lines")
    print(render(seconds))


if __name__ == "__main__":
    run_stage(main)
