"""Several processes, one run: data parallelism under HF ``accelerate`` (or ``torchrun``).

A run started by ``accelerate launch --multi_gpu --num_processes N -m stages.train …`` (or
``torchrun --nproc_per_node N -m stages.train …``) finds ``WORLD_SIZE`` = N in its environment;
``start`` then lets an ``accelerate.Accelerator`` set up the process group (NCCL between GPUs, gloo
between CPU processes) and pick each rank's device. A plain ``python -m stages.train …`` gets a
one-process ``Distributed`` whose collectives are no-ops, so it runs the same code as before.

The parallelism is exact rather than approximate: every rank draws the same global batches from
the seed, trains on its slice of each one with its loss weighted by its share of the batch, and
the gradients are summed over the ranks, so each update is the one-process update of the same
global batch (up to float summation order). Evaluation shards whole user batches across ranks and
gathers the ranked lists, so metrics are computed once over all users, identically on every rank.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.distributed as torch_dist
from accelerate import Accelerator
from accelerate.utils import get_int_from_env
from torch import Tensor, nn

from pipeline_lib.device import resolve_device

_WORLD_SIZE_VARIABLES = ["WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE"]


@dataclass(frozen=True)
class Distributed:
    """This process's place in the run: its device, rank and the number of processes."""

    device: torch.device
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes checkpoints, curves, models and metrics."""
        return self.rank == 0

    def shard(self, index: Tensor) -> tuple[Tensor, float]:
        """This rank's contiguous part of a global batch of sample indices, and its loss weight
        ``n_rank / n_batch`` (the weights of all ranks sum to 1).

        A rank left without samples (a batch smaller than the process count) gets the batch's first
        sample with weight 0: it still runs a backward pass and adds zeros to the gradient sum.
        """
        if self.world_size == 1:
            return index, 1.0
        part = index.tensor_split(self.world_size)[self.rank]
        if len(part) == 0:
            return index[:1], 0.0
        return part, len(part) / len(index)

    def sum_gradients(self, module: nn.Module) -> None:
        """Replace every trainable parameter's gradient by its sum over the ranks (one flat all-reduce)."""
        if self.world_size == 1:
            return
        params = [p for p in module.parameters() if p.requires_grad]
        grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in params]
        flat = torch.cat([g.reshape(-1) for g in grads])
        torch_dist.all_reduce(flat)
        for param, part in zip(params, flat.split([g.numel() for g in grads])):
            param.grad = part.view_as(param)

    def sum(self, value: Tensor) -> Tensor:
        """``value`` summed over the ranks (on every rank)."""
        if self.world_size == 1:
            return value
        total = value.clone()
        torch_dist.all_reduce(total)
        return total

    def gather_rows(self, rows: Tensor, counts: Sequence[int]) -> Tensor:
        """Every rank's ``rows`` (``counts[r]`` of them on rank ``r``) concatenated in rank order, on every rank.

        Collectives need equal shapes, so each rank pads its rows to ``max(counts)`` before the all-gather.
        """
        if self.world_size == 1:
            return rows
        padded = rows.new_zeros((max(counts), *rows.shape[1:]))
        padded[: len(rows)] = rows
        parts = [torch.empty_like(padded) for _ in range(self.world_size)]
        torch_dist.all_gather(parts, padded)
        return torch.cat([part[:count] for part, count in zip(parts, counts)])

    def broadcast_module(self, module: nn.Module) -> None:
        """Copy rank 0's parameters and buffers to every rank, so all replicas start identical."""
        if self.world_size == 1:
            return
        for tensor in module.state_dict().values():
            torch_dist.broadcast(tensor, src=0)

    def barrier(self) -> None:
        if self.world_size > 1:
            torch_dist.barrier()

    def finish(self) -> None:
        """Wait for every rank, then tear the process group down (a no-op in a one-process run)."""
        if self.world_size > 1:
            torch_dist.barrier()
            torch_dist.destroy_process_group()


def launched_processes() -> int:
    """How many processes the launcher (``accelerate launch``, ``torchrun``, ``mpirun``) started; 1 for plain ``python``."""
    return get_int_from_env(_WORLD_SIZE_VARIABLES, 1)


def start(device: str = "auto") -> Distributed:
    """This process's ``Distributed``; ``device`` is the stage's ``device`` parameter.

    Alone: the resolved device, exactly as a stage picked it before. Launched as one of N > 1
    processes: an ``Accelerator`` (on the CPU when ``device`` resolves to the CPU, which gives gloo
    process groups) joins the group and assigns this rank its device (``cuda:<local rank>`` on GPUs).
    """
    resolved = resolve_device(device)
    if launched_processes() <= 1:
        return Distributed(resolved)
    accelerator = Accelerator(cpu=resolved.type == "cpu")
    rank_device = torch.device("cpu") if accelerator.device.type == "cpu" else accelerator.device
    return Distributed(rank_device, accelerator.process_index, accelerator.num_processes)
