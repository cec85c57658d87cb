"""Re-scoring a finished run against evaluating it, and McNemar's p by scipy against a pure-Python sum.

    python benchmarks/bench_rescore.py RECIPE RUN_DIR [key=value ...] [--disagreements 10000]

- ``harness evaluate RECIPE --rescore`` on a copy of RUN_DIR (the run itself is untouched),
  timed in this process, beside the evaluate stage's own time (``eval/DONE.json``: ``seconds``);
- the exact McNemar p-value for ``--disagreements`` discordant questions: scipy's
  ``binomtest`` (what the harness uses) against the pure-Python tail sum it replaced.

Prints the times and their ratios; on a loaded machine the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
import time
from pathlib import Path


def bench_rescore(recipe_path: str, run_dir: str, overrides: list[str]) -> tuple[float, float]:
    from harness.evaluation.rescore import rescore_run
    from harness.recipe import load_recipe
    from harness.runs import Run

    evaluate_seconds = json.loads((Path(run_dir) / "eval" / "DONE.json").read_text())["seconds"]
    recipe = load_recipe(recipe_path, overrides)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "run"
        shutil.copytree(run_dir, copy)
        started = time.perf_counter()
        rescore_run(recipe, Run(copy))
        rescore_seconds = time.perf_counter() - started
    return evaluate_seconds, rescore_seconds


def bench_mcnemar(disagreements: int) -> tuple[float, float, float, float]:
    from scipy.stats import binomtest

    only_a = disagreements * 45 // 100
    started = time.perf_counter()
    fast = binomtest(only_a, disagreements, 0.5).pvalue
    scipy_seconds = time.perf_counter() - started
    started = time.perf_counter()
    tail = sum(math.comb(disagreements, k) for k in range(only_a + 1)) / 2**disagreements
    slow = min(1.0, 2 * tail)
    python_seconds = time.perf_counter() - started
    return scipy_seconds, python_seconds, fast, slow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("run_dir")
    parser.add_argument("overrides", nargs="*")
    parser.add_argument("--disagreements", type=int, default=10_000)
    args = parser.parse_args()

    import scipy.stats  # noqa: F401  (import time is not the test's)

    evaluate_seconds, rescore_seconds = bench_rescore(args.recipe, args.run_dir, args.overrides)
    print(f"evaluate stage (eval/DONE.json): {evaluate_seconds:8.2f} s")
    print(
        f"rescore from samples.jsonl:      {rescore_seconds:8.2f} s   ratio evaluate/rescore = "
        f"{evaluate_seconds / rescore_seconds:.1f}x"
    )
    scipy_seconds, python_seconds, fast, slow = bench_mcnemar(args.disagreements)
    print(
        f"McNemar p, {args.disagreements} discordant: scipy binomtest {scipy_seconds * 1000:.2f} ms, "
        f"pure-Python sum {python_seconds * 1000:.1f} ms (ratio {python_seconds / scipy_seconds:.0f}x); "
        f"p = {fast:.6g} vs {slow:.6g}"
    )


if __name__ == "__main__":
    main()
