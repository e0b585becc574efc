#!/usr/bin/env bash
# Speed benchmark of TIGER and DECOR against the standard Hugging Face path on one GPU:
# `python -m pipeline_lib.bench scientific <variant> --synthetic --device cuda --reference hf` on a synthetic
# catalogue of the paper's Scientific size (synthetic.py defaults: 50k users, 25k items, 400k interactions),
# JSON + Markdown reports (cuda-device-name_scientific-synthetic_<variant>.{json,md}), run.log and summary.md → $OUT.
#
# Usage (from anywhere; it works in the repository root):
#   bash scripts/gpu_bench.sh wheels              # HERE, with PyPI: pydantic wheels → .gpu_run/wheels (the device
#                                                 # has no pydantic; gpu_paper_run.sh prepare leaves the same wheels)
#   bash scripts/gpu_bench.sh                     # ON THE DEVICE, $OUT set (the device tool sets it)
#   GPU_BENCH_TINY=1 OUT=/tmp/b bash scripts/gpu_bench.sh   # CPU rehearsal, tiny sizes, < 2 min (the test)
#
# The device call (device tool, verb `run`), after `wheels` here:
#   command:   bash scripts/gpu_bench.sh
#   carry:     [".gpu_run/wheels"]
#   timeout_s: 500
# Each run (the variants, then the compiled ones, then the CUDA-graph ones) is under `timeout` (GPU_BENCH_TIMEOUT_S, default 210 s, + 10 s
# to kill), so the script ends within runs × 220 s + start-up; a run cut short or failed leaves the others'
# reports, and the script exits 1. On one H200 (2026-11-30) tiger and decor took 283 s together.
#
# What the bench imports (no pip install of the repo: PYTHONPATH=repo): torch, transformers, numpy, pandas,
# pyyaml, pydantic, safetensors, tqdm, accelerate, filelock, scikit-learn (pipeline_lib.tokenizer's package
# import); pyarrow only for real (non-synthetic) data. On the device all but pydantic are installed.
#
# Knobs (environment): GPU_BENCH_TINY (1 = CPU rehearsal), GPU_BENCH_VARIANTS (default "tiger decor"),
# GPU_BENCH_COMPILE_VARIANTS (timed once more with torch.compile, no reference; default "tiger", rehearsal none),
# GPU_BENCH_CUDA_GRAPHS_VARIANTS (timed once more with train.cuda_graphs, no reference; default "tiger",
# rehearsal none),
# GPU_BENCH_TIMEOUT_S (seconds per variant), GPU_BENCH_HF_USERS (users decoded per side, beam and repeat in
# the HF comparison; default 512, tiny 8), GPU_BENCH_HF_STEPS (training steps per side and repeat; default 50),
# GPU_BENCH_DEVICE (default cuda, tiny cpu), GPU_BENCH_WHEELS (wheel folder, default .gpu_run/wheels),
# PYTHON (default python3). A bad value stops the script with one line and exit code 2.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
PY=${PYTHON:-python3}
wheels=${GPU_BENCH_WHEELS:-$repo/.gpu_run/wheels}
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TQDM_DISABLE=1

fail() { echo "error: $*" >&2; exit 2; }

if [ "${1:-}" = wheels ]; then  # the same pins and platforms as gpu_paper_run.sh prepare
    pins=$("$PY" -c 'import importlib.metadata as m; print(" ".join(f"{n}=={m.version(n)}" for n in
          ("pydantic", "pydantic-core", "annotated-types", "typing-inspection", "typing-extensions")))')
    rm -rf "$wheels"
    "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d "$wheels" $pins
    echo "wheels: $(ls "$wheels" | wc -l) files in $wheels (carry it)"
    exit 0
fi
[ -z "${1:-}" ] || fail "unknown argument '$1' (usage: $0 [wheels]; see the header of $0)"

if [ "${GPU_BENCH_TINY:-0}" = 1 ]; then
    dataset=demo device=${GPU_BENCH_DEVICE:-cpu} per_run=${GPU_BENCH_TIMEOUT_S:-90}
    hf_users=${GPU_BENCH_HF_USERS:-8} hf_steps=${GPU_BENCH_HF_STEPS:-1}
    size=(--users 60 --items 45 --interactions 420)
    base=(--repeats 1 --warmup 1 --train-steps 1 --eval-users 8 --reference-users 3 --reference-items 45)
else
    dataset=scientific device=${GPU_BENCH_DEVICE:-cuda} per_run=${GPU_BENCH_TIMEOUT_S:-210}
    hf_users=${GPU_BENCH_HF_USERS:-512} hf_steps=${GPU_BENCH_HF_STEPS:-50}
    size=()  # synthetic.py's defaults: the paper's Scientific size
    base=(--repeats 3 --warmup 10 --train-steps 200 --eval-users 4096 --reference-users 8 --reference-items 500)
