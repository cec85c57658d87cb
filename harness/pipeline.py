"""The runner: select -> train -> evaluate -> report, each a function over files.

A stage's fingerprint covers the recipe sections it reads, the outputs of the stages before it
and the code version; a finished stage with an unchanged fingerprint is skipped, so an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness import artifacts
from harness import console as terminal
from harness.artifacts import HISTORY, STAGE_DIRS, STAGES_DIR
from harness.errors import HarnessError
from harness.recipe import Recipe
from harness.runs import Run, code_version, fingerprint

if TYPE_CHECKING:
    from harness.evaluation.rescore import Rescored

console = terminal.console(stderr=True)


@dataclass(frozen=True)
class Stage:
    name: str
    function: Callable[[Recipe, Run, Path], object]
    """Called as ``function(recipe, run, out)``; ``out`` is the stage's (temporary) folder."""
    sections: tuple[str, ...]
    """Recipe fields whose values shape this stage's output."""
    enabled: Callable[[Recipe], bool]
    upstream: Callable[[Recipe], tuple[str, ...]]
    on_skip: Callable[[Recipe, Run, Path], object] | None = None
    """Called as ``function(recipe, run, folder)`` when the stage is up to date (to mend its effects
    outside the run folder that an interrupted invocation left behind)."""
    on_restore: Callable[[Recipe, Run, Path], object] | None = None
    """Called as ``function(recipe, run, folder)`` when the stage's result is restored from
    history (to redo its effects outside the run folder)."""
    on_up_to_date: Callable[[Recipe, Run], object] | None = None
    """Called by `harness run` when the stage was up to date (the report: its results again)."""
    extra_inputs: Callable[[Recipe], dict] | None = None
    """Further recipe values the output depends on, for some recipes only (empty: none)."""


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

    run_evaluate(recipe, run, out, base_key=base_evaluation_inputs)
    if _probes_after_training(recipe):
        from harness.selection.after_training import probe_trained

        probe_trained(recipe, run, out)


def _probes_after_training(recipe: Recipe) -> bool:
    return bool(recipe.selection and recipe.selection.after_training and recipe.training)


def _evaluate_extra_inputs(recipe: Recipe) -> dict:
    """The probe's settings, in the evaluate stage's fingerprint only when it probes the trained model
    (so that the fingerprints of every other run stay as they were)."""
    if not _probes_after_training(recipe):
        return {}
    return {"probe_after_training": recipe.resolved()["selection"]["probe"]}


def base_evaluation_inputs(resolved: dict) -> str:
    """The fingerprint of the base model's evaluation: the model, languages, seed and evaluation
    settings (but which models are evaluated). Selection and training are not in it: they do not
    change the base model, so a new training does not evaluate it again."""
    evaluation = {k: v for k, v in (resolved.get("evaluation") or {}).items() if k != "models"}
    return fingerprint(
        "evaluate:base",
        model_identity(resolved.get("model") or {}),
        resolved.get("languages"),
        resolved.get("seed"),
        evaluation,
        code_version(),
    )


def report(recipe: Recipe, run: Run, out: Path) -> None:
    from harness.reporting.stage import run_report

    run_report(recipe, run, out)


def show_report(recipe: Recipe, run: Run) -> None:
    from harness.reporting.stage import show_report as show

    show(recipe, run)


def republish_report(recipe: Recipe, run: Run, folder: Path) -> None:
    from harness.reporting.stage import republish

    republish(recipe, run, folder)


def republish_stale_report(recipe: Recipe, run: Run, folder: Path) -> None:
    from harness.reporting.stage import republish_if_stale

    republish_if_stale(recipe, run, folder)


def _evaluate_upstream(recipe: Recipe) -> tuple[str, ...]:
    if _probes_after_training(recipe):
        return ("select", "train")
    return ("train",) if recipe.evaluation and "trained" in recipe.evaluation.models else ()


def _report_upstream(recipe: Recipe) -> tuple[str, ...]:
    return tuple(stage.name for stage in STAGES[:3] if stage.enabled(recipe))


