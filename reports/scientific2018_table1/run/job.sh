#!/usr/bin/env bash
# ./job.sh NAME STAGE ARGS...: one stage process with one thread, its log and start/end times.
name=$1; shift
cd /work/evid2 || exit 1
# train-tiger-2025 with 2 threads, as the previous run trained it (dvc repro), so its numbers can be compared exactly
threads=1; [ "$name" = train-tiger-2025 ] && threads=2
start=$(date +%s)
OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads TQDM_DISABLE=1 /work/main/.venv/bin/python -m stages."$@" > /work/evid2-run/logs/$name.log 2>&1
rc=$?
end=$(date +%s)
printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$start" "$end" "$((end - start))" "$rc" >> /work/evid2-run/times.tsv
[ $rc -eq 0 ] && touch /work/evid2-run/stamps/$name
exit $rc
