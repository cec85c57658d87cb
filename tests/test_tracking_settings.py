"""Recipe settings for new base models and tracking: training.report_to, evaluation.batch_size auto;
the report's loss curve from train.json."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from harness.errors import HarnessError
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


def _hide_modules(monkeypatch, *hidden: str) -> None:
    """find_spec answers None for these modules, as on an install without them."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in hidden else real(name, *a))


def test_a_tracker_that_is_not_installed_is_named_with_its_extra_by_validate_and_dry_run(tmp_path, monkeypatch):
    from harness.cli import main
    from harness.preflight import check_packages, missing_packages, validate_paths
    from harness.recipe import load_recipe

    _hide_modules(monkeypatch, "tensorboard", "tensorboardX", "deepspeed")
    recipe_file = tmp_path / "r.yaml"
    recipe_file.write_text("defaults: recipes/quickstart.yaml\ntraining: {report_to: [tensorboard], deepspeed: true}\n")
    recipe = load_recipe(recipe_file)
    assert missing_packages(recipe) == [
        "training.report_to: 'tensorboard' needs the tensorboard package, which is not installed: "
        "pip install 'harness[tensorboard]' (or report_to: [none])",
        "training.deepspeed: DeepSpeed is not installed: pip install 'harness[train]'",
    ]
    assert missing_packages(recipe, ["report"]) == []
    # the evaluation logs into the training's trackers too (harness/tracking.py), not to DeepSpeed
    assert missing_packages(recipe, ["evaluate"]) == missing_packages(recipe)[:1]
    own = load_recipe(recipe_file, ["evaluation.report_to=[tensorboard]", "training.report_to=[none]"])
    assert [line.split(":")[0] for line in missing_packages(own)] == ["evaluation.report_to", "training.deepspeed"]
    count, problems = validate_paths([str(recipe_file)])
    assert count == 1 and problems == [f"{recipe_file}: {line}" for line in missing_packages(recipe)]
    with pytest.raises(HarnessError, match=r"harness\[tensorboard\]"):
        check_packages(recipe, ["select", "train"])

    run_dir = tmp_path / "run"
    assert main(["run", str(recipe_file), "--run-dir", str(run_dir)]) == 2
    assert not run_dir.exists()  # stopped before the select stage made anything


def test_the_new_model_template_needs_no_extra_tracker():
    from harness.preflight import TRACKER_PACKAGES
    from harness.recipe import load_recipe

    template = load_recipe("recipes/templates/new_base_model.yaml")
    assert not set(template.training.report_to) & set(TRACKER_PACKAGES)
