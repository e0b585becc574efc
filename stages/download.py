"""Stage download: fetch (or generate, for the demo) a dataset's source files with a sha256 manifest."""

from pipeline_lib.cli import dataset_argparser, run_stage
from pipeline_lib.data.acquire import acquire
from pipeline_lib.schema import dataset_stage


def main() -> None:
    args, params, spec, paths = dataset_stage(dataset_argparser(__doc__))
    acquire(spec, params, paths.raw, paths.manifest)


if __name__ == "__main__":
    run_stage(main)
