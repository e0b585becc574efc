"""Training machinery shared by every model: samples as device tensors, the epoch loop, checkpoints."""
