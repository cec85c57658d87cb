"""What a launch needs from the machines: the GPUs this process may use, the environment every
node must see, and a run folder that every node shares.

- ``CUDA_VISIBLE_DEVICES``: DeepSpeed's launcher ignores it once ``--num_gpus`` is given and
  takes GPUs 0..N-1; the launch names the visible ones instead (``--include localhost:4,5``).
- Environment: DeepSpeed starts ranks on other nodes over ssh with only NCCL_*/PYTHON* and the
  variables of a ``.deepspeed_env`` file. The launch writes such a file into the stage folder
  (HF_* hub and cache settings, cache folders, thread counts) and points ``DS_ENV_FILE`` at it.
- A shared run folder: every rank reads the resolved recipe from the stage folder and rank 0
  writes the outputs there, so with a hostfile each node must see the same folder; the launch
  checks over ssh before starting.
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path

from harness.errors import HarnessError

NODE_ENV_FILE = "deepspeed_env"
NODE_ENV_PREFIXES = (
    "HF_",
    "HUGGINGFACE_",
    "TRANSFORMERS_",
    "TOKENIZERS_",
    "TORCH_",
    "TRITON_",
    "DS_",
    "XDG_CACHE_HOME",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "CUDA_HOME",
    "PYTORCH_",
    "HARNESS_",  # the harness's own (HARNESS_CACHE: the tokenisation cache every rank reads)
    "WANDB_",  # the trackers of training.report_to: project, entity, mode, run group
    "MLFLOW_",
    "COMET_",
    "TENSORBOARD_",
)
NODE_ENV_SECRETS = (
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_HUB_TOKEN",
    "WANDB_API_KEY",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_PASSWORD",
    "COMET_API_KEY",
)
"""Never written to a file in the run folder: each node reads its own credentials (``hf auth
login``, ``wandb login``, ~/.netrc)."""


def visible_gpu_ids(num_gpus: int, env: Mapping[str, str] | None = None) -> list[str] | None:
    """The first ``num_gpus`` ids of ``CUDA_VISIBLE_DEVICES``, or None when it is not set."""
    env = os.environ if env is None else env
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is None or not visible.strip():
        return None
    ids = [part.strip() for part in visible.split(",") if part.strip()]
    if not all(part.isdigit() for part in ids):
        raise HarnessError(
            f"CUDA_VISIBLE_DEVICES={visible!r}: the DeepSpeed launcher takes GPU indices (e.g. 4,5), "
            "not UUIDs; set it to indices or use training.launcher=torchrun"
        )
    if len(ids) < num_gpus:
        raise HarnessError(
            f"training.num_gpus {num_gpus}: CUDA_VISIBLE_DEVICES={visible!r} makes only {len(ids)} "
            f"GPU(s) visible; set training.num_gpus={len(ids)} or widen CUDA_VISIBLE_DEVICES"
        )
    return ids[:num_gpus]


def node_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables other nodes need to load the same model and data the same way."""
    env = os.environ if env is None else env
    return {
        key: value
        for key, value in sorted(env.items())
        if key.startswith(NODE_ENV_PREFIXES)
        and key not in NODE_ENV_SECRETS
        and key != "DS_ENV_FILE"
        and "\n" not in value
    }


def write_node_environment(folder: Path, env: dict[str, str] | None = None) -> Path:
    """``folder/deepspeed_env`` in the ``.deepspeed_env`` format (KEY=value lines)."""
    path = Path(folder) / NODE_ENV_FILE
    path.write_text("".join(f"{key}={value}\n" for key, value in node_environment(env).items()), encoding="utf-8")
    return path


def _is_this_host(host: str) -> bool:
    return host in {"localhost", "127.0.0.1", socket.gethostname(), socket.getfqdn()}


