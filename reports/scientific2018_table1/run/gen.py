"""Writes the Makefile of the issue-14 evidence run: every new Table 1 row on scientific2018, 3 training seeds."""
seeds = [2025, 1, 2]
ds = "scientific2018"
rules, order = [], []
def job(name, cmd, deps=()):
    rules.append(f"stamps/{name}: {' '.join('stamps/'+d for d in deps)}\n\t./job.sh {name} {cmd}\n")
    order.append(name)
# order: the cheap rows for every seed first, S3Rec (the slowest) and the TIGER reproduction check last
running = {"baseline-s3rec-2025", "baseline-fdsa-2025"}  # started by the first Makefile; they finish on their own
for s in seeds:
    for v in ("letter", "cost"):
        job(f"train-{v}-{s}", f"train {ds} {v} --seed {s}")
        job(f"evaluate-{v}-{s}", f"evaluate {ds} {v} --seed {s}", [f"train-{v}-{s}"])
    job(f"baseline-caser-{s}", f"baseline {ds} caser --seed {s}")
    job(f"baseline-bert4rec-{s}", f"baseline {ds} bert4rec --seed {s}")
    if f"baseline-fdsa-{s}" not in running:
        job(f"baseline-fdsa-{s}", f"baseline {ds} fdsa --seed {s}")
for s in seeds:
    if f"baseline-s3rec-{s}" not in running:
        job(f"baseline-s3rec-{s}", f"baseline {ds} s3rec --seed {s}")
# same code, same seed as the previous evidence run (reports/scientific2018_seeds): a reproducibility check
job("train-tiger-2025", f"train {ds} tiger --seed 2025")
job("evaluate-tiger-2025", f"evaluate {ds} tiger --seed 2025", ["train-tiger-2025"])
with open("/work/evid2-run/Makefile", "w") as f:
    f.write("all: " + " ".join("stamps/" + n for n in order) + "\n\n" + "\n".join(rules))
