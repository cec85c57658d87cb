"""Training checkpoints that hold what is trained, and are complete or absent.

A selective run trains a few % of the model; the rest is the frozen base model, which the next
attempt loads anyway. A checkpoint therefore holds only:

- ``trainable.safetensors``: the tensors with ``requires_grad`` (under DeepSpeed, its own
  module file written with ``exclude_frozen_parameters``);
- the optimizer state (which covers the trainable tensors only), the scheduler, the RNG states
  and ``trainer_state.json``, as `transformers.Trainer` writes them.

Every checkpoint is written into ``checkpoints/.saving/checkpoint-N`` and renamed to
``checkpoints/checkpoint-N`` once every file is in place, so a save cut short (a full disk, a
kill) never looks like a checkpoint. On resume, :func:`last_complete_checkpoint` names and
removes what an interrupted save left and resumes from the newest complete checkpoint.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from harness.console import say
from harness.errors import HarnessError

TRAINABLE_FILE = "trainable.safetensors"
STAGING = ".saving"
STATE_FILE = "trainer_state.json"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def trainable_state(model) -> dict:
    """The tensors that train, by parameter name, as contiguous CPU copies."""
    return {
        name: param.detach().to("cpu").contiguous() for name, param in model.named_parameters() if param.requires_grad
    }


def save_trainable(model, folder: Path) -> Path:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / TRAINABLE_FILE
    save_file(trainable_state(model), str(path), metadata={"format": "pt", "content": "trainable tensors only"})
    return path


def load_trainable(model, folder: Path) -> None:
    """Copy a checkpoint's trainable tensors into ``model``; they must be exactly its trainable set."""
    from safetensors.torch import load_file

    saved = load_file(str(Path(folder) / TRAINABLE_FILE), device="cpu")
    expected = {name for name, param in model.named_parameters() if param.requires_grad}
    if set(saved) != expected:
        missing, extra = sorted(expected - set(saved)), sorted(set(saved) - expected)
        raise HarnessError(
            f"{folder}: this checkpoint trains other tensors than the current plan (missing "
            f"{missing[:3]}, unexpected {extra[:3]}); rerun with `--force train` to start the stage clean"
        )
    model.load_state_dict(saved, strict=False)


def checkpoint_problem(folder: Path) -> str | None:
    """Why a published checkpoint cannot be resumed from, or None: it needs its trainer state and its
    weights (ours or DeepSpeed's), and no empty file (what a crash before the data reached the disk
    leaves)."""
    if not (folder / STATE_FILE).is_file():
        return "its save did not finish"
    if not ((folder / TRAINABLE_FILE).is_file() or any(folder.glob("global_step*"))):
        return "it has no weights"
    empty = [
        p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*")) if p.is_file() and not p.stat().st_size
    ]
    if empty:
        return f"{', '.join(empty[:3])} {'is' if len(empty) == 1 else 'are'} empty"
    try:
        json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"{STATE_FILE} is unreadable"
    return None


def is_complete(folder: Path) -> bool:
    return checkpoint_problem(folder) is None


def last_complete_checkpoint(checkpoints: Path, say: Callable[[str], None] = say, clean: bool = True) -> Path | None:
    """The newest complete checkpoint under ``checkpoints`` (None if there is none).

    Whatever an interrupted save left (the ``.saving`` folder, or a ``checkpoint-N`` without its
    trainer state, as older versions wrote in place) is named through ``say`` and, with
    ``clean``, removed (only rank 0 should clean).
    """
    checkpoints = Path(checkpoints)
    if not checkpoints.is_dir():
        return None
    incomplete = {folder: "its save did not finish" for folder in sorted((checkpoints / STAGING).glob("checkpoint-*"))}
    complete: list[Path] = []
    for folder in checkpoints.iterdir():
        match = _CHECKPOINT.match(folder.name)
        if match and folder.is_dir():
            problem = checkpoint_problem(folder)
            if problem is None:
                complete.append(folder)
            else:
                incomplete[folder] = problem
    complete.sort(key=lambda f: int(f.name.removeprefix("checkpoint-")))
    newest = complete[-1] if complete else None
    for folder, problem in incomplete.items():
        say(
            f"train: skipping incomplete checkpoint {folder} ({problem}); "
            f"{'resuming from ' + newest.name if newest else 'no complete checkpoint: starting from step 0'}"
        )
        if clean:
            shutil.rmtree(folder, ignore_errors=True)
    return newest


LOW_SPACE = 64 * 2**20


