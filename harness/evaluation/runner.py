"""Evaluation through lm-eval: every (model, task, language) of the recipe, samples and scores.

For each model of ``evaluation.models`` and each task of ``evaluation.tasks``, one lm-eval
``evaluate`` call over every language still to do runs the task's configs (built in Python with
the recipe's local path, limit and max new tokens; their requests batched together, longest
first) on one LM object (``HFLM`` over the loaded model, or
lm-eval's vLLM model). The responses are scored again here by the same extraction code the task
hooks use, in both modes, and written as:

- ``<out>/<task>/samples.jsonl``: one line per question per model (model, lang, doc_id, id,
  question, target, response, extracted and correct in both modes, the full prompt, its hash
  and the task version);
- ``<out>/lm_eval/<model>/results_<date>.json`` and ``samples_<task>_<date>.jsonl``: lm-eval's
  own files in its EvaluationTracker layout (see :mod:`harness.evaluation.lm_eval_files`);
- ``<out>/scores.json``: per model, task and language n, correct, accuracy and its Wilson 95%
  interval (plus the other mode's figures), the paper's average with a bootstrap interval, PCR
  against English, and, when both models ran, a paired McNemar comparison of trained vs base.

Resume: each finished (model, task, language) is kept in ``<out>/<task>/.parts/`` (written
atomically) until the stage completes, so a stage killed midway redoes only what was missing
(the languages of the (model, task) call it was in, answered together), and a model whose every
part is done is not even loaded.
"""

from __future__ import annotations

import gc
import json
import logging
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness import console as terminal
from harness.artifacts import SAMPLES_FILE, SCORES_FILE, SampleRow, Scores, read_artifact
from harness.benchmarks import get_benchmark, load_benchmark
from harness.errors import HarnessError
from harness.evaluation.extraction import LabelRule, score_response
from harness.evaluation.lm_eval_files import lm_eval_record, write_lm_eval_files
from harness.evaluation.metrics import paired_comparison, task_scores
from harness.evaluation.tasks import task_config, task_name, task_version
from harness.runs import atomic_write_text, write_artifact, write_json
from harness.textfiles import read_json_lines

PARTS_DIR = ".parts"

console = terminal.console(stderr=True)
CHAT_PROMPT = "{{question}}"
"""A math question's user turn under ``evaluation.chat_template``: the question alone. Inside a
chat turn the Alpaca scaffold ("... ### Response: Let's think step by step.") made
SmolLM2-135M-Instruct ramble past 64 new tokens: 1 of 8 one-step English questions right."""


@dataclass(frozen=True)
class EvalTask:
    """One benchmark of the recipe, resolved: which languages, from where, how many questions."""

    benchmark: str
    languages: tuple[str, ...]
    path: str | None = None
    limit: int | None = None
    revision: str | None = None


def resolve_tasks(evaluation, recipe_languages: Sequence[str]) -> list[EvalTask]:
    """The recipe's tasks with their languages (default: the recipe's that the benchmark has)."""
    tasks: list[EvalTask] = []
    for index, task in enumerate(evaluation.tasks):
        where = f"evaluation.tasks.{index}"
        benchmark = get_benchmark(task.name)  # names, languages, duplicates: checked by the schema
        if task.languages is not None:
            languages = tuple(task.languages)
        else:
            languages = tuple(lang for lang in recipe_languages if lang in benchmark.languages)
        if not languages:
            raise HarnessError(
                f"{where}: none of the recipe's languages ({', '.join(recipe_languages)}) is in "
                f"{task.name!r} ({', '.join(benchmark.languages)}); set {where}.languages"
            )
        tasks.append(EvalTask(task.name, languages, task.path, task.limit, task.revision))
    return tasks


# -- one (model, task, language) ---------------------------------------------------------------


