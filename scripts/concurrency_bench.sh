#!/usr/bin/env bash
# Two training stages at once against one alone, for the default CPU setting (cpu.threads_per_run 1, a stage's
# seeds side by side) and torch's default (2 threads, seeds in turn): issue 28's oversubscription case
# (`dvc queue start -j 2`, two checkouts). Runs in a scratch copy of the demo's filtered data and tokenizer (run
# `dvc repro` first); the workspace's outputs are not touched. Run on a quiet machine.
# Usage: bash scripts/concurrency_bench.sh > reports/bench/cpu_concurrency.tsv
# Output: setting, case, stage, wall seconds of the stage process.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/data/demo"
cp -r "$repo/data/demo/filtered" "$repo/data/demo/tokenizer" "$work/data/demo/"
python - "$repo/params.yaml" "$work" <<'PY'
import sys, yaml
params = yaml.safe_load(open(sys.argv[1]))
for name, cpu in {"one_thread_side_by_side": {"threads_per_run": 1, "parallel_runs": None},
                  "torch_default_in_turn": {"threads_per_run": 2, "parallel_runs": 1}}.items():
    yaml.safe_dump({**params, "cpu": cpu}, open(f"{sys.argv[2]}/{name}.yaml", "w"), sort_keys=False)
PY
cd "$work"
timed() {  # timed SETTING CASE VARIANT: one train stage's wall seconds
    local start end
    start=$(date +%s.%N)
    PYTHONPATH="$repo" python -m stages.train demo "$3" --params "$1.yaml" >/dev/null 2>&1
    end=$(date +%s.%N)
    printf '%s\t%s\t%s\t%.1f\n' "$1" "$2" "$3" "$(echo "$end - $start" | bc)"
}
printf 'setting\tcase\tstage\twall_s\n'
for setting in one_thread_side_by_side torch_default_in_turn; do
    timed "$setting" alone tiger
    timed "$setting" alone pretrained
    timed "$setting" together tiger & timed "$setting" together pretrained & wait
done
