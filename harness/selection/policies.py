"""Layer-selection policies, found by name (the `selection.layers.policy` of a recipe).

Each policy turns its recipe settings, the model's real depth and (for ``slam_msd``) the probe
analysis into a sorted list of distinct 0-based layer indices, or raises a HarnessError that
names the recipe key to fix. Only ``slam_msd`` needs the probe.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from harness.errors import HarnessError
from harness.registry import Registry
from harness.selection.config import AllPolicy, FirstKPolicy, FixedPolicy, RandomPolicy, SlamMsdPolicy

if TYPE_CHECKING:  # annotations only: choosing layers needs no torch
    from harness.selection.statistics import LayerAnalysis

WHERE = "selection.layers"


@dataclass(frozen=True)
class Policy:
    """A selection rule: ``choose(settings, num_layers, analysis)`` -> layer indices."""

    name: str
    needs_probe: bool
    choose: Callable[..., list[int]]
    describe: Callable[..., str]


POLICIES: Registry[Policy] = Registry("selection policy")


def policy_for(settings) -> Policy:
    return POLICIES.get(settings.policy)


def select_layers(settings, num_layers: int, analysis: LayerAnalysis | None = None) -> list[int]:
    """The layers a policy picks for a model of ``num_layers`` layers."""
    policy = policy_for(settings)
    if policy.needs_probe and analysis is None:
        raise HarnessError(f"{WHERE}.policy {settings.policy!r} needs the activation probe's analysis")
    return policy.choose(settings, num_layers, analysis)


def _check_k(settings, num_layers: int) -> None:
    if settings.k > num_layers:
        raise HarnessError(
            f"{WHERE}.k: {settings.k} layers requested but the model has {num_layers}; "
            f"use a k from 1 to {num_layers}"
        )


def _slam_msd(settings: SlamMsdPolicy, num_layers: int, analysis: LayerAnalysis) -> list[int]:
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


def _fixed(settings: FixedPolicy, num_layers: int, analysis=None) -> list[int]:
    bad = [i for i in settings.layers if not 0 <= i < num_layers]
    if bad:
        raise HarnessError(
            f"{WHERE}.layers: layer(s) {bad} do not exist: the model has {num_layers} layers, "
            f"numbered 0 to {num_layers - 1}"
        )
    if len(set(settings.layers)) != len(settings.layers):
        raise HarnessError(f"{WHERE}.layers: {settings.layers} lists a layer twice; list each once")
    return sorted(settings.layers)


def _first_k(settings: FirstKPolicy, num_layers: int, analysis=None) -> list[int]:
    _check_k(settings, num_layers)
    return list(range(settings.k))


def _random(settings: RandomPolicy, num_layers: int, analysis=None) -> list[int]:
    _check_k(settings, num_layers)
    return sorted(random.Random(settings.seed).sample(range(num_layers), settings.k))


def _all(settings: AllPolicy, num_layers: int, analysis=None) -> list[int]:
    return list(range(num_layers))


for _policy in (
    Policy("slam_msd", True, _slam_msd,
           lambda s: "SLAM (eq. 3-7): language-specific layers (before the average-overlap peak) "
                     "whose MSD exceeds theta, their mean MSD"),
    Policy("fixed", False, _fixed, lambda s: f"the fixed list {s.layers}"),
    Policy("first_k", False, _first_k, lambda s: f"the first {s.k} layers"),
    Policy("random", False, _random, lambda s: f"{s.k} distinct layers drawn with random.Random({s.seed}).sample"),
    Policy("all", False, _all, lambda s: "every layer"),
):
    POLICIES.register(_policy.name, _policy)
