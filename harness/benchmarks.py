"""Benchmark datasets by name: MGSM, MSVAMP, X-CSQA and the demo set.

Each loads from the hub by default (``datasets.load_dataset``) or from local files in the
benchmark's original format:

- ``mgsm`` / ``demo``: ``<dir>/mgsm_<lang>.tsv``, TSV without a header, ``question<TAB>answer``;
- ``msvamp``: ``<dir>/test_<Language>.json``, JSON lines with ``m_query`` and ``response``;
- ``xcsqa``: ``<dir>/<lang>/dev.jsonl``, JSON lines with ``id``, ``question.stem``,
  ``question.choices`` (``[{label, text}]``) and ``answerKey``.

Questions are parallel across languages: ``Example.id`` is the same question in every language
(the row index for MGSM and MSVAMP, the X-CSQA id for X-CSQA), which PCR pairs on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.errors import HarnessError
from harness.languages import LANGUAGE_NAMES, MATH_LANGUAGES, XCSQA_LANGUAGES
from harness.numbers import last_number
from harness.registry import Registry, suggest
from harness.textfiles import read_json_lines, text_lines

CHOICE_LABELS = ("A", "B", "C", "D", "E")


@dataclass(frozen=True)
class Example:
    """One benchmark question in one language."""

    id: str
    """Same for the same question in every language (pairs languages for PCR)."""
    index: int
    """0-based position in the language's file or split."""
    lang: str
    question: str
    answer: str
    """Gold answer as written: a number for math, a label "A".."E" for X-CSQA."""
    choices: tuple[tuple[str, str], ...] | None = None
    """X-CSQA only: (label, text) pairs in order."""

    def as_doc(self) -> dict[str, Any]:
        """The row an lm-eval task sees (choices as a list of {label, text})."""
        doc: dict[str, Any] = {
            "id": self.id,
            "index": self.index,
            "lang": self.lang,
            "question": self.question,
            "answer": self.answer,
        }
        if self.choices is not None:
            doc["choices"] = [{"label": label, "text": text} for label, text in self.choices]
        return doc


@dataclass(frozen=True)
class Benchmark:
    """A benchmark: its languages, where it lives on the hub, how its local files look."""

    name: str
    kind: Literal["math", "choice"]
    """`math`: the answer is a number; `choice`: the answer is a label A-E."""
    languages: tuple[str, ...]
    average_languages: tuple[str, ...]
    """The languages of the paper's average (MGSM's te is available but outside it)."""
    hub_id: str | None
    description: str
    local_layout: str
    """Where the files of one language lie under a local folder, e.g. `mgsm_<lang>.tsv`."""
    read_local: Callable[[Path, str], list[Example]] = field(repr=False)
    read_hub: Callable[[str, str | None], list[Example]] | None = field(default=None, repr=False)
    """(language, revision) -> the questions from the hub."""
    default_path: Callable[[], Path] | None = field(default=None, repr=False)
    """A local folder used when no path is given (the demo set ships with the package)."""

    def local_file(self, folder: Path, lang: str) -> Path:
        return folder / self.local_layout.format(lang=lang, Language=LANGUAGE_NAMES.get(lang, lang))

    def check_language(self, lang: str) -> None:
        if lang not in self.languages:
            raise HarnessError(
                f"benchmark {self.name!r} has no language {lang!r}{suggest(lang, self.languages)}; "
                f"it has: {', '.join(self.languages)}"
            )


BENCHMARKS: Registry[Benchmark] = Registry("benchmark")


def get_benchmark(name: str) -> Benchmark:
    return BENCHMARKS.get(name)


def load_benchmark(
    name: str, lang: str, path: str | Path | None = None, limit: int | None = None, revision: str | None = None
) -> list[Example]:
    """The questions of one benchmark in one language, from ``path`` (local files) or the hub (at
    ``revision``; the commit read is then in :func:`hub_source`).

    Raises HarnessError for an unknown benchmark or language, a missing file, or a file in the
    wrong format (naming the file, line and field).
    """
    benchmark = get_benchmark(name)
    benchmark.check_language(lang)
    if limit is not None and limit <= 0:
        raise HarnessError(f"limit {limit}: give a positive number of questions")
    folder = Path(path) if path else (benchmark.default_path() if benchmark.default_path else None)
    if folder is not None:
        if not folder.is_dir():
            raise HarnessError(
                f"{folder}: not a folder; point the {name} path at the folder holding {benchmark.local_layout} files"
            )
        file = benchmark.local_file(folder, lang)
        if not file.is_file():
            raise HarnessError(
                f"{file}: file not found; a local {name} folder holds {benchmark.local_layout} per language"
            )
        examples = benchmark.read_local(file, lang)
    else:
        assert benchmark.read_hub is not None, "a benchmark without local files reads the hub"
        examples = benchmark.read_hub(lang, revision)
    if not examples:
        raise HarnessError(f"{name} ({lang}): no questions found{f' in {file}' if folder else ''}")
    return examples[:limit] if limit else examples


