"""`harness evaluate RECIPE --rescore`: scores.json rebuilt from samples.jsonl, without the model.

After a change in answer extraction (a fixed rule, or ``evaluation.extraction`` switched between
``paper`` and ``strict``), every stored response is extracted and scored again, samples.jsonl is
rewritten with the new ``extracted``/``correct`` fields, and scores.json is rebuilt by the same
code the evaluate stage uses. The pipeline publishes it as a new result of the evaluate stage (the
previous one goes to ``<run>/history/``). lm-eval's own files are carried over as lm-eval scored them.

Only the scoring may differ from the stored evaluation: the recipe must ask for the same models,
tasks, languages, limits, max new tokens and backend as the run's scores.json records; otherwise
the stored responses do not answer the recipe, and the stage must run again.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from harness.artifacts import LM_EVAL_DIR, Scores, read_artifact
from harness.benchmarks import get_benchmark
from harness.errors import HarnessError
from harness.evaluation.extraction import score_response
from harness.evaluation.runner import (
    SAMPLES_FILE,
    SCORES_FILE,
    _write_samples,
    build_scores,
    resolve_tasks,
    stored_part,
)
from harness.runs import write_artifact


def _check_same_evaluation(recipe, tasks, scores: Scores, where: Path) -> None:
    """The recipe must describe the evaluation whose responses are stored."""
    evaluation = recipe.evaluation
    fix = f"run `harness evaluate RECIPE --force --run-dir {where.parent}` instead"
    stored_models = list(scores.models)
    if sorted(stored_models) != sorted(evaluation.models):
        raise HarnessError(
            f"{where}: evaluated {', '.join(stored_models)}, the recipe asks for {', '.join(evaluation.models)}; {fix}"
        )
    settings = scores.settings
    for key in ("max_new_tokens", "backend"):
        if settings.get(key) != getattr(evaluation, key):
            raise HarnessError(
                f"{where}: evaluation.{key} was {settings.get(key)!r}, the recipe has "
                f"{getattr(evaluation, key)!r}; {fix}"
            )
    for key, default in (("system_prompt", None), ("chat_template_args", {})):
        if settings.get(key, default) != getattr(evaluation, key):  # they changed what the model was asked
            raise HarnessError(
                f"{where}: evaluation.{key} was {settings.get(key, default)!r}, the recipe has "
                f"{getattr(evaluation, key)!r}; {fix}"
            )
    for model, entry in scores.models.items():
        stored = entry.tasks
        for index, task in enumerate(tasks):
            old = stored.get(task.benchmark)
            if old is None:
                raise HarnessError(f"{where}: {model} has no {task.benchmark!r} scores; {fix}")
            if sorted(old.languages) != sorted(task.languages):
                raise HarnessError(
                    f"{where}: evaluation.tasks.{index}: {task.benchmark} was evaluated in "
                    f"{', '.join(old.languages)}, the recipe asks for "
                    f"{', '.join(task.languages)}; {fix}"
                )
            if old.limit != task.limit:
                raise HarnessError(
                    f"{where}: evaluation.tasks.{index}.limit was {old.limit!r}, the recipe has {task.limit!r}; {fix}"
                )
        extra = sorted(set(stored) - {task.benchmark for task in tasks})
        if extra:
            raise HarnessError(f"{where}: also holds {', '.join(extra)}, which the recipe no longer evaluates; {fix}")


def _average(scores: Scores, model: str, benchmark: str) -> float | None:
    average = scores.models[model].tasks[benchmark].average
    return None if average is None else average.accuracy


@dataclass
class Rescored:
    """The evaluation scored again from its stored responses (nothing written yet)."""

    tasks: list
    models: list[str]
    previous: Scores
    """The scores.json that was re-scored."""
    scores: Scores
    """The new scores.json."""
    entries: dict[str, dict[tuple[str, str], dict]]
    """Per benchmark, per (model, language): the re-scored samples.jsonl rows and their source."""

    def changes(self) -> list[str]:
        """One line per task and model: the average before and after."""
        lines = []
        for task in self.tasks:
            for model in self.models:
                before, after = (_average(scores, model, task.benchmark) for scores in (self.previous, self.scores))
                lines.append(
                    f"{task.benchmark} {model}: average {before} -> {after} "
                    f"({self.previous.extraction} -> {self.scores.extraction} extraction)"
                )
        return lines


def rescore(recipe, eval_dir: Path) -> Rescored:
    """Score the responses stored in ``eval_dir`` (the evaluate stage's folder) again; writes nothing."""
    if recipe.evaluation is None:
        raise HarnessError(f"recipe {recipe.name!r} has no `evaluation:` section")
    run_root = eval_dir.parent
    scores_path = eval_dir / SCORES_FILE
    previous = read_artifact(scores_path, Scores, f"run `harness evaluate RECIPE --force --run-dir {run_root}`")
    tasks = resolve_tasks(recipe.evaluation, recipe.languages)
    _check_same_evaluation(recipe, tasks, previous, scores_path)

    done: dict[str, dict] = {}
    for task in tasks:
        kind = get_benchmark(task.benchmark).kind
        path = eval_dir / task.benchmark / SAMPLES_FILE
        if not path.is_file():
            raise HarnessError(
                f"{path}: not found; re-scoring needs the stored responses "
                f"(run `harness evaluate RECIPE --force --run-dir {run_root}`)"
            )
        entries: dict[tuple[str, str], dict] = {}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                model, lang = row["model"], row["lang"]
                row.pop("reasoning_ended", None)  # a marker of the earlier scoring, maybe not of this one
                row.update(
                    score_response(
                        kind,
                        row["response"],
                        row["target"],
                        recipe.evaluation.choice_label,
                        recipe.evaluation.reasoning_end,
                    )
                )
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise HarnessError(
                    f"{path}: line {number}: not a samples.jsonl row with model, lang, response and target ({error})"
                ) from None
            entries.setdefault((model, lang), stored_part(previous, model, lang, task.benchmark))["rows"].append(row)
        missing = [
            f"{m} {lang}" for m in recipe.evaluation.models for lang in task.languages if (m, lang) not in entries
        ]
        if missing:
            raise HarnessError(
                f"{path}: no responses for {', '.join(missing)}; "
                f"run `harness evaluate RECIPE --force --run-dir {run_root}`"
            )
        done[task.benchmark] = entries

    keep = {
        k: v
        for k, v in previous.settings.items()
        if k not in ("backend", "batch_size", "max_new_tokens", "seed", "reasoning_end")
    }
    scores = build_scores(recipe.evaluation, tasks, done, recipe.seed, keep)
    scores["rescored"] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "from_extraction": previous.extraction,
        "previous_harness_version": previous.harness_version,
    }
    return Rescored(tasks, list(recipe.evaluation.models), previous, Scores.model_validate(scores), done)


def write_rescored(result: Rescored, eval_dir: Path, out: Path) -> None:
    """The evaluate stage's files for ``result`` in ``out``: samples.jsonl, scores.json, lm-eval's own."""
    if (eval_dir / LM_EVAL_DIR).is_dir():  # lm-eval's own files, as lm-eval scored them
        shutil.copytree(eval_dir / LM_EVAL_DIR, out / LM_EVAL_DIR)
    for task in result.tasks:
        _write_samples(out, task, result.models, result.entries[task.benchmark])
    write_artifact(out / SCORES_FILE, result.scores)