def check_shared_folder(folder: Path, hosts: list[str], ssh: str = "ssh") -> None:
    """Every host of a hostfile sees ``folder``: a marker written here is looked for over ssh."""
    folder = Path(folder).resolve()
    marker = folder / f".shared-check-{uuid.uuid4().hex}"
    marker.write_text("")
    try:
        for host in hosts:
            if _is_this_host(host):
                continue
            command = [ssh, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", host, "test", "-e", str(marker)]
            try:
                result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            except (OSError, subprocess.TimeoutExpired) as error:
                raise HarnessError(
                    f"training.hostfile: cannot reach {host} over ssh ({error}); the DeepSpeed "
                    "launcher needs passwordless ssh to every node"
                ) from None
            if result.returncode == 255:
                raise HarnessError(
                    f"training.hostfile: cannot reach {host} over ssh; the DeepSpeed launcher "
                    "needs passwordless ssh to every node"
                )
            if result.returncode != 0:
                raise HarnessError(
                    f"the run folder {folder.parent} is not shared with {host} (it cannot see "
                    f"{marker.name}); every node reads the recipe from the run folder and rank 0 writes "
                    "the results there: put it on a filesystem all nodes mount (--run-dir /shared/...)"
                )
    finally:
        marker.unlink(missing_ok=True)


def world_size(training) -> int:
    """Data-parallel processes a recipe's training would run: GPUs per node x nodes."""
    if training is None or training.launcher == "none":
        return 1
    nodes = training.nnodes
    if training.hostfile:
        nodes = len(read_hostfile(training.hostfile))
    return training.num_gpus * nodes


def node_rank(training, env: Mapping[str, str] = os.environ) -> int:
    """This node's rank in a torchrun launch over ``training.nnodes`` nodes (0 on one node)."""
    if training.nnodes == 1:
        return 0
    if training.node_rank is not None:
        return training.node_rank
    for name in ("NODE_RANK", "SLURM_NODEID"):
        value = env.get(name, "")
        if value.isdigit():
            if int(value) >= training.nnodes:
                raise HarnessError(f"${name} is {value}, not below training.nnodes {training.nnodes}")
            return int(value)
    raise HarnessError(
        f"training.nnodes {training.nnodes}: which node is this? set training.node_rank, or $NODE_RANK "
        "(SLURM sets $SLURM_NODEID in every srun task)"
    )


def master_address(training, env: Mapping[str, str] = os.environ) -> str:
    """Where torchrun's ranks meet: the first node (127.0.0.1 on one node)."""
    if training.nnodes == 1:
        return "127.0.0.1"
    if training.master_addr:
        return training.master_addr
    if env.get("MASTER_ADDR"):
        return env["MASTER_ADDR"]
    if env.get("SLURM_JOB_NODELIST"):
        try:
            hosts = subprocess.run(
                ["scontrol", "show", "hostnames", env["SLURM_JOB_NODELIST"]],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout.split()
        except (OSError, subprocess.SubprocessError):
            hosts = []
        if hosts:
            return hosts[0]
    raise HarnessError(
        f"training.nnodes {training.nnodes}: where do the nodes meet? set training.master_addr to the first "
        "node's address, or $MASTER_ADDR"
    )


def read_hostfile(path: str) -> dict[str, int]:
    """A DeepSpeed/MPI hostfile: ``host slots=N`` per line -> {host: slots}."""
    file = Path(path)
    if not file.is_file():
        raise HarnessError(
            f"training.hostfile {path!r}: file not found; write one line per node "
            "(`worker-1 slots=8`) or remove the key for a single node"
        )
    hosts: dict[str, int] = {}
    for number, line in enumerate(file.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        slots = [p for p in parts[1:] if p.startswith("slots=")]
        if not slots or not slots[0][6:].isdigit():
            raise HarnessError(f"{path}: line {number}: expected `hostname slots=N`, got {line!r}")
        hosts[parts[0]] = int(slots[0][6:])
    if not hosts:
        raise HarnessError(f"{path}: the hostfile lists no host")
    return hosts
