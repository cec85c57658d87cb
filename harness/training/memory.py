"""The memory model of a trainable plan: bytes per GPU (or process) of the weights, gradients,
optimizer state, DeepSpeed's buffers and the activations of one micro-batch, and whether the
recipe's GPUs hold the peak.

Per process, bytes. With DeepSpeed in bf16: the weights in bf16 (2 x all parameters), bf16
gradients for the trainable ones (2 x trainable), and AdamW's fp32 state for the trainable ones: a
fp32 master copy plus two moments (12 x trainable); ZeRO-2 shards the gradients and the optimizer
state over the data-parallel world size N: 2 x all + (2 + 12) x trainable / N (Rajbhandari et al.,
ZeRO, section 3). In fp32 (DeepSpeed's, or the plain Trainer's, which keeps fp32 weights even when
it autocasts to bf16): 4 x all + (4 + 8) x trainable, sharded only under DeepSpeed. The train
stage adds to DeepSpeed's set-up an fp32 gradient accumulation partition (4 x trainable / N) and
its reduce/all-gather buckets; without DeepSpeed in bf16 it holds the frozen weights in bf16 and
the trained ones in fp32: 2 x frozen + (4 + 4 + 8) x trainable. Activations: see
:func:`activation_memory`; `harness plan` adds them and says whether the recipe's GPUs
(``training.gpu_memory_gib``) hold the sum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.models.adapters import SUBLAYERS
from harness.training.nodes import world_size

if TYPE_CHECKING:
    from harness.training.plan import TrainablePlan

BF16_BYTES = (2, 2, 12)
"""Bytes per parameter in bf16: weight, gradient, AdamW state (fp32 master + exp_avg + exp_avg_sq)."""
FP32_BYTES = (4, 4, 8)
"""Bytes per parameter in fp32: weight, gradient, AdamW state (exp_avg + exp_avg_sq)."""
BYTES_GRAD_ACCUMULATION = 4
"""DeepSpeed's ``data_types.grad_accum_dtype: fp32``: a fp32 gradient partition (ZeRO-2)."""
DEEPSPEED_BUCKETS = 2 * 200_000_000 * 2
"""Reduce + all-gather bucket of :func:`harness.training.trainer.deepspeed_config` (bf16 elements)."""
OVERLAP_COMM_BUFFER = 200_000_000 * 2
"""``overlap_comm`` (on wherever a GPU trains: :func:`harness.training.trainer.deepspeed_config`)
double-buffers the reduce bucket, so that one bucket's reduction runs while the next fills:
one more ``reduce_bucket_size`` buffer in the 16-bit gradient dtype (DeepSpeed 0.19,
``stage_1_and_2.py`` ``setup_buckets``), 0.4 GB in bf16 beside :data:`DEEPSPEED_BUCKETS`."""
ACTIVATION_SCALE = 1.01
"""Measured over counted: the tensors :func:`activation_memory` counts, times this, match the
peaks measured on an H100 (2026-11-25, torch 2.11, transformers 5.17, sdpa attention, bf16, a
Llama-2-13B shape at 8 x 1024 tokens per micro-batch): ~54 GiB of activations without gradient
checkpointing and 6.2 GiB with it. SCALE and LOGIT_BYTES solve those two equations (the counted
tensors alone explain 99% of the first)."""
LOGIT_BYTES = 6.1
"""Bytes per vocabulary entry per token at the loss (bf16 logits, their fp32 copy for the
cross-entropy and its saved log-softmax, partly freed before the peak): calibrated as above."""


def _note(per: str, activations_counted: bool) -> str:
    """What an estimate leaves out (``per``: GPU or process)."""
    return f"per {per}; " + ("" if activations_counted else "activations, ") + "buffers and fragmentation not counted"


def parameter_memory(
    plan: TrainablePlan, world_size: int = 1, bytes_per_parameter: tuple[int, int, int] = BF16_BYTES
) -> dict[str, Any]:
    """Per-GPU memory estimate in bytes, without and with ZeRO-2 over ``world_size``.

    ``bytes_per_parameter``: (weight, gradient, optimizer state), :data:`BF16_BYTES` or
    :data:`FP32_BYTES`.
    """
    weight, gradient, state = bytes_per_parameter
    weights = weight * plan.total
    grads = gradient * plan.trainable
    optimizer = state * plan.trainable
    n = max(1, world_size)
    return {
        "world_size": n,
        "bytes_per_parameter": {"weight": weight, "gradient": gradient, "optimizer": state},
        "weights": weights,
        "gradients": grads,
        "optimizer": optimizer,
        "total": weights + grads + optimizer,
        "zero2": {
            "weights": weights,
            "gradients": grads / n,
            "optimizer": optimizer / n,
            "total": weights + (grads + optimizer) / n,
        },
        "note": _note("GPU", activations_counted=False),
    }


