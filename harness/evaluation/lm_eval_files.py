"""lm-eval's own result files for a run: what `lm_eval --output_path DIR --log_samples` writes.

The evaluation makes one lm-eval call per (model, task, language). This module keeps each call's
output (results, configs, versions, samples) and merges them per model into lm-eval's layout,
written by lm-eval's own ``EvaluationTracker``, so lm-eval's tooling (``lm_eval.utils.make_table``,
its loggers, leaderboard parsers of ``results_*.json``) reads a run as it reads its own output:

    <run>/eval/lm_eval/<model>/results_<date>.json
    <run>/eval/lm_eval/<model>/samples_slam_<task>_<lang>_<date>.jsonl

``<model>`` is ``base`` or ``trained``; the results' ``config.model`` names the model's source.
Each benchmark's group (``slam_mgsm``, ...) gets the paper's average, the plain mean of ``acc``
over the languages the paper averages, as lm-eval computes it for the group under
``lm_eval --include_path "$(harness ls tasks --path)"``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.artifacts import LM_EVAL_DIR

MERGED_KEYS = ("results", "group_subtasks", "configs", "versions", "n-shot", "higher_is_better", "n-samples")
GROUP_METRICS = ("acc", "acc_strict")


def prompt_sha(config: dict[str, Any]) -> str:
    """A short hash of the task's prompt: its ``doc_to_text`` template and few-shot count.

    Two runs with the same hash asked every question the same way (before any chat template,
    which scores.json records on its own).
    """
    prompt = {
        "doc_to_text": str(config.get("doc_to_text")),
        "num_fewshot": config.get("num_fewshot", 0),
        "target_delimiter": config.get("target_delimiter", " "),
    }
    return hashlib.sha256(json.dumps(prompt, sort_keys=True).encode()).hexdigest()[:16]


def lm_eval_record(results: dict, config: dict[str, Any]) -> dict:
    """What one ``lm_eval.evaluator.evaluate`` call returned, as plain JSON (functions as text)."""
    from lm_eval.utils import handle_non_serializable

    record = {key: results.get(key) or {} for key in MERGED_KEYS}
    record["samples"] = results.get("samples") or {}
    record["prompt_sha"] = prompt_sha(config)
    return json.loads(json.dumps(record, default=handle_non_serializable, ensure_ascii=False))


def merge_records(records: Sequence[dict]) -> tuple[dict, dict]:
    """The per-language records of one model -> (lm-eval's results dict, samples by task name)."""
    merged: dict[str, Any] = {key: {} for key in MERGED_KEYS}
    samples: dict[str, list] = {}
    for record in records:
        for key in MERGED_KEYS:
            merged[key].update(record.get(key) or {})
        samples.update(record.get("samples") or {})
    return merged, samples


def add_group(merged: dict, group: str, members: Sequence[str]) -> None:
    """The benchmark's group row: the plain mean of each metric over ``members`` that ran."""
    present = [name for name in members if name in merged["results"]]
    if not present:
        return
    row: dict[str, Any] = {"alias": group}
    for metric in GROUP_METRICS:
        values = [merged["results"][name].get(f"{metric},none") for name in present]
        if all(isinstance(v, (int, float)) for v in values):
            row[f"{metric},none"] = sum(values) / len(values)
            row[f"{metric}_stderr,none"] = "N/A"
    merged["results"][group] = row
    merged.setdefault("groups", {})[group] = row
    merged["group_subtasks"][group] = present
    merged["versions"][group] = 1.0
    merged["n-shot"][group] = 0
    merged["higher_is_better"][group] = {metric: True for metric in GROUP_METRICS}


def model_args(source: str, settings: dict) -> dict[str, Any]:
    """lm-eval's ``model_args`` of a model as the run loaded it (``pretrained`` names its source)."""
    args: dict[str, Any] = {"pretrained": source, "dtype": settings.get("dtype")}
    if settings.get("chat_template_args"):
        args["chat_template_args"] = settings["chat_template_args"]
    return {key: value for key, value in args.items() if value is not None}


@functools.cache
def environment() -> dict[str, Any]:
    """lm-eval's environment record (``pretty_env_info``, versions), collected once per process."""
    from lm_eval.loggers.utils import add_env_info

    info: dict[str, Any] = {}
    add_env_info(info)
    return info


def write_lm_eval_files(
    out: Path,
    tasks: Sequence,
    models: Sequence[str],
    done: dict,
    settings: dict | None,
    seed: int,
    evaluation=None,
    git_hash: str | None = None,
) -> list[Path]:
    """Write ``out/lm_eval/<model>/`` for every model whose per-language records are all here, in
    lm-eval's results schema: ``config.model`` and ``model_name`` are the model's source,
    ``model_args`` how it was loaded, ``git_hash`` the harness's commit, lm-eval's environment
    record. ``evaluation.hub`` (opt-in) also pushes results and samples through the tracker.

    A model finished by an earlier attempt that kept only samples.jsonl (killed after writing it)
    has no records: its lm-eval folder, written by that attempt, is left as it is.
    """
    from lm_eval.loggers import EvaluationTracker

    from harness.benchmarks import get_benchmark
    from harness.evaluation.tasks import group_name, task_name

    settings = {**(settings or {}), **(_evaluation_settings(evaluation) if evaluation is not None else {})}
    written = []
    for model in models:
        entries = [done[task.benchmark][(model, lang)] for task in tasks for lang in task.languages]
        if any("lm_eval" not in entry for entry in entries):
            continue
        merged, samples = merge_records([entry["lm_eval"] for entry in entries])
        for task in tasks:
            average = get_benchmark(task.benchmark).average_languages
            add_group(
                merged,
                group_name(task.benchmark),
                [task_name(task.benchmark, lang) for lang in average if lang in task.languages],
            )
        source = entries[0]["source"]
        arguments = model_args(source, settings)
        max_new_tokens = evaluation.new_tokens(model) if evaluation is not None else settings.get("max_new_tokens")
        merged["config"] = {
            "model": source,
            "model_args": arguments,
            "backend": settings.get("backend"),
            "batch_size": settings.get("batch_size"),
            "device": settings.get("device"),
            "limit": limits.pop() if len(limits := {task.limit for task in tasks}) == 1 else None,
            "gen_kwargs": {"max_gen_toks": max_new_tokens},
            "random_seed": seed,
            "numpy_seed": seed,
            "torch_seed": seed,
            "fewshot_seed": seed,
        }
        merged["git_hash"] = git_hash
        merged.update(environment())
        merged["date"] = time.time()
        folder = Path(out) / LM_EVAL_DIR
        shutil.rmtree(folder / model, ignore_errors=True)  # a killed attempt's files, with another date
        # a .json output path keeps the folder named base/trained (lm-eval would name it after the model)
        tracker = EvaluationTracker(output_path=str(folder / model / "results.json"), **hub_arguments(evaluation))
        chat_template = settings.get("chat_template")
        tracker.general_config_tracker.log_experiment_args(
            model_source=settings.get("backend") or "hf",
            model_args=arguments,
            system_instruction=settings.get("system_prompt"),
            chat_template=chat_template if isinstance(chat_template, str) else None,
            fewshot_as_multiturn=False,
        )
        tracker.save_results_aggregated(results=merged, samples=samples)
        for name in merged["configs"]:
            tracker.save_results_samples(task_name=name, samples=samples[name])
        if tracker.push_results_to_hub or tracker.push_samples_to_hub:
            tracker.recreate_metadata_card()
        results = sorted((folder / model).glob("results_*.json"))
        if not results:  # the tracker logs a warning and carries on when it cannot write
            raise RuntimeError(f"lm-eval's EvaluationTracker wrote no results file into {folder / model}")
        written += results
    return written


def _evaluation_settings(evaluation) -> dict[str, Any]:
    return {
        "backend": evaluation.backend,
        "batch_size": evaluation.batch_size,
        "chat_template": evaluation.chat_template,
        "chat_template_args": dict(evaluation.chat_template_args) or None,
        "system_prompt": evaluation.system_prompt,
    }


def hub_arguments(evaluation) -> dict[str, Any]:
    """EvaluationTracker's hub arguments from ``evaluation.hub`` (nothing pushed when unset)."""
    hub = getattr(evaluation, "hub", None)
    if hub is None:
        return {}
    import os

    return {
        "hub_results_org": hub.org,
        "details_repo_name": hub.details_repo,
        "results_repo_name": hub.results_repo,
        "push_results_to_hub": True,
        "push_samples_to_hub": hub.push_samples,
        "public_repo": hub.public,
        "token": os.environ.get("HF_TOKEN", ""),
    }
