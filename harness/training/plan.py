"""The trainable plan: selected layers + sub-layers -> exact parameter names, counts, memory.

A plan is built from the model's config alone: the model is instantiated on the meta device
(shapes, no storage, no weights read), so `harness plan` answers "what would be trained and what
memory does it need" before anything is downloaded. `apply_plan` then freezes a real model to
exactly that plan and checks every parameter.

Memory model (per GPU, bytes). Model states: the weights in bf16 (2 x all parameters), bf16
gradients for the trainable ones (2 x trainable), AdamW's fp32 state for them: a fp32 master copy
plus two moments (12 x trainable), and DeepSpeed's fp32 gradient accumulation partition (4 x
trainable). ZeRO-2 shards all but the weights over the data-parallel world size N:
2 x all + (2 + 12 + 4) x trainable / N (Rajbhandari et al., ZeRO, section 3), plus DeepSpeed's
reduce and all-gather buckets. Without DeepSpeed the Trainer keeps fp32 weights and autocasts:
4 x all + (4 + 8) x trainable. Activations: see :func:`activation_memory`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.models.adapters import SUBLAYERS, adapter_for

BYTES_WEIGHT = 2  # bf16
BYTES_GRAD = 2  # bf16
BYTES_OPTIMIZER = 12  # fp32 master + exp_avg + exp_avg_sq
BYTES_GRAD_ACCUMULATION = 4  # DeepSpeed data_types.grad_accum_dtype: fp32 (ZeRO-2 partition)
DEEPSPEED_BUCKETS = 2 * 200_000_000 * 2  # reduce + all-gather bucket (elements, bf16), trainer.deepspeed_config
ACTIVATION_SCALE = 1.01
"""Measured over counted: the tensors :func:`activation_memory` counts, times this, match the
peaks measured on an H100 (2026-11-25, torch 2.11, transformers 5.17, sdpa attention, bf16, a
Llama-2-13B shape at 8 x 1024 tokens per micro-batch): ~54 GiB of activations without
gradient checkpointing and 6.2 GiB with it. SCALE and LOGIT_BYTES solve those two equations (the counted
tensors alone explain 99% of the first)."""
LOGIT_BYTES = 6.1
"""Bytes per vocabulary entry per token at the loss (bf16 logits, their fp32 copy for the
cross-entropy and its saved log-softmax, partly freed before the peak): calibrated as above."""
PAPER_DEFAULT_LAYERS = 6
"""SLAM's MSD selected layers 0-5 for MetaMath-7B/13B (paper, appendix A); `harness plan` shows
this as an illustration for `slam_msd` before the probe has run."""


@dataclass
class TrainablePlan:
    """What a training run trains, by exact parameter name."""

    model_type: str
    mode: str
    """`selective`, `full` or `lora`."""
    layers: list[int]
    sublayers: str
    num_layers: int
    names: list[str]
    """Exact parameter names of the base model that are trained (selective, full), or whose
    modules carry LoRA adapters (lora)."""
    counts: dict[str, int]
    """Elements per name in ``names``."""
    trainable: int
    """Parameters the optimizer updates (LoRA: the adapters' A and B matrices)."""
    base_total: int
    """Parameters of the base model (tied weights counted once)."""
    total: int
    """Parameters of the model being trained (base + LoRA adapters)."""
    lora_rank: int | None = None
    target_modules: list[str] = field(default_factory=list)
    """Module paths whose weights change (selective: their parameters; lora: the adapted ones)."""
    dims: dict[str, int] = field(default_factory=dict)
    """Shapes the activation estimate needs: hidden, intermediate, kv (key/value width), vocab."""

    @property
    def share(self) -> float:
        """Trainable share of all parameters of the model being trained."""
        return self.trainable / self.total

    def memory(self, world_size: int = 1, tokens: int = 0, checkpointing: bool = False,
               deepspeed: bool = True) -> dict[str, Any]:
        """Per-GPU memory estimate in bytes, without and with ZeRO-2 over ``world_size``.

        ``tokens``: tokens per micro-batch on one GPU (per-device batch x max length, the worst
        case when a batch is padded to the longest example); 0 leaves activations out.
        ``peak`` is the estimate for how the recipe trains: ZeRO-2 with its buckets
        (``deepspeed``) or the plain Trainer's fp32 weights, plus the activations.
        """
        weights = BYTES_WEIGHT * self.total
        grads = BYTES_GRAD * self.trainable
        optimizer = BYTES_OPTIMIZER * self.trainable
        accumulation = BYTES_GRAD_ACCUMULATION * self.trainable
        n = max(1, world_size)
        zero2_total = weights + (grads + optimizer + accumulation) / n
        activations = activation_memory(self, tokens, checkpointing) if tokens else None
        states = zero2_total + DEEPSPEED_BUCKETS if deepspeed else 4 * self.total + 12 * self.trainable
        return {
            "world_size": n,
            "weights_bf16": weights,
            "gradients_bf16": grads,
            "optimizer_fp32": optimizer,
            "total": weights + grads + optimizer,
            "zero2": {
                "weights_bf16": weights,
                "gradients_bf16": grads / n,
                "optimizer_fp32": optimizer / n,
                "grad_accumulation_fp32": accumulation / n,
                "total": zero2_total,
            },
            "activations": activations,
            "peak": states + (activations["total"] if activations else 0),
            "peak_states": "deepspeed zero-2 + buckets" if deepspeed else "plain Trainer (fp32 weights, autocast)",
            "note": "per GPU; " + ("activations counted" if activations else "activations not counted")
                    + "; fragmentation and the CUDA context (~0.5-1 GiB) not counted",
        }

    def to_json(self, world_size: int = 1) -> dict[str, Any]:
        data = asdict(self)
        data["share"] = self.share
        data["memory"] = self.memory(world_size)
        return data


def activation_memory(plan: "TrainablePlan", tokens: int, checkpointing: bool = False) -> dict[str, Any]:
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
        return {"tokens": tokens, "checkpointing": checkpointing, "total": 0, "note": "model shape unknown"}
    frozen = 2 * 4 * h + 2 * (2 * h + 2 * kv) + 3 * 2 * i
    inputs = {"q": ("qkv", 2 * h), "k": ("qkv", 2 * h), "v": ("qkv", 2 * h), "o": ("o", 2 * h),
              "gate": ("gate_up", 2 * h), "up": ("gate_up", 2 * h), "down": ("down", 2 * i)}
    roles = SUBLAYERS["ffn_attention"] if plan.mode == "full" else SUBLAYERS[plan.sublayers]
    extra = sum(dict(inputs[role] for role in roles).values())
    trained_layers = plan.num_layers if plan.mode == "full" else len(plan.layers)
    layer_bytes = [frozen + extra] * trained_layers + [frozen] * (plan.num_layers - trained_layers)
    if checkpointing:
        per_token = 2 * h * plan.num_layers + max(layer_bytes)
    else:
        per_token = sum(layer_bytes)
    layers = ACTIVATION_SCALE * per_token * tokens
    logits = LOGIT_BYTES * vocab * tokens
    return {"tokens": tokens, "checkpointing": checkpointing, "layers": layers, "logits": logits,
            "total": layers + logits}


def model_dims(config) -> dict[str, int]:
    """hidden, intermediate, key/value width and vocabulary of a decoder config (0 if absent)."""
    config = getattr(config, "text_config", None) or config
    hidden = getattr(config, "hidden_size", 0) or 0
    heads = getattr(config, "num_attention_heads", 0) or 0
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or (hidden // heads if heads else 0)
    return {"hidden": hidden, "intermediate": getattr(config, "intermediate_size", 0) or 0,
            "kv": kv_heads * head_dim, "vocab": getattr(config, "vocab_size", 0) or 0}


def meta_model(config):
    """The model built from its config on the meta device: shapes only, no storage."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config)


def count_parameters(model) -> int:
    """Parameters of a model, tied weights counted once."""
    return sum(p.numel() for p in model.parameters())


def check_layers(layers: list[int], num_layers: int, where: str = "the selection") -> list[int]:
    """Sorted distinct layers, or a clear error naming a layer the model lacks."""
    bad = sorted({i for i in layers if not (isinstance(i, int) and 0 <= i < num_layers)})
    if bad:
        raise HarnessError(
            f"{where} names layer(s) {bad} but the model has {num_layers} layers, numbered 0 to "
            f"{num_layers - 1}; fix the selection (or rerun `harness select` for this model)"
        )
    if not layers:
        raise HarnessError(f"{where} names no layer; a selective or LoRA run needs at least one")
    return sorted(set(layers))


def build_plan(config, layers: list[int] | None, sublayers: str, mode: str = "selective",
               lora_rank: int | None = None, model=None) -> TrainablePlan:
    """The plan for ``config`` (a transformers config) on its meta-device model.

    ``model``: an already built model (real or meta) to read names and shapes from instead.
    """
    plan = _build_plan(config, layers, sublayers, mode, lora_rank, model)
    plan.dims = model_dims(config)
    return plan


def _build_plan(config, layers, sublayers, mode, lora_rank, model) -> TrainablePlan:
    adapter = adapter_for(config)
    if sublayers not in SUBLAYERS:
        raise HarnessError(f"unknown sub-layers {sublayers!r}; choose from: {', '.join(SUBLAYERS)}")
    model = model if model is not None else meta_model(config)
    num_layers = adapter.num_layers(config)
    shapes = {name: p.numel() for name, p in model.named_parameters()}  # tied: first name only
    base_total = count_parameters(model)
    if mode == "full":
        names = list(shapes)
        counts = dict(shapes)
        return TrainablePlan(config.model_type, mode, list(range(num_layers)), "all", num_layers,
                             names, counts, base_total, base_total, base_total)
    layers = check_layers(list(layers or []), num_layers)
    names: list[str] = []
    modules: list[str] = []
    for i in layers:
        names += adapter.parameter_names(i, sublayers, model)
        modules += [adapter.module_path(i, role) for role in SUBLAYERS[sublayers]]
    missing = [n for n in names if n not in shapes]
    if missing:
        raise HarnessError(f"parameter(s) {missing[:3]} not found in the model; choose from: "
                           f"{', '.join(_near(missing[0], shapes))}")
    counts = {n: shapes[n] for n in names}
    if mode == "selective":
        trainable = sum(counts.values())
        return TrainablePlan(config.model_type, mode, layers, sublayers, num_layers, names, counts,
                             trainable, base_total, base_total, target_modules=modules)
    if mode == "lora":
        if not lora_rank:
            raise HarnessError("training.lora_rank: a LoRA plan needs a rank")
        trainable = 0
        for path in modules:
            module = model.get_submodule(path)
            trainable += lora_rank * (module.in_features + module.out_features)
        return TrainablePlan(config.model_type, mode, layers, sublayers, num_layers, names, counts,
                             trainable, base_total, base_total + trainable, lora_rank, modules)
    raise HarnessError(f"training.mode {mode!r}: choose from selective, full, lora")


def _near(name: str, names) -> list[str]:
    """Parameter names that share ``name``'s layer prefix (for "choose from ...")."""
    prefix = name.rsplit(".", 2)[0]
    near = [n for n in names if n.startswith(prefix)]
    return near[:12] or list(names)[:12]


def apply_plan(model, plan: TrainablePlan) -> list[str]:
    """Freeze everything but ``plan.names`` (selective/full) and check every parameter.

    Returns the trainable names. A name the model lacks is a HarnessError that lists the names
    near it; afterwards, every parameter's ``requires_grad`` is checked against the plan.
    """
    if plan.mode == "lora":
        raise HarnessError("apply_plan: a LoRA plan is applied by peft (see trainer.wrap_lora)")
    params = dict(model.named_parameters())
    missing = [name for name in plan.names if name not in params]
    if missing:
        raise HarnessError(
            f"parameter {missing[0]!r} (of {len(missing)} missing) not found in the model; choose from: "
            f"{', '.join(_near(missing[0], params))}"
        )
    wanted = set(plan.names)
    for name, param in params.items():
        param.requires_grad_(name in wanted)
    check_trainable(model, wanted)
    return [name for name in params if name in wanted]


def check_trainable(model, wanted: set[str]) -> None:
    """Every parameter's requires_grad equals its membership in ``wanted``; else an error."""
    wrong = [(name, p.requires_grad) for name, p in model.named_parameters()
             if p.requires_grad != (name in wanted)]
    if wrong:
        raise RuntimeError(f"trainable parameters differ from the plan: {wrong[:5]}")


# -- `harness plan RECIPE` -------------------------------------------------------------------

def plan_layers(recipe, run_dir: str | Path | None = None) -> tuple[list[int] | None, str]:
    """The layers a recipe trains, and where that answer came from.

    Policies other than ``slam_msd`` are decided by the config (depth) alone. For ``slam_msd`` the
    run's selection.json (``run_dir``, default ``runs/<name>``) is used when it exists; otherwise
    the probe decides, and the plan shows the paper's outcome (the first 6 layers) as an
    illustration.
    """
    from harness.models import load_config
    from harness.selection.policies import policy_for, select_layers

    config = load_config(recipe.model)
    num_layers = adapter_for(config).num_layers(config)
    if recipe.selection is None:
        return None, "no selection section (full fine-tuning)"
    settings = recipe.selection.layers
    if not policy_for(settings).needs_probe:
        return select_layers(settings, num_layers), f"policy {settings.policy} (from the config)"
    folder = Path(run_dir) if run_dir else Path("runs") / recipe.name
    selection = folder / "selection" / "selection.json"
    if selection.exists():
        from harness.selection.stage import selected_layers

        return selected_layers(selection.parent), f"selected by the probe ({selection})"
    k = min(PAPER_DEFAULT_LAYERS, num_layers)
    return list(range(k)), (
        f"policy slam_msd: the activation probe decides the layers (`harness select`); shown: the "
        f"first {k}, what SLAM selected for MetaMath-7B/13B in the paper (illustration)"
    )


def world_size(training) -> int:
    """Data-parallel processes a recipe's training would run: GPUs per node x nodes."""
    if training is None or training.launcher == "none":
        return 1
    nodes = 1
    if training.hostfile:
        nodes = len(read_hostfile(training.hostfile))
    return training.num_gpus * nodes


def read_hostfile(path: str) -> dict[str, int]:
    """A DeepSpeed/MPI hostfile: ``host slots=N`` per line -> {host: slots}."""
    file = Path(path)
    if not file.is_file():
        raise HarnessError(f"training.hostfile {path!r}: file not found; write one line per node "
                           "(`worker-1 slots=8`) or remove the key for a single node")
    hosts: dict[str, int] = {}
    for number, line in enumerate(file.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        slots = [p for p in parts[1:] if p.startswith("slots=")]
        if not slots or not slots[0][6:].isdigit():
            raise HarnessError(f"{path}: line {number}: expected `hostname slots=N`, got {line!r}")
        hosts[parts[0]] = int(slots[0][6:])
    if not hosts:
        raise HarnessError(f"{path}: the hostfile lists no host")
    return hosts


def recipe_plan(recipe, run_dir: str | Path | None = None, config=None) -> tuple[TrainablePlan, str]:
    """The plan of a recipe's training section, from the model config alone."""
    from harness.models import load_config

    training = recipe.training
    mode = training.mode if training is not None else "selective"
    config = config if config is not None else load_config(recipe.model)
    if mode == "full":
        return build_plan(config, None, "ffn", "full"), "full fine-tuning: every parameter"
    layers, origin = plan_layers(recipe, run_dir)
    sublayers = recipe.selection.sublayers if recipe.selection is not None else "up_down"
    rank = training.lora_rank if training is not None else None
    return build_plan(config, layers, sublayers, mode, rank), origin


def _gib(n: float) -> str:
    return f"{n / 2**30:,.2f} GiB"


def training_memory(plan: TrainablePlan, training, world: int) -> dict[str, Any]:
    """The plan's memory at a recipe's training settings, and whether it fits the named GPUs."""
    if training is None:
        return plan.memory(world)
    tokens = training.per_device_batch_size * training.max_length
    memory = plan.memory(world, tokens, training.gradient_checkpointing, training.deepspeed)
    limit = training.gpu_memory_gib
    memory["gpu_memory_gib"] = limit
    memory["fits"] = None if limit is None else memory["peak"] <= limit * 2**30
    return memory


def fit_advice(plan: TrainablePlan, training, world: int) -> str:
    """What to change when the estimate exceeds ``training.gpu_memory_gib``."""
    tips = []
    if not training.gradient_checkpointing:
        with_ckpt = training.model_copy(update={"gradient_checkpointing": True})
        tips.append(f"training.gradient_checkpointing=true ({_gib(training_memory(plan, with_ckpt, world)['peak'])})")
    if training.per_device_batch_size > 1:
        half = training.model_copy(update={"per_device_batch_size": training.per_device_batch_size // 2})
        tips.append(f"training.per_device_batch_size={half.per_device_batch_size} "
                    f"({_gib(training_memory(plan, half, world)['peak'])}; accumulation doubles)")
    if not training.deepspeed:
        tips.append("training.deepspeed=true (bf16 weights)")
    return "set " + " or ".join(tips) if tips else "use GPUs with more memory"


def format_plan(plan: TrainablePlan, origin: str, source: str, world: int, training=None) -> str:
    """The plan as text for the terminal."""
    lines = [
        f"model: {source} ({plan.model_type}, {plan.num_layers} layers, {plan.base_total:,} parameters)",
        f"mode: {plan.mode}" + (f" (rank {plan.lora_rank})" if plan.lora_rank else ""),
        f"layers: {plan.layers if plan.mode != 'full' else 'all'}  [{origin}]",
        f"sub-layers: {plan.sublayers}",
        f"trainable: {plan.trainable:,} of {plan.total:,} parameters = {plan.share:.1%}",
    ]
    if plan.mode == "full":
        lines.append(f"parameter names: all {len(plan.names)} tensors")
    else:
        label = "parameter names" if plan.mode == "selective" else "adapted parameters"
        lines.append(f"{label} ({len(plan.names)}):")
        lines += [f"  {name}  {plan.counts[name]:,}" for name in plan.names]
    memory = training_memory(plan, training, world)
    zero2 = memory["zero2"]
    lines += [
        "memory per GPU (bf16 weights, bf16 grads, fp32 AdamW state and fp32 gradient accumulation for trainable):",
        f"  {'without ZeRO:':<22} weights {_gib(memory['weights_bf16'])} + grads "
        f"{_gib(memory['gradients_bf16'])} + optimizer {_gib(memory['optimizer_fp32'])} = {_gib(memory['total'])}",
        f"  {f'ZeRO-2 over {world} GPU(s):':<22} weights {_gib(zero2['weights_bf16'])} + grads "
        f"{_gib(zero2['gradients_bf16'])} + optimizer {_gib(zero2['optimizer_fp32'])} + accumulation "
        f"{_gib(zero2['grad_accumulation_fp32'])} = {_gib(zero2['total'])}",
    ]
    activations = memory.get("activations")
    if activations and activations.get("total"):
        mode = "with" if activations["checkpointing"] else "without"
        lines += [
            f"  {'activations:':<22} {_gib(activations['total'])} ({training.per_device_batch_size} x "
            f"{training.max_length} tokens per micro-batch, {mode} gradient checkpointing; layers "
            f"{_gib(activations['layers'])} + loss {_gib(activations['logits'])})",
            f"  {'peak estimate:':<22} {_gib(memory['peak'])} ({memory['peak_states']} + activations)",
        ]
        if memory["gpu_memory_gib"] is not None:
            limit = memory["gpu_memory_gib"]
            if memory["fits"]:
                lines.append(f"  fits the recipe's GPUs: {_gib(memory['peak'])} of {limit:g} GiB")
            else:
                lines.append(f"  DOES NOT FIT the recipe's GPUs: {_gib(memory['peak'])} > {limit:g} GiB; "
                             f"{fit_advice(plan, training, world)}")
    return "\n".join(lines)


def plan_command(recipe, as_json: bool, run_dir: str | Path | None = None) -> int:
    """`harness plan RECIPE`: print what would be trained and what memory it needs."""
    plan, origin = recipe_plan(recipe, run_dir)
    world = world_size(recipe.training)
    if as_json:
        data = plan.to_json(world)
        data["memory"] = training_memory(plan, recipe.training, world)
        data.update({"model_source": recipe.model.source, "layers_origin": origin})
        print(json.dumps(data, indent=2))
    else:
        print(format_plan(plan, origin, recipe.model.source, world, recipe.training))
    return 0
