"""The benchmark scripts run, so they cannot rot where nothing runs them: benchmarks/gpu_checks.sh
in its smoke mode (every phase on the CPU with tiny models) and the others on small settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.integration


def environment(tmp_path) -> dict[str, str]:
    from harness.models.loading import cache_root

    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TORCH_EXTENSIONS_DIR": os.environ.get("TORCH_EXTENSIONS_DIR") or str(cache_root() / "torch_extensions"),
        "TMPDIR": str(tmp_path),
    }


def test_gpu_checks_smoke_runs_every_phase_on_the_cpu(tmp_path):
    env = {
        **environment(tmp_path),
        "SMOKE": "1",
        "OUT": str(tmp_path / "out"),
        "WORK": str(tmp_path / "work"),
        "PYTHON": sys.executable,
    }
    done = subprocess.run(
        ["bash", "benchmarks/gpu_checks.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500
    )
    printed = done.stdout + done.stderr
    assert done.returncode == 0, printed[-6000:]
    for phase in ("build", "train", "ceiling", "release", "eval", "shards"):
        assert f"== {phase} (limit" in printed and f"{phase}: FAILED" not in printed, phase
    assert "steady tok/s" in printed and "DeepSpeed (launcher) vs plain Trainer losses" in printed
    assert "ceiling (bare forward+backward+AdamW" in printed and "harness plan" in printed
    assert "model object after the stage: gone" in printed
    assert "evaluate stage / raw generate: before" in printed
    assert "identical" in (tmp_path / "out" / "shards.txt").read_text()
    assert "0 phase(s) failed" in printed


SMALL = {
    "gpu_training.py": ["--tiny", "--steps", "2"],
    "bench_training.py": ["--model", "{tiny}", "--steps", "2", "--batch", "2", "--max-length", "64", "--layers", "2"],
    "bench_padding.py": [
        "--model", "{tiny}", "--data", "demo", "--global-batch", "16", "--micro-batch", "4",
        "--max-length", "96", "--micro-batches", "2", "--threads", "1",
    ],
    "bench_checkpoint.py": ["--model", "{tiny}", "--layers", "0,1", "--repeats", "1", "--threads", "1"],
    "bench_probe.py": [
        "--model", "{tiny}", "--languages", "en,de", "--n", "2", "--batch-size", "2", "--max-tokens", "32",
        "--repeats", "1",
    ],
    "bench_startup.py": ["--runs", "1", "--", "ls", "baselines"],
}  # fmt: skip
"""Small settings of the scripts gpu_checks.sh does not run. Not run here: bench_rescore.py (a
finished run of the user's), check_real_data.py (the real data files, which tests must not need),
gpu_bundle.py's download (the network; its pairs slice is tested below)."""


@pytest.mark.parametrize("script", sorted(SMALL))
def test_a_benchmark_script_runs_on_small_settings(script, tiny_llama_dir, tmp_path):
    arguments = [part.replace("{tiny}", str(tiny_llama_dir)) for part in SMALL[script]]
    done = subprocess.run(
        [sys.executable, f"benchmarks/{script}", *arguments],
        cwd=ROOT,
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]


def test_the_gpu_bundle_carries_a_slice_of_the_real_pairs(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from gpu_bundle import copy_pairs

    for lang in ("de", "bn"):
        (tmp_path / "pairs" / f"{lang}-en").mkdir(parents=True)
        (tmp_path / "pairs" / f"{lang}-en" / "train.en").write_text("a\nb\nc\n", encoding="utf-8")
    (tmp_path / "pairs" / "de-en" / "train.de").write_text("x\ny\nz\n", encoding="utf-8")  # bn has no train.bn
    copy_pairs(tmp_path / "pairs", tmp_path / "bundle", 2)
    assert (tmp_path / "bundle" / "de-en" / "train.de").read_text() == "x\ny\n"
    assert (tmp_path / "bundle" / "de-en" / "train.en").read_text() == "a\nb\n"
    assert not (tmp_path / "bundle" / "bn-en").exists()
