"""Training the rating model on several processes: ``ranker train`` started by ``torchrun``
runs unchanged, each process ("rank") on its share of the examples.

    torchrun --nproc_per_node 2 -m shopassist.cli ranker train --dataset DATA

``start()`` finds the launcher's environment through torch (``is_torchelastic_launched``; the
process group reads ``RANK``/``WORLD_SIZE``/``MASTER_ADDR`` itself), joins the group and says
which rank this is; without a launcher it is rank 0 of 1 and nothing changes. ``ranker.train``
then gives each rank every ``world``-th training example (``Ranks.shard``: each encodes only its
own texts, the slow part on CPU), wraps the head in ``DistributedDataParallel`` (gradients
averaged over the ranks after every step, so the ranks' batches of ``batch_size / world`` make
one batch of ``batch_size``), takes validation RMSE from rank 0 (``Ranks.broadcast``: every rank
stops at the same epoch), and evaluates and saves on rank 0 only.

The backend is gloo: the head-only path trains on CPU tensors (the encodings are numpy arrays),
so gloo serves whether or not the encoder ran on a GPU. The encoder fine-tuning path
(``train_layers > 0``) and DP-SGD are single-process for now (``check`` says so).

>>> r = Ranks(rank=1, world=3)
>>> r.shard(list(range(8))), r.main, Ranks().shard([1, 2])
([1, 4, 7], False, [1, 2])
>>> [len(b) for b in split(np.arange(8), 3)]  # 8 examples on this rank, the 3 steps every rank takes
[3, 3, 2]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        """Rank 0: the one that logs, evaluates and saves."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def shard(self, items: list) -> list:
        """This rank's share: every ``world``-th item from ``rank`` on (sizes differ by at most one)."""
        return items[self.rank :: self.world]

    def broadcast(self, value: float) -> float:
        """Rank 0's ``value`` on every rank (the others' are ignored)."""
        if not self.active:
            return value
        import torch
        import torch.distributed as dist

        t = torch.tensor([value], dtype=torch.float64)
        dist.broadcast(t, src=0)
        return float(t.item())

    def finish(self) -> None:
        """Leave the process group (after the last collective call)."""
        if self.active:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()


def start() -> Ranks:
    """Join the process group when started by ``torchrun`` (or a launcher that runs through it);
    otherwise a single process, rank 0 of 1."""
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_torchelastic_launched():
        return Ranks()
    if not dist.is_initialized():
        dist.init_process_group(backend="gloo")
    return Ranks(dist.get_rank(), dist.get_world_size())


def check(ranks: Ranks, train_layers: int, dp_epsilon) -> None:
    """Refuse what several processes do not train yet, before any work is done."""
    if ranks.active and (train_layers or dp_epsilon is not None):
        raise ValueError("several processes train the frozen-encoder path only (train_layers 0, no DP-SGD); "
                         "run encoder fine-tuning or --dp-epsilon as one process")


def split(perm: np.ndarray, steps: int) -> list[np.ndarray]:
    """``perm`` (this rank's shuffled example positions) cut into exactly ``steps`` batches: every
    rank takes the same number of steps, which DistributedDataParallel needs (each step
    all-reduces once), whatever its shard's size."""
    return np.array_split(perm, steps)
