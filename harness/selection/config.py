"""The `selection:` section of a recipe: the activation probe and the layer-selection policy."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from harness.schema import Section
from harness.selection.policies import LayerPolicy, SlamMsdPolicy


class ProbeConfig(Section):
    dataset: str = "translation"
    """Where the parallel probe questions come from: `translation` (the default): the question side
    of X->English translation pairs (the recipe's training data unless `path` says otherwise),
    matched across languages through their English side (English: that English side), disjoint
    from the test sets; not parallel, and said so in selection.json, when no English sentence is
    translated into every language. Or a benchmark's questions (`mgsm`, `msvamp`, `xcsqa`, `demo`):
    a test set, which the layers are then chosen on."""
    path: str | None = None
    """Local files for `dataset` in their original format, instead of the hub. For `translation`:
    a local folder or JSONL file of pairs (as `training.data.source`); when unset, the recipe's
    `training.data` is read."""
    n: int = Field(100, gt=0)
    """Parallel questions per language."""
    max_tokens: int = Field(256, gt=0)
    """Truncate each question to this many tokens."""
    batch_size: int = Field(8, gt=0)
    firing_share: float = Field(0.05, ge=0.0, lt=1.0)
    """A neuron belongs to a language's activated set at a layer when it fires (gate > 0) on more
    than this share of the language's real tokens (0: the paper's literal "fired on some token",
    which saturates on real models)."""
    sensitivity: list[Annotated[float, Field(ge=0.0, lt=1.0)]] = Field(
        default_factory=lambda: [0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5]
    )
    """Other firing_share thresholds whose selection is reported beside the chosen one (from the
    same counts, no extra forward pass)."""
    always: bool = False
    """Run the probe (statistics and plots in selection.json) also for policies that do not need
    it (`fixed`, `first_k`, `random`, `all`); `slam_msd` always runs it."""


class SelectionConfig(Section):
    layers: LayerPolicy = Field(default_factory=SlamMsdPolicy)
    """How layers are chosen: `policy: slam_msd | fixed | first_k | random | all`."""
    sublayers: Literal["up_down", "ffn", "attention", "ffn_attention"] = "up_down"
    """What is trained in the chosen layers: `up_down` (up_proj + down_proj, what the paper's
    shares count and the authors' code trains), `ffn` (gate, up, down), `attention` (q, k, v, o),
    or `ffn_attention`."""
    probe: ProbeConfig = Field(default_factory=ProbeConfig)
    after_training: bool = False
    """Like `check`, a probe beside training: after the evaluate stage, the probe runs again on the
    trained model (same questions and settings) and the report plots each language's overlap with
    English per layer before and after training (the paper's Figures 6 and 9; eval/probe_trained.json).
    Needs the probe on the base model (`slam_msd`, a `check`, or `probe.always`) and a training section."""
    check: SlamMsdPolicy | None = None
    """SLAM's probe run as a check beside pinned layers (a `fixed` or `first_k` policy: the
    paper's layers): the select stage also computes what this rule picks on the model, records
    both in selection.json (`probe_check`) and warns visibly when they differ. The pinned layers
    are trained either way. Its `peak_search` is the boundary rule, `probe.firing_share` the
    activation threshold."""

    @property
    def runs_probe(self) -> bool:
        """Whether the select stage runs the activation probe: the policy needs it, a check asks for
        it, or `probe.always`."""
        return self.layers.needs_probe or self.check is not None or self.probe.always
