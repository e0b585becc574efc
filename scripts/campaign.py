#!/usr/bin/env python
"""Run an evidence campaign: python scripts/campaign.py reports/<folder> [--parallel 2] [--only model:seed …] [--list].

The folder's jobs.yaml names a catalog dataset and its runs; each finished run's metrics, timings and curve land
in the folder, ready to commit, and a restart skips the runs done (pipeline_lib/campaign.py). Run it from a
checkout whose code stays put while it runs (a separate clone), in the background:
    nohup python scripts/campaign.py reports/scientific2018_converged > campaign.log 2>&1 &
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.chdir(ROOT)  # the stages read params.yaml and write data/, reports/ relative to the checkout
sys.path.insert(0, str(ROOT))

from pipeline_lib.campaign import main  # noqa: E402
from pipeline_lib.cli import run_stage  # noqa: E402


def _main() -> None:
    failed = main()
    if failed:
        sys.exit(failed)


if __name__ == "__main__":
    run_stage(_main)
