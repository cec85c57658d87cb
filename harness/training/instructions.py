"""Instruction data as a training source: a query and a response per row (``training.data.kind:
instructions``), what QAlign's response alignment (MetaMathQA) and MathOctopus-style tuning
(MGSM8KInstruct) train on.

Sources: a local JSON array or JSON-lines file, or a hub dataset (``datasets.load_dataset(id,
split=...)``), in its original format: the recipe names the fields (MetaMathQA: ``query`` /
``response``; MathOctopus's MGSM8KInstruct files: ``instruction`` / ``output``; its hub copy:
``prompt`` / ``chosen``, where ``prompt`` already holds the whole Alpaca prompt: template
``as_is``). Each example is ``prompt`` (the template filled with the query) + the response + EOS,
and the loss counts the response and EOS only. Tokenisation goes through the same cache as the
translation pairs (:mod:`harness.training.token_cache`) and the examples through the same
length grouping and Trainer.

A row's language is its ``language_field`` (an ISO code or an English name), else the language
MathOctopus's preamble names ("... in German. Please answer in German."), else
``default_language``. Filtering (``filter``), counted per language and reason: ``empty`` (query
or response blank), ``duplicate`` (the same query and response already kept), ``repetitive``
(:func:`harness.translation.is_degenerate` on either), then ``too_long`` after tokenising (the
prompt alone fills ``max_length``); ``max_examples`` then caps the rest (a seeded sample).
"""

from __future__ import annotations

import random
import string
from collections import Counter, defaultdict
from typing import Any, Literal

from pydantic import Field, field_validator

from harness.errors import HarnessError
from harness.languages import LANGUAGE_NAMES, check_known, language_name
from harness.schema import Section
from harness.training.data import TranslationData, tokenize_texts

ALPACA = (
    "Below is an instruction that describes a task. Write a response that appropriately completes the request."
    "\n\n### Instruction:\n{query}\n\n### Response:"
)
TEMPLATES = {
    "alpaca": ALPACA,
    "mathoctopus": (
        "Below is an instruction that describes a task. Write a response that appropriately completes the request "
        "in {language}. Please answer in {language}.\n\n### Instruction:\n{query}\n\n### Response:"
    ),
    "as_is": "{query}",
}
"""Named prompt templates; a recipe may also give its own text with ``{query}`` (and ``{language}``)."""
PLACEHOLDERS = {"query", "language"}
REASONS = ("empty", "duplicate", "repetitive", "too_long")
_NAME_TO_CODE = {name.lower(): code for code, name in LANGUAGE_NAMES.items()}


class InstructionDataConfig(Section):
    """Instruction data: rows with a query and a response (see harness/training/instructions.py)."""

    kind: Literal["instructions"]
    """`instructions` (this section); leave `kind` out for X->English translation pairs."""
    source: str
    """A local JSON/JSONL file or a hub dataset id (`meta-math/MetaMathQA`)."""
    revision: str | None = None
    """Hub revision (branch, tag or commit) of a hub dataset."""
    split: str = "train"
    """Split of a hub dataset."""
    query_field: str = "query"
    """Row field with the query (MetaMathQA: `query`; MGSM8KInstruct files: `instruction`)."""
    response_field: str = "response"
    """Row field with the response trained on (MetaMathQA: `response`; MGSM8KInstruct: `output`)."""
    language_field: str | None = None
    """Row field with the language (ISO code or English name); None: MathOctopus's preamble, else `default_language`."""
    default_language: str = "en"
    """The language of rows that name none (MetaMathQA is English)."""
    languages: list[str] | None = None
    """Keep only rows in these languages (None: every row)."""
    prompt: str = "alpaca"
    """`alpaca`, `mathoctopus`, `as_is` (harness/training/instructions.py), or a template of your own with
    `{query}` (and optionally `{language}`, the language's English name); the response follows it after
    `response_prefix`."""
    response_prefix: str = " "
    """Text between the prompt and the response; it goes with the response, as the translation pairs'
    leading space does, so that the response's first token (which a BPE tokenizer merges with the space)
    is counted by the loss."""
    filter: bool = True
    """Drop empty, exactly duplicated and degenerate (repetitive) rows."""
    max_examples: int | None = Field(None, gt=0)
    """Keep at most this many examples (a seeded sample, after filtering)."""

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, languages: list[str] | None) -> list[str] | None:
        return check_known(languages)

    @field_validator("default_language")
    @classmethod
    def _known_default(cls, code: str) -> str:
        check_known([code])
        return code

    @field_validator("prompt")
    @classmethod
    def _template(cls, prompt: str) -> str:
        if prompt in TEMPLATES:
            return prompt
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(prompt) if name is not None}
        except ValueError as error:
            raise ValueError(f"not a template ({error}); write braces as {{{{ and }}}}") from None
        if "query" not in names:
            raise ValueError(f"choose {', '.join(TEMPLATES)} or give a template with {{query}} where the query goes")
        unknown = names - PLACEHOLDERS
        if unknown:
            raise ValueError(f"unknown placeholder(s) {sorted(unknown)}; use {{query}} and {{language}}")
        return prompt

    def template(self) -> str:
        return TEMPLATES.get(self.prompt, self.prompt)


def language_of(row: dict, query: str, data: InstructionDataConfig) -> str | None:
    """The row's language code (None: a name or code the harness does not know)."""
    if data.language_field is not None:
        value = str(row.get(data.language_field) or "").strip()
        if value in LANGUAGE_NAMES:
            return value
        return _NAME_TO_CODE.get(value.lower())
    from harness.translation import language_in_preamble

    return language_in_preamble(query) or data.default_language


