"""Layer-selection policies: the `selection.layers` section of a recipe, one class per policy.

Each policy is both its recipe settings (tagged by `policy:`) and its rule: ``choose`` turns the
settings, the model's real depth and (for ``slam_msd``) the probe analysis into a sorted list
of distinct 0-based layer indices, or raises a HarnessError that names the recipe key to fix.
Only ``slam_msd`` needs the probe. The recipe schema's union (:data:`LayerPolicy`) is made of these classes.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field

from harness.errors import HarnessError
from harness.schema import Section

if TYPE_CHECKING:  # the analysis holds torch tensors; reading a recipe must not import torch
    from harness.selection.statistics import LayerAnalysis

WHERE = "selection.layers"


class Policy(Section):
    """A layer-selection rule and its settings."""

    policy: str
    needs_probe: ClassVar[bool] = False

    def choose(self, num_layers: int, analysis: LayerAnalysis | None = None) -> list[int]:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class SlamMsdPolicy(Policy):
    """SLAM (paper eq. 3-7): language-specific layers with MSD above their mean theta."""

    policy: Literal["slam_msd"] = "slam_msd"
    peak_search: Literal["all_layers", "after_initial_decline"] = "all_layers"
    """Where the average overlap's peak (the end of the language-specific layers) is searched:
    `all_layers` (the paper), or `after_initial_decline`: from the first layer where the overlap
    stops falling, for models whose first layer fires almost every neuron in every language
    (overlap ~1 at layer 0, e.g. SmolLM2-135M), where the paper's rule finds no
    language-specific layer."""

    needs_probe: ClassVar[bool] = True

    def choose(self, num_layers: int, analysis: LayerAnalysis | None = None) -> list[int]:
        assert analysis is not None, "select_layers checks needs_probe"
        if analysis.num_layers != num_layers:
            raise HarnessError(f"the probe saw {analysis.num_layers} layers but the model has {num_layers}")
        if not analysis.language_specific:
            raise HarnessError(
                f"{WHERE}.policy slam_msd: the average overlap with English peaks at layer 0, so the model "
                "has no language-specific layer and SLAM selects nothing (see selection.json and "
                "selection.png in the stage folder); if the overlap falls from a saturated first layer, set "
                "selection.layers.peak_search: after_initial_decline; else try another "
                "selection.probe.firing_share (the sensitivity table lists what each gives), more probe "
                "questions, or policy first_k/fixed"
            )
        if not analysis.selected:
            raise HarnessError(
                f"{WHERE}.policy slam_msd: no language-specific layer (0..{analysis.boundary - 1}) has MSD "
                f"above theta ({'; '.join(analysis.notes)}), so SLAM selects nothing; try another "
                "selection.probe.firing_share, more probe questions, or policy first_k/fixed"
            )
        return list(analysis.selected)

    def describe(self) -> str:
        return (
            "SLAM (eq. 3-7): language-specific layers (before the average-overlap peak) "
            "whose MSD exceeds theta, their mean MSD"
        )


class FixedPolicy(Policy):
    """An explicit list of 0-based layer indices."""

    policy: Literal["fixed"] = "fixed"
    layers: list[Annotated[int, Field(ge=0)]] = Field(min_length=1)
    """0-based indices, each below the model's depth."""

    def choose(self, num_layers: int, analysis: LayerAnalysis | None = None) -> list[int]:
        bad = [i for i in self.layers if not 0 <= i < num_layers]
        if bad:
            raise HarnessError(
                f"{WHERE}.layers: layer(s) {bad} do not exist: the model has {num_layers} layers, "
                f"numbered 0 to {num_layers - 1}"
            )
        if len(set(self.layers)) != len(self.layers):
            raise HarnessError(f"{WHERE}.layers: {self.layers} lists a layer twice; list each once")
        return sorted(self.layers)

    def describe(self) -> str:
        return f"the fixed list {self.layers}"


class FirstKPolicy(Policy):
    """The first k layers (the paper's end-layer sweep, Figure 4)."""

    policy: Literal["first_k"] = "first_k"
    k: int = Field(gt=0)

    def choose(self, num_layers: int, analysis: LayerAnalysis | None = None) -> list[int]:
        _check_k(self.k, num_layers)
        return list(range(self.k))

    def describe(self) -> str:
        return f"the first {self.k} layers"


class RandomPolicy(Policy):
    """k distinct layers drawn at random from the model's depth (seeded)."""

    policy: Literal["random"] = "random"
    k: int = Field(gt=0)
    seed: int = 0

    def choose(self, num_layers: int, analysis: LayerAnalysis | None = None) -> list[int]:
        _check_k(self.k, num_layers)
        return sorted(random.Random(self.seed).sample(range(num_layers), self.k))

    def describe(self) -> str:
        return f"{self.k} distinct layers drawn with random.Random({self.seed}).sample"


class BottomTopPolicy(Policy):
    """The bottom and the top layers together: Layer Swapping (arXiv 2410.01335) finds the top layers
    language-specific too, where SLAM trains the bottom ones only."""

    policy: Literal["bottom_top"] = "bottom_top"
    bottom: int = Field(gt=0)
    """Layers from the first up."""
    top: int = Field(gt=0)
    """Layers from the last down."""

    def choose(self, num_layers: int, analysis: LayerAnalysis | None = None) -> list[int]:
        if self.bottom + self.top > num_layers:
            raise HarnessError(
                f"{WHERE}: bottom {self.bottom} + top {self.top} layers requested but the model has {num_layers}; "
                f"choose bottom + top of at most {num_layers}"
            )
        return list(range(self.bottom)) + list(range(num_layers - self.top, num_layers))

    def describe(self) -> str:
        return f"the bottom {self.bottom} and the top {self.top} layers"


class AllPolicy(Policy):
    """Every layer."""

    policy: Literal["all"] = "all"

    def choose(self, num_layers: int, analysis: LayerAnalysis | None = None) -> list[int]:
        return list(range(num_layers))

    def describe(self) -> str:
        return "every layer"


LayerPolicy = Annotated[
    SlamMsdPolicy | FixedPolicy | FirstKPolicy | RandomPolicy | BottomTopPolicy | AllPolicy,
    Field(discriminator="policy"),
]
"""`selection.layers`: one of the policies, chosen by its `policy:` tag."""


def _check_k(k: int, num_layers: int) -> None:
    if k > num_layers:
        raise HarnessError(
            f"{WHERE}.k: {k} layers requested but the model has {num_layers}; use a k from 1 to {num_layers}"
        )


def select_layers(settings: Policy, num_layers: int, analysis: LayerAnalysis | None = None) -> list[int]:
    """The layers a policy picks for a model of ``num_layers`` layers."""
    if settings.needs_probe and analysis is None:
        raise HarnessError(f"{WHERE}.policy {settings.policy!r} needs the activation probe's analysis")
    return settings.choose(num_layers, analysis)
