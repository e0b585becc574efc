"""Stage tables: the paper's Tables 1–4 (ours beside the paper's numbers) as Markdown, LaTeX and CSV."""

import argparse

from pipeline_lib.cli import run_stage
from pipeline_lib.reporting.table_rendering import summary, write_tables
from pipeline_lib.reporting.tables import report_tables, tables_config
from pipeline_lib.schema import load_params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    parser.add_argument("--out", default="reports/tables", help="output directory (default: reports/tables)")
    args = parser.parse_args()
    params = load_params(args.params)
    tables = report_tables(params, args.params)
    written = write_tables(tables, args.out, tables_config(params, args.params).formats)
    for table in tables:
        print(summary(table))
        for note in table.notes:
            print(f"  {note}")
    print(f"wrote {len(written)} files to {args.out}")


if __name__ == "__main__":
    run_stage(main)
