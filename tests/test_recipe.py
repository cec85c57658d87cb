"""Recipe schema, defaults chains, overrides, and `harness validate` on every shipped recipe."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.preflight import validate_paths
from harness.recipe import load_recipe, recipe_files

REPO = Path(__file__).resolve().parent.parent

MINIMAL = """
name: tiny
model: {source: some-org/some-model}
selection: {layers: {policy: first_k, k: 2}}
training: {epochs: 1}
evaluation: {tasks: [{name: mgsm}]}
"""


def write(tmp_path: Path, text: str, name: str = "recipe.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_every_shipped_recipe_validates():
    count, problems = validate_paths([str(REPO / "harness" / "recipes")])
    assert count >= 1
    assert problems == []


def test_defaults_are_filled_and_policy_is_a_discriminated_union(tmp_path):
    recipe = load_recipe(write(tmp_path, MINIMAL))
    assert recipe.languages[0] == "bn" and recipe.languages[-1] == "en"
    assert recipe.selection.layers.policy == "first_k" and recipe.selection.layers.k == 2
    assert recipe.training.learning_rate == 2e-5 and recipe.training.global_batch_size == 512
    assert recipe.evaluation.models == ["base", "trained"]


def test_all_errors_at_once_with_dotted_paths(tmp_path):
    path = write(
        tmp_path,
        """
name: ok
languages: [bn, xx]
model: {sorce: x}
selection: {layers: {policy: fixd}}
training: {epochs: 0}
evaluation: {tasks: [{name: mgsm, limt: 3}]}
""",
    )
    with pytest.raises(HarnessError) as info:
        load_recipe(path)
    lines = str(info.value).splitlines()
    assert all(line.startswith(f"{path}: ") for line in lines)
    text = str(info.value)
    assert "languages: unknown language 'xx'" in text
    assert "model.sorce: unknown key" in text and "did you mean 'source'" in text
    assert "model.source: required" in text
    assert "selection.layers: Input tag 'fixd'" in text
    assert "training.epochs: Input should be greater than 0" in text
    assert "evaluation.tasks.0.limt: unknown key" in text and "did you mean 'limit'" in text
    assert len(lines) == 6


def test_overrides_are_typed_and_validated(tmp_path):
    path = write(tmp_path, MINIMAL)
    recipe = load_recipe(
        path,
        [
            "training.epochs=3",
            "evaluation.tasks.0.limit=5",
            "languages=[de, en]",
            "selection.layers={policy: fixed, layers: [0, 2]}",
        ],
    )
    assert recipe.training.epochs == 3 and recipe.evaluation.tasks[0].limit == 5
    assert recipe.languages == ["de", "en"] and recipe.selection.layers.layers == [0, 2]
    with pytest.raises(HarnessError, match=r"override training.epochz=2\): training.epochz: unknown key"):
        load_recipe(path, ["training.epochz=2"])
    with pytest.raises(HarnessError, match="override training.epochs=many"):
        load_recipe(path, ["training.epochs=many"])
    with pytest.raises(HarnessError, match="a list of 1 items"):
        load_recipe(path, ["evaluation.tasks.4.limit=1"])
    with pytest.raises(HarnessError, match="dotted.key=value"):
        load_recipe(path, ["training.epochs"])


def test_defaults_chain_merges_and_child_wins(tmp_path):
    write(tmp_path, MINIMAL, "_base.yaml")
    child = write(tmp_path, "defaults: _base.yaml\nname: child\ntraining: {epochs: 2}\n")
    recipe = load_recipe(child)
    assert recipe.name == "child" and recipe.training.epochs == 2
    assert recipe.model.source == "some-org/some-model"
    assert recipe_files([str(tmp_path)]) == [child]  # `_*.yaml` are fragments, not recipes
    write(tmp_path, "defaults: loop_b.yaml\n", "loop_a.yaml")
    write(tmp_path, "defaults: loop_a.yaml\n", "loop_b.yaml")
    with pytest.raises(HarnessError, match="cycle"):
        load_recipe(tmp_path / "loop_a.yaml")


def test_stage_sections_must_fit_together(tmp_path):
    path = write(tmp_path, "name: e\nmodel: {source: a/b}\nevaluation: {tasks: [{name: mgsm}]}\n")
    with pytest.raises(HarnessError, match="no `training:` section"):
        load_recipe(path)
    assert load_recipe(path, ["evaluation.models=[base]"]).training is None


def test_bad_yaml_and_missing_file(tmp_path):
    with pytest.raises(HarnessError, match="line 3, column 1: not valid YAML"):
        load_recipe(write(tmp_path, "name: x\nmodel: [unclosed\n"))
    with pytest.raises(HarnessError, match="recipe file not found"):
        load_recipe(tmp_path / "nope.yaml")


def test_validate_checks_local_paths(tmp_path):
    path = write(
        tmp_path,
        MINIMAL.replace("some-org/some-model", "./missing-model").replace(
            "{name: mgsm}", "{name: mgsm, path: /no/such/dir}"
        ),
    )
    count, problems = validate_paths([str(path)])
    assert count == 1
    assert any("model.source" in p and "no such model folder" in p for p in problems)
    assert any("evaluation.tasks.0.path" in p for p in problems)


def test_after_training_probe_needs_a_base_probe_and_training():
    from harness import pipeline
    from harness.recipe import Recipe

    base = {
        "name": "t",
        "languages": ["de", "en"],
        "model": {"source": "x"},
        "selection": {"layers": {"policy": "first_k", "k": 1}, "after_training": True},
        "training": {"data": {"source": "demo"}},
        "evaluation": {"tasks": [{"name": "demo"}]},
    }
    with pytest.raises(ValueError, match="selection.probe.always: true"):
        Recipe.model_validate(base)
    base["selection"]["probe"] = {"always": True}
    recipe = Recipe.model_validate(base)
    without = Recipe.model_validate({**base, "selection": {**base["selection"], "after_training": False}})
    assert pipeline._evaluate_extra_inputs(without) == {}  # other runs' fingerprints stay as they were
    assert pipeline._evaluate_extra_inputs(recipe)["probe_after_training"]["always"] is True
    assert pipeline._evaluate_upstream(recipe) == ("select", "train")
    with pytest.raises(ValueError, match="needs `training:` and `evaluation:`"):
        Recipe.model_validate({**base, "evaluation": None})
