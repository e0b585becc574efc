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
        assert trained == {f"train@demo-{variant}" for variant in variants}
        figure_inputs = upstream(repo, "figures@demo")
        assert ("train@demo-decor" in figure_inputs) == ("decor" in variants)
        assert "tokenize@demo" in figure_inputs and "tables" in {s.name for s in repo.index.stages}
    finally:
        repo.close()
