"""The `training:` section of a recipe."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.schema import Section


class TranslationDataConfig(Section):
    source: str = "Mathoctopus/GSM8KInstruct_Parallel"
    """Hub dataset id, or a local folder of `<xx>-en/train.<xx>` + `train.en` line-parallel files,
    or a JSONL file with `lang`, `source`, `target` fields."""
    sides: Literal["questions", "answers", "both"] = "questions"
    """Which translations to train on."""
    mixing: Literal["natural", "balanced"] = "natural"
    """`natural` keeps every pair; `balanced` caps each language at the smallest language's count."""
    max_pairs_per_language: int | None = Field(None, gt=0)
    max_length_ratio: float = Field(3.0, gt=1.0)
    """Drop pairs whose character-length ratio (either way, script-adjusted) exceeds this."""


class TrainingConfig(Section):
    data: TranslationDataConfig = Field(default_factory=TranslationDataConfig)
    mode: Literal["selective", "full", "lora"] = "selective"
    """`selective` trains what the selection names (SLAM); `full` every parameter; `lora` adapters."""
    lora_rank: int = Field(256, gt=0)
    lora_alpha: int | None = None
    epochs: float = Field(4, gt=0)
    global_batch_size: int = Field(512, gt=0)
    """Per-device batch x gradient accumulation x world size."""
    per_device_batch_size: int = Field(4, gt=0)
    learning_rate: float = Field(2e-5, gt=0)
    lr_scheduler: Literal["cosine", "linear", "constant"] = "cosine"
    warmup_ratio: float = Field(0.0, ge=0, lt=1)
    max_length: int = Field(1024, gt=0)
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    """`auto`: bf16 on GPUs, fp32 on a CPU."""
    deepspeed: bool = False
    """Use DeepSpeed ZeRO-2 (on by default in the GPU recipes)."""
    launcher: Literal["none", "deepspeed", "torchrun"] = "none"
    num_gpus: int = Field(1, gt=0)
    hostfile: str | None = None
    """DeepSpeed hostfile for several nodes."""
    save: Literal["delta", "merged", "both"] = "delta"
    """`delta`: only the changed tensors (safetensors); `merged`: a full model folder."""
    gradient_checkpointing: bool = False
    logging_steps: int = Field(1, gt=0)
    save_steps: int | None = Field(None, gt=0)
    """Checkpoint every N optimizer steps so an interrupted run resumes (None: once per epoch)."""
