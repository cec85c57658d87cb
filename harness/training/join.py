"""The nodes after the first in torchrun's multi-node mode (``training.nnodes`` > 1).

torchrun starts no process on other machines: every node runs it. So every node runs the same
``harness run`` (one srun task per node). The first node (node rank 0) runs the pipeline and
holds the run folder; each other node holds nothing and writes nothing: it waits for each training
launch of the first node (its job file in a ``train.partial/`` folder, written by this
invocation), starts torchrun with its own node rank beside it, and ends when the training it
joined ends or the first node has moved past training. The run folder must be on a filesystem
every node mounts: the job files are how the nodes find each other's launches.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from harness.artifacts import ATTEMPT, MARKER, STAGE_DIRS, STAGES_DIR
from harness.console import console
from harness.errors import HarnessError
from harness.runs import Run, die_with_parent, read_json
from harness.training.nodes import node_rank, world_size
from harness.training.stage import RECIPE_FILE, ended_message, launch_command
from harness.training.worker import TrainingJob

WAIT_ENV = "HARNESS_NODE_WAIT_S"
"""How long a node waits for the first node's next training launch (default 3600 s)."""


def joins_first_node(recipe) -> bool:
    """Whether this process is a node after the first of a torchrun multi-node training."""
    training = recipe.training
    return training is not None and training.launcher == "torchrun" and training.nnodes > 1 and node_rank(training) > 0


def join_training(recipe, run_dir: Path, poll: float = 1.0) -> None:
    """Join the first node's training launches (the chained stages', then the recipe's), in order."""
    root = Path(run_dir)
    rank = node_rank(recipe.training)
    started = time.time() - 5  # a job file older than this was left by an earlier invocation
    launches = [root / STAGES_DIR / stage.name for stage in recipe.stages] + [root]
    later = [root / (STAGE_DIRS[stage] + suffix) for stage in ("evaluate", "report") for suffix in ("", ".partial")]
    wait = float(os.environ.get(WAIT_ENV, 3600))
    say = console(stderr=True)
    say.print(f"node {rank}: waiting for the first node's training launch in {root}", highlight=False)
    joined = 0
    deadline = time.time() + wait
    while joined < len(launches):
        fresh = [i for i in range(joined, len(launches)) if _fresh(_job_file(launches[i]), started)]
        if fresh:
            joined = fresh[0]
            _join(launches[joined], rank)
            joined += 1
            deadline = time.time() + wait
            continue
        if any(_fresh(folder / name, started) for folder in later for name in (MARKER, ATTEMPT)):
            say.print(f"node {rank}: the first node went on past training; nothing more to join", highlight=False)
            return
        if time.time() > deadline:
            raise HarnessError(
                f"node {rank}: no training launch of the first node in {root} within {wait:.0f} s; the run folder "
                f"must be one every node mounts (--run-dir /shared/...), and the first node must run the same "
                f"recipe (its output says why it has not reached training); ${WAIT_ENV} sets the wait"
            )
        time.sleep(poll)
    say.print(f"node {rank}: training done; the first node goes on with the other stages", highlight=False)


def _job_file(run_root: Path) -> Path:
    return Run(run_root).partial_dir("train") / RECIPE_FILE


def _fresh(path: Path, since: float) -> bool:
    try:
        return path.stat().st_mtime >= since
    except OSError:
        return False


def _join(run_root: Path, rank: int) -> None:
    """torchrun for one training launch of the first node, with this node's rank."""
    run = Run(run_root)
    out = run.partial_dir("train")
    job = TrainingJob.model_validate(read_json(out / RECIPE_FILE))
    # the first node's job, launched here as this node: its rank, the same address and port
    job.training = job.training.model_copy(update={"node_rank": rank})
    command, env = launch_command(job, run, out, world_size(job.training))
    console(stderr=True).print(f"node {rank}: joining the training in {out}", highlight=False)
    result = subprocess.run(command, env=env, preexec_fn=die_with_parent, stdout=sys.stdout, stderr=sys.stderr)
    if result.returncode != 0:
        raise HarnessError(f"node {rank}: {ended_message(result.returncode, out)}")
