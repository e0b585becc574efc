"""dvc.yaml gives a runnable pipeline for any documented subset of ``variants``.

The pipeline is loaded by DVC itself from a copy of dvc.yaml and params.yaml in an empty repository
(no data, nothing run): every dependency under ``data/`` must be some stage's output, else
``dvc repro`` stops at the stage that reads it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import networkx as nx
import pytest
import yaml
from dvc.repo import Repo

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # DVC's own, from its path trie

ROOT = Path(__file__).resolve().parents[1]
ALL_VARIANTS = yaml.safe_load((ROOT / "params.yaml").read_text())["variants"]


def upstream(repo: Repo, address: str) -> set[str]:
    """Names of the stages ``address`` depends on, directly or not."""
    graph = repo.index.graph
    stage = next(s for s in graph if s.name == address)
    return {s.name for s in nx.descendants(graph, stage)}


@pytest.mark.parametrize("variants", [["tiger"], ["tiger", "tokcomp"], ["tiger", "decor"], ALL_VARIANTS])
def test_every_data_dependency_is_a_stage_output(variants, tmp_path):
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**params, "variants": variants, "datasets": ["demo"]}))
    repo = Repo.init(tmp_path, no_scm=True)
    try:
        repo.index.check_graph()  # no cycles, no output claimed by two stages
        outs = [out.def_path for out in repo.index.outs]
        dangling = [
            (stage.name, dep.def_path)
            for stage in repo.index.stages
            for dep in stage.deps
            if dep.def_path.startswith("data/")
            and not any(dep.def_path == o or dep.def_path.startswith(f"{o}/") or o.startswith(f"{dep.def_path}/")
                        for o in outs)
        ]
        assert dangling == []
        seeds = params["seeds"]
        trained = {s.name for s in repo.index.stages if s.name.startswith("train@")}
        assert trained == {f"train@demo-{variant}-{seed}" for variant in variants for seed in seeds}
        assert {s.name for s in repo.index.stages if s.name.startswith("etegrec@")} == {f"etegrec@demo-{s}" for s in seeds}
        assert f"baseline@demo-sasrec-{seeds[-1]}" in upstream(repo, f"etegrec@demo-{seeds[-1]}")
        figure_inputs = upstream(repo, "figures@demo")
        assert (f"train@demo-decor-{seeds[0]}" in figure_inputs) == ("decor" in variants)
        assert "tokenize@demo" in figure_inputs and "tables" in {s.name for s in repo.index.stages}
        # Table 1's LETTER / CoST rows: TIGER on its own tokenizer; LETTER's reads the first seed's SASRec
        own = {s.name for s in repo.index.stages if s.name.startswith("train_tokenized@")}
        assert own == {f"train_tokenized@demo-{v}-{s}" for v in params["tokenizer_variants"] for s in seeds}
        letter_inputs = upstream(repo, f"evaluate_tokenized@demo-letter-{seeds[-1]}")
        assert {"tokenize_letter@demo", f"baseline@demo-sasrec-{seeds[0]}"} <= letter_inputs
        cost_inputs = upstream(repo, f"evaluate_tokenized@demo-cost-{seeds[-1]}")
        assert "tokenize_cost@demo" in cost_inputs
        assert not any(n.startswith(("baseline@", "tokenize@")) for n in cost_inputs)
        assert "tokenize_letter@demo" not in upstream(repo, f"train@demo-{variants[0]}-{seeds[0]}")
    finally:
        repo.close()


def test_seeds_override_adds_one_run_per_seed_of_every_trained_model(tmp_path):
    """``dvc exp run -S 'seeds=[…]'`` rewrites params.yaml; the matrix follows, the untrained stages do not."""
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**params, "seeds": [7, 8, 9], "datasets": ["demo"]}))
    repo = Repo.init(tmp_path, no_scm=True)
    try:
        names = [s.name for s in repo.index.stages]
        for prefix in ("train@demo-decor", "evaluate@demo-tiger", "baseline@demo-sasrec", "baseline@demo-gru4rec"):
            assert sorted(n for n in names if n.rsplit("-", 1)[0] == prefix) == [f"{prefix}-{s}" for s in (7, 8, 9)]
        assert sorted(n for n in names if n.startswith("etegrec@")) == ["etegrec@demo-7", "etegrec@demo-8", "etegrec@demo-9"]
        assert [n for n in names if n.startswith(("tokenize@", "popularity@"))] == ["tokenize@demo", "popularity@demo"]
        letter = next(s for s in repo.index.stages if s.name == "tokenize_letter@demo")  # seeds[0]'s SASRec only
        assert [d.def_path for d in letter.deps if "sasrec" in d.def_path] == [
            "data/demo/models/sasrec/seed_7/item_embeddings.safetensors"
        ]
        outs = {out.def_path for out in repo.index.outs}
        assert "reports/metrics/demo/eval/decor/seed_9.json" in outs and "data/demo/ranks/sasrec/seed_7.parquet" in outs
    finally:
        repo.close()


def test_no_tokenizer_variants_leaves_no_tokenized_runs(tmp_path):
    """``tokenizer_variants: []`` drops the LETTER / CoST training runs; the tokenizers themselves stay."""
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**params, "tokenizer_variants": [], "datasets": ["demo"]}))
    repo = Repo.init(tmp_path, no_scm=True)
    try:
        repo.index.check_graph()
        names = {s.name for s in repo.index.stages}
        assert not any(n.startswith(("train_tokenized@", "evaluate_tokenized@")) for n in names)
        assert {"tokenize_letter@demo", "tokenize_cost@demo"} <= names
    finally:
        repo.close()


def test_quick_first_run_subset_has_only_its_runs(tmp_path):
    """README's quick first run (one seed, TIGER and DECOR, no own-tokenizer rows, SASRec alone): a runnable
    graph with exactly those runs, ETEGRec and the popularity floor."""
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    quick = {"seeds": [2025], "variants": ["tiger", "decor"], "tokenizer_variants": [], "baseline_models": ["sasrec"]}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**params, **quick, "datasets": ["demo"]}))
    repo = Repo.init(tmp_path, no_scm=True)
    try:
        repo.index.check_graph()
        trained = {s.name for s in repo.index.stages if s.name.startswith(("train", "baseline@", "etegrec@"))}
        assert trained == {"train@demo-tiger-2025", "train@demo-decor-2025", "baseline@demo-sasrec-2025",
                           "etegrec@demo-2025"}
        assert "baseline@demo-sasrec-2025" in upstream(repo, "etegrec@demo-2025")
    finally:
        repo.close()


def test_every_stage_descends_from_the_params_check(tmp_path):
    """Issue 28: a bad value must stop `dvc repro` before DVC deletes the outputs of a stage that reads it."""
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    repo = Repo.init(tmp_path, no_scm=True)
    try:
        names = {s.name for s in repo.index.stages} - {"check_params"}
        assert names and {name for name in names if "check_params" not in upstream(repo, name)} == set()
        check = next(s for s in repo.index.stages if s.name == "check_params")
        assert [(p.def_path, p.params) for p in check.params] == [("params.yaml", [])]  # every key of the file
    finally:
        repo.close()
