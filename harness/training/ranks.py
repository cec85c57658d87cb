"""What each data-parallel rank trained on: examples drawn and optimizer steps, for train.json.

Every rank wraps its dataset in :class:`SeenExamples`, which notes the index of each example the
rank's dataloader draws; at the end the ranks exchange their sets (``all_gather_object``) and
rank 0 records per rank the examples drawn and the steps taken, and how many examples more than
one rank drew. Within one epoch that must be 0 (the sampler shards the data); over several epochs
every rank may draw every example once reshuffled, so the overlap is reported with the epochs.
"""

from __future__ import annotations

from typing import Any


class SeenExamples:
    """A map-style dataset that remembers which indices were drawn from it once training began
    (:meth:`callback` switches it on), so that a sampler reading every example's length before
    training (length-grouped batches) does not count as drawing it."""

    def __init__(self, dataset):
        self.dataset = dataset
        self.seen: set[int] = set()
        self.draws = 0
        self.recording = False

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        if self.recording:
            self.seen.add(int(index))
            self.draws += 1
        return self.dataset[index]

    def callback(self):
        """A TrainerCallback that starts the recording when the training loop begins."""
        from transformers import TrainerCallback

        seen = self

        class RecordDraws(TrainerCallback):
            def on_train_begin(self, args, state, control, **kwargs):
                seen.recording = True

        return RecordDraws()


def rank_record(seen: SeenExamples, steps: int, epochs: float | None) -> dict[str, Any]:
    """Per-rank draws and steps, gathered from every rank (a collective: call it on all ranks)."""
    import torch.distributed as dist

    mine = {"examples": sorted(seen.seen), "draws": seen.draws, "steps": int(steps)}
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        everyone: list = [None] * dist.get_world_size()
        dist.all_gather_object(everyone, mine)
    else:
        everyone = [mine]
    counts: dict[int, int] = {}
    for entry in everyone:
        for index in entry["examples"]:
            counts[index] = counts.get(index, 0) + 1
    return {
        "per_rank": [
            {"rank": r, "examples_drawn": len(e["examples"]), "draws": e["draws"], "steps": e["steps"]}
            for r, e in enumerate(everyone)
        ],
        "examples_drawn_by_several_ranks": sum(1 for n in counts.values() if n > 1),
        "same_steps": len({e["steps"] for e in everyone}) == 1,
        "epochs": epochs,
        "note": "examples drawn by several ranks must be 0 within one epoch (the sampler shards the data); "
        "examples_drawn includes the batch the dataloader fetches ahead of the last step",
    }