@contextmanager
def quiet_lm_eval() -> Iterator[None]:
    """lm-eval logs several warnings per task; keep the terminal to our own progress."""
    from unittest import mock

    from tqdm import tqdm

    logger = logging.getLogger("lm_eval")
    level = logger.level
    logger.setLevel(logging.ERROR)

    # lm-eval draws a bar per request batch and per context build, in every language; the
    # runner prints one line per (model, task, language) instead.
    def no_bar(*args, **kwargs):
        return tqdm(*args, **{**kwargs, "disable": True})  # lm-eval passes disable= itself

    try:
        with mock.patch("lm_eval.api.task.tqdm", no_bar), mock.patch("lm_eval.models.huggingface.tqdm", no_bar):
            yield
    finally:
        logger.setLevel(level)


def evaluate_language(
    lm,
    task: EvalTask,
    lang: str,
    docs: list[dict],
    model: str,
    max_new_tokens: int,
    seed: int,
    stop: str = "harness",
    label_rule: LabelRule = "last",
    chat_template: bool = False,
    system_prompt: str | None = None,
    reasoning_end: str | None = None,
) -> tuple[list[dict], Any, dict]:
    """One task in one language (:func:`evaluate_languages` for a single language)."""
    return evaluate_languages(
        lm,
        task,
        {lang: docs},
        model,
        max_new_tokens,
        seed,
        stop,
        label_rule,
        chat_template,
        system_prompt,
        reasoning_end,
    )[lang]


def evaluate_languages(
    lm,
    task: EvalTask,
    docs: dict[str, list[dict]],
    model: str,
    max_new_tokens: int,
    seed: int,
    stop: str = "harness",
    label_rule: LabelRule = "last",
    chat_template: bool = False,
    system_prompt: str | None = None,
    reasoning_end: str | None = None,
) -> dict[str, tuple[list[dict], Any, dict]]:
    """Run one task in the languages of ``docs`` through lm-eval, in one call: per language, the
    samples rows, the task version and lm-eval's own output (results, configs, samples) for
    :mod:`harness.evaluation.lm_eval_files`.

    One call for every language: lm-eval hands the LM all their requests at once, which sorts
    them by length and fills every batch (one call per language left each one's last batch part
    empty, and with several workers each got a few dozen questions per call; batches lasted as
    long as their longest answer). ``docs``: each language's questions, read once
    (:func:`read_questions`); ``task.limit`` is lm-eval's own limit (its first N questions of each
    language). Calls ``lm_eval.evaluator.evaluate`` on the tasks loaded from their Python-built
    configs, rather than ``simple_evaluate``, which would also collect the environment (``pip
    list``, about 0.7 s) on every call; the seeds simple_evaluate would set are set here.
    """
    import random

    import numpy as np
    import torch
    from lm_eval.evaluator import evaluate
    from lm_eval.tasks import TaskManager

    configs = {}
    for lang, questions in docs.items():
        config = task_config(
            task.benchmark, lang, max_new_tokens=max_new_tokens, docs=questions, stop=stop, reasoning_end=reasoning_end
        )
        if chat_template and get_benchmark(task.benchmark).kind == "math":
            config["doc_to_text"] = CHAT_PROMPT  # the chat template replaces the Alpaca scaffold
        configs[lang] = config
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    with quiet_lm_eval():
        loaded = TaskManager(include_defaults=False).load(list(configs.values()))
        for task_object in loaded["tasks"].values():
            task_object.set_fewshot_seed(seed=seed)
        results = evaluate(
            lm=lm,
            task_dict=loaded,
            limit=task.limit,
            log_samples=True,
            bootstrap_iters=0,
            apply_chat_template=chat_template,
            system_instruction=system_prompt,
        )
    return {
        lang: _language_rows(results, task, lang, config, model, label_rule, reasoning_end)
        for lang, config in configs.items()
    }


