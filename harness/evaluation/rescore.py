"""`harness evaluate RECIPE --rescore`: scores.json rebuilt from samples.jsonl, without the model.

After a change in answer extraction (a fixed rule, or ``evaluation.extraction`` switched between
``paper`` and ``strict``), every stored response is extracted and scored again, samples.jsonl is
rewritten with the new ``extracted``/``correct`` fields, and scores.json is rebuilt by the same
code the evaluate stage uses, published as a new result of the evaluate stage (the previous one
goes to ``<run>/history/``). lm-eval's own files are carried over as lm-eval scored them.

Only the scoring may differ from the stored evaluation: the recipe must ask for the same models,
tasks, languages, limits, max new tokens and backend as the run's scores.json records; otherwise
the stored responses do not answer the recipe, and the stage must run again.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from harness.artifacts import HISTORY, MARKER, STAGE_DIRS, Done, read_artifact
from harness.benchmarks import get_benchmark
from harness.errors import HarnessError
from harness.evaluation.extraction import score_response
from harness.evaluation.runner import SAMPLES_FILE, SCORES_FILE, _write_samples, build_scores, resolve_tasks
from harness.evaluation.lm_eval_files import LM_EVAL_DIR
from harness.runs import changed_outputs, read_json, write_json


def _check_same_evaluation(recipe, tasks, scores: dict, where: Path) -> None:
    """The recipe must describe the evaluation whose responses are stored."""
    evaluation = recipe.evaluation
    fix = f"run `harness evaluate RECIPE --force --run-dir {where.parent}` instead"
    stored_models = list(scores.get("models") or {})
    if sorted(stored_models) != sorted(evaluation.models):
        raise HarnessError(
            f"{where}: evaluated {', '.join(stored_models)}, the recipe asks for {', '.join(evaluation.models)}; {fix}"
        )
    settings = scores.get("settings") or {}
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
    for model, entry in scores["models"].items():
        stored = entry.get("tasks") or {}
        for index, task in enumerate(tasks):
            old = stored.get(task.benchmark)
            if old is None:
                raise HarnessError(f"{where}: {model} has no {task.benchmark!r} scores; {fix}")
            if sorted(old.get("languages", {})) != sorted(task.languages):
                raise HarnessError(
                    f"{where}: evaluation.tasks.{index}: {task.benchmark} was evaluated in "
                    f"{', '.join(old.get('languages', {}))}, the recipe asks for "
                    f"{', '.join(task.languages)}; {fix}"
                )
            if old.get("limit") != task.limit:
                raise HarnessError(
                    f"{where}: evaluation.tasks.{index}.limit was {old.get('limit')!r}, the recipe "
                    f"has {task.limit!r}; {fix}"
                )
        extra = sorted(set(stored) - {task.benchmark for task in tasks})
        if extra:
            raise HarnessError(f"{where}: also holds {', '.join(extra)}, which the recipe no longer evaluates; {fix}")


def _stored_evaluation(run) -> Path:
    """The finished evaluation whose responses are re-scored: ``eval/``, else (an invocation was
    killed after moving it to history/) the latest intact one in history/."""
    if run.finished("evaluate") is not None:
        return run.require("evaluate")
    kept = []
    for folder in (Path(run.root) / HISTORY).glob(f"{STAGE_DIRS['evaluate']}-*"):
        try:
            done = read_artifact(folder / MARKER, Done, "")
        except HarnessError:
            continue
        if done.outputs is not None and not changed_outputs(folder, done.outputs):
            kept.append((done.finished, folder))
    if not kept:
        return run.require("evaluate")  # its message: run the evaluation first
    folder = max(kept)[1]
    print(f"evaluate: eval/ is not in place; re-scoring the responses kept in {folder}", file=sys.stderr)
    return folder


def rescore_run(recipe, run) -> dict:
    """Rebuild ``<run>/eval/scores.json`` (and samples.jsonl's scoring) from the stored responses."""
    from harness.pipeline import get_stage, stage_inputs, upstream_outputs

    started = time.time()
    if recipe.evaluation is None:
        raise HarnessError(f"recipe {recipe.name!r} has no `evaluation:` section")
    eval_dir = _stored_evaluation(run)
    scores_path = eval_dir / SCORES_FILE
    previous = read_json(scores_path)
    tasks = resolve_tasks(recipe.evaluation, recipe.languages)
    _check_same_evaluation(recipe, tasks, previous, scores_path)

    done: dict[str, dict] = {}
    for task in tasks:
        kind = get_benchmark(task.benchmark).kind
        path = eval_dir / task.benchmark / SAMPLES_FILE
        if not path.is_file():
            raise HarnessError(
                f"{path}: not found; re-scoring needs the stored responses "
                f"(run `harness evaluate RECIPE --force --run-dir {run.root}`)"
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
            stored = previous["models"][model]
            task_entry = stored["tasks"][task.benchmark]
            entries.setdefault(
                (model, lang),
                {
                    "model": model,
                    "lang": lang,
                    "source": stored["source"],
                    "task_version": task_entry.get("task_version"),
                    "prompt_sha": task_entry.get("prompt_sha"),
                    "hub_source": {"commit": task_entry.get("data_commit"), "ref": task_entry.get("data_ref")},
                    "rows": [],
                },
            )["rows"].append(row)
        missing = [
            f"{m} {lang}" for m in recipe.evaluation.models for lang in task.languages if (m, lang) not in entries
        ]
        if missing:
            raise HarnessError(
                f"{path}: no responses for {', '.join(missing)}; "
                f"run `harness evaluate RECIPE --force --run-dir {run.root}`"
            )
        done[task.benchmark] = entries

    keep = {
        k: v
        for k, v in (previous.get("settings") or {}).items()
        if k not in ("backend", "batch_size", "max_new_tokens", "seed", "reasoning_end")
    }
    scores = build_scores(recipe.evaluation, tasks, done, recipe.seed, keep)
    scores["rescored"] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "from_extraction": previous.get("extraction"),
        "previous_harness_version": previous.get("harness_version"),
    }

    # A new result of the stage, published like any other: the previous one goes to history/,
    # and its new output id makes the report stage (which fingerprints it) render again.
    stage = get_stage("evaluate")
    upstream = upstream_outputs(recipe, run, stage)
    inputs = stage_inputs(recipe, run, stage)
    with run.stage("evaluate", inputs, recipe=recipe.resolved(), upstream=upstream, fresh=True) as out:
        if (eval_dir / LM_EVAL_DIR).is_dir():  # lm-eval's own files, as lm-eval scored them
            shutil.copytree(eval_dir / LM_EVAL_DIR, out / LM_EVAL_DIR)
        for task in tasks:
            _write_samples(out, task, list(recipe.evaluation.models), done[task.benchmark])
        write_json(out / SCORES_FILE, scores)
    run.write_manifest(recipe.resolved(), recipe.seed)
    kept = sorted((Path(run.root) / "history").glob("eval-*"), key=lambda p: p.stat().st_mtime)[-1]

    seconds = time.time() - started
    from rich.console import Console

    console = Console(stderr=True)
    for task in tasks:
        for model in recipe.evaluation.models:
            before = (previous["models"][model]["tasks"][task.benchmark].get("average") or {}).get("accuracy")
            after = (scores["models"][model]["tasks"][task.benchmark].get("average") or {}).get("accuracy")
            console.print(
                f"{task.benchmark} {model}: average {before} -> {after} "
                f"({previous.get('extraction')} -> {scores['extraction']} extraction)",
                highlight=False,
            )
    console.print(
        f"re-scored {scores_path} from samples.jsonl in {seconds:.2f} s; the previous result is kept in {kept}",
        highlight=False,
    )
    return scores
