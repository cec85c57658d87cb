"""The Python API: run_recipe is `harness run`; load_results reads a run back as typed models."""

from __future__ import annotations

import json

import pytest
from reporting_fixtures import BASE_13B, TRAINED_13B, make_scores
from test_runs import CALLS, RECIPE, fake_pipeline  # noqa: F401 (a fixture)

from harness.api import load_results, run_recipe
from harness.errors import HarnessError


def test_run_a_recipe_then_read_its_typed_results(tmp_path, fake_pipeline, monkeypatch):
    import harness.preflight

    monkeypatch.setattr(harness.preflight, "check_hub", lambda recipe, stages: None)  # the fake names hub ids
    recipe = tmp_path / "r.yaml"
    recipe.write_text(RECIPE)
    run_dir = run_recipe(recipe, ["training.epochs=2"], run_dir=tmp_path / "run")
    assert run_dir == tmp_path / "run" and CALLS == ["select", "train", "evaluate", "report"]
    assert json.loads((run_dir / "train" / "train.json").read_text()) == {"epochs": 2}  # the override

    scores, _ = make_scores({"mgsm": {"base": BASE_13B, "trained": TRAINED_13B}})
    (run_dir / "eval" / "scores.json").write_text(json.dumps(scores))
    plan = {"layers": [0, 1], "trainable": 10, "total": 100, "share": 0.1}
    (run_dir / "train" / "train.json").write_text(json.dumps({"mode": "selective", "plan": plan, "steps": 3}))
    results = load_results(run_dir)
    assert results.manifest.recipe.name == "fake" and results.manifest.environment is not None
    assert results.accuracy("trained", "mgsm", "bn") == pytest.approx(100 * TRAINED_13B["bn"] / 250)
    assert results.scores.models["base"].tasks["mgsm"].average.accuracy is not None
    assert results.training.plan.share == 0.1 and results.training.steps == 3


def test_mistakes_raise_the_cli_message(tmp_path):
    with pytest.raises(HarnessError, match="not a run directory"):
        load_results(tmp_path)
    with pytest.raises(HarnessError, match="recipe file not found"):
        run_recipe(tmp_path / "missing.yaml")
