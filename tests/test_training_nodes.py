"""What a launch takes from the machines: the visible GPUs, the environment for other nodes, a
run folder every node shares (checked over ssh, here with a stand-in ssh script)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.errors import HarnessError


def test_visible_gpus_become_the_launchers_include_list():
    from harness.training.nodes import visible_gpu_ids

    assert visible_gpu_ids(2, {"CUDA_VISIBLE_DEVICES": "4,5,6"}) == ["4", "5"]
    assert visible_gpu_ids(2, {}) is None and visible_gpu_ids(1, {"CUDA_VISIBLE_DEVICES": ""}) is None
    with pytest.raises(HarnessError, match="makes only 1 GPU.*num_gpus=1"):
        visible_gpu_ids(2, {"CUDA_VISIBLE_DEVICES": "3"})
    with pytest.raises(HarnessError, match="indices .*not UUIDs"):
        visible_gpu_ids(1, {"CUDA_VISIBLE_DEVICES": "GPU-8a1c"})


def test_launch_command_respects_cuda_visible_devices_and_passes_the_environment(tiny_llama_dir, tmp_path, monkeypatch):
    from test_training_run import make_recipe, make_run

    from harness.training.stage import launch_command

    recipe = make_recipe(tiny_llama_dir, deepspeed=True, launcher="deepspeed", num_gpus=2)
    run = make_run(tmp_path / "run")
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    monkeypatch.setenv("HF_HOME", "/shared/hf")
    monkeypatch.setenv("HF_TOKEN", "secret")
    command, env = launch_command(recipe, run, out, world=2)
    assert command[command.index("--include") + 1] == "localhost:2,3" and "--num_gpus" not in command
    lines = (out / "deepspeed_env").read_text().splitlines()
    assert env["DS_ENV_FILE"] == str((out / "deepspeed_env").resolve())
    assert "HF_HOME=/shared/hf" in lines and not any(line.startswith("HF_TOKEN=") for line in lines)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    command, _ = launch_command(recipe, run, out, world=2)
    assert command[command.index("--num_gpus") + 1] == "2" and "--include" not in command


def test_deepspeed_cpu_shared_memory_of_the_port_is_removed_and_nothing_else(tmp_path):
    import os

    from harness.training.stage import remove_shared_memory

    uid = os.getuid()
    ours = [tmp_path / f"deepspeed_allreduce_buffer_{uid}_127.0.0.1_41234_{rank}" for rank in (0, 1)]
    others = [
        tmp_path / f"deepspeed_allreduce_buffer_{uid}_127.0.0.1_41235_0",  # another port
        tmp_path / f"deepspeed_allreduce_buffer_{uid + 1}_127.0.0.1_41234_0",  # another user
        tmp_path / "torch_shm_41234",
    ]
    for path in ours + others:
        path.write_bytes(b"x")
    assert sorted(remove_shared_memory(41234, folder=tmp_path)) == ours
    assert [p for p in ours + others if p.exists()] == others


def test_a_resumed_launch_frees_the_shared_memory_of_the_killed_one(tiny_llama_dir, tmp_path, monkeypatch):
    import os
    import sys

    from test_training_run import make_recipe, make_run

    from harness.training import stage

    monkeypatch.setattr(stage, "SHM_FOLDER", tmp_path)
    stale = tmp_path / f"deepspeed_allreduce_buffer_{os.getuid()}_127.0.0.1_41777_0"
    stale.write_bytes(b"x")
    out = tmp_path / "train.partial"
    out.mkdir()
    (out / stage.LAUNCH_PORT).write_text("41777")  # what a killed attempt leaves
    ran = []
    monkeypatch.setattr(stage, "launch_command", lambda *args: (ran.append(args[-1]) or [sys.executable, "-c", ""], {}))
    recipe = make_recipe(tiny_llama_dir, deepspeed=True, launcher="deepspeed", num_gpus=2)
    with pytest.raises(HarnessError, match="wrote no"):
        stage._launch(recipe, make_run(tmp_path / "run"), out, world=2)
    assert ran and not stale.exists() and not (out / stage.LAUNCH_PORT).exists()


def fake_ssh(tmp_path, code: str):
    """An `ssh` stand-in: runs the remote command here (a shared folder) or exits with ``code``."""
    script = tmp_path / "ssh"
    body = 'shift 4; host=$1; shift; "$@"' if code == "run" else f"exit {code}"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_a_run_folder_other_nodes_do_not_share_is_a_clear_error(tmp_path):
    from harness.training.nodes import check_shared_folder

    out = tmp_path / "run" / "train"
    out.mkdir(parents=True)
    check_shared_folder(out, ["worker-1"], ssh=fake_ssh(tmp_path, "run"))  # sees the marker: fine
    with pytest.raises(HarnessError, match=r"run folder .*run is not shared with worker-1 .*--run-dir"):
        check_shared_folder(out, ["worker-1"], ssh=fake_ssh(tmp_path, "1"))
    with pytest.raises(HarnessError, match="cannot reach worker-1 over ssh"):
        check_shared_folder(out, ["worker-1"], ssh=fake_ssh(tmp_path, "255"))
    check_shared_folder(out, ["localhost"], ssh=fake_ssh(tmp_path, "1"))  # this host: not asked
    assert not list(out.glob(".shared-check-*"))


def test_other_nodes_get_the_harness_and_tracker_settings_not_their_secrets():
    from harness.training.nodes import node_environment

    env = {
        "HARNESS_CACHE": "/shared/cache",
        "WANDB_PROJECT": "slam",
        "WANDB_API_KEY": "secret",
        "MLFLOW_TRACKING_URI": "http://tracker:5000",
        "MLFLOW_TRACKING_PASSWORD": "secret",
        "TENSORBOARD_LOGGING_DIR": "/shared/tb",
        "HOME": "/home/me",
    }
    assert node_environment(env) == {
        "HARNESS_CACHE": "/shared/cache",
        "MLFLOW_TRACKING_URI": "http://tracker:5000",
        "TENSORBOARD_LOGGING_DIR": "/shared/tb",
        "WANDB_PROJECT": "slam",
    }


# -- torchrun's multi-node mode: every node runs the same `harness run` --------------------------


def test_torchrun_on_several_nodes_takes_this_nodes_rank_and_the_first_nodes_address(tiny_llama_dir, tmp_path):
    from test_training_run import make_recipe, make_run

    from harness.training.nodes import master_address, node_rank, world_size
    from harness.training.stage import launch_command

    recipe = make_recipe(
        tiny_llama_dir, launcher="torchrun", num_gpus=2, nnodes=2, global_batch_size=8, per_device_batch_size=2
    )
    training = recipe.training
    assert world_size(training) == 4
    assert node_rank(training, {"SLURM_NODEID": "1"}) == 1 and node_rank(training, {"NODE_RANK": "0"}) == 0
    assert master_address(training, {"MASTER_ADDR": "gpu-a"}) == "gpu-a"
    with pytest.raises(HarnessError, match="which node is this.*training.node_rank"):
        node_rank(training, {})
    with pytest.raises(HarnessError, match=r"SLURM_NODEID is 2, not below training.nnodes 2"):
        node_rank(training, {"SLURM_NODEID": "2"})
    with pytest.raises(HarnessError, match="where do the nodes meet.*training.master_addr"):
        master_address(training, {})

    run = make_run(tmp_path / "run")
    out = tmp_path / "out"
    out.mkdir()
    pinned = training.model_copy(update={"node_rank": 1, "master_addr": "gpu-a"})
    command, _ = launch_command(recipe.model_copy(update={"training": pinned}), run, out, world=4)
    flags = dict(zip(command[3::2], command[4::2]))
    assert flags["--nnodes"] == "2" and flags["--node_rank"] == "1" and flags["--nproc_per_node"] == "2"
    assert flags["--master_addr"] == "gpu-a" and flags["--master_port"] == "29500"  # fixed: the other node finds it
    one_node, _ = launch_command(
        make_recipe(tiny_llama_dir, launcher="torchrun", num_gpus=2, per_device_batch_size=2), run, out, world=2
    )
    assert "--nnodes" not in one_node and one_node[one_node.index("--master_addr") + 1] == "127.0.0.1"


def test_several_nodes_are_torchruns_and_the_batch_divides_over_every_process(tiny_llama_dir):
    from pydantic import ValidationError
    from test_training_run import make_recipe

    with pytest.raises(ValidationError, match="nnodes > 1 is torchrun's multi-node mode"):
        make_recipe(tiny_llama_dir, deepspeed=True, launcher="deepspeed", nnodes=2)
    with pytest.raises(ValidationError, match=r"per_device_batch_size 2 x 4 process\(es\) = 8"):
        make_recipe(
            tiny_llama_dir, launcher="torchrun", num_gpus=2, nnodes=2, global_batch_size=4, per_device_batch_size=2
        )
    with pytest.raises(ValidationError, match="node_rank 2 is not below nnodes 2"):
        make_recipe(
            tiny_llama_dir, launcher="torchrun", nnodes=2, node_rank=2, global_batch_size=4, per_device_batch_size=2
        )


def test_where_the_nodes_meet_and_which_node_this_is_retrain_nothing(tiny_llama_dir, tmp_path):
    from test_training_run import make_recipe, make_run

    from harness.pipeline import get_stage, stage_inputs

    run = make_run(tmp_path / "run")
    settings = {"launcher": "torchrun", "nnodes": 2, "global_batch_size": 4, "per_device_batch_size": 2}
    first = make_recipe(tiny_llama_dir, **settings)
    other = make_recipe(tiny_llama_dir, **settings, node_rank=1)
    other = other.model_copy(update={"training": other.training.model_copy(update={"master_addr": "gpu-b"})})
    train = get_stage("train")
    assert stage_inputs(first, run, train) == stage_inputs(other, run, train)


@pytest.mark.integration
def test_two_nodes_run_the_same_command_and_the_second_joins_the_training(tiny_llama_dir, tmp_path):
    """Two "nodes" on this machine (NODE_RANK 0 and 1), started as srun would: the second waits,
    joins the first node's torchrun launch with its rank, writes nothing, and ends with the training."""
    from harness.training.stage import free_port

    repo = Path(__file__).resolve().parent.parent
    recipe = tmp_path / "two_nodes.yaml"
    recipe.write_text(
        textwrap.dedent(f"""
            name: two_nodes
            languages: [de, en]
            model: {{source: "{tiny_llama_dir}"}}
            selection:
              layers: {{policy: first_k, k: 1}}
            training:
              data: {{source: demo, max_pairs_per_language: 8}}
              max_steps: 3
              global_batch_size: 4
              per_device_batch_size: 2
              max_length: 128
              launcher: torchrun
              num_gpus: 1
              nnodes: 2
              master_addr: 127.0.0.1
              master_port: {free_port()}
        """)
    )
    run = tmp_path / "run"
    command = [sys.executable, "-m", "harness", "run", str(recipe), "--run-dir", str(run)]
    env = {**os.environ, "PYTHONPATH": str(repo), "HARNESS_NODE_WAIT_S": "300"}
    second = subprocess.Popen(
        command, cwd=tmp_path, env={**env, "NODE_RANK": "1"}, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    first = subprocess.run(command, cwd=tmp_path, env={**env, "NODE_RANK": "0"}, capture_output=True, text=True)
    _, err = second.communicate(timeout=300)
    print(err[-2000:])
    assert first.returncode == 0, first.stderr[-3000:]
    assert second.returncode == 0, err[-3000:]
    assert "node 1: joining the training in" in err and "node 1: training done" in err
    record = json.loads((run / "train" / "train.json").read_text())
    assert record["hyperparameters"]["world_size"] == 2 and record["steps"] == 3
    assert len((run / "invocations.jsonl").read_text().splitlines()) == 1  # the second node logged nothing