def _language_rows(
    results: dict, task: EvalTask, lang: str, config: dict, model: str, label_rule: LabelRule, reasoning_end: str | None
) -> tuple[list[dict], Any, dict]:
    """One language's rows, task version and lm-eval record out of a call over several languages."""
    name = task_name(task.benchmark, lang)
    kind = get_benchmark(task.benchmark).kind
    version = task_version(config)
    rows = []
    for sample in sorted(results["samples"][name], key=lambda s: s["doc_id"]):
        doc = sample["doc"]
        response = sample["filtered_resps"][0] if sample["filtered_resps"] else ""
        rows.append(
            {
                "model": model,
                "lang": lang,
                "doc_id": sample["doc_id"],
                "id": doc["id"],
                "question": doc["question"],
                "target": doc["answer"],
                "response": response,
                **score_response(kind, response, doc["answer"], label_rule, reasoning_end),
                # what the model saw (chat template applied, if any), to check two runs asked the same
                "prompt": sample["arguments"][0][0],
                "prompt_hash": sample["prompt_hash"],
                "task_version": version,
            }
        )
    own = {key: value for key, value in results.items() if key != "samples" and not isinstance(value, dict)}
    for key, value in results.items():
        if isinstance(value, dict):
            own[key] = {name: value[name]} if name in value else {}
    return rows, version, lm_eval_record(own, config)


def read_questions(pairs: Sequence[tuple[EvalTask, str]]) -> dict[tuple[str, str], list[dict]]:
    """The questions (lm-eval docs) of every (task, language) in ``pairs``, each read once: a
    missing or malformed file fails here, before any model loads."""
    docs: dict[tuple[str, str], list[dict]] = {}
    for task, lang in pairs:
        if (task.benchmark, lang) not in docs:
            examples = load_benchmark(task.benchmark, lang, task.path, revision=task.revision)
            docs[(task.benchmark, lang)] = [example.as_doc() for example in examples]
    return docs


def data_sources(tasks: Sequence[EvalTask], docs: dict) -> dict[str, dict | None]:
    """Per benchmark read from the hub in this process, what was read (ref and commit)."""
    from harness.benchmarks import hub_source

    read = {benchmark for benchmark, _ in docs}
    return {t.benchmark: hub_source(t.benchmark, t.revision) for t in tasks if t.benchmark in read and not t.path}


# -- files --------------------------------------------------------------------------------------


def _part_file(out: Path, benchmark: str, model: str, lang: str) -> Path:
    return out / benchmark / PARTS_DIR / f"{model}.{lang}.json"


def _read_done(out: Path, task: EvalTask) -> dict[tuple[str, str], dict]:
    """Finished (model, lang) -> {"model", "lang", "source", "task_version", "rows"}.

    From the parts, and from samples.jsonl + scores.json when an attempt was killed after writing
    them and removing its parts, before the stage was marked done.
    """
    folder = out / task.benchmark
    done: dict[tuple[str, str], dict] = {}
    if (folder / SAMPLES_FILE).exists() and (out / SCORES_FILE).exists():
        scores = read_artifact(out / SCORES_FILE, Scores, "run `harness evaluate RECIPE --force`")
        for _, row in read_json_lines(folder / SAMPLES_FILE):
            done.setdefault(
                (row["model"], row["lang"]), stored_part(scores, row["model"], row["lang"], task.benchmark)
            )["rows"].append(row)
    for part in sorted((folder / PARTS_DIR).glob("*.json")):
        entry = json.loads(part.read_text(encoding="utf-8"))
        done[(entry["model"], entry["lang"])] = entry
    return done


def _write_samples(out: Path, task: EvalTask, models: Sequence[str], done: dict) -> None:
    lines = [
        json.dumps(SampleRow.model_validate(row).model_dump(exclude_unset=True), ensure_ascii=False)
        for model in models
        for lang in task.languages
        for row in done[(model, lang)]["rows"]
    ]
    atomic_write_text(out / task.benchmark / SAMPLES_FILE, "\n".join(lines) + "\n")


def stored_part(scores: Scores, model: str, lang: str, benchmark: str) -> dict:
    """The part of one finished (model, language) as scores.json records it, its rows still to add."""
    stored = scores.models[model]
    task = stored.tasks[benchmark]
    return {
        "model": model,
        "lang": lang,
        "source": stored.source,
        "task_version": task.task_version,
        "prompt_sha": task.prompt_sha,
        "hub_source": {"commit": task.data_commit, "ref": task.data_ref},
        "rows": [],
    }