# -- readers ------------------------------------------------------------------------------------


def _numeric_answer(value: Any, where: str) -> str:
    text = str(value).strip() if value is not None else ""
    if not text or last_number(text, "strict") is None:
        raise HarnessError(f"{where}: answer {value!r} is not a number")
    return text


def read_mgsm_tsv(file: Path, lang: str) -> list[Example]:
    """MGSM's TSV: no header, two tab-separated fields per line, question and numeric answer."""
    examples = []
    for index, (number, line) in enumerate(text_lines(file)):
        fields = line.split("\t")
        if len(fields) != 2:
            raise HarnessError(
                f"{file}: line {number}: expected 2 tab-separated fields (question, answer), found "
                f"{len(fields)}; MGSM files are TSV without a header"
            )
        question, answer = fields
        if not question.strip():
            raise HarnessError(f"{file}: line {number}: field 1 (question) is empty")
        answer = _numeric_answer(answer, f"{file}: line {number}: field 2 (answer)")
        examples.append(Example(str(index), index, lang, question.strip(), answer))
    return examples


def _text_field(row: dict, key: str, where: str, name: str | None = None) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        found = "missing" if key not in row else f"{type(value).__name__} {value!r}"[:80]
        raise HarnessError(f"{where}: field {name or repr(key)}: expected a non-empty string, found {found}")
    return value.strip()


def read_msvamp_jsonl(file: Path, lang: str) -> list[Example]:
    """MSVAMP's JSON lines: ``m_query`` (the question in this language), ``response`` (the number)."""
    examples = []
    for index, (number, row) in enumerate(read_json_lines(file)):
        where = f"{file}: line {number}"
        question = _text_field(row, "m_query", where)
        if "response" not in row:
            raise HarnessError(f"{where}: field 'response' (the numeric answer) is missing")
        answer = _numeric_answer(row["response"], f"{where}: field 'response'")
        examples.append(Example(str(index), index, lang, question, answer))
    return examples


def _xcsqa_example(row: dict, choices: list | None, index: int, lang: str, where: str) -> Example:
    """Check one X-CSQA row (choices already as a list of {label, text}) and build its Example."""
    example_id = row.get("id")
    if not isinstance(example_id, str) or not example_id:
        raise HarnessError(f"{where}: field 'id': expected a non-empty string")
    question = row.get("question")
    if not isinstance(question, dict):
        raise HarnessError(f"{where}: field 'question': expected an object with 'stem' and 'choices'")
    stem = _text_field(question, "stem", where, "'question.stem'")
    if not isinstance(choices, list) or not choices:
        raise HarnessError(f"{where}: field 'question.choices': expected a list of {{label, text}}")
    pairs = []
    for position, choice in enumerate(choices):
        label = choice.get("label") if isinstance(choice, dict) else None
        text = choice.get("text") if isinstance(choice, dict) else None
        if label not in CHOICE_LABELS or not isinstance(text, str):
            raise HarnessError(
                f"{where}: field 'question.choices[{position}]': expected {{label: A-E, text: string}}, "
                f"found {json.dumps(choice, ensure_ascii=False)[:80]}"
            )
        pairs.append((label, text.strip()))
    answer = row.get("answerKey")
    labels = [label for label, _ in pairs]
    if answer not in labels:
        raise HarnessError(f"{where}: field 'answerKey': {answer!r} is not one of the choices' labels {labels}")
    return Example(example_id, index, lang, stem, str(answer), tuple(pairs))


def read_xcsqa_jsonl(file: Path, lang: str) -> list[Example]:
    """X-CSR's ``dev.jsonl``: ``id``, ``question.stem``, ``question.choices``, ``answerKey``."""
    examples = []
    for index, (number, row) in enumerate(read_json_lines(file)):
        question = row.get("question")
        choices = question.get("choices") if isinstance(question, dict) else None
        examples.append(_xcsqa_example(row, choices, index, lang, f"{file}: line {number}"))
    return examples


HUB_SOURCES: dict[tuple[str, str | None], Any] = {}
"""(benchmark, revision) -> the :class:`harness.hub_datasets.HubSource` its last hub load read."""


def hub_source(benchmark: str, revision: str | None = None) -> dict | None:
    """What the last hub load of ``benchmark`` at ``revision`` read (commit, ref), as JSON."""
    source = HUB_SOURCES.get((benchmark, revision))
    return source.as_json() if source is not None else None


