import os

import pytest
import torch

from pipeline_lib.cli import run_stage
from pipeline_lib.device import use_deterministic_algorithms


@pytest.fixture
def restore_determinism():
    enabled, warn_only = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    yield
    torch.use_deterministic_algorithms(enabled, warn_only=warn_only)


def test_every_stage_runs_with_deterministic_kernels(restore_determinism, monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    torch.use_deterministic_algorithms(False)
    seen = []
    run_stage(lambda: seen.append(torch.are_deterministic_algorithms_enabled()))
    assert seen == [True] and torch.is_deterministic_algorithms_warn_only_enabled()
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"


def test_repeated_embedding_training_is_bitwise_equal(restore_determinism):
    """Embedding gradients over repeated indices: the reduction that made CPU training runs drift."""
    use_deterministic_algorithms()

    def train() -> torch.Tensor:
        torch.manual_seed(0)
        table = torch.nn.Embedding(50, 64)
        optim = torch.optim.Adam(table.parameters(), lr=0.01)
        for step in range(5):
            index = torch.randint(0, 50, (4096,), generator=torch.Generator().manual_seed(step))
            optim.zero_grad()
            (table(index) ** 2).sum().backward()
            optim.step()
        return table.weight.detach().clone()

    assert torch.equal(train(), train())
