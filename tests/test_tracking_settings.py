"""Recipe settings for new base models and tracking: training.report_to, evaluation.batch_size auto;
the report's loss curve from train.json."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from harness.evaluation.config import EvaluationConfig, TaskConfig
from harness.reporting.plots import loss_curve_plot
from harness.training.config import TrainingConfig


def test_report_to_takes_transformers_tracker_names():
    assert TrainingConfig().report_to == ["none"]
    assert TrainingConfig(report_to=["tensorboard", "wandb"]).report_to == ["tensorboard", "wandb"]
    with pytest.raises(ValidationError, match=r"unknown tracker 'wanbd' \(did you mean 'wandb'"):
        TrainingConfig(report_to=["wanbd"])
    with pytest.raises(ValidationError, match="`none` and `all` stand alone"):
        TrainingConfig(report_to=["none", "wandb"])


def test_batch_size_auto_or_a_positive_number():
    tasks = [TaskConfig(name="demo")]
    assert EvaluationConfig(tasks=tasks, batch_size="auto").batch_size == "auto"
    assert EvaluationConfig(tasks=tasks, batch_size=4).batch_size == 4
    for bad in (0, "big"):
        with pytest.raises(ValidationError):
            EvaluationConfig(tasks=tasks, batch_size=bad)


def test_loss_curve_plot_from_train_json(tmp_path):
    train = tmp_path / "train.json"
    assert loss_curve_plot(train, tmp_path / "none.png") is None  # no train stage: no plot
    train.write_text(json.dumps({"loss_curve": []}))
    assert loss_curve_plot(train, tmp_path / "none.png") is None
    train.write_text(
        json.dumps({"loss_curve": [{"step": s, "loss": 2.0 / s, "learning_rate": 1e-4} for s in (1, 2, 3)]})
    )
    path = loss_curve_plot(train, tmp_path / "loss.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
