"""The Python API: run a recipe, and read a run's results back as typed objects.

    from harness.api import load_results, run_recipe

    run_dir = run_recipe("recipes/quickstart.yaml", ["evaluation.tasks.0.limit=8"], run_dir="runs/qs")
    results = load_results(run_dir)
    demo = results.scores.models["trained"].tasks["demo"]
    print(demo.languages["en"].accuracy, demo.average.accuracy, results.training.plan.share)

`run_recipe` is `harness run`: the same checks before anything starts (the recipe, the packages it
needs, the hub), the same stages, skipped when up to date; a mistake raises
:class:`harness.errors.HarnessError` with the message the command line prints. The models read
back (:mod:`harness.artifacts`) are the ones the harness itself reads its files with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.artifacts import (
    MANIFEST,
    SCORES_FILE,
    SELECTION_FILE,
    TRAIN_FILE,
    Manifest,
    Scores,
    Selection,
    TrainRecord,
    read_artifact,
)
from harness.errors import HarnessError
from harness.runs import Run

__all__ = ["Results", "load_results", "run_recipe"]


def run_recipe(
    recipe: str | Path,
    overrides: Sequence[str] = (),
    run_dir: str | Path | None = None,
    force: Sequence[str] = (),
) -> Path:
    """Run a recipe (a file, or a shipped recipe by name) end to end; returns the run directory.

    ``overrides`` are `key=value` strings as on the command line; ``force`` names stages to redo."""
    from harness.pipeline import default_run_dir, open_run, plan_stages, run_pipeline
    from harness.preflight import check_hub, check_packages
    from harness.recipe import load_recipe

    loaded = load_recipe(recipe, list(overrides))
    folder = Path(run_dir) if run_dir is not None else default_run_dir(loaded)
    pending = [name for name, state in plan_stages(loaded, folder, tuple(force)) if state.startswith("would run")]
    check_packages(loaded, pending)
    check_hub(loaded, pending)
    run = open_run(loaded, folder, tuple(force))
    run_pipeline(loaded, run, tuple(force))
    return Path(run.root)


@dataclass(frozen=True)
class Results:
    """A run's results as the harness's own typed models; None for a stage the run has not done."""

    run_dir: Path
    manifest: Manifest
    scores: Scores | None
    """``eval/scores.json``: per model (`base`, `trained`), task and language: n, correct,
    accuracy with its 95% interval; the averages and PCR the paper reports."""
    training: TrainRecord | None
    """``train/train.json``: the trained parameters' plan, steps, the loss curve, time."""
    selection: Selection | None
    """``selection/selection.json``: per-layer activation statistics and the chosen layers."""

    def accuracy(self, model: str, task: str, lang: str) -> float | None:
        """One language's accuracy (%), e.g. ``results.accuracy("trained", "mgsm", "sw")``."""
        if self.scores is None:
            raise HarnessError(f"{self.run_dir}: no eval/scores.json; the run has not been evaluated")
        entry = self.scores.models[model].tasks[task].languages.get(lang)
        return None if entry is None else entry.accuracy


def load_results(run_dir: str | Path) -> Results:
    """Read a run directory's manifest, scores, training record and selection (validated)."""
    root = Path(run_dir)
    if not (root / MANIFEST).is_file():
        raise HarnessError(
            f"{root}: not a run directory (no {MANIFEST}); `harness run RECIPE --run-dir {root}` makes one"
        )
    run = Run(root)

    def done(stage: str, name: str) -> bool:
        return (run.stage_dir(stage) / name).is_file()

    return Results(
        run_dir=root,
        manifest=read_artifact(root / MANIFEST, Manifest, ""),
        scores=run.scores() if done("evaluate", SCORES_FILE) else None,
        training=run.train_record() if done("train", TRAIN_FILE) else None,
        selection=run.selection() if done("select", SELECTION_FILE) else None,
    )
