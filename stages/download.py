"""Stage download: fetch (or generate, for the demo) a dataset's source files with a sha256 manifest."""

from pipeline_lib.cli import dataset_argparser, run_stage
from pipeline_lib.data.acquire import acquire
from pipeline_lib.params import dataset_spec, load_params
from pipeline_lib.paths import DatasetPaths


def main() -> None:
    args = dataset_argparser(__doc__).parse_args()
    params = load_params(args.params)
    spec = dataset_spec(params, args.dataset, args.params)
    paths = DatasetPaths(args.dataset)
    acquire(spec, params, paths.raw, paths.manifest)


if __name__ == "__main__":
    run_stage(main)
