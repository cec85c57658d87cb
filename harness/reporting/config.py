"""The `report:` section of a recipe."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.schema import Section


class ReportConfig(Section):
    size: Literal["7B", "13B"] | None = None
    """Which size group of the paper's tables to compare against (None: all)."""
    baselines: list[str] | None = None
    """Published systems to show beside the run (None: every system of the table)."""
    formats: list[Literal["terminal", "markdown", "latex", "html"]] = Field(
        default_factory=lambda: ["terminal", "markdown", "latex", "html"]
    )
    plots: bool = True
    tolerance: float | None = Field(None, ge=0)
    """`harness compare`: fail (exit 1) when an accuracy drops by more than this many points."""
