"""A plain ``lm_eval --output_path DIR --log_samples`` folder of the harness's tasks, read as a
scored model: what `harness score DIR` and `harness leaderboard DIR` take from a colleague who ran
lm-eval with ``--include_path "$(harness ls tasks --path)"``.

lm-eval writes ``DIR/<model>/results_<date>.json`` and ``samples_<task>_<date>.jsonl`` per task.
The folder given may be ``DIR`` (holding one model's folder) or the model's folder itself. Only the
harness's tasks count (``slam_<benchmark>_<lang>``), at the task versions this harness has; the
answers are scored again by the harness's extraction, as a run's are.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.errors import HarnessError
from harness.evaluation.tasks import PREFIX, task_config, task_name, task_version


def model_folder(folder: Path) -> Path:
    """The folder holding ``results_*.json``: ``folder`` itself or its one model subfolder."""
    folder = Path(folder)
    if any(folder.glob("results_*.json")):
        return folder
    models = sorted(p for p in folder.iterdir() if p.is_dir() and any(p.glob("results_*.json")))
    if not models:
        raise HarnessError(
            f"{folder}: no lm-eval results_*.json here or in a subfolder; give a run directory or the folder "
            "`lm_eval --output_path DIR --log_samples` wrote"
        )
    if len(models) > 1:
        raise HarnessError(
            f"{folder}: holds lm-eval results of {len(models)} models ({', '.join(p.name for p in models)}); "
            f"give one of them, e.g. {models[0]}"
        )
    return models[0]


def latest_results(folder: Path) -> tuple[Path, dict]:
    """(the newest results file of the model's folder, its content)."""
    files = sorted(model_folder(folder).glob("results_*.json"))
    try:
        return files[-1], json.loads(files[-1].read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise HarnessError(f"{files[-1]}: not valid JSON ({error.msg}); rerun lm-eval") from None


def benchmark_tasks(folder: Path, benchmark: str) -> dict[str, Path]:
    """lm-eval task name -> its newest samples file, for the benchmark's languages in the folder;
    each task's version checked against this harness's."""
    from harness.benchmarks import get_benchmark

    results_file, results = latest_results(folder)
    found: dict[str, Path] = {}
    for lang in get_benchmark(benchmark).languages:
        name = task_name(benchmark, lang)
        if name not in (results.get("versions") or {}):
            continue
        ours = task_version(task_config(benchmark, lang))
        theirs = results["versions"][name]
        if str(theirs) != str(ours):
            raise HarnessError(
                f"{results_file}: {name} was evaluated at task version {theirs!r}; this harness's is {ours!r}: "
                "scores of different task versions are not comparable; rerun lm-eval with this harness's tasks"
            )
        samples = sorted(results_file.parent.glob(f"samples_{name}_*.jsonl"))
        if not samples:
            raise HarnessError(
                f"{results_file.parent}: no samples_{name}_*.jsonl; rerun lm-eval with --log_samples "
                "(the harness scores each answer itself)"
            )
        found[name] = samples[-1]
    if not found:
        ours = sorted(n for n in results.get("versions") or {} if n.startswith(f"{PREFIX}_"))
        raise HarnessError(
            f"{results_file}: no {PREFIX}_{benchmark}_<lang> task in it"
            + (f" (it has {', '.join(ours)})" if ours else "; only the harness's tasks (slam_*) can be scored")
        )
    return found


def sample_lines(folder: Path, benchmark: str) -> list[tuple[str, int, dict]]:
    """(file, line number, sample) of every sample of the benchmark's tasks in the folder."""
    lines = []
    for file in benchmark_tasks(folder, benchmark).values():
        for number, text in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if text.strip():
                try:
                    lines.append((str(file), number, json.loads(text)))
                except json.JSONDecodeError as error:
                    raise HarnessError(f"{file}: line {number}: not valid JSON ({error.msg})") from None
    return lines


def is_lm_eval_folder(folder: Path) -> bool:
    folder = Path(folder)
    return folder.is_dir() and (
        any(folder.glob("results_*.json"))
        or any(p.is_dir() and any(p.glob("results_*.json")) for p in folder.iterdir())
    )
