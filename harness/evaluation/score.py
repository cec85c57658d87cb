"""`harness score`: score generations made elsewhere, and `harness ls tasks`.

The generations file is JSON lines, one per question: ``lang``, ``index`` (0-based position in
the benchmark's language file) or ``id`` (X-CSQA's question id), and ``response``. Gold answers
come from the benchmark loader (the hub, or ``--path`` local files). Every language present must
be complete, with each question once, or hold the first n questions (a run with a limit).
A run's own ``eval/<task>/samples.jsonl`` (both models: pick one with ``model``) and lm-eval's
``samples_<task>_<date>.jsonl`` carry their gold answers and are scored without the data.
"""

from __future__ import annotations

from pathlib import Path

from harness.benchmarks import BENCHMARKS, Example, get_benchmark, load_benchmark
from harness.errors import HarnessError
from harness.evaluation.extraction import MODES, score_response
from harness.evaluation.lm_eval_files import prompt_sha
from harness.evaluation.lm_eval_folder import latest_results, model_folder, sample_lines
from harness.evaluation.metrics import task_scores
from harness.evaluation.tasks import PREFIX, list_tasks
from harness.textfiles import read_json_lines

__all__ = ["folder_scores", "list_tasks", "read_generations", "score_file", "score_generations"]

MAX_LISTED = 10


def _normalise(file: Path, number: int, row: dict, model: str | None) -> dict | None:
    """One line of any of the three formats as {lang, index|id, response[, target]}; None to skip.

    lm-eval's samples (``doc``, ``filtered_resps``) and the harness's own samples.jsonl (``model``,
    ``target``) carry the gold answer, so they are scored without the benchmark's files.
    """
    if "doc" in row and ("filtered_resps" in row or "resps" in row):  # lm-eval's samples_<task>_<date>.jsonl
        doc = row["doc"]
        if not isinstance(doc, dict) or not {"lang", "id", "answer"} <= doc.keys():
            raise HarnessError(
                f"{file}: line {number}: an lm-eval sample whose doc lacks lang, id or answer; "
                "only the slam_* tasks' samples can be scored"
            )
        responses = row.get("filtered_resps") or row.get("resps") or [""]
        while isinstance(responses, list):  # [[text]] before lm-eval's filters, [text] after
            responses = responses[0] if responses else ""
        return {
            "lang": doc["lang"],
            "id": doc["id"],
            "index": doc.get("index"),
            "response": responses,
            "target": str(doc["answer"]),
        }
    if "model" in row and model is not None and row["model"] != model:  # the harness's samples.jsonl
        return None
    return row


def read_generations(path: str | Path, model: str | None = None, task: str | None = None) -> list[tuple[int, dict]]:
    """(line number, row) for every non-empty line; each row has lang, index|id and response.

    Reads generations made elsewhere, lm-eval's samples files and the harness's samples.jsonl
    (``model`` picks base or trained when the file holds both), and a plain ``lm_eval
    --output_path`` folder (``task``'s samples files in it, see :mod:`harness.evaluation.lm_eval_folder`).
    """
    file = Path(path)
    if file.is_dir() and task is not None:
        if model is not None:
            raise HarnessError(f"{file}: --model picks a model of a run's samples.jsonl; an lm-eval folder has one")
        lines = [(number, raw) for _, number, raw in sample_lines(file, task)]
    elif not file.is_file():
        raise HarnessError(f"{file}: generations file not found")
    else:
        lines = list(read_json_lines(file))
    rows = []
    models: set[str] = set()
    for number, raw in lines:
        if "model" in raw:
            models.add(str(raw["model"]))
        row = _normalise(file, number, raw, model)
        if row is None:
            continue
        for key in ("lang", "response"):
            if key not in row:
                raise HarnessError(f"{file}: line {number}: field {key!r} is missing")
        if not isinstance(row["lang"], str):
            raise HarnessError(f"{file}: line {number}: field 'lang': expected a language code string")
        if row["response"] is not None and not isinstance(row["response"], str):
            raise HarnessError(f"{file}: line {number}: field 'response': expected a string")
        if row.get("index") is None and row.get("id") is None:
            raise HarnessError(f"{file}: line {number}: needs 'index' (0-based question number) or 'id'")
        rows.append((number, row))
    if model is None and len(models) > 1:
        raise HarnessError(
            f"{file}: holds the answers of {' and '.join(sorted(models))}; "
            f"pick one with --model {'|'.join(sorted(models))}"
        )
    if model is not None and not models:
        raise HarnessError(
            f"{file}: --model {model}: the file has no 'model' field (it holds one model's answers); leave --model out"
        )
    if not rows:
        raise HarnessError(
            f"{file}: no generations in the file"
            + (f" for model {model!r} (it has: {', '.join(sorted(models))})" if model else "")
        )
    return rows


