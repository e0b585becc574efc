import copy
import json
import os
import runpy
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from pipeline_lib.errors import PipelineInputError
from pipeline_lib.models.config import GenRecConfig
from pipeline_lib.models.generative import GenerativeRecommender
from pipeline_lib.reporting import sweep
from pipeline_lib.reporting.tsne import ambiguous_prefix, plot_prefix_case, prefix_case, round_significant, tsne_layout

# Real `dvc exp show --json` output of DVC 3.67 (deps trimmed): a baseline commit with
# alpha/bos_queries null, queued α and BOS sweeps run by `dvc queue start`, one run with
# `dvc exp run` in the workspace, a failed run (alpha="bad") and one still queued.
# Datasets demo (Table 5 defaults α 0.4, N 16) and scientific (0.25, 32); variants tiger and decor.
FIXTURE = Path(__file__).parent / "fixtures" / "dvc_exp_show.json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def doc():
    return json.loads(FIXTURE.read_text())


def assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_MAGIC
    height, width, _ = matplotlib.image.imread(path).shape
    assert height > 100 and width > 100


def test_sweep_points_keep_finished_runs_and_resolve_defaults(doc):
    points = sweep.sweep_points(doc)
    names = {p.experiment for p in points}
    assert "broken" not in names and "waiting" not in names  # failed (stale metrics) and queued runs
    assert len(names) == 9 and "master" in names  # baseline + 7 queued sweeps + the workspace run
    assert len(points) == 18  # each run evaluated both datasets
    base = {p.dataset: p for p in points if p.experiment == "master"}
    assert (base["demo"].alpha, base["demo"].bos_queries) == (0.4, 16)  # null → Table 5 default
    assert (base["scientific"].alpha, base["scientific"].bos_queries) == (0.25, 32)
    assert (base["demo"].recall_at_10, base["demo"].ndcg_at_10) == (0.0603, 0.0301)  # decor.json, not tiger.json


def test_sweep_series_follow_the_other_parameter_at_its_default(doc):
    points = sweep.sweep_points(doc)
    by_alpha = sweep.alpha_series(points, "demo")
    assert [p.alpha for p in by_alpha] == [0.1, 0.25, 0.4, 0.55, 0.7]
    assert all(p.bos_queries == 16 for p in by_alpha)
    assert by_alpha[0].recall_at_10 == 0.0363
    by_bos = sweep.bos_series(points, "demo")
    assert [p.bos_queries for p in by_bos] == [8, 16, 64, 128]
    assert all(p.alpha == 0.4 for p in by_bos)
    # on scientific the workspace run set alpha=0.4 explicitly: off its default 0.25, so not in the BOS panel
    assert [p.bos_queries for p in sweep.bos_series(points, "scientific")] == [8, 32, 64, 128]
    assert {p.experiment for p in sweep.bos_series(points, "scientific")}.isdisjoint({"alpha-0.4-here"})


def test_sweep_newest_run_wins_a_repeated_setting(doc):
    points = sweep.sweep_points(doc)
    rerun = next(p for p in points if p.experiment == "alpha-0.4-here" and p.dataset == "demo")
    older = [p for p in points if p is not rerun]
    moved = replace(rerun, recall_at_10=0.5)
    chosen = [p for p in sweep.alpha_series(older + [moved], "demo") if p.alpha == 0.4]
    assert [p.recall_at_10 for p in chosen] == [0.5]
    stale = replace(moved, timestamp="2000-01-01T00:00:00")
    chosen = [p for p in sweep.alpha_series(older + [stale], "demo") if p.alpha == 0.4]
    assert [p.experiment for p in chosen] == ["master"]


def test_sweep_rejects_a_document_that_is_not_exp_show(doc):
    with pytest.raises(PipelineInputError, match="not a `dvc exp show --json` document"):
        sweep.sweep_points({"rev": "workspace"}, "x.json")
    broken = copy.deepcopy(doc)
    broken[1]["data"]["metrics"]["reports/metrics/demo/eval/decor/seed_2025.json"]["data"]["test"].pop("ndcg@10")
    with pytest.raises(PipelineInputError, match="master"):
        sweep.sweep_points(broken, "x.json")


def test_sweep_cli_writes_pngs_and_csv(tmp_path, capsys):
    sweep.main(["--json", str(FIXTURE), "--out", str(tmp_path)])
    for dataset in ("demo", "scientific"):
        assert_png(tmp_path / f"figure3_{dataset}.png")
    table = pd.read_csv(tmp_path / "figure3_points.csv")
    assert len(table) == 18 and {"experiment", "alpha", "bos_queries", "recall_at_10", "ndcg_at_10"} <= set(table)
    assert "missing N [32]" in capsys.readouterr().out  # demo's BOS grid lacks 32


def test_sweep_cli_without_a_dvc_repo_is_one_line_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PipelineInputError, match="dvc exp show --json: failed"):
        sweep.read_exp_show(None)


# ---- Figure 4 on a tiny random model ------------------------------------------------------------

TINY = dict(levels=4, codebook_size=8, d_model=16, d_kv=4, num_heads=2, d_ff=32, encoder_layers=1,
            decoder_layers=1, code_dim=6, fusion_dim=12, attention_dim=10, dropout=0.0)
# (1,) and (1, 2) have the most targets but one continuation each; (3,) (continued by 4 and 1) and
# (3, 4) (continued by 0 and 5) are the ambiguous prefixes
SIDS = torch.tensor([
    [1, 2, 7, 0], [1, 2, 7, 1],
    [3, 4, 0, 0], [3, 4, 5, 0], [3, 4, 5, 1],
    [6, 6, 6, 0], [0, 1, 2, 0], [3, 1, 2, 0],
])