STAGES: tuple[Stage, ...] = (
    Stage("select", select, ("model", "languages", "selection"), lambda r: r.selection is not None, lambda r: ()),
    Stage(
        "train",
        train,
        ("model", "languages", "seed", "training"),
        lambda r: r.training is not None,
        lambda r: ("select",) if r.selection is not None else (),
    ),
    Stage(
        "evaluate",
        evaluate,
        ("model", "languages", "seed", "evaluation"),
        lambda r: r.evaluation is not None,
        _evaluate_upstream,
        extra_inputs=_evaluate_extra_inputs,
    ),
    Stage(
        "report",
        report,
        ("name", "languages", "report"),
        lambda r: r.evaluation is not None,
        _report_upstream,
        on_skip=republish_stale_report,
        on_restore=republish_report,
        on_up_to_date=show_report,
    ),
)
STAGE_NAMES = tuple(stage.name for stage in STAGES)


def get_stage(name: str) -> Stage:
    for stage in STAGES:
        if stage.name == name:
            return stage
    raise HarnessError(f"unknown stage {name!r}; stages: {', '.join(STAGE_NAMES)}")


RESULT_NEUTRAL = {
    "training": (
        "gpu_memory_gib",
        "logging_steps",
        "report_to",
        "keep_checkpoints",
        "master_port",
        "master_addr",
        "node_rank",
    ),
}
"""Fields that change how a stage runs or logs, never its result: a change of one retrains nothing."""


def stage_inputs(recipe: Recipe, run: Run, stage: Stage) -> str:
    """The fingerprint of everything a stage's output depends on (and of nothing else)."""
    sections = {k: recipe.resolved()[k] for k in stage.sections}
    for section, fields in RESULT_NEUTRAL.items():
        if isinstance(sections.get(section), dict):
            sections[section] = {k: v for k, v in sections[section].items() if k not in fields}
    if "model" in sections:
        sections["model"] = model_identity(sections["model"])
    if stage.extra_inputs is not None:
        sections.update(stage.extra_inputs(recipe))
    return fingerprint(stage.name, sections, upstream_outputs(recipe, run, stage), code_version())


def model_identity(model: dict) -> dict:
    """The `model:` section as a fingerprint sees it: a ``run:`` source stands for that run's trained
    model (its train stage's output id), not for the folder's path; so a retrained upstream stage redoes
    what starts from it, an unchanged one (skipped or restored from history) redoes nothing."""
    from harness.models.loading import RUN_PREFIX, run_folder

    source = str(model.get("source") or "")
    if not source.startswith(RUN_PREFIX):
        return model
    done = Run(run_folder(source)).require_done("train")
    return {**model, "source": f"{RUN_PREFIX}train output {done.output_id}"}


# -- training stages before `training:` (recipe.stages) -----------------------------------------

CHAINED = ("select", "train")
"""The stages that work on the model the earlier training stages trained (evaluation's `base` stays `model`)."""


def stage_run_dir(run_root: Path, name: str) -> Path:
    return Path(run_root).resolve() / STAGES_DIR / name


def stage_recipes(recipe: Recipe, run_root: Path) -> list[Recipe]:
    """One recipe per entry of ``recipe.stages``: its training (and selection) on the model the stage
    before it trained, named ``<recipe>.<stage>``."""
    model = recipe.model
    recipes = []
    for stage in recipe.stages:
        recipes.append(
            Recipe(
                name=f"{recipe.name}.{stage.name}",
                description=stage.description or f"training stage {stage.name!r} of recipe {recipe.name!r}",
                seed=recipe.seed,
                languages=list(recipe.languages),
                model=model,
                selection=stage.selection,
                training=stage.training,
            )
        )
        model = _trained_by(stage_run_dir(run_root, stage.name), recipe)
    return recipes


def _trained_by(folder: Path, recipe: Recipe):
    from harness.models.config import ModelConfig
    from harness.models.loading import RUN_PREFIX

    return ModelConfig(source=f"{RUN_PREFIX}{folder}", tokenizer=recipe.model.tokenizer, dtype=recipe.model.dtype)


Shown = Callable[[str, Run], None]
"""Called as ``shown(stage name, run)`` after a stage has computed its result: the CLI prints it."""


def start_recipe(recipe: Recipe, run_root: Path) -> Recipe:
    """The recipe as its select and train stages see it: `model` is what the last earlier stage trained."""
    if not recipe.stages:
        return recipe
    model = _trained_by(stage_run_dir(run_root, recipe.stages[-1].name), recipe)
    return recipe.model_copy(update={"model": model, "stages": []})


