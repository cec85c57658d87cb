"""`harness env`, the manifest's environment record, and compare's warning on different hardware."""

from __future__ import annotations

import json
import stat

from reporting_fixtures import TRAINED_13B, make_run

from harness.cli import compare_command, main
from harness.environment import describe_hardware, environment, gpus, same_hardware

SMI = """#!/bin/sh
if [ "$1" = "--query-gpu=name,memory.total,driver_version" ]; then
  echo "NVIDIA H100 80GB HBM3, 81559, 580.95.05"
  echo "NVIDIA H100 80GB HBM3, 81559, 580.95.05"
else
  echo "| NVIDIA-SMI 580.95.05    Driver Version: 580.95.05    CUDA Version: 13.0 |"
fi
"""


def _fake_nvidia_smi(tmp_path, monkeypatch):
    smi = tmp_path / "bin" / "nvidia-smi"
    smi.parent.mkdir()
    smi.write_text(SMI)
    smi.chmod(smi.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{smi.parent}:{__import__('os').environ['PATH']}")


def test_gpus_driver_and_cuda_from_nvidia_smi(tmp_path, monkeypatch):
    _fake_nvidia_smi(tmp_path, monkeypatch)
    found = gpus()
    assert found["devices"] == [{"name": "NVIDIA H100 80GB HBM3", "memory_gib": 79.6}] * 2
    assert found["driver"] == "580.95.05" and found["cuda_driver"] == "13.0"


def test_env_prints_versions_python_os_cpu_and_gpus(tmp_path, monkeypatch, capsys):
    _fake_nvidia_smi(tmp_path, monkeypatch)
    assert main(["env"]) == 0
    out = capsys.readouterr().out
    for text in ("python      3.", "os          ", "cpu         ", "memory      ", "transformers    5."):
        assert text in out
    assert "gpu 0       NVIDIA H100 80GB HBM3, 79.6 GiB" in out and "driver      580.95.05 (supports CUDA 13.0)" in out
    assert main(["env", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["cpu"]["cores"] >= 1 and record["versions"]["lm-eval"] and len(record["gpus"]["devices"]) == 2


def test_no_gpu_is_said(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi
    record = environment()
    assert record["gpus"]["devices"] == [] and record["gpus"]["driver"] is None
    assert main(["env"]) == 0
    assert "gpus        none (nvidia-smi not found)" in capsys.readouterr().out


def test_hardware_is_the_gpus_else_the_cpu():
    h100, a100 = {"gpus": ["NVIDIA H100"], "cpu": "x"}, {"gpus": ["NVIDIA A100"], "cpu": "x"}
    assert not same_hardware(h100, a100) and same_hardware(h100, {"gpus": ["NVIDIA H100"], "cpu": "other"})
    assert not same_hardware({"gpus": [], "cpu": "AMD EPYC"}, {"gpus": [], "cpu": "Intel Xeon"})
    assert describe_hardware({"gpus": ["A", "A"], "cpu": "x"}) == "2x A"
    assert describe_hardware({"gpus": [], "cpu": "AMD EPYC"}) == "CPU: AMD EPYC"


def test_compare_warns_when_the_runs_ran_on_different_hardware(tmp_path, capsys):
    def set_hardware(run, hardware):
        path = run / "eval" / "scores.json"
        scores = json.loads(path.read_text())
        scores.setdefault("settings", {})["hardware"] = hardware
        path.write_text(json.dumps(scores))

    old = make_run(tmp_path / "old", {"mgsm": {"trained": TRAINED_13B}})
    new = make_run(tmp_path / "new", {"mgsm": {"trained": TRAINED_13B}})
    set_hardware(old, {"gpus": ["NVIDIA A100-SXM4-80GB"], "cpu": "x"})
    set_hardware(new, {"gpus": ["NVIDIA H100 80GB HBM3"], "cpu": "x"})
    assert compare_command(str(new), str(old), 1.0, None, as_json=True) == 0
    warnings = json.loads(capsys.readouterr().out)["warnings"]
    assert [w for w in warnings if "different hardware" in w] == [
        f"the runs ran on different hardware ({new}: 1x NVIDIA H100 80GB HBM3, {old}: "
        "1x NVIDIA A100-SXM4-80GB): bf16 generations and speed can differ between them"
    ]
    set_hardware(old, {"gpus": ["NVIDIA H100 80GB HBM3"], "cpu": "y"})
    compare_command(str(new), str(old), 1.0, None, as_json=True)
    assert not [w for w in json.loads(capsys.readouterr().out)["warnings"] if "hardware" in w]
