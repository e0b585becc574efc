"""The generative trainer's warm-up length: in steps, or in epochs (the CPU profile)."""

from pipeline_lib.training.config import OptimConfig


def test_warmup_in_steps_by_default():
    assert OptimConfig(warmup_steps=10_000).warmup(steps_per_epoch=40) == 10_000


def test_warmup_epochs_replace_steps():
    optim = OptimConfig(warmup_steps=10_000, warmup_epochs=1.5)
    assert optim.warmup(steps_per_epoch=40) == 60
    assert OptimConfig(warmup_epochs=0.01).warmup(steps_per_epoch=10) == 1