def run_earlier_stages(recipe: Recipe, run: Run, shown: Shown | None = None) -> None:
    """Train ``recipe.stages`` in order, each in its own run (skipped when up to date, resumed when cut)."""
    subs = stage_recipes(recipe, run.root)
    for index, (stage, sub) in enumerate(zip(recipe.stages, subs), 1):
        console.rule(f"[bold]training stage {index}/{len(subs) + 1}: {stage.name}")
        sub_run = open_run(sub, stage_run_dir(run.root, stage.name))
        for name in CHAINED:
            if get_stage(name).enabled(sub):
                run_stage(sub, sub_run, name, shown=shown)
    console.rule(f"[bold]training stage {len(subs) + 1}/{len(subs) + 1}: training")


def upstream_outputs(recipe: Recipe, run: Run, stage: Stage) -> dict[str, str]:
    """The output id of each finished (and intact) stage this one reads."""
    return {name: run.require_done(name).output_id for name in stage.upstream(recipe)}


def default_run_dir(recipe: Recipe) -> Path:
    return artifacts.default_run_dir(recipe.name)


def open_run(recipe: Recipe, run_dir: str | Path | None, force: tuple[str, ...] = ()) -> Run:
    """Create or reopen the run directory, lock it, and log the invocation.

    Everything is validated before anything is written: the recipe (already loaded), the stage
    names of ``force``, the folder's ownership and the recipe it belongs to.
    """
    for name in force:
        get_stage(name)
    run = Run.create(Path(run_dir) if run_dir else default_run_dir(recipe))
    run.lock()
    for stage in run.finish_publishes():
        console.print(f"[green]{stage}: finished publishing the result an interrupted invocation left complete[/green]")
    run.check_recipe(recipe.name)
    run.log_invocation(recipe.resolved())
    if not run.manifest_path.exists():
        run.write_manifest(recipe.resolved(), recipe.seed)
    return run


def run_stage(
    recipe: Recipe, run: Run, name: str, force: bool = False, earlier: bool = True, shown: Shown | None = None
) -> bool:
    """Run one stage unless it is up to date; returns whether it ran (or was restored).

    For a recipe with ``stages:``, select and train first bring the earlier training stages up to
    date (unless ``earlier`` is False: the caller did) and work on the model the last one trained.
    """
    stage = get_stage(name)
    if not stage.enabled(recipe):
        raise HarnessError(f"recipe {recipe.name!r} has no section for stage {name!r}; add it to the recipe")
    manifest = recipe.resolved()  # the run's recipe, stages included, whatever model a stage starts from
    if name in CHAINED and recipe.stages:
        if earlier:
            run_earlier_stages(recipe, run, shown)
        recipe = start_recipe(recipe, run.root)
    upstream = upstream_outputs(recipe, run, stage)
    inputs = stage_inputs(recipe, run, stage)
    if not force:
        done = run.finished(name)
        if done is not None and done.fingerprint == inputs:
            run.check_outputs(name, done)
            console.print(f"[dim]{name}: up to date, skipped ({run.stage_dir(name)})[/dim]")
            if stage.on_skip:
                stage.on_skip(recipe, run, run.stage_dir(name))
            return False
        kept = run.from_history(name, inputs)
        if kept is not None:
            run.restore(name, kept)
            console.print(
                f"[green]{name}: restored from {kept} (same inputs; not recomputed)[/green] -> {run.stage_dir(name)}",
                soft_wrap=True,
            )
            if stage.on_restore:
                stage.on_restore(recipe, run, run.stage_dir(name))
            run.write_manifest(manifest, recipe.seed)
            return True
    console.rule(f"[bold]{name}")
    started = time.time()
    try:
        with run.stage(name, inputs, recipe=recipe.resolved(), upstream=upstream, fresh=force) as out:
            stage.function(recipe, run, out)
    except OSError as error:
        if error.filename is None:
            error.filename = str(run.partial_dir(name))
        raise
    except Exception as error:
        disk = disk_error(error, run.partial_dir(name))
        if disk is None:
            raise
        raise disk from error
    if shown is not None:
        shown(name, run)
    run.write_manifest(manifest, recipe.seed)
    console.print(f"[green]{name}: done in {time.time() - started:.1f} s[/green] -> {run.stage_dir(name)}")
    return True


