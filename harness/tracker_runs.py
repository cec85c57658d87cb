"""Which experiment-tracker run a harness run logs to: the training (through the Trainer's
callbacks) and the evaluation (:mod:`harness.evaluation.tracking`) of one run directory share it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def tracker_run_id(run_root: Path) -> str:
    """One W&B run id per run directory: training and evaluation log into the same run."""
    return "harness-" + hashlib.sha1(str(Path(run_root).resolve()).encode()).hexdigest()[:12]


def wandb_environment(run_root: Path, recipe_name: str) -> dict[str, str]:
    """What the Trainer's W&B callback reads: the run's id (resumed), group, folder and project."""
    return {
        "WANDB_RUN_ID": tracker_run_id(run_root),
        "WANDB_RESUME": "allow",
        "WANDB_RUN_GROUP": recipe_name,
        "WANDB_NAME": recipe_name,
        "WANDB_DIR": str(Path(run_root).resolve()),
        "WANDB_PROJECT": os.environ.get("WANDB_PROJECT", "harness"),
    }
