"""Benchmark one variant on one dataset: training samples/s, seconds per epoch, beam-search users/s,
peak memory, and the decoder against its references. Writes reports/bench/<device>_<dataset>_<variant>.{json,md}.

Uses the dataset's pipeline artifacts (data/<dataset>/filtered, data/<dataset>/tokenizer) when present,
else a synthetic catalogue (by default of the paper's Scientific size).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline_lib.bench.measure import BenchOptions
from pipeline_lib.bench.report import markdown, write_report
from pipeline_lib.bench.run import run_benchmark
from pipeline_lib.bench.setup import load_setup, real_data_present
from pipeline_lib.bench.synthetic import SyntheticSize
from pipeline_lib.cli import dataset_argparser, run_stage
from pipeline_lib.device import resolve_device
from pipeline_lib.models.variants import VARIANTS
from pipeline_lib.paths import DatasetPaths


def argument_parser() -> argparse.ArgumentParser:
    parser = dataset_argparser(__doc__)
    parser.add_argument("variant", choices=sorted(VARIANTS))
    parser.add_argument("--synthetic", action="store_true", help="a synthetic catalogue even where real data exists")
    parser.add_argument("--users", type=int, default=SyntheticSize.users, help="synthetic users (default: %(default)s)")
    parser.add_argument("--items", type=int, default=SyntheticSize.items, help="synthetic items (default: %(default)s)")
    parser.add_argument("--interactions", type=int, default=SyntheticSize.interactions,
                        help="synthetic interactions (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=BenchOptions.repeats, help="timed repeats (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=BenchOptions.warmup_steps,
                        help="untimed training steps first (default: %(default)s)")
    parser.add_argument("--train-steps", type=int, default=BenchOptions.train_steps,
                        help="training steps per repeat; 0 = a whole epoch (default)")
    parser.add_argument("--eval-users", type=int, default=BenchOptions.eval_users,
                        help="validation users decoded per repeat; 0 = all (default)")
    parser.add_argument("--beam", type=int, default=50, help="beam size (default: the paper's %(default)s)")
    parser.add_argument("--eval-batch", type=int, default=None, help="users per beam-search batch (default: evaluate.batch_size)")
    parser.add_argument("--reference-users", type=int, default=BenchOptions.reference_users)
    parser.add_argument("--reference-items", type=int, default=BenchOptions.reference_items,
                        help="catalogue size of the naive beam-search comparison (default: %(default)s)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the training loss")
    parser.add_argument("--device", default="auto", help="auto (the GPU when there is one), cpu, cuda, cuda:1, …")
    parser.add_argument("--out", type=Path, default=Path("reports/bench"), help="report folder (default: %(default)s)")
    return parser


def main() -> None:
    parser = argument_parser()
    args = parser.parse_args()
    try:
        options = BenchOptions(args.repeats, args.warmup, args.train_steps, args.eval_users,
                               args.reference_users, args.reference_items)
        size = SyntheticSize(args.users, args.items, args.interactions)
    except ValueError as err:
        parser.error(str(err))
    synthetic = args.synthetic or not real_data_present(DatasetPaths(args.dataset))
    if synthetic and not args.synthetic:
        print(f"no pipeline artifacts for {args.dataset} under data/{args.dataset}: using a synthetic catalogue {size}")
    decode = {"beam_size": args.beam} | ({} if args.eval_batch is None else {"batch_size": args.eval_batch})
    setup = load_setup(args.params, args.dataset, args.variant, resolve_device(args.device),
                       size if synthetic else None, {"compile": args.compile} if args.compile else {}, decode)
    result = run_benchmark(setup, options)
    json_path, md_path = write_report(args.out, result, setup.label)
    print(markdown(result))
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    run_stage(main)
