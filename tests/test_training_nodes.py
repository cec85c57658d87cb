"""What a launch takes from the machines: the visible GPUs, the environment for other nodes, a
run folder every node shares (checked over ssh, here with a stand-in ssh script)."""

from __future__ import annotations

import stat

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
