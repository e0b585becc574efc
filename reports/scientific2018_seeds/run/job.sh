#!/usr/bin/env bash
# ./job.sh NAME STAGE ARGS...: one stage process with one thread, its log and start/end times.
name=$1; shift
cd /work/evid || exit 1
start=$(date +%s)
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 /work/main/.venv/bin/python -m stages."$@" > /work/evid-run/logs/$name.log 2>&1
rc=$?
end=$(date +%s)
printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$start" "$end" "$((end - start))" "$rc" >> /work/evid-run/times.tsv
[ $rc -eq 0 ] && touch /work/evid-run/stamps/$name
exit $rc
