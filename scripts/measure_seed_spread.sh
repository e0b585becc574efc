#!/usr/bin/env bash
# Run-to-run spread of every gated demo metric across training seeds (the gate's tolerances come from it).
# Usage: bash scripts/measure_seed_spread.sh SEED [SEED ...]   (from the repository root, after `dvc repro`)
# For each seed: the seeded stages (tokenize, train/evaluate of every variant, baselines, ETEGRec, popularity)
# re-run on the demo's fixed data (download/filter/embed do not depend on the seed) with `seed: SEED`, in a
# throw-away copy of the workspace; their flattened metrics go to reports/ci/seed_spread/seed_<SEED>.json.
# Then: python -m pipeline_lib.reporting.seed_spread   (summary + tolerances).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$PWD/reports/ci/seed_spread
mkdir -p "$out"
variants=$(python -c "import yaml; print(' '.join(yaml.safe_load(open('params.yaml'))['variants']))")
for seed in "$@"; do
    work=$(mktemp -d)
    cp -r data params.yaml "$work"/
    ln -s "$PWD/stages" "$PWD/pipeline_lib" "$work"/
    rm -rf "$work/data/demo/checkpoints"
    python - "$work/params.yaml" "$seed" <<'PY'
import sys, yaml
path, seed = sys.argv[1], int(sys.argv[2])
params = yaml.safe_load(open(path))
params["seed"] = seed
yaml.safe_dump(params, open(path, "w"), sort_keys=False)
PY
    (
        cd "$work"
        python -m stages.tokenize demo
        python -m stages.popularity demo
        for v in $variants; do python -m stages.train demo "$v" && python -m stages.evaluate demo "$v"; done
        python -m stages.baseline demo sasrec
        python -m stages.baseline demo gru4rec
        python -m stages.etegrec demo
    ) > "$out/seed_$seed.log" 2>&1
    python -m pipeline_lib.reporting.seed_spread --collect "$work/reports/metrics" --seed "$seed"
    rm -rf "$work"
done