def decor_model(alpha: float) -> GenerativeRecommender:
    torch.manual_seed(0)
    config = GenRecConfig(**TINY, fusion=True, composition=True, alpha=alpha, bos_queries=3)
    return GenerativeRecommender(config, codebooks=torch.randn(3, 8, 6)).eval()


def tiny_users():
    g = torch.Generator().manual_seed(1)
    targets = torch.tensor([0, 1, 0, 1, 0, 1, 0, 2, 3, 4, 2, 3, 5, 7])
    histories = torch.randint(0, 8, (len(targets), 5), generator=g)
    histories[::2, :2] = -1  # some shorter, left-padded histories
    return histories, targets


def test_ambiguous_prefix_skips_prefixes_with_one_continuation():
    _, targets = tiny_users()
    assert ambiguous_prefix(SIDS, targets, 2) == (3, 4)
    assert ambiguous_prefix(SIDS, targets, 1) == (3,)
    with pytest.raises(ValueError):
        ambiguous_prefix(SIDS, torch.tensor([0, 1, 5, 6]), 2)


def test_prefix_case_composed_is_eq18_of_the_last_prefix_token():
    histories, targets = tiny_users()
    static_only = prefix_case(decor_model(alpha=0.0), SIDS, histories, targets, prefix_length=2)
    assert static_only.prefix == (3, 4) and static_only.candidates == (0, 5)
    assert static_only.next_codes.tolist() == [0, 5, 5, 0, 5]  # users with targets 2, 3, 4, 2, 3
    # α = 0 in eq. 18 leaves exactly the static embedding of the prefix's last token
    torch.testing.assert_close(static_only.composed_prefix, static_only.static_prefix.expand(5, -1))

    case = prefix_case(decor_model(alpha=0.5), SIDS, histories, targets, prefix_length=2, max_users=4)
    assert case.composed_prefix.shape == (4, 16) and case.candidate_embeddings.shape == (2, 16)
    assert not torch.allclose(case.composed_prefix, case.static_prefix.expand(4, -1))
    assert case.composed_prefix.std(dim=0).min() > 0  # contexts differ, so do the compositions
    static, composed = case.alignment()
    assert -1 <= static <= 1 and -1 <= composed <= 1


def test_prefix_case_needs_composition():
    histories, targets = tiny_users()
    torch.manual_seed(0)
    tiger = GenerativeRecommender(GenRecConfig(**TINY)).eval()
    with pytest.raises(ValueError, match="composition"):
        prefix_case(tiger, SIDS, histories, targets)


def test_figure4_layout_and_png(tmp_path):
    histories, targets = tiny_users()
    case = prefix_case(decor_model(alpha=0.5), SIDS, histories, targets, prefix_length=1)
    layout = tsne_layout(case, perplexity=30.0, seed=0)
    assert layout.shape == (1 + len(case.candidates) + len(case.next_codes), 2)
    assert torch.isfinite(torch.from_numpy(layout)).all()
    plot_prefix_case(case, layout, "tiny", tmp_path / "figure4_tiny.png")
    assert_png(tmp_path / "figure4_tiny.png")


LAYOUT_DIGEST = """
import hashlib, torch
from pipeline_lib.reporting.tsne import PrefixCase, tsne_layout
points = torch.randn(46, 64, generator=torch.Generator().manual_seed(0))
case = PrefixCase(prefix=(1, 2), candidates=tuple(range(7)), next_codes=torch.zeros(38, dtype=torch.long),
                  static_prefix=points[0], candidate_embeddings=points[1:8], composed_prefix=points[8:])
print(hashlib.sha256(tsne_layout(case, 30.0, 2025).tobytes()).hexdigest())
"""


def test_figure4_layout_is_the_same_whichever_blas_kernels_the_cpu_gets():
    # OpenBLAS picks its kernels per CPU; unrounded, these two gave different layouts of the same points
    digests = {
        subprocess.run([sys.executable, "-c", LAYOUT_DIGEST], env={**os.environ, "OPENBLAS_CORETYPE": core},
                       capture_output=True, text=True, check=True).stdout
        for core in ("Haswell", "Sandybridge")
    }
    assert len(digests) == 1


def test_rounding_keeps_significant_digits_and_zeros():
    values = np.array([[0.0, 1.234567891234], [-98765.43210987, 3e-12]])
    np.testing.assert_allclose(round_significant(values), [[0.0, 1.2346], [-98765.4321, 0.0]], rtol=1e-15, atol=0)
    np.testing.assert_array_equal(round_significant(np.zeros((2, 2))), np.zeros((2, 2)))


def run_figures_stage(tmp_path: Path, monkeypatch, variants: list[str]) -> None:
    """``python -m stages.figures demo`` in an empty ``tmp_path`` (no data) with these ``variants``."""
    params = {"catalog": {"demo": {"source": "demo", "alpha": 0.4, "bos_queries": 16}}, "variants": variants,
              "figures": {}, "seed": 0}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["figures", "demo", "--params", "params.yaml"])
    runpy.run_module("stages.figures", run_name="__main__")


def test_figure4_stage_without_decor_writes_a_placeholder(tmp_path, monkeypatch, capsys):
    run_figures_stage(tmp_path, monkeypatch, ["tiger", "tokcomp"])
    assert_png(tmp_path / "reports" / "figures" / "figure4_demo.png")
    assert "Figure 4 skipped: decor is not in variants" in capsys.readouterr().out


def test_figure4_stage_with_decor_needs_its_inputs(tmp_path, monkeypatch, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_figures_stage(tmp_path, monkeypatch, ["tiger", "decor"])
    assert exit_info.value.code == 2 and "tokenize stage" in capsys.readouterr().err
    assert not (tmp_path / "reports" / "figures" / "figure4_demo.png").exists()
