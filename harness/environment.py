"""What a run runs on: `harness env`, the manifest's ``environment`` and the hardware in scores.json.

Read without initialising CUDA (a parent that touched CUDA could not fork evaluation workers):
GPUs, their memory and the driver come from ``nvidia-smi``; CUDA is the version torch was built
with (``torch.version.cuda``) and the newest the driver supports (``nvidia-smi``'s header).
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

PACKAGES = (
    "harness",
    "torch",
    "transformers",
    "lm-eval",
    "accelerate",
    "datasets",
    "huggingface_hub",
    "peft",
    "deepspeed",
    "vllm",
    "pydantic",
    "numpy",
)
"""The packages whose versions a bug report needs (None when not installed)."""


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else what ``platform`` knows)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def memory_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _nvidia_smi(*args: str) -> str | None:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        result = subprocess.run([smi, *args], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def gpus() -> dict[str, Any]:
    """NVIDIA GPUs (model, memory), the driver and the CUDA versions; empty lists where none."""
    listing = _nvidia_smi("--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits")
    devices, driver = [], None
    for line in (listing or "").strip().splitlines():
        name, memory, driver = (part.strip() for part in line.split(","))
        devices.append({"name": name, "memory_gib": round(float(memory) / 1024, 1)})
    header = _nvidia_smi() if devices else None
    match = re.search(r"CUDA Version:\s*([\d.]+)", header or "")
    return {
        "devices": devices,
        "driver": driver,
        "cuda_driver": match.group(1) if match else None,
        "cuda_torch": _torch_cuda(),
    }


def _torch_cuda() -> str | None:
    """The CUDA version torch was built with (None: a CPU build, or torch missing)."""
    try:
        import torch
    except ImportError:
        return None
    return torch.version.cuda


def environment() -> dict[str, Any]:
    """The record `harness env` prints and the manifest keeps."""
    return {
        "versions": package_versions(),
        "python": f"{platform.python_version()} ({platform.python_implementation()}, {sys.executable})",
        "os": platform.platform(),
        "host": socket.gethostname(),
        "cpu": {"model": cpu_model(), "cores": os.cpu_count()},
        "memory_gib": memory_gib(),
        "gpus": gpus(),
    }


def hardware(record: dict[str, Any] | None = None) -> dict[str, Any]:
    """What results depend on of the machine: the GPUs (model and count), else the CPU model."""
    record = record or {"cpu": {"model": cpu_model()}, "gpus": gpus()}
    devices = [d["name"] for d in record["gpus"]["devices"]]
    return {"gpus": devices, "cpu": record["cpu"]["model"]}


def describe_hardware(hw: dict[str, Any]) -> str:
    """``2x NVIDIA H100 80GB HBM3`` or ``CPU: AMD EPYC 7B13``."""
    devices = hw.get("gpus") or []
    if not devices:
        return f"CPU: {hw.get('cpu')}"
    names = sorted(set(devices))
    return ", ".join(f"{devices.count(name)}x {name}" for name in names)


def same_hardware(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """GPUs decide where there are any; two CPU runs compare their CPU models."""
    if a.get("gpus") or b.get("gpus"):
        return sorted(a.get("gpus") or []) == sorted(b.get("gpus") or [])
    return a.get("cpu") == b.get("cpu")


def format_environment(record: dict[str, Any]) -> str:
    """`harness env`: one line per fact, paste-ready for a bug report."""
    gpu = record["gpus"]
    lines = [f"harness {record['versions'].get('harness')}"]
    lines += [f"python      {record['python']}", f"os          {record['os']}", f"host        {record['host']}"]
    lines.append(f"cpu         {record['cpu']['model']} ({record['cpu']['cores']} cores)")
    lines.append(f"memory      {record['memory_gib']} GiB")
    if gpu["devices"]:
        for index, device in enumerate(gpu["devices"]):
            lines.append(f"gpu {index:<7} {device['name']}, {device['memory_gib']} GiB")
        lines.append(f"driver      {gpu['driver']} (supports CUDA {gpu['cuda_driver']})")
    else:
        lines.append(
            "gpus        none (nvidia-smi " + ("found no GPU)" if shutil.which("nvidia-smi") else "not found)")
        )
    lines.append(
        f"cuda        {gpu['cuda_torch']} (torch's build)"
        if gpu["cuda_torch"]
        else "cuda        none: torch is a CPU build"
    )
    lines += [
        f"{name:<16}{value or 'not installed'}" for name, value in record["versions"].items() if name != "harness"
    ]
    return "\n".join(lines)
