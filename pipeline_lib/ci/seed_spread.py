"""Run-to-run spread of the gated metrics across training seeds, from which the CI gate's tolerances come.

The pipeline trains every model once per seed of params ``seeds`` (``dvc exp run -S 'seeds=[2025,1,2]'``);
``--collect reports/metrics`` splits the metrics by seed and stores each seed's (the gate's
``<file>:<key>`` form with the ``/seed_<s>`` part dropped, ignored keys left out; unseeded files such
as the tokenizer's in every seed) as ``reports/ci/seed_spread/seed_<s>.json``. Without ``--collect`` this module
summarises the stored seeds: for every metric its mean, standard deviation (n − 1) and range
(max − min over seeds), and per metric family (the key without its model file, e.g.
``test.recall@10`` or ``utilization.layer_3``) the largest range over models. A family's tolerance
in ``params.yaml`` (``gate.tolerances``) must be at least that largest range, so the metrics of
another seed pass the gate; the summary lists the families whose current tolerance is smaller, and
the families the gate ignores.

CLI: ``python -m pipeline_lib.ci.seed_spread [--collect METRICS_DIR] [--dir reports/ci/seed_spread]``
"""

from __future__ import annotations

import argparse
import re
import statistics
from collections import defaultdict
from pathlib import Path

from tabulate import tabulate

from pipeline_lib.ci.gate import GateConfig, collect_metrics, gate_config
from pipeline_lib.cli import run_stage
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import atomic_path, read_json, write_json
from pipeline_lib.schema import load_params

SPREAD_DIR = Path("reports") / "ci" / "seed_spread"
_SEED_FILE = re.compile(r"seed_(-?\d+)\.json$")
_SEED_RUN = re.compile(r"/seed_(\d+)\.json:")


def split_by_seed(metrics: dict[str, float]) -> dict[int, dict[str, float]]:
    """The gate's flattened metrics → one mapping per training seed, keys without their seed
    (``demo/eval/tiger/seed_1.json:test.recall@10`` → seed 1's ``demo/eval/tiger.json:test.recall@10``);
    keys of unseeded files (tokenizer, popularity, dataset statistics) go to every seed."""
    seeded: dict[int, dict[str, float]] = defaultdict(dict)
    shared: dict[str, float] = {}
    for key, value in metrics.items():
        match = _SEED_RUN.search(key)
        if match is None:
            shared[key] = value
        else:
            seeded[int(match.group(1))][key[: match.start()] + ".json:" + key[match.end():]] = value
    return {seed: {**shared, **values} for seed, values in sorted(seeded.items())}


def family(key: str) -> str:
    """``demo/eval/tiger.json:test.recall@10`` → ``eval:test.recall@10`` (the metric, whatever the model)."""
    path, metric = key.split(":", 1)
    parts = path.split("/")
    kind = parts[1] if len(parts) > 2 else parts[-1].removesuffix(".json")
    return f"{kind}:{metric}"


def read_seeds(directory: Path) -> dict[int, dict[str, float]]:
    runs = {int(m.group(1)): read_json(p) for p in sorted(directory.glob("seed_*.json")) if (m := _SEED_FILE.search(p.name))}
    if len(runs) < 2:
        raise PipelineInputError(directory, f"need the metrics of at least 2 seeds, found {len(runs)}")
    return runs


def spread(runs: dict[int, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per metric key present in every run: mean, sd (n − 1), min, max, range over the seeds."""
    keys = sorted(set.intersection(*(set(r) for r in runs.values())))
    out = {}
    for key in keys:
        values = [runs[s][key] for s in sorted(runs)]
        out[key] = {"mean": statistics.fmean(values), "sd": statistics.stdev(values), "min": min(values),
                    "max": max(values), "range": max(values) - min(values)}
    return out


def family_ranges(per_key: dict[str, dict[str, float]]) -> dict[str, tuple[float, str]]:
    """Largest range over the models of each metric family, and the key where it occurred."""
    largest: dict[str, tuple[float, str]] = defaultdict(lambda: (-1.0, ""))
    for key, stats in per_key.items():
        name = family(key)
        if stats["range"] > largest[name][0]:
            largest[name] = (stats["range"], key)
    return dict(largest)


def render(runs: dict[int, dict[str, float]], per_key: dict[str, dict[str, float]], config: GateConfig) -> str:
    """Markdown: seeds, per-family largest range of the gated keys beside the gate's tolerance, the
    families the gate ignores, and every key's statistics."""
    gated = {k: v for k, v in per_key.items() if not config.ignored(k)}
    ignored = family_ranges({k: v for k, v in per_key.items() if config.ignored(k)})
    rows = [[name, f"{largest:.4f}", key.split(":")[0], f"{config.tolerance(key):g}",
             "ok" if config.tolerance(key) >= largest else "TOO SMALL"]
            for name, (largest, key) in sorted(family_ranges(gated).items())]
    lines = [
        "# Seed spread of the demo's gated metrics",
        "",
        f"Seeds: {', '.join(str(s) for s in sorted(runs))}. Written by `python -m pipeline_lib.ci.seed_spread`;",
        "collected with `--collect reports/metrics` from a run of the demo with those `seeds` (data fixed).",
        "",
        "## Gated: largest range (max − min over seeds) per metric family, against the gate's tolerance",
        "",
        tabulate(rows, headers=["family", "largest range", "in", "tolerance", "tolerance ≥ range"], tablefmt="github"),
        "",
        "## Not gated (`gate.ignore`): largest range per family",
        "",
        tabulate([[name, f"{largest:.4f}", key.split(":")[0]] for name, (largest, key) in sorted(ignored.items())],
                 headers=["family", "largest range", "in"], tablefmt="github"),
        "",
        "## Every metric",
        "",
        tabulate(
            [[k, f"{s['mean']:.4f}", f"{s['sd']:.4f}", f"{s['min']:.4f}", f"{s['max']:.4f}", f"{s['range']:.4f}"]
             for k, s in per_key.items()],
            headers=["metric", "mean", "sd", "min", "max", "range"], tablefmt="github",
        ),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml", help="params file with the `gate` section")
    parser.add_argument("--dir", type=Path, default=SPREAD_DIR, help=f"per-seed metrics folder (default: {SPREAD_DIR})")
    parser.add_argument("--collect", type=Path, help="a run's metrics folder (reports/metrics): store it per seed")
    args = parser.parse_args(argv)
    config = gate_config(load_params(args.params), args.params)
    if args.collect is not None:
        metrics = {k: v for k, v in collect_metrics(args.collect).items() if not config.ignored(k)}
        for seed, values in split_by_seed(metrics).items():
            write_json(args.dir / f"seed_{seed}.json", values)
            print(f"wrote {args.dir / f'seed_{seed}.json'} ({len(values)} metrics)")
        return
    runs = read_seeds(args.dir)
    per_key = spread(runs)
    write_json(args.dir / "spread.json", per_key)
    with atomic_path(args.dir / "summary.md") as tmp:
        tmp.write_text(render(runs, per_key, config))
    print(f"wrote {args.dir / 'spread.json'} and {args.dir / 'summary.md'} ({len(runs)} seeds, {len(per_key)} metrics)")


if __name__ == "__main__":
    run_stage(main)
