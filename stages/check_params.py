"""Stage check_params: the whole params file against the schema, before any stage that writes results.

Every other stage descends from this one in dvc.yaml, so ``dvc repro`` runs it first: a bad value stops the
run here with one line naming its key (``params.yaml, field 'variants[1]': …``, exit 2), before DVC deletes
the outputs of a stage that would read it. Run it by hand too — ``python -m stages.check_params`` — when DVC
itself fails on params.yaml while expanding dvc.yaml (a matrix key such as ``seeds`` that is not a list).
"""

import argparse

from pipeline_lib.cli import run_stage
from pipeline_lib.io import atomic_path
from pipeline_lib.schema import load_params

CHECKED = "data/params_checked.txt"  # the same bytes for every valid params file: downstream stages stay cached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    parser.add_argument("--out", default=CHECKED, help=f"marker written when the params are valid (default: {CHECKED})")
    args = parser.parse_args()
    load_params(args.params)
    with atomic_path(args.out) as tmp:
        tmp.write_text("the params file passed the schema (stages/check_params.py)\n")
    print(f"{args.params}: valid")


if __name__ == "__main__":
    run_stage(main)