def _match(file: Path, number: int, row: dict, examples: list[Example], by_id: dict[str, Example]) -> Example:
    if "id" in row and row["id"] is not None:
        example = by_id.get(str(row["id"]))
        if example is None:
            raise HarnessError(
                f"{file}: line {number}: id {row['id']!r} is not a {row['lang']} question of the benchmark"
            )
        return example
    index = row["index"]
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(examples):
        raise HarnessError(
            f"{file}: line {number}: index {index!r} is out of range; "
            f"{row['lang']} has questions 0..{len(examples) - 1}"
        )
    return examples[index]


def _gold_from_rows(lines: list[tuple[int, dict]]) -> list[Example] | None:
    """The questions of one language from rows that carry their gold answer (samples files)."""
    if not all(row.get("target") is not None and row.get("id") is not None for _, row in lines):
        return None
    return [
        Example(
            str(row["id"]),
            row["index"] if isinstance(row.get("index"), int) else position,
            row["lang"],
            "",
            str(row["target"]),
        )
        for position, (_, row) in enumerate(lines)
    ]


def score_generations(
    path: str | Path,
    task: str,
    data_path: str | None = None,
    model: str | None = None,
    reasoning_end: str | None = None,
) -> tuple[dict, list[dict]]:
    """Per-language outcomes by mode, and the scored rows, of a generations file.

    Rows with their gold answer (samples files) are scored against it; other rows against the
    benchmark's files. A language may be partial (a run with a ``limit``): its answers must then
    be the benchmark's first n questions; n is reported per language. ``reasoning_end``: the answer
    is read after the model's reasoning only, and a response still reasoning is wrong.
    """
    file = Path(path)
    benchmark = get_benchmark(task)
    rows = read_generations(file, model, task)
    by_lang: dict[str, list[tuple[int, dict]]] = {}
    for number, row in rows:
        try:
            benchmark.check_language(row["lang"])
        except HarnessError as error:
            raise HarnessError(f"{file}: line {number}: {error}") from None
        by_lang.setdefault(row["lang"], []).append((number, row))

    by_mode: dict[str, dict[str, dict[str, bool]]] = {mode: {} for mode in MODES}
    scored = []
    for lang, lines in by_lang.items():
        examples = _gold_from_rows(lines) if data_path is None else None
        from_file = examples is not None
        if examples is None:
            examples = load_benchmark(task, lang, data_path)
        by_id = {example.id: example for example in examples}
        seen: dict[str, int] = {}
        for number, row in lines:
            example = _match(file, number, row, examples, by_id)
            if example.id in seen:
                raise HarnessError(
                    f"{file}: line {number}: duplicate: {lang} question {example.index} (id {example.id}) "
                    f"was already answered on line {seen[example.id]}"
                )
            seen[example.id] = number
            result = score_response(benchmark.kind, row["response"], example.answer, reasoning_end=reasoning_end)
            for mode in MODES:
                by_mode[mode].setdefault(lang, {})[example.id] = result["correct"][mode]
            scored.append({"lang": lang, "index": example.index, "id": example.id, "target": example.answer, **result})
        missing = [example.index for example in examples if example.id not in seen]
        answered_prefix = not from_file and all(e.id in seen for e in examples[: len(seen)])
        if missing and not answered_prefix:
            listed = ", ".join(str(i) for i in missing[:MAX_LISTED]) + (" ..." if len(missing) > MAX_LISTED else "")
            raise HarnessError(
                f"{file}: {lang}: {len(missing)} of {len(examples)} questions have no generation "
                f"(indices {listed}); every question of a language must be answered once, or (a run "
                "with a limit) the first n"
            )
    return by_mode, scored


