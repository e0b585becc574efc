#!/usr/bin/env bash
# Re-resolve requirements.lock (exact versions + sha256 hashes) from pyproject.toml's ranges and
# requirements/constraints.txt (the CPU build of torch 2.13.0). Needs uv (`pip install uv`).
# After a refresh, in the same commit: `dvc repro` on the demo and
# `python -m pipeline_lib.reporting.gate --write-baseline` (new releases move the numbers).
set -euo pipefail
cd "$(dirname "$0")/.."
# Where the CPU torch wheel comes from: the local wheel folder of this project's machines, else PyTorch's CPU index.
if [ -d /opt/wheels ]; then torch_source=(--find-links /opt/wheels)
else torch_source=(--extra-index-url https://download.pytorch.org/whl/cpu --index-strategy unsafe-best-match); fi
uv pip compile pyproject.toml \
    --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
    --generate-hashes "${torch_source[@]}" \
    --constraint requirements/constraints.txt \
    --custom-compile-command "bash requirements/refresh-lock.sh" \
    --output-file requirements.lock "$@"
