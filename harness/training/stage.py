"""The `train` stage: check the settings, write the DeepSpeed config, launch, collect.

``launcher: none`` trains in this process, unless ``deepspeed: true``: DeepSpeed needs a
distributed environment even for one process, so the stage then starts one worker process
with RANK/LOCAL_RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT set (gloo on a CPU, NCCL on a GPU),
which keeps that process group out of the pipeline's own process. ``launcher: deepspeed``
re-launches the stage as ``deepspeed --num_gpus N [--hostfile H] --module
harness.training.worker ...``; ``launcher: torchrun`` as ``torchrun --nproc_per_node N -m
harness.training.worker ...``. Every rank rebuilds the same data (seeded) and rank 0 writes the
outputs into the stage folder:

- ``train.json``: loss curve, tokens seen, wall time, throughput, peak memory, GPU-hours, the
  exact trainable names and counts, data counts and filter counts per language;
- ``delta.safetensors`` + ``delta.json`` (``save: delta|both``), ``merged/`` (``save:
  merged|both``), ``adapter/`` (LoRA);
- ``deepspeed.json`` when DeepSpeed is on; ``checkpoints/`` while training (an interrupted run
  resumes from the last one; removed at the end unless ``keep_checkpoints``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from harness.artifacts import TRAIN_FILE, TrainRecord, parse_artifact, redo
from harness.errors import HarnessError
from harness.runs import PARENT_ENV, die_with_parent, parent_identity, read_json, write_json
from harness.training.trainer import DEEPSPEED_FILE, deepspeed_config, gradient_accumulation, train_in_process

RECIPE_FILE = "recipe.json"
WORKER_ERROR = "worker_error.json"
LAUNCH_PORT = "launch_port.txt"
"""The port of a launch in progress: a resumed attempt frees the shared memory of a killed one."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def master_port(training) -> int:
    """The rendezvous port: fixed where other nodes must find it, else a free one."""
    return training.master_port or (29500 if training.hostfile or training.nnodes > 1 else free_port())


SHM_FOLDER = Path("/dev/shm")


def remove_shared_memory(port: int, folder: Path | None = None) -> list[Path]:
    """Remove this machine's DeepSpeed CPU all-reduce buffers for ``port``; returns them.

    On a CPU, DeepSpeed's shm all-reduce creates one ~69 MB segment per rank in /dev/shm (RAM),
    named by user, master address and port, and never unlinks it: every run would leak them,
    and a later run on the same port would attach to the stale ones. Called before and after
    each launch, and for the port of a killed attempt when its stage resumes.
    """
    removed = []
    for path in (folder or SHM_FOLDER).glob(f"deepspeed_allreduce_buffer_{os.getuid()}_*_{port}_*"):
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def check_training(recipe) -> int:
    """Fail early on settings that cannot work; returns the world size."""
    from harness.training.nodes import world_size

    training = recipe.training
    if training is None:
        raise HarnessError(f"recipe {recipe.name!r} has no `training:` section")
    world = world_size(training)  # reads (and checks) the hostfile
    gradient_accumulation(training, world)
    if training.launcher != "none":
        import torch

        if torch.cuda.is_available() and training.hostfile is None and training.num_gpus > torch.cuda.device_count():
            raise HarnessError(
                f"training.num_gpus {training.num_gpus}: this machine has {torch.cuda.device_count()} GPU(s)"
            )
    return world


def run_train(recipe, run, out) -> None:
    """Train as the recipe says and write the stage's files into ``out``."""
    import torch

    out = Path(out)
    world = check_training(recipe)
    training = recipe.training
    cuda = torch.cuda.is_available()
    if training.deepspeed:
        from harness.training.trainer import resolve_precision

        bf16 = resolve_precision(training, cuda) == "bf16"
        write_json(out / DEEPSPEED_FILE, deepspeed_config(training, bf16, cuda))
    if training.launcher == "none" and not training.deepspeed:
        train_in_process(recipe, run, out)
    else:
        _launch(recipe, run, out, world)
    report = read_json(out / TRAIN_FILE)
    parse_artifact(out / TRAIN_FILE, TrainRecord, report, redo("train"))  # the shape later stages read


