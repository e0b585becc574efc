"""pipeline_lib.paths: a dataset's result files and a campaign folder's share one layout (ResultFiles)."""

from pathlib import Path

from pipeline_lib.paths import DatasetPaths, ResultFiles, run_name


def test_a_datasets_result_files_are_where_the_stages_write_them():
    paths, run = DatasetPaths("ds", Path("root")), run_name("decor", 1)
    files = paths.results
    assert files.eval_metrics(run) == Path("root/reports/metrics/ds/eval/decor/seed_1.json") == paths.eval_metrics(run)
    assert files.train_metrics(run) == Path("root/reports/metrics/ds/train/decor/seed_1.json")
    assert files.user_ranks(run) == Path("root/data/ds/ranks/decor/seed_1.parquet") == paths.user_ranks(run)
    assert files.tokenizer_metrics_of(None) == Path("root/reports/metrics/ds/tokenizer.json")
    assert files.tokenizer_metrics_of("letter") == Path("root/reports/metrics/ds/tokenizer_letter.json")
    assert files.dataset_stats == Path("root/reports/metrics/ds/dataset_stats.json") == paths.dataset_stats


def test_a_campaign_folder_holds_the_same_names_under_metrics_and_no_ranks():
    files = ResultFiles.of_campaign(Path("reports/camp"))
    assert files.eval_metrics("tiger/seed_2") == Path("reports/camp/metrics/eval/tiger/seed_2.json")
    assert files.tokenizer_metrics_of("cost") == Path("reports/camp/metrics/tokenizer_cost.json")
    assert files.user_ranks("tiger/seed_2") is None