def disk_error(error: Exception, folder: Path) -> OSError | None:
    """The OS error behind a library's own exception (safetensors, torch.save), if there is one.

    Those libraries raise their own types on a full disk ("... (os error 28)", "file write
    failed"); as an OSError naming the stage folder, the CLI reports it as one line.
    """
    text = str(error)
    found = re.search(r"os error (\d+)", text)
    if found:
        code = int(found.group(1))
        return OSError(code, os.strerror(code), str(folder))
    try:
        full = shutil.disk_usage(folder if folder.exists() else folder.parent).free < 16 * 2**20
    except OSError:
        full = False
    if full and "writ" in text.lower():
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder))
    return None


def rescore_evaluation(recipe: Recipe, run: Run) -> tuple[Rescored, Path]:
    """`harness evaluate --rescore`: the stored responses scored again, published as a new result of
    the evaluate stage (its new output id makes the report stage render again). Returns the result
    and the history folder that keeps the previous one."""
    from harness.evaluation.rescore import rescore, write_rescored

    if recipe.evaluation is None:
        raise HarnessError(f"recipe {recipe.name!r} has no `evaluation:` section")
    eval_dir = run.result_or_kept("evaluate")
    if eval_dir != run.stage_dir("evaluate"):
        console.print(f"evaluate: eval/ is not in place; re-scoring the responses kept in {eval_dir}", soft_wrap=True)
    result = rescore(recipe, eval_dir)
    stage = get_stage("evaluate")
    upstream = upstream_outputs(recipe, run, stage)
    inputs = stage_inputs(recipe, run, stage)
    with run.stage("evaluate", inputs, recipe=recipe.resolved(), upstream=upstream, fresh=True) as out:
        write_rescored(result, eval_dir, out)
    run.write_manifest(recipe.resolved(), recipe.seed)
    kept = sorted((Path(run.root) / HISTORY).glob(f"{STAGE_DIRS['evaluate']}-*"), key=lambda p: p.stat().st_mtime)[-1]
    return result, kept


def run_pipeline(recipe: Recipe, run: Run, force: tuple[str, ...] = (), shown: Shown | None = None) -> None:
    """Every enabled stage in order; ``force`` names stages to redo even if up to date."""
    for name in force:
        get_stage(name)  # open_run checked them already; kept for direct callers
    if recipe.stages:
        run_earlier_stages(recipe, run, shown)
    for stage in STAGES:
        if stage.enabled(recipe):
            ran = run_stage(recipe, run, stage.name, force=stage.name in force, earlier=False, shown=shown)
            if not ran and stage.on_up_to_date is not None:
                stage.on_up_to_date(recipe, run)


def plan_stages(recipe: Recipe, run_dir: Path, force: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """For --dry-run: what each stage would do, without creating anything.

    A stage downstream of one that would run (or be restored from history) would run too: its
    inputs include that stage's new output, which no fingerprint computed now can know.
    """
    run = Run(run_dir)
    rows = []
    changing: set[str] = set()
    for entry, sub in zip(recipe.stages, stage_recipes(recipe, run_dir)):
        for name, state in plan_stages(sub, stage_run_dir(run_dir, entry.name)):
            if state != "not in recipe":
                rows.append((f"{STAGES_DIR}/{entry.name}: {name}", state))
                if state != "up to date, would skip":
                    changing.update(CHAINED)  # the model the chained stages start from changes
    for stage in STAGES:
        if not stage.enabled(recipe):
            rows.append((stage.name, "not in recipe"))
            continue
        state = _planned_state(recipe, run, run_dir, stage, changing, force)
        if state != "up to date, would skip":
            changing.add(stage.name)
        rows.append((stage.name, state))
    return rows


def _planned_state(recipe: Recipe, run: Run, run_dir: Path, stage: Stage, changing: set[str], force) -> str:
    if stage.name in force:
        return "would run"
    after = [name for name in stage.upstream(recipe) if name in changing]
    if after or stage.name in changing:
        return f"would run (after {', '.join(after)})" if after else "would run"
    try:
        inputs = stage_inputs(start_recipe(recipe, run_dir) if stage.name in CHAINED else recipe, run, stage)
    except HarnessError:
        return "would run"
    if run.is_done(stage.name, inputs):
        return "up to date, would skip"
    if run.root.is_dir() and run.from_history(stage.name, inputs) is not None:
        return "would be restored from history/"
    return "would run"
