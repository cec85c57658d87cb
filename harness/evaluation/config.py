"""The `evaluation:` section of a recipe."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.schema import Section


class TaskConfig(Section):
    name: str
    """Benchmark: `mgsm`, `msvamp`, `xcsqa` or `demo`."""
    languages: list[str] | None = None
    """Languages to run; default: the recipe's languages that the benchmark has."""
    path: str | None = None
    """Local files in the benchmark's original format instead of the hub."""
    limit: int | None = Field(None, gt=0)
    """Evaluate only the first N questions per language."""


class EvaluationConfig(Section):
    tasks: list[TaskConfig] = Field(min_length=1)
    models: list[Literal["base", "trained"]] = Field(default_factory=lambda: ["base", "trained"])
    """Which models to evaluate: the base model, the trained one, or both (before/after)."""
    backend: Literal["hf", "vllm"] = "hf"
    batch_size: int = Field(8, gt=0)
    max_new_tokens: int = Field(512, gt=0)
    extraction: Literal["paper", "strict"] = "paper"
    """Answer extraction of record: `paper` (the authors' rule) or `strict`; both are stored."""
