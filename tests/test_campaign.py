"""Evidence campaigns (pipeline_lib/campaign.py): the job list, the settings fingerprint, skipping done runs on a
restart, collecting a finished run's outputs. The stage processes are replaced by a stub that writes outputs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from pipeline_lib import campaign as campaign_module
from pipeline_lib.campaign import (
    collect_outputs,
    done_fingerprints,
    fingerprint,
    load_campaign,
    resolved_settings,
    run_campaign,
)
from pipeline_lib.errors import PipelineInputError
from pipeline_lib.io import read_json, write_json
from pipeline_lib.paths import DatasetPaths, run_name
from pipeline_lib.schema import load_params

ROOT = Path(__file__).resolve().parents[1]


def make_folder(tmp_path: Path, runs: list[dict], dataset: str = "scientific2018_converged") -> Path:
    folder = tmp_path / "reports" / "camp"
    folder.mkdir(parents=True)
    (folder / "jobs.yaml").write_text(yaml.safe_dump({"dataset": dataset, "runs": runs}))
    return folder


def test_job_list_expands_seeds_and_etegrec_waits_for_sasrec(tmp_path):
    folder = make_folder(tmp_path, [{"stage": "baseline", "model": "sasrec", "seeds": [2025, 1]},
                                    {"stage": "etegrec", "model": "etegrec", "seeds": [1]}])
    camp = load_campaign(folder, ROOT / "params.yaml")
    assert [job.key for job in camp.jobs] == ["sasrec:2025", "sasrec:1", "etegrec:1"]
    assert camp.jobs[2].needs == ("sasrec:1",) and camp.jobs[0].tokenizer is None
    p = Path("params.yaml")
    assert camp.jobs[2].command("ds", p) == ["-m", "stages.etegrec", "ds", "--seed", "1", "--params", "params.yaml"]
    assert camp.jobs[0].command("ds", p) == ["-m", "stages.baseline", "ds", "sasrec", "--seed", "2025", "--params",
                                             "params.yaml"]


def test_set_changes_params_keys_for_the_campaign_and_its_fingerprints(tmp_path):
    runs = [{"stage": "train", "model": "tiger", "seeds": [2025]}]
    plain = load_campaign(make_folder(tmp_path / "a", runs, "scientific2018"), ROOT / "params.yaml")
    folder = tmp_path / "b" / "reports" / "camp"
    folder.mkdir(parents=True)
    (folder / "jobs.yaml").write_text(yaml.safe_dump({"dataset": "scientific2018", "runs": runs, "set": {
        "protocol": "etegrec", "catalog.scientific2018.profile": "cpu"}}))
    changed = load_campaign(folder, ROOT / "params.yaml")
    assert changed.params["protocol"] == "etegrec" and changed.params["catalog"]["scientific2018"]["profile"] == "cpu"
    assert changed.params_path == Path("data/scientific2018/campaign_params.yaml")
    assert changed.raw_params["protocol"] == "etegrec" and plain.params_path == ROOT / "params.yaml"
    job = changed.jobs[0]
    assert fingerprint(resolved_settings(changed.params, "scientific2018"), job) != fingerprint(
        resolved_settings(plain.params, "scientific2018"), plain.jobs[0])
    (folder / "jobs.yaml").write_text(yaml.safe_dump({"dataset": "scientific2018", "runs": runs,
                                                      "set": {"protocol": "mine"}}))
    with pytest.raises(PipelineInputError, match="jobs.yaml.*protocol"):
        load_campaign(folder, ROOT / "params.yaml")


@pytest.mark.parametrize(("content", "message"), [
    ({"dataset": "nowhere", "runs": [{"stage": "train", "model": "tiger", "seeds": [1]}]}, "not in catalog"),
    ({"dataset": "demo", "runs": [{"stage": "fit", "model": "tiger", "seeds": [1]}]}, "runs.0.stage"),
    ({"dataset": "demo", "runs": [], "extra": 1}, "jobs.yaml"),
])
def test_a_bad_job_list_is_one_error_naming_the_file(tmp_path, content, message):
    folder = tmp_path / "camp"
    folder.mkdir()
    (folder / "jobs.yaml").write_text(yaml.safe_dump(content))
    with pytest.raises(PipelineInputError, match=message):
        load_campaign(folder, ROOT / "params.yaml")


def test_fingerprint_follows_the_dataset_settings_and_the_job(tmp_path):
    params = load_params(ROOT / "params.yaml")
    folder = make_folder(tmp_path, [{"stage": "train", "model": "tiger", "seeds": [2025, 1]}])
    camp = load_campaign(folder, ROOT / "params.yaml")
    settings = resolved_settings(params, "scientific2018_converged")
    a, b = (fingerprint(settings, job) for job in camp.jobs)
    assert a != b and a == fingerprint(resolved_settings(params, "scientific2018_converged"), camp.jobs[0])
    params["profiles"]["converge"]["stopping"]["patience"] = 9  # the rule of this dataset's profile changed
    assert fingerprint(resolved_settings(params, "scientific2018_converged"), camp.jobs[0]) != a
    params["profiles"]["converge"]["stopping"]["patience"] = 5
    params["catalog"]["demo"]["alpha"] = 0.9  # another dataset's entry: no change
    assert fingerprint(resolved_settings(params, "scientific2018_converged"), camp.jobs[0]) == a
    params["baselines"]["s3rec"]["mask_last"] = False  # a section a training run of tiger does not read
    params["etegrec"]["tau"] = 0.5
    assert fingerprint(resolved_settings(params, "scientific2018_converged"), camp.jobs[0]) == a


def test_a_baseline_run_reads_the_shared_keys_and_its_own_model_section(tmp_path):
    params = load_params(ROOT / "params.yaml")
    folder = make_folder(tmp_path, [{"stage": "baseline", "model": "sasrec", "seeds": [1]},
                                    {"stage": "etegrec", "model": "etegrec", "seeds": [1]}])
    sasrec, etegrec = load_campaign(folder, ROOT / "params.yaml").jobs
    before = [fingerprint(resolved_settings(params, "scientific2018_converged"), job) for job in (sasrec, etegrec)]
    params["baselines"]["fdsa"]["dim"] = 16  # another model's section
    same = [fingerprint(resolved_settings(params, "scientific2018_converged"), job) for job in (sasrec, etegrec)]
    params["baselines"]["sasrec"]["blocks"] = 3  # SASRec's: its run, and ETEGRec, which reads its embeddings
    changed = [fingerprint(resolved_settings(params, "scientific2018_converged"), job) for job in (sasrec, etegrec)]
    assert same == before and all(c != b for c, b in zip(changed, before, strict=True))


def stub_python(tmp_path: Path) -> Path:
    """A ``python`` that, given a run's command, writes the run's train / eval metrics and appends ``model:seed`` to
    calls.txt (ETEGRec's command names no model: ``-m stages.etegrec <ds> --seed S``)."""
    stub = tmp_path / "stub.py"
    stub.write_text(
        "import sys\nfrom pipeline_lib.io import write_json\nfrom pipeline_lib.paths import DatasetPaths, run_name\n"
        "args = sys.argv[1:]\nstage, ds = args[1].split('.')[1], args[2]\n"
        "model = 'etegrec' if stage == 'etegrec' else args[3]\nseed = int(args[args.index('--seed') + 1])\n"
        "p = DatasetPaths(ds)\nname = run_name(model, seed)\n"
        "write_json(p.train_metrics(name), {'stopped_by': 'patience', 'seed': seed})\n"
        "write_json(p.eval_metrics(name), {'test': {'ndcg@10': 0.01 * seed}})\n"
        "open('calls.txt', 'a').write(f'{model}:{seed}\\n')\n"
    )
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} {stub} \"$@\"\n")
    python.chmod(0o755)
    return python


