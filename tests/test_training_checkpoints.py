"""Checkpoints are complete or absent (issue 9, case 3) and hold only what trains.

A full disk during a checkpoint save is one clear error; once space is freed the same command
resumes from the last complete checkpoint with the uninterrupted run's losses. An incomplete
checkpoint is skipped and named; ``--force train`` starts the attempt clean.

The disk is a real 24 MiB tmpfs when the tests may mount one (root), otherwise the save raises
ENOSPC; ``test_disk_full...`` prints which ran (visible with ``-s`` / in the ``-rA`` summary).
"""

from __future__ import annotations

import errno
import json
import subprocess
from pathlib import Path

import pytest
from test_training_run import PLANNED, make_recipe, make_run

from harness.errors import HarnessError

pytestmark = pytest.mark.integration


def train_stage(recipe, run, force: bool = False) -> dict:
    """`harness train` on ``run``, in process: the pipeline's stage runner with its --force."""
    from harness.pipeline import run_stage

    run_stage(recipe, run, "train", force=force)
    return json.loads((run.stage_dir("train") / "train.json").read_text())


def losses(report: dict) -> list[float]:
    return [point["loss"] for point in report["loss_curve"]]


@pytest.fixture(scope="module")
def reference(tiny_llama_dir, tmp_path_factory):
    """The uninterrupted run (6 steps, a checkpoint every 2)."""
    return train_stage(make_recipe(tiny_llama_dir, save="delta"), make_run(tmp_path_factory.mktemp("ref") / "run"))


