"""The trainable plan: selected layers + sub-layers -> exact parameter names and counts.

A plan is built from the model's config alone: the model is instantiated on the meta device
(shapes, no storage, no weights read), so `harness plan` answers "what would be trained and what
memory does it need" before anything is downloaded. `apply_plan` then freezes a real model to
exactly that plan and checks every parameter.

The memory that a plan needs to train is :mod:`harness.training.memory`; the nodes and their
hostfile, :mod:`harness.training.nodes`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.models.adapters import SUBLAYERS, adapter_for

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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["share"] = self.share
        return data


def model_dims(config) -> dict[str, int]:
    """hidden, intermediate, key/value width and vocabulary of a decoder config (0 if absent)."""
    config = getattr(config, "text_config", None) or config
    hidden = getattr(config, "hidden_size", 0) or 0
    heads = getattr(config, "num_attention_heads", 0) or 0
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or (hidden // heads if heads else 0)
    return {
        "hidden": hidden,
        "intermediate": getattr(config, "intermediate_size", 0) or 0,
        "kv": kv_heads * head_dim,
        "vocab": getattr(config, "vocab_size", 0) or 0,
    }


MAX_LAYERS = 1024
"""More layers than any causal LM has (the largest have ~130): a config above it is a mistake, and
building it even on the meta device would take minutes and GBs."""
MAX_WIDTH = 1 << 20
"""Hidden, intermediate and vocabulary sizes above this are not a real model's either."""


def check_config_size(config, where: str = "the model's config") -> None:
    """Refuse a config whose model the plan would take minutes and GBs to build, with one line."""
    layers = getattr(config, "num_hidden_layers", None)
    if isinstance(layers, int) and layers > MAX_LAYERS:
        raise HarnessError(
            f"{where}: num_hidden_layers {layers:,} is more than a model has ({MAX_LAYERS:,} at most); "
            "check config.json"
        )
    for name in ("hidden_size", "intermediate_size", "vocab_size"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > MAX_WIDTH:
            raise HarnessError(
                f"{where}: {name} {value:,} is more than a model has ({MAX_WIDTH:,} at most); check config.json"
            )


def meta_model(config):
    """The model built from its config on the meta device: shapes only, no storage."""
    import torch
    from transformers import AutoModelForCausalLM

    check_config_size(config)

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


def build_plan(
    config, layers: list[int] | None, sublayers: str, mode: str = "selective", lora_rank: int | None = None, model=None
) -> TrainablePlan:
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
        return TrainablePlan(
            config.model_type,
            mode,
            list(range(num_layers)),
            "all",
            num_layers,
            list(shapes),
            dict(shapes),
            base_total,
            base_total,
            base_total,
        )
    layers = check_layers(list(layers or []), num_layers)
    names: list[str] = []
    modules: list[str] = []
    for i in layers:
        names += adapter.parameter_names(i, sublayers, model)
        modules += [adapter.module_path(i, role) for role in SUBLAYERS[sublayers]]
    missing = [n for n in names if n not in shapes]
    if missing:
        raise HarnessError(
            f"parameter(s) {missing[:3]} not found in the model; choose from: {', '.join(_near(missing[0], shapes))}"
        )
    counts = {n: shapes[n] for n in names}
    if mode == "selective":
        trainable = sum(counts.values())
        return TrainablePlan(
            config.model_type,
            mode,
            layers,
            sublayers,
            num_layers,
            names,
            counts,
            trainable,
            base_total,
            base_total,
            target_modules=modules,
        )
    if mode == "lora":
        if not lora_rank:
            raise HarnessError("training.lora_rank: a LoRA plan needs a rank")
        trainable = 0
        for path in modules:
            module = model.get_submodule(path)
            trainable += lora_rank * (module.in_features + module.out_features)
        return TrainablePlan(
            config.model_type,
            mode,
            layers,
            sublayers,
            num_layers,
            names,
            counts,
            trainable,
            base_total,
            base_total + trainable,
            lora_rank,
            modules,
        )
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
    wrong = [(name, p.requires_grad) for name, p in model.named_parameters() if p.requires_grad != (name in wanted)]
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
    from harness.selection.policies import select_layers

    config = load_config(recipe.model)
    num_layers = adapter_for(config).num_layers(config)
    if recipe.selection is None:
        return None, "no selection section (full fine-tuning)"
    settings = recipe.selection.layers
    if not settings.needs_probe:
        origin = f"policy {settings.policy} (from the config)"
        if recipe.selection.check is not None:
            origin = (
                f"pinned by policy {settings.policy}; SLAM's probe runs as a check in `harness select` "
                "(selection.json: probe_check)"
            )
        return select_layers(settings, num_layers), origin
    from harness.artifacts import SELECTION_FILE, default_run_dir
    from harness.runs import Run

    run = Run(Path(run_dir) if run_dir else default_run_dir(recipe.name))
    selection = run.stage_dir("select") / SELECTION_FILE
    if selection.exists():
        return run.selection().chosen_layers(selection.parent), f"selected by the probe ({selection})"
    k = min(PAPER_DEFAULT_LAYERS, num_layers)
    return list(range(k)), (
        f"policy slam_msd: the activation probe decides the layers (`harness select`); shown: the "
        f"first {k}, what SLAM selected for MetaMath-7B/13B in the paper (illustration)"
    )


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