def test_restart_runs_only_what_is_not_done_and_collects_outputs(tmp_path, monkeypatch):
    """A stub stage writes the run's outputs; a second campaign run finds every run done and starts nothing."""
    folder = make_folder(tmp_path, [{"stage": "train", "model": "tiger", "seeds": [2025, 1]}])
    camp = load_campaign(folder, ROOT / "params.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(campaign_module, "prepare", lambda *args: None)
    python = stub_python(tmp_path)
    assert run_campaign(camp, parallel=2, python=str(python)) == 0
    assert sorted((tmp_path / "calls.txt").read_text().split()) == ["tiger:1", "tiger:2025"]
    assert (folder / "metrics" / "eval" / "tiger" / "seed_1.json").is_file()
    assert (folder / "metrics" / "train" / "tiger" / "seed_2025.json").is_file()
    assert len(done_fingerprints(camp.ledger)) == 2
    assert run_campaign(load_campaign(folder, ROOT / "params.yaml"), 2, str(python)) == 0
    assert len((tmp_path / "calls.txt").read_text().split()) == 2  # nothing started again


def test_reproduce_reruns_recorded_runs_and_names_every_differing_metric(tmp_path, monkeypatch, capsys):
    """--reproduce re-runs a recorded run (first the SASRec an ETEGRec run needs, when its outputs are absent) and
    compares train and eval metrics with the folder's copies, leaving the folder and the ledger as they were."""
    folder = make_folder(tmp_path, [{"stage": "baseline", "model": "sasrec", "seeds": [1]},
                                    {"stage": "etegrec", "model": "etegrec", "seeds": [1]}])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(campaign_module, "prepare", lambda *args: None)
    python = stub_python(tmp_path)
    camp = load_campaign(folder, ROOT / "params.yaml")
    assert run_campaign(camp, parallel=2, python=str(python)) == 0
    ledger = camp.ledger.read_text()
    paths = DatasetPaths(camp.dataset)
    paths.eval_metrics(run_name("sasrec", 1)).unlink()  # as on a fresh clone: ETEGRec's SASRec must run first
    (tmp_path / "calls.txt").unlink()
    assert campaign_module.reproduce(camp, ["etegrec:1"], 2, str(python)) == 0
    assert (tmp_path / "calls.txt").read_text().split() == ["sasrec:1", "etegrec:1"]
    assert "etegrec:1 reproduced: train and eval metrics identical" in capsys.readouterr().out
    kept = folder / "metrics" / "eval" / "etegrec" / "seed_1.json"
    write_json(kept, {"test": {"ndcg@10": 0.5}})
    assert campaign_module.reproduce(camp, ["etegrec:1"], 2, str(python)) == 1
    assert "eval test.ndcg@10: 0.5 → 0.01" in capsys.readouterr().out
    assert camp.ledger.read_text() == ledger and read_json(kept) == {"test": {"ndcg@10": 0.5}}
    with pytest.raises(PipelineInputError, match="no such run: tiger:1"):
        campaign_module.reproduce(camp, ["tiger:1"], 2, str(python))


def test_a_failed_run_is_counted_and_not_recorded(tmp_path, monkeypatch):
    folder = make_folder(tmp_path, [{"stage": "baseline", "model": "sasrec", "seeds": [1]},
                                    {"stage": "etegrec", "model": "etegrec", "seeds": [1]}])
    camp = load_campaign(folder, ROOT / "params.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(campaign_module, "prepare", lambda *args: None)
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\nexit 3\n")
    python.chmod(0o755)
    assert run_campaign(camp, parallel=2, python=str(python)) == 2  # sasrec failed, etegrec never started
    assert not camp.ledger.exists()


def test_collect_outputs_copies_what_exists(tmp_path):
    paths = DatasetPaths("ds", tmp_path)
    write_json(paths.eval_metrics(run_name("decor", 1)), {"test": {}})
    copied = collect_outputs(paths, tmp_path / "camp", "decor", 1)
    assert copied == [tmp_path / "camp" / "metrics" / "eval" / "decor" / "seed_1.json"]


def test_letter_waits_for_the_first_seeds_sasrec_and_gets_its_tokenizer(tmp_path):
    folder = make_folder(tmp_path, [{"stage": "train", "model": "letter", "seeds": [1]},
                                    {"stage": "train", "model": "cost", "seeds": [1]}])
    letter, cost = load_campaign(folder, ROOT / "params.yaml").jobs
    first = load_params(ROOT / "params.yaml")["seeds"][0]
    assert (letter.needs, letter.tokenizer) == ((f"sasrec:{first}",), "letter")
    assert (cost.needs, cost.tokenizer) == ((), "cost")


def test_the_shared_stages_fingerprint_ignores_training_settings():
    from pipeline_lib.campaign import shared_stage_settings

    params = load_params(ROOT / "params.yaml")
    before = fingerprint(shared_stage_settings(params, "scientific2018_paper"), None)
    params["catalog"]["scientific2018_paper"]["overrides"]["stopping"]["valid_users"] = 500
    params["train"]["lr"] = 0.1
    assert fingerprint(shared_stage_settings(params, "scientific2018_paper"), None) == before
    params["tokenize"]["train"]["epochs"] = 7
    assert fingerprint(shared_stage_settings(params, "scientific2018_paper"), None) != before


def test_letters_tokenizer_is_rebuilt_when_the_sasrec_it_reads_changes(tmp_path, monkeypatch):
    """The campaign's LETTER tokenizer is stamped with its inputs: unchanged inputs skip the stage, a re-run SASRec
    (other embedding bytes) or another tokenize section runs it again."""
    folder = make_folder(tmp_path, [{"stage": "train", "model": "letter", "seeds": [1]}])
    camp = load_campaign(folder, ROOT / "params.yaml")
    monkeypatch.chdir(tmp_path)
    paths = DatasetPaths(camp.dataset)
    sasrec = paths.item_embeddings_of(run_name("sasrec", camp.params["seeds"][0]))
    sasrec.parent.mkdir(parents=True)
    sasrec.write_bytes(b"first")
    calls = []

    def fake_stage(campaign, stage, python, log_dir):
        calls.append(stage)
        paths.semantic_ids_of("letter").parent.mkdir(parents=True, exist_ok=True)
        paths.semantic_ids_of("letter").write_bytes(b"ids")

    monkeypatch.setattr(campaign_module, "run_shared_stage", fake_stage)
    for _ in range(2):
        campaign_module.prepare_tokenizer(camp, "letter", "python", tmp_path)
    assert calls == [("tokenize", "letter")]
    sasrec.write_bytes(b"second")
    campaign_module.prepare_tokenizer(camp, "letter", "python", tmp_path)
    camp.params["tokenize"]["letter"]["cf_weight"] = 0.5
    campaign_module.prepare_tokenizer(camp, "letter", "python", tmp_path)
    assert len(calls) == 3


def test_tokenizer_and_popularity_metrics_and_dataset_statistics_are_copied_into_the_folder(tmp_path, monkeypatch):
    """LETTER's / CoST's tokenizer metrics, whether their stage runs or is found done, and the shared tokenizer's
    with the dataset statistics after the shared stages, land in the folder's metrics/ (the report's sources)."""
    folder = make_folder(tmp_path, [{"stage": "train", "model": "cost", "seeds": [1]}])
    camp = load_campaign(folder, ROOT / "params.yaml")
    monkeypatch.chdir(tmp_path)
    paths = DatasetPaths(camp.dataset)
    calls = []

    def fake_stage(campaign, stage, python, log_dir):
        calls.append(stage)
        if stage == ("popularity",):
            write_json(paths.eval_metrics("popularity"), {"valid": {"ndcg@10": 0.2}, "test": {"ndcg@10": 0.1}})
            return
        method = stage[1] if len(stage) > 1 else None
        paths.semantic_ids_of(method).parent.mkdir(parents=True, exist_ok=True)
        paths.semantic_ids_of(method).write_bytes(b"ids")
        write_json(paths.tokenizer_metrics_of(method), {"loss_terms": {"first_epoch": {}, "last_epoch": {}},
                                                        "run": len(calls)})
        write_json(paths.dataset_stats, {"users": 5})

    monkeypatch.setattr(campaign_module, "run_shared_stage", fake_stage)
    kept = folder / "metrics"
    campaign_module.prepare_tokenizer(camp, "cost", "python", tmp_path)
    assert calls == [("tokenize", "cost")] and read_json(kept / "tokenizer_cost.json")["run"] == 1
    (kept / "tokenizer_cost.json").unlink()
    campaign_module.prepare_tokenizer(camp, "cost", "python", tmp_path)  # found done: not run, copied again
    assert len(calls) == 1 and read_json(kept / "tokenizer_cost.json")["run"] == 1
    campaign_module.prepare(camp, "python", tmp_path)
    assert calls[-2:] == [("tokenize",), ("popularity",)] and read_json(kept / "tokenizer.json")["run"] == len(calls) - 1
    assert read_json(kept / "eval" / "popularity.json")["valid"] == {"ndcg@10": 0.2}
    assert read_json(kept / "dataset_stats.json") == {"users": 5}
    assert not (kept / "tokenizer_letter.json").exists()