def activation_memory(plan: TrainablePlan, tokens: int, checkpointing: bool = False) -> dict[str, Any]:
    """Bytes of activations one micro-batch of ``tokens`` tokens keeps for the backward pass.

    Counted per token and decoder layer for a Llama-style layer with sdpa attention, bf16
    (2 bytes) unless said: the two RMSNorms' fp32 inputs (2 x 4h), attention's q, k, v and output
    (2 x (2h + 2kv)), the SwiGLU's gate, up and activation outputs (3 x 2i); a frozen
    projection keeps nothing more, a trained one keeps its input (2h, or 2i for down_proj).
    Every layer is counted (the backward pass runs from the loss down to the lowest trained
    layer, layer 0 in SLAM). With gradient checkpointing each layer keeps only its input (2h)
    and one layer's activations are rebuilt at a time. The loss adds LOGIT_BYTES per vocabulary
    entry per token. The sum is scaled by ACTIVATION_SCALE (calibrated on measured peaks).
    """
    h, i, kv, vocab = (plan.dims.get(key, 0) for key in ("hidden", "intermediate", "kv", "vocab"))
    if not h:
        return {
            "tokens": tokens,
            "checkpointing": checkpointing,
            "layers": 0,
            "logits": 0,
            "total": 0,
            "note": "model shape unknown",
        }
    frozen = 2 * 4 * h + 2 * (2 * h + 2 * kv) + 3 * 2 * i
    inputs = {
        "q": ("qkv", 2 * h),
        "k": ("qkv", 2 * h),
        "v": ("qkv", 2 * h),
        "o": ("o", 2 * h),
        "gate": ("gate_up", 2 * h),
        "up": ("gate_up", 2 * h),
        "down": ("down", 2 * i),
    }
    roles = SUBLAYERS["ffn_attention"] if plan.mode == "full" else SUBLAYERS[plan.sublayers]
    extra = sum(dict(inputs[role] for role in roles).values())
    trained_layers = plan.num_layers if plan.mode == "full" else len(plan.layers)
    layer_bytes = [frozen + extra] * trained_layers + [frozen] * (plan.num_layers - trained_layers)
    per_token = 2 * h * plan.num_layers + max(layer_bytes) if checkpointing else sum(layer_bytes)
    layers = ACTIVATION_SCALE * per_token * tokens
    logits = LOGIT_BYTES * vocab * tokens
    return {
        "tokens": tokens,
        "checkpointing": checkpointing,
        "layers": layers,
        "logits": logits,
        "total": layers + logits,
    }


