"""lm-eval hooks of the slam_* tasks: questions from harness's loaders, scoring by harness's rules.

`load_docs` is the tasks' `custom_dataset`. lm-eval calls it with the task's metadata and
`dataset_kwargs`: `benchmark` and `lang` (set by each task's YAML), and optionally `path` (a
local folder in the benchmark's original format) or `docs` (the questions, already loaded by
harness's evaluate stage). A limit is lm-eval's own `--limit`. Under plain
`lm_eval --include_path "$(harness ls tasks --path)"`, `--metadata '{"mgsm_path": "DIR"}'` (or `msvamp_path`,
`xcsqa_path`, `demo_path`) points a benchmark at local files; without it, the hub is used.
"""

from __future__ import annotations

from typing import Literal

import datasets

from harness.benchmarks import load_benchmark
from harness.evaluation.extraction import score_response


def load_docs(
    benchmark: str,
    lang: str,
    path: str | None = None,
    docs: list[dict] | None = None,
    reasoning_end: str | None = None,
    **metadata,
) -> datasets.DatasetDict:
    """The benchmark's questions in one language as the task's `test` split.

    ``reasoning_end`` (or `--metadata '{"reasoning_end": "</think>"}'`): each doc carries the
    marker, so the hooks read the answer only after the model's reasoning ends.
    """
    if docs is None:
        path = path or metadata.get(f"{benchmark}_path")
        revision = None if path else metadata.get(f"{benchmark}_revision")  # `--metadata '{"mgsm_revision": ...}'`
        docs = [example.as_doc() for example in load_benchmark(benchmark, lang, path, revision=revision)]
    reasoning_end = reasoning_end or metadata.get("reasoning_end")
    if reasoning_end:
        docs = [{**doc, "reasoning_end": reasoning_end} for doc in docs]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(docs)})


def _metrics(kind: Literal["math", "choice"], doc: dict, results: list[str]) -> dict[str, float]:
    correct = score_response(kind, results[0], doc["answer"], reasoning_end=doc.get("reasoning_end"))["correct"]
    return {"acc": float(correct["paper"]), "acc_strict": float(correct["strict"])}


def process_math_results(doc: dict, results: list[str]) -> dict[str, float]:
    """`acc`: the last number, by the authors' rule; `acc_strict`: by the strict rule."""
    return _metrics("math", doc, results)


def process_choice_results(doc: dict, results: list[str]) -> dict[str, float]:
    """`acc`: the last "(A)".."(E)" label equals answerKey; `acc_strict` also reads full-width forms."""
    return _metrics("choice", doc, results)
