variants = ["tiger", "tokcomp", "tokcomp_bos", "pretrained", "pretrained_tokcomp", "decor"]
seeds = [2025, 1, 2]
ds = "scientific2018"
rules, order = [], []
def job(name, cmd, deps=()):
    rules.append(f"stamps/{name}: {' '.join('stamps/'+d for d in deps)}\n\t./job.sh {name} {cmd}\n")
    order.append(name)
for s in seeds:
    job(f"baseline-sasrec-{s}", f"baseline {ds} sasrec --seed {s}")
    job(f"baseline-gru4rec-{s}", f"baseline {ds} gru4rec --seed {s}")
    job(f"etegrec-{s}", f"etegrec {ds} --seed {s}", [f"baseline-sasrec-{s}"])
    for v in variants:
        job(f"train-{v}-{s}", f"train {ds} {v} --seed {s}")
        job(f"evaluate-{v}-{s}", f"evaluate {ds} {v} --seed {s}", [f"train-{v}-{s}"])
with open("/work/evid-run/Makefile", "w") as f:
    f.write("all: " + " ".join("stamps/" + n for n in order) + "\n\n" + "\n".join(rules))
