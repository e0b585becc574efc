import json
import runpy
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline_lib.data.split import split_dataset
from pipeline_lib.data.store import write_split
from pipeline_lib.paths import DatasetPaths

# Everyone buys item a then b; the last two purchases are c then d, or d then c. Training counts: a, b (4 each) lead.
# Validation targets: c for three users, d for one; test targets the other way round.
ROWS = [(u, i, t) for u, tail in [("u0", "cd"), ("u1", "cd"), ("u2", "cd"), ("u3", "dc")]
        for t, i in enumerate(["a", "b", "e", *tail])]


def test_the_floor_scores_validation_and_test_users_by_training_counts(tmp_path: Path, monkeypatch):
    paths = DatasetPaths("demo", tmp_path)
    write_split(paths, split_dataset(pd.DataFrame(ROWS, columns=["user", "item", "timestamp"]), max_seq_len=20))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({
        "seed": 1, "seeds": [1], "protocol": "etegrec", "catalog": {"demo": {"source": "demo", "alpha": 0.4, "bos_queries": 16}},
        "evaluate": {"beam_size": None, "batch_size": 64, "ks": [1, 5]},
    }))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["popularity", "demo", "--params", "params.yaml"])
    runpy.run_module("stages.popularity", run_name="__main__")
    metrics = json.loads(paths.eval_metrics("popularity").read_text())
    # ranking: a, b, e (4 each, lower id first), then c, d (0 each in training): c at rank 4, d at rank 5
    assert metrics["valid"]["recall@5"] == 1.0 and metrics["test"]["recall@5"] == 1.0
    ndcg_c, ndcg_d = 1 / 2.321928094887362, 1 / 2.584962500721156  # 1 / log2(rank + 1)
    assert metrics["valid"]["ndcg@5"] == pytest.approx((3 * ndcg_c + ndcg_d) / 4)
    assert metrics["test"]["ndcg@5"] == pytest.approx((ndcg_c + 3 * ndcg_d) / 4)
    assert metrics["valid"]["recall@1"] == metrics["test"]["recall@1"] == 0.0
