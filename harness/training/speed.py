"""Training speed as it means something: steady-state tokens per second and the share of the
GPU's bf16 peak, counted with SLAM's own FLOPs per token.

Steady state: each optimizer step is timed on its own, from the end of the previous step to the
end of this one (CUDA synchronized at both ends, so queued kernels are counted in the step that
launched them), from the second step of the session on: the first step's warm-up (allocator,
kernel selection, DeepSpeed's buckets) is left out, and so is the time spent saving checkpoints
(timed apart, ``checkpoint_save_s``). Tokens are the non-padding tokens of those steps, over
every rank.

FLOPs per non-padding token of one training step (attention scores and recomputation left out):

    F = 2 N + 2 N_above + 2 T

- ``2 N``: the forward pass through every layer and the LM head (N: the weights of every matrix
  multiplication; the embedding lookup does none);
- ``2 N_above``: input gradients, which the backward pass computes from the loss down to the
  lowest trained layer only (N_above: the matrix weights of that layer, the layers above it and
  the LM head); nothing below it needs a gradient;
- ``2 T``: weight gradients of the trained matrices alone (T: their parameters).

Full fine-tuning (lowest layer 0, T = N) gives the familiar 6 N; SLAM's layers 0-5 of a 7B model
train 6% of it, so F is close to 4 N.
"""

from __future__ import annotations

import re
import time
from typing import Any

PEAK_BF16_TFLOPS = {
    "H200": 989.4,
    "H100 NVL": 835.0,
    "H100 PCIe": 756.0,
    "H100": 989.4,
    "GH200": 989.4,
    "A100": 312.0,
    "A800": 312.0,
    "L40S": 362.0,
    "B200": 2250.0,
}
"""Dense bf16 tensor-core peaks (vendor data sheets, without sparsity), by device name."""

_LAYER = re.compile(r"\.layers\.(\d+)\.")


def peak_tflops(device_name: str) -> float | None:
    """The dense bf16 peak of a GPU by its name (longer names first: H100 NVL before H100)."""
    for key, value in PEAK_BF16_TFLOPS.items():
        if key in device_name:
            return value
    return None


def flops_per_token(model, plan) -> dict[str, Any]:
    """SLAM's FLOPs per non-padding token of a training step (the formula in the module doc)."""
    embedding = model.get_input_embeddings().weight
    matrices = above = trained = 0
    lowest = min(plan.layers) if plan.layers else 0
    for name, param in model.named_parameters():
        shape = tuple(getattr(param, "ds_shape", param.shape))  # ZeRO-3 partitions hold a slice
        if len(shape) != 2 or param is embedding or "lora_" in name:
            continue
        count = shape[0] * shape[1]
        matrices += count
        layer = _LAYER.search(name)
        if layer is None or int(layer.group(1)) >= lowest:
            above += count
        if param.requires_grad:
            trained += count
    if plan.mode == "lora":
        trained = plan.trainable
    return {
        "flops_per_token": 2 * matrices + 2 * above + 2 * trained,
        "formula": "2 N + 2 N_above + 2 T (forward; input gradients down to the lowest trained layer; "
        "weight gradients of the trained matrices)",
        "N": matrices,
        "N_above": above,
        "T": trained,
        "lowest_trained_layer": lowest,
    }


def synchronize() -> None:
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def step_timer_callback(trainer):
    """A TrainerCallback timing each optimizer step (see the module doc); the figures go into
    ``trainer``'s ``steady`` dict, the tokens of each step come from ``trainer.step_tokens``."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            self.mark = None
            trainer.steady.update({"steps": 0, "seconds": 0.0, "local_tokens": 0, "checkpoint_save_s": 0.0})

        def on_step_end(self, args, state, control, **kwargs):
            synchronize()
            now = time.perf_counter()
            if self.mark is not None:  # from the second step of this session on
                trainer.steady["steps"] += 1
                trainer.steady["seconds"] += now - self.mark
                trainer.steady["local_tokens"] += trainer.step_tokens
            self.mark = now

        def on_save(self, args, state, control, **kwargs):
            synchronize()
            now = time.perf_counter()
            if self.mark is not None:
                trainer.steady["checkpoint_save_s"] += now - self.mark  # timed apart from the steps
            self.mark = now

    return StepTimer()
