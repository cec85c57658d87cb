"""The `evaluate` stage: the base and/or trained model on the recipe's tasks, through lm-eval.

Outputs (in the stage folder): ``<task>/samples.jsonl`` and ``scores.json`` (see
:mod:`harness.evaluation.runner`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from harness import console as terminal
from harness.artifacts import TRAIN_FILE
from harness.errors import HarnessError
from harness.evaluation.backends import EvaluationJob, lm_factory
from harness.evaluation.runner import resolve_tasks, run_models

TRAINED_EXPORT = ".trained-model"
"""A merged copy of the trained model for vLLM (which needs a folder), removed afterwards."""


def run_evaluate(recipe, run, out: Path) -> dict:
    """Evaluate ``recipe.evaluation.models`` on ``recipe.evaluation.tasks``; returns scores.json."""
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