def recipe_memory(plan: TrainablePlan, training) -> dict[str, Any]:
    """Memory per process of the recipe's own set-up (bytes), with the activations.

    ``estimate``: weights, gradients, optimizer state and total as the recipe trains: DeepSpeed
    ZeRO-2 over the world size (plus its fp32 accumulation and buckets), or the plain Trainer
    (bf16: frozen weights bf16, trained ones fp32; fp32: everything fp32; nothing sharded).
    ``activations``, ``peak`` (estimate + activations), ``gpu_memory_gib`` and ``fits``: the
    recipe's micro-batch and whether its GPUs hold the peak (``advice`` when they do not).
    ``with_deepspeed``: for a Trainer recipe that would train in bf16 on a GPU, what
    ``training.deepspeed: true`` would need instead (None otherwise).
    """
    world = world_size(training)
    precision = training.precision if training is not None else "auto"
    if training is not None and training.deepspeed:
        return _with_activations(deepspeed_memory(plan, training, world), plan, training)
    if training is not None and precision != "fp32":  # the trainer on a GPU: frozen weights bf16, trained fp32
        weight, gradient, state = FP32_BYTES
        weights = 2 * (plan.total - plan.trainable) + weight * plan.trainable
        estimate = {"weights": weights, "gradients": gradient * plan.trainable, "optimizer": state * plan.trainable}
        estimate["total"] = sum(estimate.values())
        zero = recipe_memory(plan, training.model_copy(update={"deepspeed": True}))
        return _with_activations(
            {
                "setup": "transformers Trainer without DeepSpeed, bf16: frozen weights bf16, trained weights, "
                "gradients and AdamW state fp32" + ("; precision auto: fp32 on a CPU" if precision == "auto" else ""),
                "world_size": world,
                "sharded": False,
                "bytes_per_parameter": {"weight": "2 frozen, 4 trained", "gradient": gradient, "optimizer": state},
                "estimate": estimate,
                "with_deepspeed": {"setup": f"ZeRO-2 over {world} GPU(s), bf16", "estimate": zero["estimate"]},
                "note": _note("process", activations_counted=True),
            },
            plan,
            training,
        )
    memory = parameter_memory(plan, world, FP32_BYTES)
    setup = "transformers Trainer without DeepSpeed: fp32 weights, gradients and AdamW state" + (
        "" if precision == "fp32" else ", bf16 autocast on a GPU"
    )
    alternative = None
    if precision != "fp32":
        zero = parameter_memory(plan, world, BF16_BYTES)
        alternative = {"setup": f"ZeRO-2 over {world} GPU(s), bf16", "estimate": zero["zero2"]}
    return _with_activations(
        {
            "setup": setup,
            "world_size": world,
            "sharded": False,
            "bytes_per_parameter": memory["bytes_per_parameter"],
            "estimate": {key: memory[key] for key in ("weights", "gradients", "optimizer", "total")},
            "with_deepspeed": alternative,
            "note": _note("process", activations_counted=False),
        },
        plan,
        training,
    )


ZERO3_LIVE_PARAMETERS = 1_000_000_000
"""``stage3_max_live_parameters`` of :func:`harness.training.trainer.deepspeed_config`: the most
parameters ZeRO-3 holds gathered (whole) on a GPU at once (in bf16)."""


def deepspeed_memory(plan: TrainablePlan, training, world: int) -> dict[str, Any]:
    """Per-GPU memory of DeepSpeed ZeRO-2 or ZeRO-3 (with the recipe's offloading) over ``world`` GPUs.

    ZeRO-2 keeps the whole weights on every GPU and shards gradients, the fp32 gradient accumulation
    and the optimizer state (fp32 master weights + AdamW moments) over N; ZeRO-3 shards the weights too
    and gathers at most :data:`ZERO3_LIVE_PARAMETERS` of them at a time. Offloading the optimizer moves
    its state and the fp32 gradient partition to CPU memory (``cpu_offload``, per process); offloading
    the parameters moves ZeRO-3's weight shards there as well.
    """
    bf16 = training.precision != "fp32"
    memory = parameter_memory(plan, world, BF16_BYTES if bf16 else FP32_BYTES)
    stage3 = training.zero_stage == 3
    n = max(1, world)
    weight = memory["bytes_per_parameter"]["weight"]
    shard = memory["weights"] / n
    gathered = weight * min(plan.total, ZERO3_LIVE_PARAMETERS) if stage3 else 0
    estimate: dict[str, Any] = {
        "weights": (0 if training.offload_parameters else shard) + gathered if stage3 else memory["weights"],
        "gradients": memory["zero2"]["gradients"],
        "optimizer": 0 if training.offload_optimizer else memory["zero2"]["optimizer"],
        "accumulation": 0 if training.offload_optimizer else BYTES_GRAD_ACCUMULATION * plan.trainable / n,
        "buffers": (DEEPSPEED_BUCKETS + OVERLAP_COMM_BUFFER) * (1 if bf16 else 2),  # overlap_comm on GPUs
    }
    estimate["total"] = sum(estimate.values())
    cpu = (memory["zero2"]["optimizer"] + BYTES_GRAD_ACCUMULATION * plan.trainable / n) * training.offload_optimizer
    cpu += shard * training.offload_parameters
    offloaded = [
        what
        for what, on in (("optimizer", training.offload_optimizer), ("parameters", training.offload_parameters))
        if on
    ]
    setup = (
        f"DeepSpeed ZeRO-{training.zero_stage} over {world} GPU(s): "
        + (
            "bf16 weights and gradients, fp32 AdamW state and master weights"
            if bf16
            else "fp32 weights, gradients and AdamW state"
        )
        + ("; weights sharded, at most 1e9 gathered at a time" if stage3 else "")
        + (f"; {' and '.join(offloaded)} offloaded to CPU" if offloaded else "")
        + ("; precision auto: fp32 on a CPU" if training.precision == "auto" else "")
    )
    return {
        "setup": setup + "; fp32 gradient accumulation",
        "world_size": world,
        "sharded": True,
        "zero_stage": training.zero_stage,
        "bytes_per_parameter": memory["bytes_per_parameter"],
        "estimate": estimate,
        "cpu_offload": cpu,
        "with_deepspeed": None,
        "note": memory["note"],
    }


