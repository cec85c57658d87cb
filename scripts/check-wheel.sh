#!/usr/bin/env bash
# The installed harness, away from its checkout: build the wheel, install it into a fresh venv in a
# temporary folder and run, from another folder, what a user of `pip install harness` runs: the
# shipped recipes, tasks and baselines, `harness cp` + `validate`, `harness score` on the demo data,
# and the lm-eval tasks under plain `lm_eval --include_path`.
#
# To keep CI time small the venv installs only the wheel (--no-deps); its dependencies are the ones
# already in .venv, reached through a .pth file (the checkout's own editable install is not: .pth
# files inside that folder are not read), so nothing is downloaded or built. A missing package-data
# file, or code that reads the checkout instead of the package, fails here.
#
#   PYTHON   the interpreter whose packages the fresh venv reuses (default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
step() { printf '\n==> %s\n' "$*"; }

step "build the wheel (from the checkout's files: tracked, or new and not ignored; no stale build/)"
mkdir "$work/src"
git ls-files --cached --others --exclude-standard -z | xargs -0 tar -cf - | tar -xf - -C "$work/src"
"$PYTHON" -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$work/dist" "$work/src"
ls "$work/dist"

step "a fresh venv outside the checkout ($work/venv), the wheel alone installed into it"
base=$("$PYTHON" -c "import sys; print(sys._base_executable)")
"$base" -m venv --without-pip "$work/venv"
deps=$("$PYTHON" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
site=$("$work/venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
echo "$deps" > "$site/_reused_dependencies.pth"
"$PYTHON" -m pip --python "$work/venv/bin/python" install --quiet --no-deps --ignore-installed "$work/dist"/*.whl

mkdir "$work/elsewhere"
cd "$work/elsewhere"
export PATH="$work/venv/bin:$PATH" HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
unset PYTHONPATH
python -c "import harness, sys; assert harness.__file__.startswith('$site'), harness.__file__; print('harness imported from', harness.__file__)"

step "harness ls recipes|tasks|baselines (from $PWD)"
harness ls recipes > recipes.txt; head -n 6 recipes.txt
harness ls tasks
harness ls baselines > baselines.txt; head -n 12 baselines.txt
tasks_dir=$(harness ls tasks --path)
[ "$tasks_dir" = "$site/harness/tasks" ] || { echo "harness ls tasks --path: $tasks_dir, not the installed $site/harness/tasks"; exit 1; }

step "harness cp + harness validate of the copy"
harness cp templates/new_base_model.yaml my_model.yaml
harness validate my_model.yaml recipes/

step "harness score on the demo data"
python - <<'PY'
import json
from harness.benchmarks import load_benchmark
with open("generations.jsonl", "w", encoding="utf-8") as out:
    for lang in ("en", "de"):
        for index, example in enumerate(load_benchmark("demo", lang)):
            # every other question answered right: the expected accuracy is known
            answer = example.answer if index % 2 == 0 else "-1"
            out.write(json.dumps({"lang": lang, "index": index, "response": f"The answer is {answer}."}) + "\n")
PY
harness score generations.jsonl --task demo
harness score generations.jsonl --task demo --json | python -c "
import json, sys
scores = json.load(sys.stdin)
for lang in ('en', 'de'):
    entry = scores['languages'][lang]
    assert entry['correct'] == (entry['n'] + 1) // 2, entry
print('score: every other answer right in en and de, as written')"

step "plain lm-eval (python -m lm_eval: the venv has the wheel alone, so no lm_eval script) on the installed task folder, lm-eval's dummy model: the tasks load, run and score"
python -m lm_eval --model dummy --include_path "$(harness ls tasks --path)" --tasks slam_demo_en,slam_demo_de --limit 3 \
    --output_path "$work/lm_eval_out" 2>&1 | grep -E '^\|'
ls "$work"/lm_eval_out/*/results_*.json >/dev/null
echo
echo "wheel check passed: the installed harness works from $PWD"