def _hub_split(benchmark: str, hub_id: str, config: str, split: str, revision: str | None = None):
    from harness import hub
    from harness.hub_datasets import load_split

    layout = BENCHMARKS.get(benchmark).local_layout.format(lang="<lang>", Language="<Language>")
    local = f"local files in the original format ({layout})"
    hub.require_hub_dataset(hub_id, benchmark, f"point its `path` (or `harness score --path`) at {local}")
    rows, source = load_split(hub_id, config, split, revision, benchmark, offline=not hub.hub_reachable())
    HUB_SOURCES[(benchmark, revision)] = source
    return rows


def _hub_rows(
    benchmark: str, hub_id: str, config: str, split: str, fields: tuple[str, ...], revision: str | None = None
):
    rows = _hub_split(benchmark, hub_id, config, split, revision)
    missing = [name for name in fields if name not in rows.column_names]
    if missing:
        raise HarnessError(f"{hub_id} ({config}): columns {missing} missing; it has {rows.column_names}")
    return rows


def _hub_math(
    benchmark: str, hub_id: str, lang: str, question: str, answer: str, revision: str | None = None
) -> list[Example]:
    """A math benchmark's hub split: the question field and its numeric answer field."""
    rows = _hub_rows(benchmark, hub_id, lang, "test", (question, answer), revision)
    return [
        Example(
            str(i), i, lang, row[question].strip(), _numeric_answer(row[answer], f"{hub_id} ({lang}) row {i}: {answer}")
        )
        for i, row in enumerate(rows)
    ]


def hub_mgsm(lang: str, revision: str | None = None) -> list[Example]:
    return _hub_math("mgsm", "juletxara/mgsm", lang, "question", "answer_number", revision)


def hub_msvamp(lang: str, revision: str | None = None) -> list[Example]:
    return _hub_math("msvamp", "Mathoctopus/MSVAMP", lang, "m_query", "response", revision)


def hub_xcsqa(lang: str, revision: str | None = None) -> list[Example]:
    rows = _hub_rows("xcsqa", "INK-USC/xcsr", f"X-CSQA-{lang}", "validation", ("id", "question", "answerKey"), revision)
    examples = []
    for i, row in enumerate(rows):
        choices = row["question"].get("choices") or {}
        as_list = [
            {"label": label, "text": text} for label, text in zip(choices.get("label", []), choices.get("text", []))
        ]
        examples.append(_xcsqa_example(row, as_list, i, lang, f"INK-USC/xcsr (X-CSQA-{lang}) row {i}"))
    return examples


def _demo_dir() -> Path:
    from harness.demo import demo_math_dir

    return demo_math_dir()


BENCHMARKS.register(
    "mgsm",
    Benchmark(
        name="mgsm",
        kind="math",
        languages=(*MATH_LANGUAGES, "te"),
        average_languages=MATH_LANGUAGES,
        hub_id="juletxara/mgsm",
        local_layout="mgsm_{lang}.tsv",
        description="MGSM (Shi et al. 2023): 250 grade-school math problems per language, in-domain",
        read_local=read_mgsm_tsv,
        read_hub=hub_mgsm,
    ),
)
BENCHMARKS.register(
    "msvamp",
    Benchmark(
        name="msvamp",
        kind="math",
        languages=MATH_LANGUAGES,
        average_languages=MATH_LANGUAGES,
        hub_id="Mathoctopus/MSVAMP",
        local_layout="test_{Language}.json",
        description="MSVAMP (Chen et al. 2023): 1,000 SVAMP problems per language, out-of-domain",
        read_local=read_msvamp_jsonl,
        read_hub=hub_msvamp,
    ),
)
BENCHMARKS.register(
    "xcsqa",
    Benchmark(
        name="xcsqa",
        kind="choice",
        languages=XCSQA_LANGUAGES,
        average_languages=XCSQA_LANGUAGES,
        hub_id="INK-USC/xcsr",
        local_layout="{lang}/dev.jsonl",
        description="X-CSQA dev (Lin et al. 2021): 1,000 five-way commonsense questions per language",
        read_local=read_xcsqa_jsonl,
        read_hub=hub_xcsqa,
    ),
)
BENCHMARKS.register(
    "demo",
    Benchmark(
        name="demo",
        kind="math",
        languages=MATH_LANGUAGES,
        average_languages=MATH_LANGUAGES,
        hub_id=None,
        local_layout="mgsm_{lang}.tsv",
        description="the quickstart's demo set: small parallel arithmetic problems, MGSM format (ships with harness)",
        read_local=read_mgsm_tsv,
        default_path=_demo_dir,
    ),
)