# -- the whole evaluation ------------------------------------------------------------------------

LMFactory = Callable[[str], tuple[Any, str]]
"""model name ("base" | "trained") -> (an lm_eval LM, a description of its source)."""


def run_models(
    evaluation,
    tasks: Sequence[EvalTask],
    out: Path,
    make_lm: LMFactory,
    seed: int = 0,
    settings: dict | None = None,
) -> dict:
    """Evaluate every model on every task and language; write samples and scores; return scores.

    ``evaluation``: the recipe's EvaluationConfig; ``make_lm`` is called only for a model with
    something left to do; ``settings`` are recorded in scores.json (device, ...).
    """
    out = Path(out)
    models = list(evaluation.models)
    done = {task.benchmark: _read_done(out, task) for task in tasks}
    pending = {
        model: [(t, lang) for t in tasks for lang in t.languages if (model, lang) not in done[t.benchmark]]
        for model in models
    }
    docs = read_questions([pair for pairs in pending.values() for pair in pairs])
    sources = data_sources(tasks, docs)
    for model in models:
        if not pending[model]:
            console.print(f"[dim]{model}: every task already evaluated in {out}, skipped[/dim]")
            continue
        lm, source = make_lm(model)
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[lang]}"),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,  # a log file gets the lines below, not a bar
        ) as progress:
            bars = {
                t.benchmark: progress.add_task(
                    f"{model} {t.benchmark}",
                    total=len(t.languages),
                    lang="",
                    completed=sum((model, lang) in done[t.benchmark] for lang in t.languages),
                )
                for t in tasks
            }
            for task in tasks:
                languages = [lang for t, lang in pending[model] if t is task]
                if not languages:
                    continue
                progress.update(bars[task.benchmark], lang=", ".join(languages))
                started = time.time()
                answered = evaluate_languages(
                    lm,
                    task,
                    {lang: docs[(task.benchmark, lang)] for lang in languages},
                    model,
                    evaluation.new_tokens(model),
                    seed,
                    evaluation.stop,
                    evaluation.choice_label,
                    chat_template=evaluation.chat_template,
                    system_prompt=evaluation.system_prompt,
                    reasoning_end=evaluation.reasoning_end,
                )
                seconds = time.time() - started
                for lang in languages:
                    rows = answered[lang][0]
                    right = sum(row["correct"][evaluation.extraction] for row in rows)
                    unfinished = sum(row.get("reasoning_ended") is False for row in rows)
                    console.print(
                        f"evaluate {model} {task.benchmark} {lang}: {right}/{len(rows)} correct"
                        + (f" ({unfinished} still reasoning at the token limit, scored wrong)" if unfinished else "")
                        + (
                            f" ({len(languages)} languages in {seconds:.1f} s)"
                            if len(languages) > 1
                            else f" in {seconds:.1f} s"
                        ),
                        highlight=False,
                    )
                    _keep(out, task, model, lang, source, sources.get(task.benchmark), answered[lang], done)
                progress.update(bars[task.benchmark], advance=len(languages), lang="")
        del lm
        _free_memory()

    for task in tasks:
        _write_samples(out, task, models, done[task.benchmark])
    from harness.runs import git_commit

    write_lm_eval_files(out, tasks, models, done, settings, seed, evaluation, git_commit())
    scores = build_scores(evaluation, tasks, done, seed, settings)
    write_artifact(out / SCORES_FILE, Scores.model_validate(scores))
    for task in tasks:
        shutil.rmtree(out / task.benchmark / PARTS_DIR, ignore_errors=True)
    return scores