@pytest.fixture
def small_disk(tmp_path):
    """(folder, real): a 24 MiB tmpfs if it can be mounted here, else a plain folder."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = (
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(folder)], capture_output=True).returncode
        == 0
    )
    yield folder, mounted
    if mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Write zeros into ``folder`` until its filesystem is full; returns the filler file."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as out:
        for chunk in (2**20, 2**12, 1):
            try:
                while True:
                    out.write(b"\0" * chunk)
            except OSError as error:
                assert error.errno == errno.ENOSPC
    return filler


def patch_trainer(monkeypatch, before_save):
    """Call ``before_save(step)`` before each checkpoint save of the next training."""
    from harness.training import checkpoints

    original = checkpoints.checkpointing_trainer

    def patched(base):
        cls = original(base)

        class Patched(cls):
            def _save_checkpoint(self, model, trial):
                before_save(self.state.global_step)
                return super()._save_checkpoint(model, trial)

        return Patched

    monkeypatch.setattr(checkpoints, "checkpointing_trainer", patched)
    return lambda: monkeypatch.setattr(checkpoints, "checkpointing_trainer", original)


def test_disk_full_during_a_checkpoint_save_then_the_same_command_resumes(
    tiny_llama_dir, reference, small_disk, monkeypatch, capfd
):
    from harness.training import checkpoints

    disk, real = small_disk
    recipe = make_recipe(tiny_llama_dir, save="delta")
    run = make_run(disk / "run")
    filler = []

    def disk_fills_at_step_6(step):
        if step != 6:
            return
        if real:
            filler.append(fill(disk))
        else:

            def no_space(*args, **kwargs):
                raise OSError(errno.ENOSPC, "No space left on device", str(disk))

            monkeypatch.setattr(checkpoints, "save_trainable", no_space)

    restore = patch_trainer(monkeypatch, disk_fills_at_step_6)
    with pytest.raises(
        HarnessError,
        match=r"\.saving/checkpoint-6: could not save a training checkpoint \(no space "
        r"left on the device\); free space and rerun the same command: "
        r"training resumes from checkpoint-4",
    ):
        train_stage(recipe, run)
    checkpoints_dir = run.partial_dir("train") / "checkpoints"
    assert sorted(p.name for p in checkpoints_dir.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]

    restore()
    if real:
        filler[0].unlink()
    else:
        monkeypatch.undo()
    capfd.readouterr()
    report = train_stage(recipe, run)  # the same command
    err = capfd.readouterr().err
    with capfd.disabled():
        print(
            "\n[disk full during a checkpoint save: "
            f"{'a real 24 MiB tmpfs filled to ENOSPC' if real else 'an injected ENOSPC (no tmpfs mount here)'}]"
        )
    assert "skipping incomplete checkpoint" in err and ".saving/checkpoint-6" in err
    assert report["resumed_from"] == "checkpoint-4" and report["steps"] == 6
    assert losses(report) == pytest.approx(losses(reference), abs=1e-6)


def interrupt_after_step(monkeypatch, last_step: int):
    def stop(step):
        if step > last_step:
            raise KeyboardInterrupt

    return patch_trainer(monkeypatch, stop)


@pytest.mark.parametrize("damage", ["no trainer state", "a zero-byte file"])
def test_an_incomplete_checkpoint_is_named_and_skipped(tiny_llama_dir, reference, tmp_path, monkeypatch, capfd, damage):
    from safetensors.torch import load_file

    recipe = make_recipe(tiny_llama_dir, save="delta")
    run = make_run(tmp_path / "run")
    restore = interrupt_after_step(monkeypatch, 4)
    with pytest.raises(KeyboardInterrupt):
        train_stage(recipe, run)
    restore()
    checkpoints_dir = run.partial_dir("train") / "checkpoints"
    assert set(load_file(checkpoints_dir / "checkpoint-4" / "trainable.safetensors")) == PLANNED
    if damage == "no trainer state":  # as a save cut short in place leaves it
        (checkpoints_dir / "checkpoint-4" / "trainer_state.json").unlink()
        reason = "its save did not finish"
    else:  # as a crash leaves a file whose data never reached the disk
        (checkpoints_dir / "checkpoint-4" / "trainable.safetensors").write_bytes(b"")
        reason = "trainable.safetensors is empty"

    capfd.readouterr()
    report = train_stage(recipe, run)
    assert f"skipping incomplete checkpoint {checkpoints_dir / 'checkpoint-4'} ({reason})" in capfd.readouterr().err
    assert report["resumed_from"] == "checkpoint-2"
    assert losses(report) == pytest.approx(losses(reference), abs=1e-6)


def test_force_train_starts_the_attempt_clean(tiny_llama_dir, tmp_path, monkeypatch):
    recipe = make_recipe(tiny_llama_dir, save="delta", max_steps=4)
    run = make_run(tmp_path / "run")
    restore = interrupt_after_step(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        train_stage(recipe, run)
    restore()
    assert (run.partial_dir("train") / "checkpoints" / "checkpoint-2").is_dir()
    report = train_stage(recipe, run, force=True)
    assert report["resumed_from"] is None and report["steps"] == 4


def test_a_deepspeed_checkpoint_holds_the_trained_tensors_and_resumes_exactly(tiny_llama_dir, tmp_path, monkeypatch):
    """ZeRO-2 in one worker process: the module file of a checkpoint lacks the frozen weights, and a
    run resumed from it continues with the uninterrupted run's losses."""
    import os
    import shutil

    import torch
    from test_training_run import train

    from harness.runs import write_json

    repo = Path(__file__).resolve().parent.parent
    monkeypatch.setenv(
        "TORCH_EXTENSIONS_DIR", os.environ.get("TORCH_EXTENSIONS_DIR") or str(repo / ".cache" / "torch_extensions")
    )
    settings = dict(deepspeed=True, max_steps=4, save_steps=2, save="delta", lr_scheduler="constant")
    whole = train(make_recipe(tiny_llama_dir, keep_checkpoints=True, **settings), make_run(tmp_path / "whole"))
    saved = whole / "checkpoints" / "checkpoint-2"
    (states,) = saved.glob("global_step2/mp_rank_00_model_states.pt")
    assert set(torch.load(states, map_location="cpu", weights_only=False)["module"]) == PLANNED
    assert not list(saved.glob("*.safetensors"))

    # A second run whose interrupted attempt left checkpoint-2 (same inputs): it resumes there.
    recipe = make_recipe(tiny_llama_dir, **settings)
    run = make_run(tmp_path / "resumed")
    partial = run.partial_dir("train")
    shutil.copytree(saved, partial / "checkpoints" / "checkpoint-2")
    write_json(partial / "ATTEMPT.json", {"fingerprint": "test-train"})
    resumed = json.loads((train(recipe, run) / "train.json").read_text())
    reference = json.loads((whole / "train.json").read_text())
    assert resumed["resumed_from"] == "checkpoint-2" and resumed["steps"] == 4
    assert losses(resumed) == pytest.approx(losses(reference), abs=1e-6)