def _launch(recipe, run, out: Path, world: int) -> None:
    write_json(out / RECIPE_FILE, recipe.resolved())
    (out / WORKER_ERROR).unlink(missing_ok=True)
    if recipe.training.hostfile:
        from harness.training.nodes import check_shared_folder, read_hostfile

        check_shared_folder(out, list(read_hostfile(recipe.training.hostfile)))
    port = master_port(recipe.training)
    command, env = launch_command(recipe, run, out, world, port)
    # The launcher holds the run's lock with us and gets SIGTERM when this process dies, even by
    # kill -9. DeepSpeed's launcher neither passes that on nor keeps the lock open for its
    # workers: they watch this process and hold the run's workers lock themselves (worker.py).
    lock = (run.lock_fd,) if getattr(run, "lock_fd", None) is not None else ()
    record = out / LAUNCH_PORT
    previous = record.read_text().strip() if record.exists() else ""  # left by an attempt that was killed
    if previous.isdigit():
        remove_shared_memory(int(previous))
    remove_shared_memory(port)
    record.write_text(str(port))
    try:
        result = subprocess.run(command, env=env, pass_fds=lock, preexec_fn=die_with_parent)
    finally:
        remove_shared_memory(port)
        record.unlink(missing_ok=True)
    if (out / WORKER_ERROR).exists():
        raise HarnessError(read_json(out / WORKER_ERROR)["error"])
    if result.returncode != 0:
        raise HarnessError(ended_message(result.returncode, out))
    if not (out / TRAIN_FILE).exists():
        raise HarnessError(f"{out}: training finished but wrote no train.json (its output is above); run again")


def ended_message(code: int, out: Path) -> str:
    """One line for a training launch that ended badly: which signal (an out-of-memory kill is a
    SIGKILL), that its checkpoints are kept, and what to try."""
    import signal

    # a signal shows as -N from Popen, or as 128+N / 256-N from a launcher that passed it on
    number = -code if code < 0 else code - 128 if 128 < code < 160 else 256 - code if code > 224 else None
    try:
        name = signal.Signals(number).name if number else None
    except ValueError:
        name = None
    resume = f"checkpoints in {out} are kept: run the same command again to resume"
    if name == "SIGKILL":
        return (
            f"{out}: a training process was killed (SIGKILL; the kernel's out-of-memory killer sends it); {resume}; "
            "if memory ran out, lower training.per_device_batch_size or max_length, or set gradient_checkpointing: true"
        )
    if name is not None:
        return f"{out}: a training process was ended by {name} (its output is above); {resume}"
    return f"{out}: training exited with code {code} (its output is above); {resume}"


def launch_command(recipe, run, out: Path, world: int, port: int | None = None) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that run the worker under the recipe's launcher."""
    training = recipe.training
    env = dict(os.environ)
    env[PARENT_ENV] = parent_identity()  # the workers end when this process does
    worker = ["harness.training.worker", "--run-dir", str(Path(run.root).resolve()), "--out", str(out.resolve())]
    port = port or master_port(training)
    if training.launcher == "none":  # deepspeed in one process: a private distributed environment
        env.update(
            {
                "RANK": "0",
                "LOCAL_RANK": "0",
                "WORLD_SIZE": "1",
                "LOCAL_WORLD_SIZE": "1",
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": str(port),
            }
        )
        return [sys.executable, "-m", *worker], env
    if training.launcher == "deepspeed":
        from harness.training.nodes import visible_gpu_ids, write_node_environment

        # other nodes get the hub/cache settings through DeepSpeed's environment file
        env["DS_ENV_FILE"] = str(write_node_environment(out).resolve())
        visible = None if training.hostfile else visible_gpu_ids(training.num_gpus, env)
        gpus = ["--include", f"localhost:{','.join(visible)}"] if visible else ["--num_gpus", str(training.num_gpus)]
        command = [sys.executable, "-m", "deepspeed.launcher.runner", *gpus, "--master_port", str(port)]
        if training.hostfile:
            command += ["--hostfile", str(Path(training.hostfile).resolve())]
        else:
            command += ["--master_addr", "127.0.0.1"]
        return [*command, "--module", *worker], env
    from harness.training.nodes import master_address, node_rank

    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(training.num_gpus)]
    if training.nnodes > 1:  # every node runs this; SLURM's srun gives each the job's environment
        command += ["--nnodes", str(training.nnodes), "--node_rank", str(node_rank(training, env))]
    command += ["--master_addr", master_address(training, env), "--master_port", str(port)]
    return [*command, "-m", *worker], env
