#!/usr/bin/env bash
# Re-resolve the locks (exact versions + sha256 hashes) from pyproject.toml's ranges. Needs uv (`pip install uv`).
#   requirements.lock      CPU build of torch 2.13.0 (requirements/constraints.txt) — what CI and the README install
#   requirements-gpu.lock  PyPI's torch 2.13.0 (Linux wheels are CUDA builds, with their nvidia-* packages)
# After a refresh, in the same commit: `dvc repro` on the demo and
# `python -m pipeline_lib.ci.gate --write-baseline` (new releases move the numbers).
set -euo pipefail
cd "$(dirname "$0")/.."
# Where the CPU torch wheel comes from: the local wheel folder of this project's machines, else PyTorch's CPU index.
if [ -d /opt/wheels ]; then torch_source=(--find-links /opt/wheels)
else torch_source=(--extra-index-url https://download.pytorch.org/whl/cpu --index-strategy unsafe-best-match); fi
common=(--python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes
        --custom-compile-command "bash requirements/refresh-lock.sh")
uv pip compile pyproject.toml "${common[@]}" "${torch_source[@]}" \
    --constraint requirements/constraints.txt --output-file requirements.lock "$@"
uv pip compile pyproject.toml "${common[@]}" \
    --constraint requirements/constraints-gpu.txt --output-file requirements-gpu.lock "$@"