def score_file(
    path: str,
    task: str,
    extraction: str,
    data_path: str | None = None,
    model: str | None = None,
    reasoning_end: str | None = None,
) -> dict:
    """`harness score FILE --task NAME [--model M] [--reasoning-end MARK]`: the task's scores under
    ``extraction`` (the other mode's accuracies beside), in the benchmark's order of languages;
    with a marker, each language counts its responses still reasoning (``reasoning_unfinished``)."""
    if reasoning_end is not None and not reasoning_end.strip():
        raise HarnessError("--reasoning-end: empty; give the marker that ends the reasoning, e.g. '</think>'")
    benchmark = get_benchmark(task)
    by_mode, scored = score_generations(path, task, data_path, model, reasoning_end)
    order = [lang for lang in benchmark.languages if lang in by_mode[extraction]]
    by_mode = {mode: {lang: by_mode[mode][lang] for lang in order} for mode in by_mode}
    scores = task_scores(by_mode, extraction, benchmark.average_languages)
    if reasoning_end is not None:
        for lang, entry in scores["languages"].items():
            entry["reasoning_unfinished"] = sum(
                row["lang"] == lang and row.get("reasoning_ended") is False for row in scored
            )
    return {
        "task": task,
        "extraction": extraction,
        "file": str(path),
        "model": model,
        "reasoning_end": reasoning_end,
        **scores,
    }


def folder_scores(folder: Path, extraction: str = "paper") -> tuple[dict, dict[str, dict]]:
    """The folder's model as scores.json has it (one model, ``base``) and its per-question outcomes
    by benchmark, for the leaderboard: the harness's scoring of lm-eval's answers, with the
    settings lm-eval recorded (chat template, system instruction, max new tokens)."""
    results_file, results = latest_results(folder)
    config = results.get("config") or {}
    model_args = config.get("model_args")
    if isinstance(model_args, str):
        from lm_eval.utils import simple_parse_args_string

        model_args = simple_parse_args_string(model_args)
    model_args = model_args or {}
    tasks: dict[str, dict] = {}
    outcomes: dict[str, dict] = {}
    max_new_tokens = None
    for benchmark in BENCHMARKS:
        names = {n for n in results.get("versions") or {} if n.startswith(f"{PREFIX}_{benchmark}_")}
        if not names:
            continue
        by_mode, _ = score_generations(model_folder(folder), benchmark)
        first = sorted(names)[0]
        task_config_recorded = (results.get("configs") or {}).get(first) or {}
        max_new_tokens = (config.get("gen_kwargs") or {}).get("max_gen_toks") or (
            task_config_recorded.get("generation_kwargs") or {}
        ).get("max_gen_toks")
        tasks[benchmark] = {
            "task_version": (results.get("versions") or {}).get(first),
            "prompt_sha": prompt_sha(task_config_recorded),
            "data": f"lm-eval output ({results_file.parent})",
            "limit": config.get("limit"),
            **task_scores(by_mode, extraction, get_benchmark(benchmark).average_languages),
        }
        outcomes[benchmark] = by_mode[extraction]
    if not tasks:
        raise HarnessError(f"{results_file}: no harness task (slam_*) in it; only those can be ranked")
    source = str(model_args.get("pretrained") or config.get("model") or results_file.parent.name)
    scores = {
        "lm_eval_version": results.get("lm_eval_version"),
        "extraction": extraction,
        "settings": {
            "chat_template": bool(results.get("chat_template")),
            "system_prompt": results.get("system_instruction"),
            "chat_template_args": model_args.get("chat_template_args") or {},
            "reasoning_end": None,
            "max_new_tokens": max_new_tokens,
            "lm_eval_results": str(results_file),
        },
        "models": {"base": {"source": source, "max_new_tokens": max_new_tokens, "tasks": tasks}},
    }
    return scores, outcomes