ZERO_OPTIONS = (
    ("ZeRO-2", {"zero_stage": 2, "offload_optimizer": False, "offload_parameters": False}),
    ("ZeRO-2 + offload optimizer", {"zero_stage": 2, "offload_optimizer": True, "offload_parameters": False}),
    ("ZeRO-3", {"zero_stage": 3, "offload_optimizer": False, "offload_parameters": False}),
    ("ZeRO-3 + offload optimizer", {"zero_stage": 3, "offload_optimizer": True, "offload_parameters": False}),
    (
        "ZeRO-3 + offload optimizer and parameters",
        {"zero_stage": 3, "offload_optimizer": True, "offload_parameters": True},
    ),
)


def zero_options(plan: TrainablePlan, training) -> list[dict[str, Any]]:
    """Every DeepSpeed ZeRO set-up for the recipe's GPUs and micro-batch: peak per GPU, CPU memory per
    process, whether it fits ``gpu_memory_gib``, and the overrides that choose it."""
    rows = []
    for label, settings in ZERO_OPTIONS:
        variant = training.model_copy(update={"deepspeed": True, "precision": "bf16", **settings})
        memory = _with_activations(deepspeed_memory(plan, variant, world_size(variant)), plan, variant, advise=False)
        rows.append(
            {
                "setup": label,
                "overrides": " ".join(f"training.{key}={str(value).lower()}" for key, value in settings.items()),
                "peak": memory["peak"],
                "cpu_offload": memory["cpu_offload"],
                "fits": memory["fits"],
                "recipe": all(getattr(training, key) == value for key, value in settings.items())
                and training.deepspeed,
            }
        )
    return rows


def _with_activations(memory: dict[str, Any], plan: TrainablePlan, training, advise: bool = True) -> dict[str, Any]:
    """Add the activations of the recipe's micro-batch, the peak, and whether it fits the GPUs."""
    if training is None:
        memory.update({"activations": None, "peak": memory["estimate"]["total"], "gpu_memory_gib": None, "fits": None})
        return memory
    tokens = training.per_device_batch_size * training.max_length
    activations = activation_memory(plan, tokens, training.gradient_checkpointing)
    peak = memory["estimate"]["total"] + activations["total"]
    limit = training.gpu_memory_gib
    memory.update(
        {
            "activations": activations,
            "peak": peak,
            "gpu_memory_gib": limit,
            "fits": None if limit is None else peak <= limit * 2**30,
            "note": _note("GPU" if memory["sharded"] else "process", activations_counted=True),
        }
    )
    if memory["fits"] is False and advise:
        memory["advice"] = fit_advice(plan, training)
    return memory


def fit_advice(plan: TrainablePlan, training) -> str:
    """What to change when the estimate exceeds ``training.gpu_memory_gib``."""
    tips = []
    if not training.gradient_checkpointing:
        with_ckpt = training.model_copy(update={"gradient_checkpointing": True})
        tips.append(f"training.gradient_checkpointing=true ({recipe_memory(plan, with_ckpt)['peak'] / 2**30:,.1f} GiB)")
    if training.deepspeed:
        fitting = [row for row in zero_options(plan, training) if row["fits"] and not row["recipe"]]
        if fitting:
            best = fitting[0]  # the least sharding/offloading that fits: the fastest
            tips.append(f"{best['overrides']} ({best['setup']}: {best['peak'] / 2**30:,.1f} GiB)")
    if training.per_device_batch_size > 1:
        half = training.model_copy(update={"per_device_batch_size": training.per_device_batch_size // 2})
        tips.append(
            f"training.per_device_batch_size={half.per_device_batch_size} "
            f"({recipe_memory(plan, half)['peak'] / 2**30:,.1f} GiB; accumulation doubles)"
        )
    return "set " + " or ".join(tips) if tips else "use GPUs with more memory"