def failed_save_message(path: Path, error: Exception, last: Path | None) -> str | None:
    """One line for a checkpoint save that failed for a reason outside the program (a full or
    read-only disk), or None for anything else (a bug: let it raise).

    torch.save and safetensors report a full disk as RuntimeError / SafetensorError, not OSError,
    so any failure while the device has less than 64 MiB free counts as "no space".
    """
    try:
        free = shutil.disk_usage(path.parent if path.parent.exists() else path.parent.parent).free
    except OSError:
        free = None
    if isinstance(error, OSError) and error.errno != errno.ENOSPC:
        cause = error.strerror or str(error)
    elif isinstance(error, OSError) or (free is not None and free < LOW_SPACE):
        cause = "no space left on the device"
    else:
        return None
    then = f"resumes from {last.name}" if last else "starts again from step 0"
    return (
        f"{path}: could not save a training checkpoint ({cause}); free space and rerun the same "
        f"command: training {then}"
    )


def checkpointing_trainer(base: type) -> type:
    """``base`` (a `transformers.Trainer` class) with checkpoints of the trainable tensors only,
    published by an atomic rename."""
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    class TrainableCheckpoints(base):
        _staging_root: str | None = None

        def _get_output_dir(self, trial) -> str:
            return self._staging_root or super()._get_output_dir(trial)

        def _save_checkpoint(self, model, trial) -> None:
            root = Path(super()._get_output_dir(trial))
            staging = root / STAGING
            name = f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
            if self.args.should_save:
                shutil.rmtree(staging, ignore_errors=True)
            self.accelerator.wait_for_everyone()
            self._staging_root = str(staging)
            try:
                super()._save_checkpoint(model, trial)
            except Exception as error:
                last = last_complete_checkpoint(root, say=lambda _: None, clean=False)
                message = failed_save_message(staging / name, error, last)
                if message is None:
                    raise
                raise HarnessError(message) from None
            finally:
                self._staging_root = None
            self.accelerator.wait_for_everyone()
            if self.args.should_save:
                final = root / name
                if final.exists():  # a checkpoint of the same step from an earlier attempt
                    shutil.rmtree(final)
                from harness.runs import fsync_tree

                fsync_tree(staging / name)  # on disk before it counts as a checkpoint to resume from
                os.replace(staging / name, final)
                shutil.rmtree(staging, ignore_errors=True)
                from transformers.trainer_utils import rotate_checkpoints

                rotate_checkpoints(
                    output_dir=str(root),
                    save_total_limit=self.args.save_total_limit,
                    best_model_checkpoint=self.state.best_model_checkpoint,
                    use_mtime=False,
                )
            self.accelerator.wait_for_everyone()

        def save_model(self, output_dir=None, _internal_call: bool = False) -> None:
            if not _internal_call:
                return super().save_model(output_dir, _internal_call)
            # A checkpoint: the trainable tensors only (DeepSpeed writes its own module file in
            # _save_optimizer_and_scheduler, also without the frozen weights).
            if not self.is_deepspeed_enabled and self.args.should_save:
                save_trainable(self.accelerator.unwrap_model(self.model), Path(output_dir))

        def _save_optimizer_and_scheduler(self, output_dir) -> None:
            if not self.is_deepspeed_enabled:
                return super()._save_optimizer_and_scheduler(output_dir)
            # Trainer's DeepSpeed branch (engine files, then its own scheduler), with the engine
            # told to leave the frozen parameters out.
            engine = self.model_wrapped
            engine.save_checkpoint = functools.partial(engine.save_checkpoint, exclude_frozen_parameters=True)
            try:
                super()._save_optimizer_and_scheduler(output_dir)
            finally:
                del engine.save_checkpoint

        def _load_from_checkpoint(self, resume_from_checkpoint, model=None) -> None:
            if (Path(resume_from_checkpoint) / TRAINABLE_FILE).is_file():
                load_trainable(self.accelerator.unwrap_model(model or self.model), Path(resume_from_checkpoint))
                return
            super()._load_from_checkpoint(resume_from_checkpoint, model)

        def _prepare_for_training(self, max_steps, train_dataloader, resume_from_checkpoint):
            if not (self.is_deepspeed_enabled and resume_from_checkpoint):
                return super()._prepare_for_training(max_steps, train_dataloader, resume_from_checkpoint)
            # DeepSpeed's module file lacks the frozen weights (already loaded from the base
            # model), so its module load must not be strict; the rest is what Trainer does.
            model, loader = super()._prepare_for_training(max_steps, train_dataloader, None)
            path, _ = self.model_wrapped.load_checkpoint(
                resume_from_checkpoint,
                load_module_strict=False,
                load_optimizer_states=True,
                load_lr_scheduler_states=True,
            )
            if path is None:
                raise HarnessError(
                    f"{resume_from_checkpoint}: DeepSpeed could not load this checkpoint; "
                    "rerun with `--force train` to start the stage clean"
                )
            self._load_optimizer_and_scheduler(resume_from_checkpoint)
            self._load_scaler(resume_from_checkpoint)
            return model, loader

    return TrainableCheckpoints