fi
variants=${GPU_BENCH_VARIANTS:-tiger decor}
# also timed with train.compile (no reference), reports in $OUT/compiled; the rehearsal skips it (CPU compile: minutes)
compiled=${GPU_BENCH_COMPILE_VARIANTS-$([ "${GPU_BENCH_TINY:-0}" = 1 ] || echo tiger)}
# and with train.cuda_graphs (compile mode reduce-overhead), reports in $OUT/cuda_graphs; the rehearsal skips it
graphed=${GPU_BENCH_CUDA_GRAPHS_VARIANTS-$([ "${GPU_BENCH_TINY:-0}" = 1 ] || echo tiger)}
for setting in "GPU_BENCH_TIMEOUT_S=$per_run" "GPU_BENCH_HF_USERS=$hf_users" "GPU_BENCH_HF_STEPS=$hf_steps"; do
    [[ "${setting#*=}" =~ ^[1-9][0-9]*$ ]] || fail "${setting%%=*} must be a positive whole number, got '${setting#*=}'"
done
[ -n "${OUT:-}" ] || fail "OUT (the folder for the reports) is not set"
mkdir -p "$OUT"
exec > >(tee -a "$OUT/run.log") 2>&1

if ! "$PY" -c 'import pydantic' 2>/dev/null; then
    compgen -G "$wheels/*.whl" >/dev/null || fail "pydantic is not installed and $wheels holds no wheels (run: $0 wheels)"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/gpu_bench_site \
        "$wheels"/*.whl
    export PYTHONPATH="/tmp/gpu_bench_site:$PYTHONPATH"
fi
echo "gpu_bench: dataset $dataset (synthetic), device $device, variants '$variants', $per_run s each, $(date -u +%FT%TZ)"
"$PY" -c 'import sys, torch, transformers; print("python", sys.version.split()[0], "torch", torch.__version__,
"transformers", transformers.__version__, "cuda", torch.cuda.is_available() and torch.cuda.get_device_name(0))'

failed=0
timed() {  # timed LABEL COMMAND...: run under `timeout`, log the exit and the seconds; a failure marks the run failed
    local label=$1 began=$SECONDS rc=0
    shift
    echo "== $label: $*"
    timeout --kill-after=10 "$per_run" "$@" || rc=$?
    echo "== $label: exit $rc after $((SECONDS - began)) s$([ "$rc" = 124 ] && echo " (timed out)")"
    [ "$rc" = 0 ] || failed=1
}
for variant in $variants; do
    timed "$variant" "$PY" -m pipeline_lib.bench "$dataset" "$variant" --synthetic "${size[@]}" --device "$device" \
        "${base[@]}" --reference hf --hf-repeats 3 --hf-train-steps "$hf_steps" --hf-eval-users "$hf_users" \
        --hf-beams 20 50 --out "$OUT"
done
for variant in $compiled; do
    timed "$variant compiled" "$PY" -m pipeline_lib.bench "$dataset" "$variant" --synthetic "${size[@]}" \
        --device "$device" "${base[@]}" --compile --out "$OUT/compiled"
done
for variant in $graphed; do
    timed "$variant cuda graphs" "$PY" -m pipeline_lib.bench "$dataset" "$variant" --synthetic "${size[@]}" \
        --device "$device" "${base[@]}" --cuda-graphs --out "$OUT/cuda_graphs"
done

"$PY" - "$OUT" <<'EOF' || failed=1
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
rows = ["| variant | device | train samples/s | users/s beam 20 | users/s beam 50 | train memory | decode memory beam 50 |",
        "|---|---|---|---|---|---|---|"]
fmt = lambda v: "n/a" if v is None else f"{v:.2f}×"
for path in sorted(out.glob("*.json")):
    result = json.loads(path.read_text())
    ratios = result.get("hf_reference", {}).get("ratios")
    if ratios:
        rows.append(f"| {result['variant']} | {result['device_name']} | {fmt(ratios['train_samples_per_s'])} | "
                    f"{fmt(ratios.get('users_per_s_beam_20'))} | {fmt(ratios.get('users_per_s_beam_50'))} | "
                    f"{fmt(ratios['train_peak_memory'])} | {fmt(ratios.get('decode_peak_memory_beam_50'))} |")
text = "# Ours / Hugging Face reference (medians of interleaved repeats)\n\n" + "\n".join(rows) + "\n"
(out / "summary.md").write_text(text)
print(text)
EOF
exit "$failed"
