"""The `report:` section of a recipe."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from harness.schema import Section


class ReportConfig(Section):
    size: Literal["7B", "13B"] | None = None
    """Which size group of the paper's tables to compare against, and where the run's rows go
    (None: every size group, the run's rows in a group of their own)."""
    baselines: list[str] | None = None
    """Published systems to show beside the run, by name as `harness ls baselines` prints them
    (`SLAM`, `QAlign`, `QAlign +LoRA (r=256)`, `LangBridge-9B`, ...); None: every system of the
    benchmark's tables. The plots draw these too (default there: MetaMath, QAlign, SLAM)."""
    method: str | None = None
    """The published system this recipe trains (`SLAM`, `QAlign`, `MathOctopus`, `QAlign +LoRA (r=256)`):
    `harness cost` sets its published cost (relative to SLAM) beside the one this harness measures."""
    formats: list[Literal["terminal", "markdown", "latex", "html"]] = Field(
        default_factory=lambda: ["terminal", "markdown", "latex", "html"]  # type: ignore[arg-type]
    )
    """Where the tables go: printed (`terminal`) and written as report.md, report.tex,
    report.html (self-contained); report.json (the table data) is always written."""
    plots: bool = True
    """Per-language bars of the run against the baselines, and the selection plot."""
    tolerance: float | None = Field(None, ge=0)
    """`harness compare`: the largest drop in accuracy points that is not a regression."""
    gate: Literal["drop_and_test", "drop"] = "drop_and_test"
    """`harness compare`'s rule (exit 1): `drop_and_test`, a drop beyond the tolerance that the
    paired test says is real (exact McNemar p < alpha on the questions both sides answered; against
    a published number, which has no per-question outputs, the 95% interval of the difference lies
    below 0); `drop`, any drop beyond the tolerance, however few questions it is."""
    alpha: float = Field(0.05, gt=0, lt=1)
    """Significance level of the gate's paired test."""
    min_questions: int | None = Field(None, gt=0)
    """`harness compare`: fail (exit 1) when a compared language has fewer questions than this
    (a run too small to tell a regression from noise); None: only a note says so."""

    @field_validator("method")
    @classmethod
    def _known_method(cls, name: str | None) -> str | None:
        if name is not None:
            cls._known_systems([name])
        return name

    @field_validator("baselines")
    @classmethod
    def _known_systems(cls, names: list[str] | None) -> list[str] | None:
        if names is None:
            return names
        from harness.errors import HarnessError
        from harness.registry import suggest
        from harness.reporting.baselines import _norm, load_baselines

        try:
            rows = load_baselines().rows
        except HarnessError as error:  # the shipped data must load: a broken install is said, not skipped
            raise ValueError(f"the published baselines cannot be read to check these names: {error}") from None
        known = {_norm(r.system): r.system for r in rows} | {_norm(r.label): r.label for r in rows}
        for name in names:
            if _norm(name) not in known:
                choices = sorted({r.system for r in rows})
                raise ValueError(
                    f"unknown baseline system {name!r}{suggest(name, choices)}; choose from: {', '.join(choices)}"
                )
        return names
