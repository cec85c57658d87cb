"""The `evaluate` stage: the base and/or trained model on the recipe's tasks, through lm-eval.

Outputs (in the stage folder): ``<task>/samples.jsonl`` and ``scores.json`` (see
:mod:`harness.evaluation.runner`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from harness import console as terminal
from harness.artifacts import TRAIN_FILE
from harness.errors import HarnessError
from harness.evaluation.backends import EvaluationJob, lm_factory
from harness.evaluation.runner import resolve_tasks, run_models

TRAINED_EXPORT = ".trained-model"
"""A merged copy of the trained model for vLLM (which needs a folder), removed afterwards."""


def run_evaluate(recipe, run, out: Path, base_key: Callable[[dict], str] | None = None) -> dict:
    """Evaluate ``recipe.evaluation.models`` on ``recipe.evaluation.tasks``; returns scores.json.

    ``base_key``: resolved recipe -> the fingerprint of its base model's evaluation; with it, the
    base model's results of an earlier evaluation on the same key are reused, not recomputed.
    """
    import torch

    from harness.evaluation import tracking

    evaluation = recipe.evaluation
    tracking.check_installed(recipe)
    if evaluation.hub is not None and not os.environ.get("HF_TOKEN"):
        raise HarnessError(
            "evaluation.hub: pushing results needs a hub token; set HF_TOKEN (a write token) or remove evaluation.hub"
        )
    tasks = resolve_tasks(evaluation, recipe.languages)
    train_dir = run.require("train") if "trained" in evaluation.models else None
    device = "cuda" if torch.cuda.is_available() else "cpu"
    from harness.evaluation.sharding import device_groups, needs_workers

    devices = device_groups(evaluation, torch.cuda.device_count(), os.environ.get("CUDA_VISIBLE_DEVICES"))
    groups = devices if needs_workers(evaluation, devices) else None
    if "base" in evaluation.models and base_key is not None:
        reuse_base_evaluation(recipe, run, Path(out), tasks, base_key)
    job = EvaluationJob.of(recipe)
    export_dir = Path(out) / TRAINED_EXPORT
    if groups:
        from harness.evaluation.sharding import sharded_factory

        make_lm = sharded_factory(job, train_dir, groups, export_dir)
    else:
        make_lm = lm_factory(job, train_dir, device, export_dir)
    settings = {"device": device, "dtype": _dtype_name(recipe, device), "processes": len(groups) if groups else 1}
    try:
        from harness.open_choices import open_choices

        settings["open_choices"] = open_choices(recipe, "evaluation")
        scores = run_models(evaluation, tasks, Path(out), make_lm, seed=recipe.seed, settings=settings)
        steps = _train_steps(train_dir)
        for written in tracking.log_evaluation(recipe, Path(run.root), Path(out), scores, steps):
            terminal.console(stderr=True).print(f"[dim]evaluation logged to {written}[/dim]", highlight=False)
        return scores
    finally:
        shutil.rmtree(Path(out) / TRAINED_EXPORT, ignore_errors=True)


def reuse_base_evaluation(recipe, run, out: Path, tasks, base_key: Callable[[dict], str]) -> Path | None:
    """Seed ``out`` with the base model's results of an earlier evaluation on the same base inputs.

    Looked for in the finished ``eval/`` and in ``history/``; a folder whose files changed since it
    finished is passed over. Returns the folder reused, if any.
    """
    from harness.artifacts import HISTORY, MARKER, STAGE_DIRS, Done, read_artifact
    from harness.evaluation.lm_eval_files import LM_EVAL_DIR
    from harness.evaluation.runner import _part_file, _read_done
    from harness.runs import changed_outputs, write_json

    wanted = base_key(recipe.resolved())
    root = Path(run.root)
    candidates = [root / STAGE_DIRS["evaluate"], *sorted((root / HISTORY).glob(f"{STAGE_DIRS['evaluate']}-*"))]
    for folder in candidates:
        try:
            done = read_artifact(folder / MARKER, Done, "")
        except HarnessError:
            continue
        if done.recipe is None or base_key(done.recipe) != wanted:
            continue
        if done.outputs is None or changed_outputs(folder, done.outputs):
            continue
        try:
            found = {task.benchmark: _read_done(folder, task) for task in tasks}
        except (OSError, ValueError, KeyError):
            continue
        if not all(("base", lang) in found[t.benchmark] for t in tasks for lang in t.languages):
            continue
        for task in tasks:
            for lang in task.languages:
                write_json(_part_file(out, task.benchmark, "base", lang), found[task.benchmark][("base", lang)])
        if (folder / LM_EVAL_DIR / "base").is_dir():
            shutil.rmtree(out / LM_EVAL_DIR / "base", ignore_errors=True)
            shutil.copytree(folder / LM_EVAL_DIR / "base", out / LM_EVAL_DIR / "base")
        terminal.console(stderr=True).print(
            f"evaluate: the base model's results reused from {folder} (same model, languages, seed and "
            "evaluation settings; training does not change the base model)",
            soft_wrap=True,
        )
        return folder
    return None


def _train_steps(train_dir: Path | None) -> int | None:
    """The trained model's last optimizer step (where its scores go on the training's axis)."""
    record = Path(train_dir) / TRAIN_FILE if train_dir is not None else None
    if record is None or not record.is_file():
        return None
    from harness.runs import read_json

    steps = read_json(record).get("steps")
    return steps if isinstance(steps, int) else None


def _dtype_name(recipe, device: str) -> str:
    """The dtype the models are evaluated in (``auto`` resolved), recorded for `compare`."""
    from harness.models.loading import resolve_dtype

    return str(resolve_dtype(recipe.model, device)).removeprefix("torch.")
