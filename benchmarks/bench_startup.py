"""Start-up time of a read-only command, this checkout against an earlier commit, in one run.

    python benchmarks/bench_startup.py                      # against HEAD~1, 5 runs each
    python benchmarks/bench_startup.py --before main --runs 9 -- ls baselines

The earlier commit is exported (`git archive`) to a temporary folder; the two versions run
alternately (so a busy machine slows both alike), each as `python -m harness ARGS` from its own
tree. Prints the median wall time of each, their ratio, and which heavy libraries each imported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "transformers", "lm_eval", "datasets", "numpy", "scipy", "matplotlib")
PROBE = (
    "import runpy, sys; sys.argv = ['harness', *sys.argv[1:]]\n"
    "try:\n    runpy.run_module('harness', run_name='__main__')\nexcept SystemExit:\n    pass\n"
    f"print('LOADED', *[m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)"
)


def run_once(tree: Path, args: list[str]) -> tuple[float, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=tree, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    loaded = next((line.split()[1:] for line in result.stderr.splitlines() if line.startswith("LOADED")), None)
    if loaded is None:
        raise SystemExit(f"{tree}: `harness {' '.join(args)}` failed:\n{result.stderr[-2000:]}")
    return seconds, loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default="HEAD~1", help="git revision to compare against")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("args", nargs="*", default=["validate", "recipes/"], help="the harness command")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        before = Path(folder)
        archive = subprocess.run(["git", "archive", options.before], cwd=REPO, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
        trees = {f"before ({options.before})": before, "after (this checkout)": REPO}
        times: dict[str, list[float]] = {name: [] for name in trees}
        loaded: dict[str, list[str]] = {}
        for tree in trees.values():  # one warm-up each: bytecode caches, the OS file cache
            run_once(tree, options.args)
        for _ in range(options.runs):
            for name, tree in trees.items():
                seconds, loaded[name] = run_once(tree, options.args)
                times[name].append(seconds)
    print(f"`harness {' '.join(options.args)}`, median of {options.runs} runs each, alternating:")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        print(f"  {name:<28} {median:6.3f} s   heavy imports: {', '.join(loaded[name]) or 'none'}")
    first, second = medians.values()
    print(f"  after / before = {second / first:.2f}  ({first / second:.1f}x faster)")


if __name__ == "__main__":
    main()