def format_example(query: str, response: str, lang: str, data: InstructionDataConfig) -> tuple[str, str]:
    """(prompt, completion) of one row."""
    prompt = data.template().format(query=query, language=language_name(lang))
    return prompt, data.response_prefix + response


def read_instruction_rows(data: InstructionDataConfig) -> tuple[list[dict[str, Any]], str]:
    """The rows of ``data.source`` and where they came from."""
    from harness.translation import read_rows, resolve_source

    if data.source == "demo":
        raise HarnessError(
            "training.data.source 'demo': the demo ships translation pairs only; point an instructions source "
            "at a JSON/JSONL file or a hub dataset"
        )
    kind, location = resolve_source(data.source)
    if kind == "lines":
        raise HarnessError(
            f"training.data.source {data.source!r}: a folder; instruction data is a JSON/JSONL file or a hub dataset"
        )
    rows = read_rows(kind, location, data)
    return rows, f"{'file' if kind == 'file' else 'hub dataset'} {location}"


def _check_fields(rows: list[dict], data: InstructionDataConfig, origin: str) -> None:
    if not rows:
        raise HarnessError(f"training.data.source: {origin} has no rows")
    wanted = [data.query_field, data.response_field] + ([data.language_field] if data.language_field else [])
    missing = [name for name in wanted if name not in rows[0]]
    if missing:
        keys = {"query_field": data.query_field, "response_field": data.response_field}
        keys["language_field"] = data.language_field or ""
        which = [key for key, value in keys.items() if value in missing]
        raise HarnessError(
            f"training.data: {origin}: the first row has no field {', '.join(map(repr, missing))}; it has "
            f"{', '.join(sorted(rows[0]))}; set training.data.{' / '.join(which)} to the field names it uses"
        )


def build_instruction_data(data: InstructionDataConfig, tokenizer, max_length: int, seed: int):
    """Load, filter, cap and tokenise the rows of an instructions ``training.data`` section."""
    from harness.training.token_cache import tokenize_cached
    from harness.translation import is_degenerate

    rows, origin = read_instruction_rows(data)
    _check_fields(rows, data, origin)
    wanted = set(data.languages) if data.languages else None
    loaded: Counter = Counter()
    dropped: dict[str, Counter] = defaultdict(Counter)
    unknown: Counter = Counter()
    seen: set[tuple[str, str]] = set()
    kept: list[tuple[str, str, str]] = []  # (lang, query, response)
    for number, row in enumerate(rows, 1):
        query, response = row.get(data.query_field), row.get(data.response_field)
        if not isinstance(query, (str, type(None))) or not isinstance(response, (str, type(None))):
            raise HarnessError(f"training.data: {origin}: row {number}: the query and response must be text")
        query, response = (query or "").strip(), (response or "").strip()
        lang = language_of(row, query, data)
        if lang is None:
            unknown[str(row.get(data.language_field or ""))] += 1
            continue
        if wanted is not None and lang not in wanted:
            continue
        loaded[lang] += 1
        if data.filter:
            if not query or not response:
                dropped[lang]["empty"] += 1
                continue
            if (query, response) in seen:
                dropped[lang]["duplicate"] += 1
                continue
            seen.add((query, response))
            if is_degenerate(query) or is_degenerate(response):
                dropped[lang]["repetitive"] += 1
                continue
        kept.append((lang, query, response))
    if unknown:
        raise HarnessError(
            f"training.data: {origin}: {sum(unknown.values())} row(s) name a language the harness does not know "
            f"in {data.language_field!r} ({', '.join(sorted(unknown)[:5])}); use ISO codes "
            f"({', '.join(sorted(LANGUAGE_NAMES))}) or English names"
        )
    if not kept:
        raise HarnessError(
            f"training.data: no example left from {origin} (loaded {dict(loaded)}, dropped "
            f"{ {lang: dict(c) for lang, c in dropped.items()} }); check the source, its fields and "
            "training.data.languages"
        )
    capped = 0
    if data.max_examples is not None and len(kept) > data.max_examples:
        keep = sorted(random.Random(seed).sample(range(len(kept)), data.max_examples))
        capped = len(kept) - data.max_examples
        kept = [kept[i] for i in keep]
    texts = [format_example(query, response, lang, data) for lang, query, response in kept]
    tokenized, cache_record = tokenize_cached(
        texts, tokenizer, max_length, lambda i: tokenize_texts(*texts[i], tokenizer, max_length)
    )
    examples, langs = [], []
    used: Counter = Counter()
    tokens: Counter = Counter()
    targets: Counter = Counter()
    for (lang, _, _), example in zip(kept, tokenized):
        if example is None:
            dropped[lang]["too_long"] += 1
            continue
        examples.append(example)
        langs.append(lang)
        used[lang] += 1
        tokens[lang] += len(example["input_ids"])
        targets[lang] += sum(1 for label in example["labels"] if label != -100)
    if not examples:
        raise HarnessError(f"training.data: every example's prompt fills training.max_length {max_length}; raise it")
    report = {
        "kind": "instructions",
        "source": data.source,
        "origin": origin,
        "fields": {"query": data.query_field, "response": data.response_field, "language": data.language_field},
        "prompt": data.template(),
        "prompt_variant": data.prompt if data.prompt in TEMPLATES else "custom",
        "languages": sorted(used),
        "rows_loaded": dict(loaded),
        "filtered": {lang: dict(dropped.get(lang, {})) for lang in loaded},
        "capped": capped,
        "examples": dict(used),
        "examples_total": len(examples),
        "tokens_per_epoch": dict(tokens),
        "target_tokens_per_epoch": dict(targets),
        "tokenized": cache_record,
    }
    return TranslationData(examples, langs, report)
