"""The `training:` section of a recipe."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from harness.schema import Section
from harness.selection.config import SelectionConfig
from harness.selection.policies import LayerPolicy
from harness.training.instructions import InstructionDataConfig
from harness.translation import TranslationDataConfig


def _data_kind(value: Any) -> str:
    kind = value.get("kind", "translation") if isinstance(value, dict) else getattr(value, "kind", "translation")
    return kind if kind in ("translation", "instructions") else "translation"


TrainingData = Annotated[
    Annotated[TranslationDataConfig, Tag("translation")] | Annotated[InstructionDataConfig, Tag("instructions")],
    Discriminator(_data_kind),
]
"""`training.data`: translation pairs (no `kind`, or `kind: translation`) or `kind: instructions`."""


TRACKERS = (
    "none",
    "all",
    "tensorboard",
    "wandb",
    "mlflow",
    "trackio",
    "comet_ml",
    "neptune",
    "clearml",
    "azure_ml",
    "codecarbon",
    "dagshub",
    "dvclive",
    "flyte",
    "swanlab",
    "kubeflow",
)
"""transformers' integration names (`report_to`)."""


class TrainingConfig(Section):
    data: TrainingData = Field(default_factory=TranslationDataConfig)
    """What the stage trains on: X->English translation pairs (the default) or instruction rows
    (`kind: instructions`: a query and a response per row, e.g. MetaMathQA)."""
    mode: Literal["selective", "full", "lora"] = "selective"
    """`selective` trains what the selection names (SLAM); `full` every parameter; `lora` adapters
    on the selected layers' sub-layers (policy `all` + sublayers `ffn_attention` is the paper's
    QAlign+LoRA row)."""
    lora_rank: int = Field(256, gt=0)
    lora_alpha: int | None = Field(None, gt=0)
    """LoRA alpha (None: 2 x rank, LLaMA-Factory's default)."""
    lora_dropout: float = Field(0.0, ge=0, lt=1)
    epochs: float = Field(4, gt=0)
    max_steps: int | None = Field(None, gt=0)
    """Stop after this many optimizer steps (overrides epochs; for smoke tests and benchmarks)."""
    global_batch_size: int = Field(512, gt=0)
    """Per-device batch x gradient accumulation x world size; must divide exactly."""
    per_device_batch_size: int = Field(4, gt=0)
    learning_rate: float = Field(2e-5, gt=0)
    lr_scheduler: Literal["cosine", "linear", "constant"] = "cosine"
    warmup_ratio: float = Field(0.0, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, ge=0)
    max_length: int = Field(1024, gt=0)
    """Longest training example in tokens (prompt + English side + EOS); longer ones are cut."""
    group_by_length: bool = True
    """Sort each (seeded, random) global batch by length before cutting it into micro-batches:
    the same examples per optimizer step, far less padding (see harness/training/batching.py)."""
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    """`auto`: bf16 on GPUs, fp32 on a CPU."""
    deepspeed: bool = False
    """Use DeepSpeed ZeRO with a generated config (on by default in the GPU recipes)."""
    zero_stage: Literal[2, 3] = 2
    """DeepSpeed ZeRO stage: 2 shards gradients and optimizer state; 3 shards the weights too (full
    fine-tuning at 13B, where ZeRO-2's unsharded weights plus AdamW state do not fit). `harness plan`
    says which fits."""
    offload_optimizer: bool = False
    """ZeRO-Offload: keep the optimizer state (and its update step) in CPU memory (DeepSpeed's CPU Adam)."""
    offload_parameters: bool = False
    """ZeRO-3 only: keep the sharded weights in CPU memory, fetched layer by layer (ZeRO-Infinity)."""
    launcher: Literal["none", "deepspeed", "torchrun"] = "none"
    """`none`: train in this process (with `deepspeed: true`, one process on a private
    distributed environment); `deepspeed` / `torchrun`: re-launch the train stage under that
    launcher on `num_gpus` devices (and the hostfile's nodes)."""
    num_gpus: int = Field(1, gt=0)
    """Processes (GPUs) per node under a launcher."""
    hostfile: str | None = None
    """DeepSpeed hostfile for several nodes (`launcher: deepspeed`)."""
    nnodes: int = Field(1, gt=0)
    """Nodes under `launcher: torchrun`: every node runs the same `harness run` (e.g. one srun task
    per node); the first node runs the pipeline, the others join its training launches."""
    node_rank: int | None = Field(None, ge=0)
    """This node's rank under torchrun with `nnodes` > 1 (None: $NODE_RANK, else $SLURM_NODEID)."""
    master_addr: str | None = None
    """The first node's address for torchrun's rendezvous with `nnodes` > 1 (None: $MASTER_ADDR, else
    the first host of $SLURM_JOB_NODELIST)."""
    master_port: int | None = Field(None, gt=0, lt=65536)
    """Rendezvous port (default: a free one on a single node, 29500 with a hostfile)."""
    save: Literal["delta", "merged", "both"] = "delta"
    """`delta`: only the changed tensors (safetensors); `merged`: a full model folder; `both`."""
    gradient_checkpointing: bool = False
    """Keep only each layer's input for the backward pass and recompute the rest (~30% more
    compute, activations ~9x smaller: what lets a 13B model train at 8 x 1024 tokens on 80 GB)."""
    gpu_memory_gib: float | None = Field(None, gt=0)
    """Memory of each GPU the recipe is written for (an 80 GB card: 79 GiB); `harness plan` says
    whether the estimate (weights, optimizer, activations) fits. None: not checked."""
    revert_except: LayerPolicy | None = None
    """Train wide, keep narrow (arXiv 2505.18356): after training, put every trained tensor outside the
    layers this policy picks (`first_k`, `fixed`, `bottom_top`, ...; not `slam_msd`) back to the weights
    training started from; the delta and the merged model carry the kept layers' updates only."""
    logging_steps: int = Field(1, gt=0)
    save_steps: int | None = Field(None, gt=0)
    """Checkpoint every N optimizer steps so an interrupted run resumes (None: once per epoch)."""
    keep_checkpoints: bool = False
    """Keep `checkpoints/` after training finishes (default: deleted once the weights are saved)."""
    report_to: list[str] = Field(default_factory=lambda: ["none"])
    """Experiment trackers the Trainer logs to (transformers' `report_to`): `none`, `tensorboard`,
    `wandb`, `mlflow`, `trackio`, ... (each installed separately). TensorBoard's logs go to
    `train/tensorboard/`. The loss curve is in train.json (and the report) either way."""

    @field_validator("report_to")
    @classmethod
    def _known_trackers(cls, names: list[str]) -> list[str]:
        from harness.registry import suggest

        for name in names:
            if name not in TRACKERS:
                raise ValueError(
                    f"unknown tracker {name!r}{suggest(name, TRACKERS)}; choose from: {', '.join(TRACKERS)}"
                )
        if len(names) > 1 and ("none" in names or "all" in names):
            raise ValueError("`none` and `all` stand alone; list trackers by name instead")
        return names

    @model_validator(mode="after")
    def _launcher_fits(self) -> TrainingConfig:
        if (self.offload_optimizer or self.offload_parameters or self.zero_stage != 2) and not self.deepspeed:
            raise ValueError("zero_stage and offload_* are DeepSpeed settings; set deepspeed: true")
        if self.revert_except is not None and self.revert_except.needs_probe:
            raise ValueError(
                "revert_except: a policy without the probe (first_k, fixed, bottom_top, ...); pin the layers"
            )
        if self.mode == "lora" and self.zero_stage == 3:
            raise ValueError(
                "LoRA trains with zero_stage: 2 (the adapters' state is small; ZeRO-3's shards cannot be merged)"
            )
        if self.offload_parameters and self.zero_stage != 3:
            raise ValueError("offload_parameters needs zero_stage: 3 (only ZeRO-3 shards the weights)")
        if self.hostfile is not None and self.launcher != "deepspeed":
            raise ValueError("hostfile is read by the DeepSpeed launcher; set launcher: deepspeed")
        if self.launcher == "none" and self.num_gpus > 1:
            raise ValueError("num_gpus > 1 needs a launcher: set launcher: deepspeed or torchrun")
        if self.nnodes > 1 and self.launcher != "torchrun":
            raise ValueError(
                "nnodes > 1 is torchrun's multi-node mode: set launcher: torchrun (or, with launcher: "
                "deepspeed, list the nodes in training.hostfile)"
            )
        if self.node_rank is not None and self.node_rank >= self.nnodes:
            raise ValueError(f"node_rank {self.node_rank} is not below nnodes {self.nnodes}")
        per_step = self.per_device_batch_size * (self.num_gpus * self.nnodes if self.launcher != "none" else 1)
        if self.hostfile is None and self.global_batch_size % per_step:
            raise ValueError(
                f"global_batch_size {self.global_batch_size} is not a multiple of per_device_batch_size "
                f"{self.per_device_batch_size} x {per_step // self.per_device_batch_size} process(es) = {per_step}"
            )
        return self


class TrainingStage(Section):
    """One training stage before the recipe's own `training:` (QAlign's question alignment)."""

    name: str
    """Names the stage's folder (`<run>/stages/<name>/`): letters, digits, `_`, `.` or `-`."""
    description: str = ""
    selection: SelectionConfig | None = None
    """The layers this stage trains (for `mode: selective` or `lora`); it probes the model the stage starts from."""
    training: TrainingConfig

    @field_validator("name")
    @classmethod
    def _folder_name(cls, name: str) -> str:
        import re

        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
            raise ValueError(f"{name!r} must be letters, digits, '_', '.' or '-' (it names a folder)")
        return name

    @model_validator(mode="after")
    def _selection_when_needed(self) -> TrainingStage:
        if self.training.mode != "full" and self.selection is None:
            raise ValueError("training.mode is selective or lora, which needs a `selection:` section in this stage")
        return self
