"""Check the loaders and the scoring on the real MGSM and MSVAMP files (a manual check, not a test).

    python benchmarks/check_real_data.py ../shared/data

expects ``<DIR>/mgsm/mgsm_<lang>.tsv`` and ``<DIR>/msvamp/test_<Language>.json``. Every question
of the ten paper languages (and MGSM's te) is loaded through the local-file override of the
lm-eval tasks, the gold answer is fed back as the model's response, exactly as written in the file
("2,125", "8.0"), and scored by the runner in both extraction modes; then
the same answers go through `harness score`. Everything must come out at 100%.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from lm_eval.api.model import LM

from harness.benchmarks import get_benchmark, load_benchmark
from harness.evaluation.config import EvaluationConfig, TaskConfig
from harness.evaluation.runner import resolve_tasks, run_models
from harness.evaluation.score import score_generations

EXPECTED = {"mgsm": 250, "msvamp": 1000}


class EchoGold(LM):
    """Answers every question with its gold answer, as written in the data file."""

    def generate_until(self, requests, disable_tqdm: bool = False):
        return [request.doc["answer"] for request in requests]

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="folder holding mgsm/ and msvamp/")
    args = parser.parse_args()
    root = Path(args.folder)
    failures = 0

    started = time.time()
    config = EvaluationConfig(
        tasks=[
            TaskConfig(name=name, path=str(root / name), languages=list(get_benchmark(name).languages))
            for name in EXPECTED
        ],
        models=["base"],
    )
    with tempfile.TemporaryDirectory() as out:
        tasks = resolve_tasks(config, ["en"])
        scores = run_models(config, tasks, Path(out), lambda model: (EchoGold(), "gold answers"))
    print(f"Through lm-eval (tasks slam_mgsm_*, slam_msvamp_* with the local path), {time.time() - started:.1f} s:")
    print(f"{'task':8} {'lang':4} {'n':>5} {'paper %':>8} {'strict %':>9}")
    for name, task in scores["models"]["base"]["tasks"].items():
        for lang, row in task["languages"].items():
            ok = row["n"] == EXPECTED[name] and row["accuracy"] == 100.0 and row["accuracy_strict"] == 100.0
            failures += not ok
            print(
                f"{name:8} {lang:4} {row['n']:5d} {row['accuracy']:8.1f} {row['accuracy_strict']:9.1f}"
                + ("" if ok else "   <-- FAIL")
            )
        print(
            f"{name:8} {'avg':4} {'':5} {task['average']['accuracy']:8.1f} {task['average']['accuracy_strict']:9.1f}"
            f"   (over {len(task['average']['languages'])} languages; PCR avg {task['pcr_average']:.1f})"
        )

    started = time.time()
    print("\nThrough `harness score` (a generations file of the gold answers):")
    for name in EXPECTED:
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", encoding="utf-8", delete=False) as handle:
            for lang in get_benchmark(name).languages:
                for example in load_benchmark(name, lang, root / name):
                    handle.write(
                        json.dumps(
                            {"lang": lang, "index": example.index, "response": example.answer}, ensure_ascii=False
                        )
                        + "\n"
                    )
        by_mode, scored = score_generations(handle.name, name, str(root / name))
        Path(handle.name).unlink()
        right = {mode: sum(sum(v.values()) for v in by_mode[mode].values()) for mode in by_mode}
        ok = all(count == len(scored) for count in right.values())
        failures += not ok
        print(
            f"{name:8} {len(scored):6d} answers: paper {right['paper']}/{len(scored)}, "
            f"strict {right['strict']}/{len(scored)}" + ("" if ok else "   <-- FAIL")
        )
    print(f"({time.time() - started:.1f} s)")
    print("\nALL 100%" if not failures else f"\n{failures} FAILURES")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
