"""kill -9 of the harness at a training step, under every launcher: no worker trains on, a rerun resumes.

Between the harness and a training worker sit launchers (DeepSpeed's runner and its ``launch``
child, torchrun's agent) that a kill -9 of the harness re-parents instead of ending; the worker
watches the harness process itself and holds the run's workers lock, which a rerun waits for.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent

LAUNCHERS = {
    "default": "launcher: none\n  deepspeed: true",  # one worker process in a private distributed environment
    "torchrun": "launcher: torchrun\n  num_gpus: 1",
    "deepspeed": "launcher: deepspeed\n  deepspeed: true\n  num_gpus: 1",
}


def recipe_text(model: Path, launcher: str) -> str:
    return textwrap.dedent(f"""
        name: tiny_kill
        languages: [de, en]
        model: {{source: "{model}"}}
        selection:
          layers: {{policy: first_k, k: 1}}
          probe: {{dataset: demo, n: 4, batch_size: 4, max_tokens: 32}}
        training:
          data: {{source: demo, max_pairs_per_language: 8}}
          max_steps: 20
          save_steps: 3
          global_batch_size: 2
          per_device_batch_size: 2
          max_length: 128
          LAUNCHER
    """).replace("LAUNCHER", LAUNCHERS[launcher])


def processes_on(run: Path) -> list[str]:
    """``PID command`` of every process (but this one) whose command line names the run folder."""
    found = []
    needle = str(run.resolve()).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if needle in argv and state != "Z":
            words = argv.replace(b"\0", b" ").decode(errors="replace").strip()
            found.append(f"{entry.name} {words}")
    return found


@pytest.fixture
def environment(monkeypatch):
    from harness.models.loading import cache_root

    # DeepSpeed's CPU ops compile once into this folder (see test_training_deepspeed.py)
    extensions = os.environ.get("TORCH_EXTENSIONS_DIR") or str(cache_root() / "torch_extensions")
    return {**os.environ, "PYTHONPATH": str(REPO), "TORCH_EXTENSIONS_DIR": extensions, "PYTHONUNBUFFERED": "1"}


@pytest.mark.parametrize("launcher", list(LAUNCHERS))
def test_kill_9_at_a_training_step_leaves_no_worker_and_a_rerun_resumes(
    launcher, tiny_llama_dir, tmp_path, environment
):
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(recipe_text(tiny_llama_dir, launcher))
    run = tmp_path / "run"
    command = [sys.executable, "-m", "harness", "run", str(recipe), "--run-dir", str(run)]
    log = tmp_path / "harness.log"  # a file, as under a scheduler: a closed pipe would end the orphans too
    with log.open("w") as stderr:
        harness = subprocess.Popen(command, cwd=tmp_path, env=environment, stderr=stderr, stdout=subprocess.DEVNULL)
    deadline = time.time() + 600
    while "train step 4/" not in log.read_text() and harness.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    if harness.poll() is not None or time.time() >= deadline:
        pytest.fail("training never reached step 4:\n" + log.read_text()[-3000:])
    harness.send_signal(signal.SIGKILL)
    harness.wait()
    right_after = processes_on(run)
    deadline = time.time() + 5
    while processes_on(run) and time.time() < deadline:
        time.sleep(0.2)
    left = processes_on(run)
    steps = [
        int(line.split()[2].split("/")[0]) for line in log.read_text().splitlines() if line.startswith("train step")
    ]
    print(f"{launcher}: processes on the run right after kill -9: {right_after}; 5 s later: {left}")
    print(f"{launcher}: killed at step 4, the last step logged: {max(steps)}")
    assert left == [], left
    assert max(steps) < 20, "the orphaned worker trained to the end"

    rerun = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True)
    resumed = [line for line in rerun.stderr.splitlines() if "resumed at step" in line]
    print(f"{launcher}: rerun: {resumed}")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    step = int(resumed[0].split("step ")[1].split("/")[0]) if resumed else 0
    assert 3 <= step < 20 and step % 3 == 0, rerun.stderr[-3000:]  # a checkpoint (saves every 3 steps), not the start
    assert (run / "train" / "DONE.json").is_file()


def test_a_training_worker_killed_by_a_signal_is_one_line(tiny_llama_dir, tmp_path, environment):
    """What an out-of-memory kill looks like: the worker gets SIGKILL; the harness says so in one line."""
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(recipe_text(tiny_llama_dir, "default"))
    run = tmp_path / "run"
    log = tmp_path / "harness.log"
    command = [sys.executable, "-m", "harness", "run", str(recipe), "--run-dir", str(run)]
    with log.open("w") as stderr:
        harness = subprocess.Popen(command, cwd=tmp_path, env=environment, stderr=stderr, stdout=subprocess.DEVNULL)
    deadline = time.time() + 600
    while "train step 2/" not in log.read_text() and harness.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    workers = [int(line.split()[0]) for line in processes_on(run) if "harness.training.worker" in line]
    assert workers, log.read_text()[-3000:]
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    assert harness.wait(timeout=120) == 2
    err = log.read_text()
    errors = [line for line in err.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "a training process was killed (SIGKILL" in errors[0], err[-3000:]
    assert "run the same command again to resume" in errors[0] and "Traceback" not in err
