"""The runner: select -> train -> evaluate -> report, each a function over files.

A stage's fingerprint covers the recipe sections it reads, the outputs of the stages before it
and the code version; a finished stage with an unchanged fingerprint is skipped, so an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from harness import presentation
from harness.errors import HarnessError
from harness.recipe import Recipe
from harness.runs import MARKER, Run, code_version, fingerprint, read_json

console = presentation.console(stderr=True)


@dataclass(frozen=True)
class Stage:
    name: str
    function: Callable[[Recipe, Run, Path], object]
    """Called as ``function(recipe, run, out)``; ``out`` is the stage's (temporary) folder."""
    sections: tuple[str, ...]
    """Recipe fields whose values shape this stage's output."""
    enabled: Callable[[Recipe], bool]
    upstream: Callable[[Recipe], tuple[str, ...]]


# Each stage imports its package when it runs: `harness run --dry-run` and the CLI's start-up
# stay free of torch, transformers and lm-eval.

def select(recipe: Recipe, run: Run, out: Path) -> None:
    from harness.selection.stage import run_select

    run_select(recipe, run, out)


def train(recipe: Recipe, run: Run, out: Path) -> None:
    from harness.training.stage import run_train

    run_train(recipe, run, out)


def evaluate(recipe: Recipe, run: Run, out: Path) -> None:
    from harness.evaluation.stage import run_evaluate

    run_evaluate(recipe, run, out)


def report(recipe: Recipe, run: Run, out: Path) -> None:
    from harness.reporting.stage import run_report

    run_report(recipe, run, out)


def _evaluate_upstream(recipe: Recipe) -> tuple[str, ...]:
    return ("train",) if recipe.evaluation and "trained" in recipe.evaluation.models else ()


def _report_upstream(recipe: Recipe) -> tuple[str, ...]:
    return tuple(stage.name for stage in STAGES[:3] if stage.enabled(recipe))


STAGES: tuple[Stage, ...] = (
    Stage("select", select, ("model", "languages", "selection"),
          lambda r: r.selection is not None, lambda r: ()),
    Stage("train", train, ("model", "languages", "seed", "training"),
          lambda r: r.training is not None, lambda r: ("select",) if r.selection is not None else ()),
    Stage("evaluate", evaluate, ("model", "languages", "seed", "evaluation"),
          lambda r: r.evaluation is not None, _evaluate_upstream),
    Stage("report", report, ("name", "languages", "report"),
          lambda r: r.evaluation is not None, _report_upstream),
)
STAGE_NAMES = tuple(stage.name for stage in STAGES)


def get_stage(name: str) -> Stage:
    for stage in STAGES:
        if stage.name == name:
            return stage
    raise HarnessError(f"unknown stage {name!r}; stages: {', '.join(STAGE_NAMES)}")


def stage_inputs(recipe: Recipe, run: Run, stage: Stage) -> str:
    """The fingerprint of everything a stage's output depends on."""
    resolved = recipe.resolved()
    upstream = {}
    for name in stage.upstream(recipe):
        run.require(name)
        upstream[name] = read_json(run.stage_dir(name) / MARKER).get("output_id")
    return fingerprint(stage.name, {k: resolved[k] for k in stage.sections}, upstream, code_version())


def default_run_dir(recipe: Recipe) -> Path:
    return Path("runs") / recipe.name


def open_run(recipe: Recipe, run_dir: str | Path | None) -> Run:
    """Create or reopen the run directory and record the manifest."""
    run = Run.create(Path(run_dir) if run_dir else default_run_dir(recipe))
    run.check_recipe(recipe.name)
    run.write_manifest(recipe.resolved(), recipe.seed)
    return run


def run_stage(recipe: Recipe, run: Run, name: str, force: bool = False) -> bool:
    """Run one stage unless it is up to date; returns whether it ran."""
    stage = get_stage(name)
    if not stage.enabled(recipe):
        raise HarnessError(f"recipe {recipe.name!r} has no section for stage {name!r}; add it to the recipe")
    inputs = stage_inputs(recipe, run, stage)
    if not force and run.is_done(name, inputs):
        console.print(f"[dim]{name}: up to date, skipped ({run.stage_dir(name)})[/dim]")
        return False
    _archive_previous(run, name)
    console.rule(f"[bold]{name}")
    started = time.time()
    with run.stage(name, inputs) as out:
        stage.function(recipe, run, out)
    console.print(f"[green]{name}: done in {time.time() - started:.1f} s[/green] -> {run.stage_dir(name)}")
    return True


def _archive_previous(run: Run, name: str) -> None:
    """Keep a finished result whose inputs changed under ``history/`` instead of deleting it."""
    final = run.stage_dir(name)
    if (final / MARKER).exists():
        old = read_json(final / MARKER).get("fingerprint", "old")
        target = run.root / "history" / f"{final.name}-{old}"
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(exist_ok=True)
        shutil.move(str(final), target)


def run_pipeline(recipe: Recipe, run: Run, force: tuple[str, ...] = ()) -> None:
    """Every enabled stage in order; ``force`` names stages to redo even if up to date."""
    for name in force:
        get_stage(name)
    for stage in STAGES:
        if stage.enabled(recipe):
            run_stage(recipe, run, stage.name, force=stage.name in force)


def plan_stages(recipe: Recipe, run_dir: Path) -> list[tuple[str, str]]:
    """For --dry-run: what each stage would do, without creating anything."""
    run = Run(run_dir)
    rows = []
    for stage in STAGES:
        if not stage.enabled(recipe):
            rows.append((stage.name, "not in recipe"))
            continue
        try:
            inputs = stage_inputs(recipe, run, stage)
        except HarnessError:
            rows.append((stage.name, "would run"))
            continue
        rows.append((stage.name, "up to date, would skip" if run.is_done(stage.name, inputs) else "would run"))
    return rows
