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
        default_factory=lambda: ["terminal", "markdown", "latex", "html"]
    )
    """Where the tables go: printed (`terminal`) and written as report.md, report.tex,
    report.html (self-contained); report.json (the table data) is always written."""
    plots: bool = True
    """Per-language bars of the run against the baselines, and the selection plot."""
    tolerance: float | None = Field(None, ge=0)
    """`harness compare`: fail (exit 1) when an accuracy drops by more than this many points."""

    @field_validator("method")
    @classmethod
    def _known_method(cls, name: str | None) -> str | None:
        return None if name is None else cls._known_systems([name])[0]

    @field_validator("baselines")
    @classmethod
    def _known_systems(cls, names: list[str] | None) -> list[str] | None:
        if names is None:
            return names
        from harness.errors import HarnessError
        from harness.registry import suggest
        from harness.reporting.baselines import BASELINES_DIR, _norm, load_baselines

        if not BASELINES_DIR.is_dir():  # an install without the repository's data: nothing to check
            return names
        try:
            rows = load_baselines().rows
        except HarnessError:
            return names  # a broken baselines file is reported by `harness ls baselines`
        known = {_norm(r.system): r.system for r in rows} | {_norm(r.label): r.label for r in rows}
        for name in names:
            if _norm(name) not in known:
                choices = sorted({r.system for r in rows})
                raise ValueError(
                    f"unknown baseline system {name!r}{suggest(name, choices)}; choose from: {', '.join(choices)}"
                )
        return names
