"""Micro-batches of similar length inside each seeded global batch: less padding, same training.

Trainer's default draws a seeded random order and cuts it into micro-batches, each padded to its
longest example; translation pairs vary from a dozen to hundreds of tokens (and by script), so
much of every micro-batch is padding. :class:`GlobalBatchLengthSampler` draws the same seeded
random order, cuts it into the same global batches (per-device batch x accumulation x world
size), and sorts each global batch by length before it is cut into micro-batches. Every
optimizer step therefore sees exactly the examples it would see without grouping (the loss is
normalised by the target tokens of the whole global batch), only split into micro-batches of
similar length; the order of the global batches stays seeded, and a resumed run draws the same
order (seed and epoch).

Ranks: Accelerate deals micro-batches round-robin to the processes, so the accumulation x world
consecutive micro-batches of one global batch still make one optimizer step.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence


class GlobalBatchLengthSampler:
    """A seeded permutation, each global batch of it sorted by length (longest first)."""

    def __init__(self, lengths: Sequence[int], global_batch_size: int, seed: int):
        self.lengths = list(lengths)
        self.global_batch_size = global_batch_size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Iterator[int]:
        import torch

        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.lengths), generator=generator).tolist()
        for start in range(0, len(order), self.global_batch_size):
            batch = order[start : start + self.global_batch_size]
            yield from sorted(batch, key=lambda index: -self.lengths[index])


def random_order(n: int, seed: int, epoch: int = 0) -> list[int]:
    """The same seeded permutation, not grouped (what the sampler sorts within global batches)."""
    import torch

    return torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()


def padding_share(order: Sequence[int], lengths: Sequence[int], micro_batch_size: int) -> tuple[int, int]:
    """(real tokens, padded slots) when ``order`` is cut into micro-batches padded to their longest."""
    real = slots = 0
    for start in range(0, len(order), micro_batch_size):
        widths = [lengths[i] for i in order[start : start + micro_batch_size]]
        real += sum(widths)
        slots += max(widths) * len(widths)
    return real, slots


def length_grouped_trainer(base: type) -> type:
    """``base`` (a `transformers.Trainer` class) drawing its training order from
    :class:`GlobalBatchLengthSampler`."""

    class LengthGroupedTrainer(base):
        def _get_train_sampler(self, train_dataset=None):
            dataset = train_dataset if train_dataset is not None else self.train_dataset
            lengths = [len(dataset[i]["input_ids"]) for i in range(len(dataset))]
            global_batch = (
                self.args.per_device_train_batch_size
                * self.args.gradient_accumulation_steps
                * max(1, self.args.world_size)
            )
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            return GlobalBatchLengthSampler(lengths, global_batch, seed)

    return LengthGroupedTrainer
