"""Architecture adapters: where a model family keeps its decoder layers, FFN and attention.

SLAM probes the SwiGLU gate ``act_fn(W_gate x)`` and trains FFN (or attention) projections of
chosen layers; the adapter turns "layer 3, up+down" into modules and exact parameter names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.errors import HarnessError
from harness.registry import Registry

if TYPE_CHECKING:  # annotations only: `harness plan` reads configs without importing torch
    from torch import nn

SUBLAYERS: dict[str, tuple[str, ...]] = {
    "up_down": ("up", "down"),
    "ffn": ("gate", "up", "down"),
    "attention": ("q", "k", "v", "o"),
    "ffn_attention": ("gate", "up", "down", "q", "k", "v", "o"),
}
FFN_ROLES = ("gate", "up", "down")


@dataclass(frozen=True)
class ArchitectureAdapter:
    """How one family lays out a decoder-only transformer with a SwiGLU-style FFN."""

    family: str
    model_types: tuple[str, ...]
    layers_path: tuple[str, ...] = ("model", "layers")
    mlp: str = "mlp"
    act_fn_name: str = "act_fn"
    attention: str = "self_attn"
    projections: dict[str, str] = field(
        default_factory=lambda: {
            "gate": "gate_proj",
            "up": "up_proj",
            "down": "down_proj",
            "q": "q_proj",
            "k": "k_proj",
            "v": "v_proj",
            "o": "o_proj",
        }
    )
    biased: tuple[str, ...] = ()
    """Projections that carry a bias in this family (Qwen2's q/k/v)."""

    # -- modules of a loaded (or meta) model ---------------------------------------------------
    def layers(self, model: nn.Module) -> list[nn.Module]:
        """The decoder layers, in order."""
        node = model
        for name in self.layers_path:
            node = getattr(node, name)
        return list(node)  # type: ignore[call-overload]  # a ModuleList

    def ffn_modules(self, layer: nn.Module) -> dict[str, nn.Linear]:
        mlp = getattr(layer, self.mlp)
        return {role: getattr(mlp, self.projections[role]) for role in FFN_ROLES}

    def act_fn(self, layer: nn.Module) -> nn.Module:
        """The gate's activation module: its output is act_fn(W_gate x), SLAM's neuron signal."""
        return getattr(getattr(layer, self.mlp), self.act_fn_name)

    # -- from the config alone ---------------------------------------------------------------
    def num_layers(self, config) -> int:
        return _text_config(config).num_hidden_layers

    def intermediate_size(self, config) -> int:
        return _text_config(config).intermediate_size

    def module_path(self, layer_index: int, role: str) -> str:
        """Dotted module name of one projection, e.g. ``model.layers.3.mlp.up_proj``."""
        parent = self.mlp if role in FFN_ROLES else self.attention
        return ".".join((*self.layers_path, str(layer_index), parent, self.projections[role]))

    def parameter_names(self, layer_index: int, sublayers: str, model: nn.Module | None = None) -> list[str]:
        """Exact parameter names of ``sublayers`` in one layer.

        With ``model`` (real or on the meta device) the names are read from the model itself;
        without, they follow the family's layout (weights, plus biases where it has them).
        """
        if sublayers not in SUBLAYERS:
            raise HarnessError(f"unknown sub-layers {sublayers!r}; choose from: {', '.join(SUBLAYERS)}")
        names: list[str] = []
        for role in SUBLAYERS[sublayers]:
            path = self.module_path(layer_index, role)
            if model is not None:
                module = model.get_submodule(path)
                names += [f"{path}.{name}" for name, _ in module.named_parameters()]
            else:
                names.append(f"{path}.weight")
                if role in self.biased:
                    names.append(f"{path}.bias")
        return names


def _text_config(config):
    """The language model's config (multimodal Gemma 3 nests it as ``text_config``)."""
    return getattr(config, "text_config", None) or config


ADAPTERS: Registry[ArchitectureAdapter] = Registry("architecture")
for _adapter in (
    ArchitectureAdapter("llama", ("llama",)),
    ArchitectureAdapter("mistral", ("mistral",)),
    ArchitectureAdapter("qwen2", ("qwen2",), biased=("q", "k", "v")),
    ArchitectureAdapter("qwen3", ("qwen3",)),
    ArchitectureAdapter("gemma2", ("gemma2",)),
    ArchitectureAdapter("gemma3", ("gemma3_text",)),
    ArchitectureAdapter("gemma3-multimodal", ("gemma3",), layers_path=("model", "language_model", "layers")),
):
    for _model_type in _adapter.model_types:
        ADAPTERS.register(_model_type, _adapter)

# Families we know and refuse, with the reason.
REFUSED = {
    "phi3": "Phi-3 fuses gate and up into one `gate_up_proj`, so the SwiGLU gate cannot be "
    "probed or the up half trained on its own",
}


def adapter_for(model_or_config) -> ArchitectureAdapter:
    """The adapter for a model or config; a clear error for an unsupported architecture."""
    config = getattr(model_or_config, "config", model_or_config)
    model_type = getattr(config, "model_type", None)
    if model_type in REFUSED:
        raise HarnessError(
            f"architecture {model_type!r} is not supported: {REFUSED[model_type]}; "
            f"supported: {', '.join(ADAPTERS.names())}"
        )
    if model_type not in ADAPTERS:
        raise HarnessError(
            f"architecture {model_type!r} is not supported; supported model types: "
            f"{', '.join(ADAPTERS.names())} (add an ArchitectureAdapter in harness/models/adapters.py)"
        )
    return ADAPTERS.get(str(model_type))
