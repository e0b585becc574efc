#!/usr/bin/env bash
# Run a command, prefixing each line of its output (stdout and stderr) with the wall clock (HH:MM:SS);
# exits with the command's status. For evidence runs: scripts/timestamped.sh dvc repro > run.log, then
# python -m pipeline_lib.ci.stage_times run.log gives the wall time per stage.
set -o pipefail
"$@" 2>&1 | while IFS= read -r line; do printf '%s %s\n' "$(date +%T)" "$line"; done
