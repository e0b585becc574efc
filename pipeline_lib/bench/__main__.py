"""Benchmark one variant on one dataset: training samples/s, seconds per epoch, beam-search users/s,
peak memory, and the decoder against its references. Writes reports/bench/<device>_<dataset>_<variant>.{json,md}.

With ``--reference hf`` the same run also times the standard Hugging Face path (T5ForConditionalGeneration,
padded batches, plain AdamW, constrained ``generate``) on the same batches and users, interleaved with ours,
and reports ours / reference ratios.

Uses the dataset's pipeline artifacts (data/<dataset>/filtered, data/<dataset>/tokenizer) when present,
else a synthetic catalogue (by default of the paper's Scientific size).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

from pipeline_lib.bench.measure import BenchOptions, HFOptions
from pipeline_lib.bench.report import markdown, write_report
from pipeline_lib.bench.run import run_benchmark
from pipeline_lib.bench.setup import load_setup, real_data_present
from pipeline_lib.bench.synthetic import SyntheticSize
from pipeline_lib.cli import dataset_argparser, run_stage
from pipeline_lib.device import resolve_device
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.models.hf_t5 import hf_t5_config
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
    parser.add_argument("--profile-steps", type=int, default=0,
                        help="also profile this many training steps: FLOPs per sample, top ops (default: none)")
    parser.add_argument("--peak-gflops", type=float, default=None,
                        help="the device's fp32 peak, for the share of it achieved (2-core Zen 4 at 2.6 GHz: 166)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the training loss")
    parser.add_argument("--cuda-graphs", action="store_true",
                        help="train.cuda_graphs: compile in mode reduce-overhead, CUDA graphs of the bucket shapes")
    parser.add_argument("--device", default="auto", help="auto (the GPU when there is one), cpu, cuda, cuda:1, …")
    parser.add_argument("--reference", choices=["hf"], default=None,
                        help="hf: also time the Hugging Face T5 path on the same batches, interleaved with ours")
    parser.add_argument("--hf-repeats", type=int, default=HFOptions.repeats,
                        help="interleaved repeats of the hf comparison, ≥ 3 (default: %(default)s)")
    parser.add_argument("--hf-train-steps", type=int, default=HFOptions.train_steps,
                        help="training steps per side and repeat (default: %(default)s)")
    parser.add_argument("--hf-eval-users", type=int, default=HFOptions.eval_users,
                        help="validation users decoded per side, beam and repeat (default: %(default)s)")
    parser.add_argument("--hf-beams", type=int, nargs="+", default=list(HFOptions.beams),
                        help="beam sizes of the hf comparison (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("reports/bench"), help="report folder (default: %(default)s)")
    return parser


def _one_line_error(message: str) -> NoReturn:
    """argparse's errors as every stage's: one line and exit code 2 (through ``run_stage``), no usage block."""
    raise PipelineInputError("command line", f"{message} (see --help)")


def main() -> None:
    parser = argument_parser()
    parser.error = _one_line_error  # type: ignore[method-assign]
    args = parser.parse_args()
    try:
        options = BenchOptions(args.repeats, args.warmup, args.train_steps, args.eval_users,
                               args.reference_users, args.reference_items, args.profile_steps, args.peak_gflops)
        size = SyntheticSize(args.users, args.items, args.interactions)
        hf = None if args.reference is None else HFOptions(args.hf_repeats, args.hf_train_steps, args.hf_eval_users,
                                                           tuple(args.hf_beams))
    except ValueError as err:
        raise PipelineInputError("command line", str(err)) from None
    synthetic = args.synthetic or not real_data_present(DatasetPaths(args.dataset))
    if synthetic and not args.synthetic:
        print(f"no pipeline artifacts for {args.dataset} under data/{args.dataset}: using a synthetic catalogue {size}")
    decode = {"beam_size": args.beam} | ({} if args.eval_batch is None else {"batch_size": args.eval_batch})
    switches = {name: True for name in ("compile", "cuda_graphs") if getattr(args, name)}
    setup = load_setup(args.params, args.dataset, args.variant, resolve_device(args.device),
                       size if synthetic else None, switches, decode)
    if hf is not None:
        try:
            hf.check_beams(setup.decode.top_k)
            hf_t5_config(setup.config)  # a backbone transformers' generate can run
        except ValueError as err:
            raise PipelineInputError("command line", str(err)) from None
    result = run_benchmark(setup, options, hf)
    json_path, md_path = write_report(args.out, result, setup.label)
    print(markdown(result))
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    run_stage(main)