def _keep(out: Path, task: EvalTask, model: str, lang: str, source: str, hub_source, answered, done) -> None:
    """One finished (model, task, language), kept for resume (written atomically) and in ``done``."""
    rows, version, lm_eval = answered
    entry = {
        "model": model,
        "lang": lang,
        "source": source,
        "task_version": version,
        "prompt_sha": lm_eval["prompt_sha"],
        "hub_source": hub_source,
        "rows": rows,
        "lm_eval": lm_eval,
    }
    write_json(_part_file(out, task.benchmark, model, lang), entry)
    done[task.benchmark][(model, lang)] = entry


def prompting_settings(evaluation) -> dict:
    """How the models were asked beyond the task's prompt, as scores.json's settings record it:
    runs that differ in any of these are not compared or ranked together."""
    return {
        "system_prompt": evaluation.system_prompt,
        "chat_template_args": dict(evaluation.chat_template_args),
        "reasoning_end": evaluation.reasoning_end,
    }


def _pinned(task: EvalTask, part: dict) -> dict:
    """scores.json's record of a hub dataset: the revision asked for and the commit read."""
    if task.path or get_benchmark(task.benchmark).hub_id is None:
        return {}
    source = part.get("hub_source") or {}
    return {"revision": task.revision, "data_commit": source.get("commit"), "data_ref": source.get("ref")}


def build_scores(evaluation, tasks: Sequence[EvalTask], done: dict, seed: int, settings: dict | None) -> dict:
    """scores.json from the finished samples of every (model, task, language)."""
    from importlib.metadata import version

    from harness import __version__

    models = list(evaluation.models)
    scores: dict = {
        "harness_version": __version__,
        "lm_eval_version": version("lm-eval"),
        "extraction": evaluation.extraction,
        "settings": {
            "backend": evaluation.backend,
            "batch_size": evaluation.batch_size,
            "max_new_tokens": evaluation.max_new_tokens,
            "seed": seed,
            "stop": evaluation.stop,
            "choice_label": evaluation.choice_label,
            "chat_template": evaluation.chat_template,
            **({"math_prompt": f"{CHAT_PROMPT} in the model's chat template"} if evaluation.chat_template else {}),
            **prompting_settings(evaluation),
            **(settings or {}),
        },
        "models": {},
    }
    if "hardware" not in scores["settings"]:  # a re-score keeps the hardware that generated the answers
        from harness.environment import hardware

        scores["settings"]["hardware"] = hardware()
    outcomes: dict[str, dict[str, dict]] = {model: {} for model in models}
    for model in models:
        first = done[tasks[0].benchmark][(model, tasks[0].languages[0])]
        entry: dict = {"source": first["source"], "max_new_tokens": evaluation.new_tokens(model), "tasks": {}}
        for task in tasks:
            finished = {lang: done[task.benchmark][(model, lang)] for lang in task.languages}
            by_mode = {
                mode: {
                    lang: {row["id"]: row["correct"][mode] for row in part["rows"]} for lang, part in finished.items()
                }
                for mode in ("paper", "strict")
            }
            outcomes[model][task.benchmark] = by_mode[evaluation.extraction]
            benchmark = get_benchmark(task.benchmark)
            entry["tasks"][task.benchmark] = {
                "task_version": finished[task.languages[0]]["task_version"],
                "prompt_sha": finished[task.languages[0]].get("prompt_sha"),
                "data": task.path or benchmark.hub_id or "bundled with harness",
                **_pinned(task, finished[task.languages[0]]),
                "limit": task.limit,
                **task_scores(by_mode, evaluation.extraction, benchmark.average_languages),
            }
            if evaluation.reasoning_end is not None:
                for lang, part in finished.items():
                    entry["tasks"][task.benchmark]["languages"][lang]["reasoning_unfinished"] = sum(
                        row.get("reasoning_ended") is False for row in part["rows"]
                    )
        scores["models"][model] = entry
    if "base" in models and "trained" in models:
        scores["comparisons"] = {
            "trained_vs_base": {
                task.benchmark: paired_comparison(outcomes["base"][task.benchmark], outcomes["trained"][task.benchmark])
                for task in tasks
            }
        }
    return scores


def _free_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
