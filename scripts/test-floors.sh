#!/usr/bin/env bash
# The declared floors hold: install the lowest transformers and lm-eval that pyproject.toml allows
# into a venv that reuses .venv's other packages (a .pth file; the floors shadow the newer copies),
# and run the fast tests against them. `make test-floors`; not part of `make test` (it downloads
# two older releases and their pins, a minute or two, and runs the fast suite once more).
#
#   PYTHON   the interpreter whose packages the venv reuses (default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
floor() { sed -n "s/^ *\"$1[^\"]*>=\([0-9.]*\).*/\1/p" pyproject.toml | head -n 1; }
TRANSFORMERS=$(floor transformers)
LM_EVAL=$(floor lm-eval)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

base=$("$PYTHON" -c "import sys; print(sys._base_executable)")
"$base" -m venv --without-pip "$work/venv"
deps=$("$PYTHON" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
site=$("$work/venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
echo "$deps" > "$site/_reused_dependencies.pth"
echo "==> the floors: transformers==$TRANSFORMERS, lm-eval==$LM_EVAL (and what they pin)"
# kernels: .venv's copy is the one newer transformers pin (>=0.19), which transformers 5.0 cannot
# import; a fresh install of 5.0 has none, or the <0.11 its own extras name.
"$PYTHON" -m pip --python "$work/venv/bin/python" install --quiet \
    "transformers==$TRANSFORMERS" "lm-eval[hf]==$LM_EVAL" "kernels>=0.10.2,<0.11"
"$work/venv/bin/python" -c "
import transformers, huggingface_hub
from importlib.metadata import version
from packaging.version import Version
print('    transformers', transformers.__version__, '| lm-eval', version('lm-eval'), '| huggingface_hub', huggingface_hub.__version__)
assert Version(transformers.__version__) == Version('$TRANSFORMERS') and Version(version('lm-eval')) == Version('$LM_EVAL')"
echo "==> the fast tests against them"
HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONPATH="$PWD" \
    "$work/venv/bin/python" -m pytest -q -p no:cacheprovider -m "not integration and not slow" "$@"
