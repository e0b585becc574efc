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
        trained = {s.name for s in repo.index.stages if s.name.startswith("train@")}
        assert trained == {f"train@demo-{variant}" for variant in variants}  # every seed in the model's one stage
        assert {s.name for s in repo.index.stages if s.name.startswith("etegrec@")} == {"etegrec@demo"}
        assert "baseline@demo-sasrec" in upstream(repo, "etegrec@demo")
        figure_inputs = upstream(repo, "figures@demo")
        assert ("train@demo-decor" in figure_inputs) == ("decor" in variants)
        assert "tokenize@demo" in figure_inputs and "tables" in {s.name for s in repo.index.stages}
        # Table 1's LETTER / CoST rows: TIGER on its own tokenizer; LETTER's reads the first seed's SASRec
        own = {s.name for s in repo.index.stages if s.name.startswith("train_tokenized@")}
        assert own == {f"train_tokenized@demo-{v}" for v in params["tokenizer_variants"]}
        letter_inputs = upstream(repo, "train_tokenized@demo-letter")
        assert {"tokenize_letter@demo", "baseline@demo-sasrec"} <= letter_inputs
        cost_inputs = upstream(repo, "train_tokenized@demo-cost")
        assert "tokenize_cost@demo" in cost_inputs
        assert not any(n.startswith(("baseline@", "tokenize@")) for n in cost_inputs)
        assert "tokenize_letter@demo" not in upstream(repo, f"train@demo-{variants[0]}")
        assert not any(s.name.startswith("evaluate") for s in repo.index.stages)  # train evaluates each seed
    finally:
        repo.close()


def test_every_trained_model_is_one_stage_over_all_seeds(tmp_path):
    """``dvc exp run -S 'seeds=[…]'`` rewrites params.yaml: the stages stay one per model (each runs every seed,
    so `seeds` is a param of each), their outputs are per-model folders holding a ``seed_<s>`` entry per seed."""
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**params, "seeds": [7, 8, 9], "datasets": ["demo"]}))
    repo = Repo.init(tmp_path, no_scm=True)
    try:
        stages = {s.name: s for s in repo.index.stages}
        for name in ("train@demo-decor", "train_tokenized@demo-letter", "baseline@demo-sasrec", "etegrec@demo"):
            assert "seeds" in stages[name].params[0].params, name
        assert not any(name[-1].isdigit() for name in stages)
        assert "seeds" not in stages["tokenize@demo"].params[0].params
        letter = stages["tokenize_letter@demo"]  # seeds[0]'s SASRec only
        assert [d.def_path for d in letter.deps if "sasrec" in d.def_path] == [
            "data/demo/models/sasrec/seed_7/item_embeddings.safetensors"
        ]
        outs = {out.def_path for out in repo.index.outs}
        assert {"reports/metrics/demo/eval/decor", "data/demo/ranks/sasrec", "reports/curves/demo/tiger",
                "reports/steps/demo/decor", "reports/timings/demo/etegrec"} <= outs
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


def test_bytecode_is_not_part_of_any_stage_dependency():
    """A stage depends on folders of code (``pipeline_lib/data``, …): the ``__pycache__`` that importing them writes
    must not change their hash, or every test run would make ``dvc status`` dirty and the next repro re-run stages."""
    repo = Repo(ROOT)
    try:
        for name in ("pipeline_lib/data/__pycache__/demo.cpython-311.pyc", "pipeline_lib/models/x.pyc"):
            assert repo.dvcignore.is_ignored_file(str(ROOT / name)), name
        assert not repo.dvcignore.is_ignored_file(str(ROOT / "pipeline_lib/data/demo.py"))
    finally:
        repo.close()
