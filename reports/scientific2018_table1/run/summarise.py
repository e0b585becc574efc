"""Table of test metrics (mean ± sd over the seeds present) and run times for the issue-14 evidence run.

New rows from /work/evid2 (this run); earlier rows from reports/scientific2018_seeds (previous run, same data
and RQ-VAE tokenizer). Prints Markdown."""
import json, statistics, sys
from pathlib import Path

new = Path("/work/evid2/reports/metrics/scientific2018")
old = Path("/work/main/reports/scientific2018_seeds/metrics")
times = {}
for line in Path("/work/evid2-run/times.tsv").read_text().splitlines():
    name, _, _, seconds, rc = line.split("\t")
    if rc == "0":
        times[name] = int(seconds)
rows = [("BERT4Rec", "bert4rec", new), ("Caser", "caser", new), ("FDSA", "fdsa", new), ("S3Rec", "s3rec", new),
        ("LETTER (TIGER on LETTER's tokenizer)", "letter", new), ("CoST (TIGER on CoST's tokenizer)", "cost", new),
        ("SASRec (previous run)", "sasrec", old), ("GRU4Rec (previous run)", "gru4rec", old),
        ("TIGER (previous run)", "tiger", old), ("DECOR (previous run)", "decor", old), ("ETEGRec (previous run)", "etegrec", old)]
metrics = ("recall@5", "recall@10", "ndcg@5", "ndcg@10")
print("| row | seeds | " + " | ".join(m.replace("recall", "R").replace("ndcg", "N") for m in metrics) + " | wall s: train (s/epoch) + test |")
print("|---|---|" + "---|" * (len(metrics) + 1))
for label, run, root in rows:
    files = sorted((root / "eval" / run).glob("seed_*.json"))
    if not files:
        print(f"| {label} | 0 | " + " | ".join("not run" for _ in metrics) + " | |")
        continue
    values = [json.loads(f.read_text())["test"] for f in files]
    seeds = [f.stem.removeprefix("seed_") for f in files]
    cells = []
    for m in metrics:
        xs = [v[m] for v in values]
        cells.append(f"{statistics.mean(xs):.4f}" + (f" ± {statistics.stdev(xs):.4f}" if len(xs) > 1 else ""))
    secs = []
    for s in seeds:
        timing = (root.parent.parent / "timings" / "scientific2018" / run / f"seed_{s}.json") if root == new else None
        if timing is not None and timing.is_file():
            t = json.loads(timing.read_text())
            test = times.get(f"evaluate-{run}-{s}")
            secs.append(f"{t['wall_seconds_this_run']:.0f} ({t['seconds_per_epoch']:.0f} s/epoch)"
                        + (f" + test {test}" if test else ""))
    print(f"| {label} | {', '.join(seeds)} | " + " | ".join(cells) + f" | {'; '.join(secs) or '—'} |")
pop = json.loads((old / "eval" / "popularity.json").read_text())["test"] if (old / "eval" / "popularity.json").exists() else None
if pop:
    print("| Popularity (previous run) | — | " + " | ".join(f"{pop[m]:.4f}" for m in metrics) + " | |")
