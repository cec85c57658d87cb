"""Run directories and the pipeline's skip/resume/force logic, with stand-in stage functions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import pipeline
from harness.errors import HarnessError
from harness.recipe import load_recipe
from harness.runs import Run, atomic_write_text

RECIPE = """
name: fake
model: {source: some-org/some-model}
selection: {layers: {policy: first_k, k: 1}}
training: {epochs: 1}
evaluation: {tasks: [{name: mgsm}]}
"""

CALLS: list[str] = []


def fake_stage(name: str, fail: bool = False):
    def run(recipe, run, out: Path):
        CALLS.append(name)
        (out / "partial.txt").write_text("progress")
        if fail:
            raise KeyboardInterrupt  # as if the process were killed mid-stage
        (out / f"{name}.json").write_text(json.dumps({"epochs": recipe.training.epochs}))

    return run


@pytest.fixture
def fake_pipeline(monkeypatch):
    CALLS.clear()
    functions = {s.name: fake_stage(s.name) for s in pipeline.STAGES}
    stages = tuple(
        pipeline.Stage(
            s.name,
            lambda recipe, run, out, name=s.name: functions[name](recipe, run, out),
            s.sections,
            s.enabled,
            s.upstream,
        )
        for s in pipeline.STAGES
    )
    monkeypatch.setattr(pipeline, "STAGES", stages)
    return functions


def fresh_run(tmp_path):
    """The fake recipe written to r.yaml, loaded, and a run folder opened for it."""
    recipe_path = tmp_path / "r.yaml"
    recipe_path.write_text(RECIPE)
    recipe = load_recipe(recipe_path)
    return recipe_path, recipe, pipeline.open_run(recipe, tmp_path / "run")


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "a" / "b.txt"
    atomic_write_text(target, "hello")
    assert target.read_text() == "hello" and list(target.parent.iterdir()) == [target]


def test_run_skips_finished_stages_and_redoes_changed_ones(tmp_path, fake_pipeline):
    recipe_path, recipe, run = fresh_run(tmp_path)
    pipeline.run_pipeline(recipe, run)
    assert CALLS == ["select", "train", "evaluate", "report"]
    manifest = json.loads((run.root / "manifest.json").read_text())
    assert manifest["recipe"]["name"] == "fake" and manifest["versions"]["torch"]
    assert manifest["seed"] == 42 and "host" in manifest
    environment = manifest["environment"]  # `harness env`'s record
    assert environment["cpu"]["model"] and "devices" in environment["gpus"] and environment["versions"]["lm-eval"]

    CALLS.clear()
    pipeline.run_pipeline(recipe, run)
    assert CALLS == []

    # A training change redoes training and what depends on it, not selection.
    changed = load_recipe(recipe_path, ["training.epochs=2"])
    pipeline.run_pipeline(changed, run)
    assert CALLS == ["train", "evaluate", "report"]
    assert json.loads((run.root / "train" / "train.json").read_text()) == {"epochs": 2}
    assert (run.root / "history").is_dir()  # the earlier result is kept, not deleted

    CALLS.clear()
    pipeline.run_pipeline(changed, run, force=("select",))
    assert CALLS == ["select", "train", "evaluate", "report"]


def test_interrupted_stage_keeps_finished_ones_and_resumes(tmp_path, fake_pipeline):
    _recipe_path, recipe, run = fresh_run(tmp_path)
    fake_pipeline["train"] = fake_stage("train", fail=True)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run_pipeline(recipe, run)
    assert run.is_done("select") and not run.is_done("train")
    assert (run.root / "train.partial" / "partial.txt").exists()  # checkpoints survive

    fake_pipeline["train"] = fake_stage("train")
    CALLS.clear()
    pipeline.run_pipeline(recipe, run)
    assert CALLS == ["train", "evaluate", "report"]
    assert not (run.root / "train.partial").exists()


def test_run_dir_of_another_recipe_is_refused(tmp_path, fake_pipeline):
    recipe_path = tmp_path / "r.yaml"
    recipe_path.write_text(RECIPE)
    run = pipeline.open_run(load_recipe(recipe_path), tmp_path / "run")
    before = (run.root / "manifest.json").read_text()
    recipe_path.write_text(RECIPE.replace("name: fake", "name: other"))
    with pytest.raises(HarnessError, match="belongs to recipe 'fake'"):
        pipeline.open_run(load_recipe(recipe_path), tmp_path / "run")
    assert (run.root / "manifest.json").read_text() == before


def test_single_stage_needs_its_upstream(tmp_path, fake_pipeline):
    _recipe_path, recipe, run = fresh_run(tmp_path)
    with pytest.raises(HarnessError, match="stage 'select' has not finished"):
        pipeline.run_stage(recipe, run, "train")
    with pytest.raises(HarnessError, match="unknown stage"):
        pipeline.run_pipeline(recipe, run, force=("selct",))


def test_stage_folder_is_published_atomically(tmp_path):
    run = Run.create(tmp_path / "run")
    with run.stage("select", "abc") as out:
        assert out.name == "selection.partial"
        (out / "selection.json").write_text("{}")
        assert not run.is_done("select")
    assert run.is_done("select", "abc") and not run.is_done("select", "other")


def test_a_failed_attempt_leaves_the_previous_result_and_history_restores_it(tmp_path, fake_pipeline):
    recipe_path, recipe, run = fresh_run(tmp_path)
    pipeline.run_pipeline(recipe, run)
    finished = (run.root / "train" / "train.json").read_bytes()

    fake_pipeline["train"] = fake_stage("train", fail=True)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run_pipeline(load_recipe(recipe_path, ["training.epochs=2"]), run)
    assert (run.root / "train" / "train.json").read_bytes() == finished  # still in place

    fake_pipeline["train"] = fake_stage("train")
    pipeline.run_pipeline(load_recipe(recipe_path, ["training.epochs=2"]), run)
    CALLS.clear()
    pipeline.run_pipeline(recipe, run)  # back to the original: restored, not recomputed
    assert CALLS == []
    assert (run.root / "train" / "train.json").read_bytes() == finished
    assert len(list((run.root / "history").iterdir())) == 3  # the epochs=2 train, evaluate, report


def test_changed_outputs_are_not_skipped(tmp_path, fake_pipeline):
    _recipe_path, recipe, run = fresh_run(tmp_path)
    pipeline.run_pipeline(recipe, run)
    (run.root / "train" / "train.json").write_text('{"epochs": 9.0}')  # same size, other content
    with pytest.raises(HarnessError, match=r"stage 'train' changed since it finished \(train.json was edited"):
        pipeline.run_pipeline(recipe, run)
    CALLS.clear()
    pipeline.run_pipeline(recipe, run, force=("train",))
    assert CALLS == ["train", "evaluate", "report"]


def test_a_folder_that_is_not_a_run_is_refused(tmp_path):
    (tmp_path / "mine" / "train").mkdir(parents=True)
    with pytest.raises(HarnessError, match="not a harness run"):
        Run.create(tmp_path / "mine")
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["train"]
    assert Run.create(tmp_path / "empty").root.joinpath(".harness-run.json").is_file()


def test_the_lock_names_its_holder(tmp_path):
    import subprocess
    import sys

    Run.create(tmp_path / "run")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from harness.runs import Run; import time; Run.create({str(tmp_path / 'run')!r}).lock(); "
            "print('locked', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(HarnessError, match=rf"in use by PID {holder.pid} on .+ since "):
            Run(tmp_path / "run").lock()
    finally:
        holder.kill()
        holder.wait()
    Run(tmp_path / "run").lock()  # free again once the holder is gone
