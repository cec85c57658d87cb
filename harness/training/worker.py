"""One training rank, started by the train stage under a launcher.

    python -m harness.training.worker --run-dir RUN --out STAGE_DIR [--local_rank N]

Reads the sections of the resolved recipe that training uses (``STAGE_DIR/recipe.json``, which
the stage wrote after checking the whole recipe) and trains; a user mistake found here is
written to ``STAGE_DIR/worker_error.json`` (rank 0) so the stage can report it as one clear
message, and the process exits with code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pydantic import BaseModel

from harness.models.config import ModelConfig
from harness.selection.config import SelectionConfig
from harness.training.config import TrainingConfig


class TrainingJob(BaseModel):
    """The part of a recipe that a training rank reads (other sections are ignored)."""

    model: ModelConfig
    languages: list[str]
    seed: int
    selection: SelectionConfig | None = None
    training: TrainingConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.training.worker")
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--local_rank", "--local-rank", type=int, default=None, help="set by the deepspeed launcher; LOCAL_RANK is used"
    )
    args = parser.parse_args(argv)
    if args.local_rank is not None:
        os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    choose_deepspeed_accelerator(os.environ)
    from harness.runs import die_with_parent, hold_workers_lock, watch_launcher

    parent = os.getppid()
    die_with_parent()  # a worker never trains on after its launcher (or the harness) is gone
    if os.getppid() != parent:
        return 1
    watch_launcher()  # nor after the harness, whatever launchers sit between
    hold_workers_lock(Path(args.run_dir))  # a rerun waits for this process to end

    from harness.errors import HarnessError
    from harness.runs import Run, read_json, write_json
    from harness.training.stage import RECIPE_FILE, WORKER_ERROR
    from harness.training.trainer import train_in_process

    out = Path(args.out)
    if not (out / RECIPE_FILE).exists():  # a node that does not share the run folder
        print(
            f"error: {out / RECIPE_FILE} not found on {os.uname().nodename}: the run folder must be on a "
            "filesystem every node of the hostfile mounts",
            file=sys.stderr,
        )
        return 2
    try:
        job = TrainingJob.model_validate(read_json(out / RECIPE_FILE))
        train_in_process(job, Run(Path(args.run_dir)), out)
    except HarnessError as error:
        if int(os.environ.get("RANK", 0)) == 0:
            write_json(out / WORKER_ERROR, {"error": str(error)})
        print(f"error: {error}", file=sys.stderr)
        close_process_group(wait=False)
        return error.exit_code
    close_process_group(wait=True)
    return 0


def choose_deepspeed_accelerator(env) -> None:
    """``DS_ACCELERATOR=cpu`` unless torch sees a GPU (DeepSpeed would otherwise guess, and warn).

    Decided by torch, not by device files: WSL2's CUDA has no /dev/nvidiactl, and a container may
    show the device files without a working driver. A value the user set is kept.
    """
    import torch

    if not torch.cuda.is_available():
        env.setdefault("DS_ACCELERATOR", "cpu")


def close_process_group(wait: bool) -> None:
    """Wait for every rank (``wait``), then tear the process group down before the interpreter
    exits: left to exit, a rank could kill gloo's threads while they still ran ("terminate
    called without an active exception", SIGABRT, about one two-rank CPU run in ten)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
