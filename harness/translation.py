"""X->English translation pairs: loading, filtering, mixing (training data, and the selection probe's
parallel questions).

Sources (``training.data.source``):

- ``demo``: the pairs that ship in ``harness/demo/translation`` (a line-parallel folder).
- A local folder of line-parallel files, QAlign's layout (``<xx>-en/train.<xx>`` beside
  ``<xx>-en/train.en``; line i of one is the translation of line i of the other). These are
  question translations (QAlign's ``gsm8kinstruct_question``), so only ``sides: questions``
  reads them. A language whose folder or ``train.<xx>`` file is missing (bn and th in the copy
  under ``shared/data``) has no pairs: an error, or skipped with ``missing_languages: skip``.
- A local JSON/JSONL file, or a hub dataset (``datasets.load_dataset(id, split=...)``), whose
  rows are either

  * pairs: ``lang`` (ISO code of the source side), ``source`` (the non-English text),
    ``target`` (its English translation), optional ``side`` (``question`` | ``answer``,
    default ``question``); or
  * MathOctopus's parallel MGSM8KInstruct (``Mathoctopus/GSM8KInstruct_Parallel``, file
    ``MGSM8KInstruct_Parallel.json``, JSON lines): ``prompt`` (an Alpaca prompt whose preamble
    names the language, "... in {Language}. Please answer in {Language}.", and whose
    ``### Instruction:`` block is the question) and ``chosen`` (the step-by-step answer ending in
    ``#### <number>``); ``instruction``/``output`` are accepted for the same two fields. The
    same GSM8K problem appears once per language, in GSM8K order, but some languages lack a few
    problems, so rows are paired with English by aligning each language's sequence of final
    answers (``#### N``) with English's (``difflib``, no reordering); a row without a partner
    is counted as ``unaligned``. An ``id``/``idx``/``index`` field, when present, pairs rows
    exactly instead. Questions make question pairs, answers make answer pairs.

Filtering (``training.data.filter``), in this order, counted per language and reason:
``empty`` (a side is blank), ``duplicate`` (the same source and target already kept),
``untranslated`` (the source is the English text itself: 35 of QAlign's zh "translations"),
``repetitive`` (a side degenerates into a repeated unit: :func:`is_degenerate`),
``length_ratio`` (source/target character ratio off the language's median by more than
``max_length_ratio`` either way); :mod:`harness.training.data` adds ``too_long`` after tokenising.
"""

from __future__ import annotations

import difflib
import json
import random
import re
import statistics
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from harness.errors import HarnessError
from harness.languages import LANGUAGE_NAMES, check_known, language_name
from harness.schema import Section
from harness.textfiles import read_json_lines

SIDES = {"questions": ("question",), "answers": ("answer",), "both": ("question", "answer")}
_NAME_TO_CODE = {name.lower(): code for code, name in LANGUAGE_NAMES.items()}


class TranslationDataConfig(Section):
    kind: Literal["translation"] = Field("translation", exclude=True)
    """`translation` (the default: X->English pairs); `instructions` reads query/response rows instead
    (harness/training/instructions.py). Left out of the resolved recipe, so fingerprints of runs made
    before instruction data existed stay the same."""
    source: str = "Mathoctopus/GSM8KInstruct_Parallel"
    """Where the X->English pairs come from: `demo` (the pairs shipped in harness/demo/translation),
    a hub dataset id (MathOctopus's parallel MGSM8KInstruct rows, or rows with `lang`, `source`,
    `target`), a local folder of `<xx>-en/train.<xx>` + `train.en` line-parallel files (question
    translations, QAlign's layout), or a local JSON/JSONL file with `lang`, `source`, `target`
    (and optionally `side`: question|answer) fields."""
    revision: str | None = None
    """Hub revision (branch, tag or commit) of a hub dataset."""
    split: str = "train"
    """Split of a hub dataset."""
    languages: list[str] | None = None
    """Source languages to train on (default: the recipe's languages except `en`)."""
    missing_languages: Literal["error", "skip"] = "error"
    """A training language with no pairs in the source: `error` (exit 2) or `skip` it (recorded in
    train.json), e.g. bn and th, which the local QAlign question files lack."""
    sides: Literal["questions", "answers", "both"] = "questions"
    """Which translations to train on: questions, answers (chain-of-thought solutions) or both.
    Line-parallel folders hold question translations only."""
    mixing: Literal["natural", "balanced"] = "natural"
    """`natural` keeps every pair; `balanced` caps each language at the smallest language's count."""
    max_pairs_per_language: Annotated[int, Field(gt=0)] | Literal["table1"] | None = None
    """Keep at most this many pairs per language (a seeded sample, after filtering). `table1`: the
    preset that matches the paper's Table 1 (ours: the paper prints totals only): each language and
    side capped at its share of Table 1's count (57,817 questions, 65,968 answers over the nine
    non-English languages: 6,424 / 7,330 each, the remainder to the first languages)."""
    prompt: Literal["table7", "alma", "llama_factory", "qalign"] = "table7"
    """Training prompt: `table7` (the paper's Table 7 as printed, `[{source_lang}]` in brackets),
    `alma` (ALMA's prompt, which the paper says it adopts: no brackets) or `llama_factory` (Table 7
    in LLaMA-Factory's default template, as the authors' fork trains) or `qalign` (QAlign's stage-1
    prompt); see harness/training/prompts.py."""
    filter: bool = True
    """Drop empty, exactly duplicated, degenerate (repetitive) and implausibly long/short pairs."""
    max_length_ratio: float = Field(3.0, gt=1.0)
    """Drop pairs whose source/target character-length ratio differs from the language's median
    ratio by more than this factor either way (the median adjusts for the script)."""

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, languages: list[str] | None) -> list[str] | None:
        return check_known(languages)


@dataclass(frozen=True)
class TranslationPair:
    lang: str
    """ISO code of the source (non-English) side."""
    source: str
    target: str
    """The English side."""
    side: str = "question"
    """`question` or `answer`."""


@dataclass
class PairSet:
    """Pairs per language, with what was dropped on the way and why."""

    pairs: dict[str, list[TranslationPair]]
    origin: str
    dropped: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    skipped: dict[str, str] = field(default_factory=dict)
    """Languages without pairs that were skipped, with the reason."""

    def counts(self) -> dict[str, int]:
        return {lang: len(pairs) for lang, pairs in self.pairs.items()}


# -- loading -----------------------------------------------------------------------------------


def resolve_source(source: str) -> tuple[str, Path | str]:
    """(`lines` | `file` | `hub`, location) for ``training.data.source``."""
    if source == "demo":
        from harness.demo import demo_translation_dir

        return "lines", demo_translation_dir()
    path = Path(source).expanduser()
    if path.is_dir():
        return "lines", path
    if path.is_file():
        return "file", path
    if source.startswith((".", "/", "~")) or source.endswith((".json", ".jsonl")) or path.exists():
        raise HarnessError(
            f"training.data.source {source!r}: no such file or folder; fix the path "
            "(relative to the current folder) or use `demo` or a hub dataset id"
        )
    return "hub", source


def load_pairs(data, languages: list[str]) -> PairSet:
    """Pairs for ``languages`` (source-side codes) from ``data`` (a TranslationDataConfig).

    A language with no pairs is an error listing every such language and why, unless
    ``data.missing_languages`` is ``skip``.
    """
    for lang in languages:
        language_name(lang)
    kind, location = resolve_source(data.source)
    sides = SIDES[data.sides]
    reasons: dict[str, str] = {}
    if kind == "lines":
        if "answer" in sides:
            raise HarnessError(
                f"training.data.sides {data.sides!r}: the line-parallel folder {location} holds question "
                "translations only (`<xx>-en/train.<xx>` + `train.en`); use sides: questions, or a "
                "JSONL file / hub dataset that has answer translations"
            )
        result = PairSet({}, f"line-parallel folder {location}")
        for lang in languages:
            found, reason = _read_line_pairs(Path(location), lang)
            result.pairs[lang] = found
            if reason:
                reasons[lang] = reason
    else:
        rows = read_rows(kind, location, data)
        pairs, unaligned = _pairs_from_rows(rows, languages, sides, str(location))
        result = PairSet(pairs, f"{'file' if kind == 'file' else 'hub dataset'} {location}")
        for lang, n in unaligned.items():
            if n:
                result.dropped[lang]["unaligned"] += n
    origin = result.origin
    for lang in languages:
        if not result.pairs.get(lang) and lang not in reasons:
            reasons[lang] = f"no {'/'.join(sides)} pairs for {lang} in {origin}"
    if reasons:
        if data.missing_languages == "error":
            raise HarnessError(
                "training.data: no translation pairs for "
                + "; ".join(f"{lang} ({why})" for lang, why in reasons.items())
                + ". Point training.data.source at data that has them, set training.data.languages "
                "to the languages it has, or set training.data.missing_languages: skip"
            )
        for lang, why in reasons.items():
            result.skipped[lang] = why
            result.pairs.pop(lang, None)
    if not result.pairs:
        raise HarnessError(f"training.data: no language left to train on ({origin})")
    return result


def _read_line_pairs(folder: Path, lang: str) -> tuple[list[TranslationPair], str | None]:
    pair_dir = folder / f"{lang}-en"
    src, tgt = pair_dir / f"train.{lang}", pair_dir / "train.en"
    if not pair_dir.is_dir():
        present = sorted(p.name for p in folder.glob("*-en") if p.is_dir())
        return [], f"no folder {pair_dir.name}/ in {folder} (it has: {', '.join(present) or 'none'})"
    missing = [p.name for p in (src, tgt) if not p.is_file()]
    if missing:
        return [], f"{pair_dir}: {' and '.join(missing)} missing"
    source_lines = src.read_text(encoding="utf-8").splitlines()
    target_lines = tgt.read_text(encoding="utf-8").splitlines()
    if len(source_lines) != len(target_lines):
        raise HarnessError(
            f"{pair_dir}: train.{lang} has {len(source_lines)} lines but train.en has "
            f"{len(target_lines)}; line-parallel files must have one line per pair"
        )
    return [TranslationPair(lang, s, t, "question") for s, t in zip(source_lines, target_lines)], None


def read_rows(kind: str, location, data) -> list[dict[str, Any]]:
    """The rows of a local JSON/JSONL file (`file`) or a hub dataset (`hub`, ``data.split``/``revision``)."""
    if kind == "file":
        return read_json_rows(Path(location))
    from harness.hub import require_hub_dataset

    require_hub_dataset(
        str(location),
        f"training.data.source {str(location)!r}",
        "point it at local files (a folder of <xx>-en/train.<xx> + train.en, or a JSONL file)",
    )
    try:
        import datasets

        dataset = datasets.load_dataset(str(location), split=data.split, revision=data.revision)
    except Exception as error:  # the hub raises many types; all mean "could not load it"
        raise HarnessError(
            f"training.data.source {location!r}: could not load the hub dataset "
            f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}); check the "
            "id and split, or that it is cached when offline (HF_DATASETS_OFFLINE=1), or point "
            "training.data.source at local files"
        ) from None
    return [dict(row) for row in dataset]


def read_json_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSON array file or a JSON-lines file; a clear error naming the bad line."""
    text = path.read_text(encoding="utf-8")
    if not text.lstrip().startswith("["):
        return [row for _, row in read_json_lines(path)]
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as error:
        raise HarnessError(f"{path}: line {error.lineno}: not valid JSON ({error.msg})") from None
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise HarnessError(f"{path}: row {number}: expected a JSON object with lang/source/target")
    return rows


def _pairs_from_rows(
    rows: list[dict], languages: list[str], sides: tuple[str, ...], where: str
) -> tuple[dict[str, list[TranslationPair]], dict[str, int]]:
    if not rows:
        return {}, {}
    first = rows[0]
    if {"lang", "source", "target"} <= set(first):
        return _pair_rows(rows, languages, sides, where), {}
    if ("prompt" in first and "chosen" in first) or ("instruction" in first and "output" in first):
        return _mathoctopus_pairs(rows, languages, sides, where)
    raise HarnessError(
        f"{where}: rows have fields {sorted(first)}; expected `lang`, `source`, `target` (and "
        "optionally `side`), or MathOctopus's `prompt` + `chosen`"
    )


def _pair_rows(rows, languages, sides, where) -> dict[str, list[TranslationPair]]:
    wanted = set(languages)
    pairs: dict[str, list[TranslationPair]] = defaultdict(list)
    for number, row in enumerate(rows, 1):
        missing = [k for k in ("lang", "source", "target") if k not in row]
        if missing:
            raise HarnessError(f"{where}: row {number}: missing field(s) {', '.join(missing)}")
        side = row.get("side") or "question"
        if side not in ("question", "answer"):
            raise HarnessError(f"{where}: row {number}: side {side!r}; use question or answer")
        lang = str(row["lang"])
        if lang in wanted and side in sides:
            pairs[lang].append(TranslationPair(lang, str(row["source"] or ""), str(row["target"] or ""), side))
    return dict(pairs)


_INSTRUCTION = re.compile(r"### Instruction:\s*\n(.*?)\n\s*\n### Response:", re.DOTALL)
_LANGUAGE = re.compile(r"(?:answer|request|respond|response) in ([A-Z][a-z]+)")
_FINAL = re.compile(r"####\s*([-+]?[\d.,]+)\s*$")
_ID_FIELDS = ("id", "idx", "index")


@dataclass(frozen=True)
class _Item:
    question: str
    answer: str
    key: Any


def _mathoctopus_pairs(rows, languages, sides, where):
    """X->English pairs from MathOctopus-style parallel rows (see the module docstring)."""
    by_lang: dict[str, list[_Item]] = defaultdict(list)
    id_field = next((f for f in _ID_FIELDS if f in rows[0]), None)
    unknown = 0
    for row in rows:
        prompt = str(row.get("prompt", row.get("instruction", "")))
        answer = str(row.get("chosen", row.get("output", ""))).strip()
        lang = str(row["lang"]) if "lang" in row else language_in_preamble(prompt)
        if lang is None:
            unknown += 1
            continue
        match = _INSTRUCTION.search(prompt)
        question = (match.group(1) if match else prompt).strip()
        if id_field:
            key = row.get(id_field)
        else:
            final = _FINAL.search(answer)
            key = final.group(1).replace(",", "").rstrip(".") if final else None
        by_lang[lang].append(_Item(question, answer, key))
    english = by_lang.get("en", [])
    if not english:
        raise HarnessError(
            f"{where}: no English rows found ({unknown} rows without a recognisable "
            "language); the English side is needed to make X->English pairs"
        )
    pairs: dict[str, list[TranslationPair]] = {}
    unaligned: dict[str, int] = {}
    for lang in languages:
        items = by_lang.get(lang, [])
        matched = _align(english, items, by_id=id_field is not None)
        unaligned[lang] = len(items) - len(matched)
        out = []
        for en_item, item in matched:
            if "question" in sides:
                out.append(TranslationPair(lang, item.question, en_item.question, "question"))
            if "answer" in sides:
                out.append(TranslationPair(lang, item.answer, en_item.answer, "answer"))
        pairs[lang] = out
    return pairs, unaligned


def language_in_preamble(prompt: str) -> str | None:
    """The language MathOctopus's prompt preamble names ("... Please answer in German."), as a code."""
    match = _LANGUAGE.search(prompt)
    return _NAME_TO_CODE.get(match.group(1).lower()) if match else None


def _align(english: list[_Item], items: list[_Item], by_id: bool) -> list[tuple[_Item, _Item]]:
    """Pairs of (English item, item): by id, or by aligning the final-answer sequences."""
    if by_id:
        index = {item.key: item for item in english}
        return [(index[item.key], item) for item in items if item.key in index]
    # Items without a final answer get a unique key so they never match anything.
    en_keys = [item.key if item.key is not None else object() for item in english]
    keys = [item.key if item.key is not None else object() for item in items]
    matcher = difflib.SequenceMatcher(None, en_keys, keys, autojunk=False)
    return [(english[a + k], items[b + k]) for a, b, size in matcher.get_matching_blocks() for k in range(size)]


# -- filtering and mixing ----------------------------------------------------------------------

_WORD_RUN = re.compile(r"(?:^|\s)(\S+)(?:\s+\1){3,}(?=\s|$)")
_CHAR_RUN = re.compile(r"([^\d\s.,])\1{7,}")


def is_degenerate(text: str) -> bool:
    """Whether ``text`` degenerates into repetition, as broken machine translation does.

    True when a word repeats four or more times in a row ("unatoa unatoa unatoa unatoa"), a
    character other than a digit, space or separator eight or more times ("!!!!!!!!", "的的的..."),
    or when a text of 64+ bytes compresses (zlib) below 20% of its size (a phrase looped). On the
    QAlign question pairs this flags the two looped machine translations and nothing else: the
    most compressible ordinary question compresses to 26%.
    """
    if _WORD_RUN.search(text) or _CHAR_RUN.search(text):
        return True
    raw = text.encode("utf-8")
    return len(raw) >= 64 and len(zlib.compress(raw)) / len(raw) < 0.2


def filter_pairs(pairs: PairSet, max_length_ratio: float) -> PairSet:
    """Drop bad pairs in place (see the module docstring); counts go to ``pairs.dropped``."""
    for lang, items in pairs.pairs.items():
        kept: list[TranslationPair] = []
        seen: set[tuple[str, str, str]] = set()
        for pair in items:
            source, target = pair.source.strip(), pair.target.strip()
            if not source or not target:
                pairs.dropped[lang]["empty"] += 1
                continue
            key = (pair.side, source, target)
            if key in seen:
                pairs.dropped[lang]["duplicate"] += 1
                continue
            seen.add(key)
            if source == target:
                pairs.dropped[lang]["untranslated"] += 1
                continue
            if is_degenerate(source) or is_degenerate(target):
                pairs.dropped[lang]["repetitive"] += 1
                continue
            kept.append(TranslationPair(lang, source, target, pair.side))
        pairs.pairs[lang] = _length_filter(kept, max_length_ratio, pairs.dropped[lang])
    return pairs


def _length_filter(items: list[TranslationPair], limit: float, dropped: Counter) -> list[TranslationPair]:
    """Keep pairs whose length ratio is within ``limit`` of the median ratio of their side."""
    kept = []
    for side in ("question", "answer"):
        group = [p for p in items if p.side == side]
        if not group:
            continue
        ratios = [len(p.source) / len(p.target) for p in group]
        median = statistics.median(ratios)
        for pair, ratio in zip(group, ratios):
            if ratio / median > limit or median / ratio > limit:
                dropped["length_ratio"] += 1
            else:
                kept.append(pair)
    order = {id(p): i for i, p in enumerate(items)}
    return sorted(kept, key=lambda p: order[id(p)])


TABLE1_PAIRS = {
    "math": {"question": 57_817, "answer": 65_968},
    "common_sense": {"question": 16_110 + 14_955},
}
"""SLAM's Table 1: the X->English training pairs per side, after the authors' filtering (math:
MGSM8KInstruct; common sense: X-CSQA test 16,110 + Flores-200 dev 14,955)."""


def table1_caps(languages: list[str]) -> dict[str, dict[str, int]]:
    """lang -> side -> cap: Table 1's count of each side spread over the languages (the first
    languages, in sorted order, take one more until the remainder is used)."""
    from harness.languages import MATH_LANGUAGES

    reference = "common_sense" if any(lang not in MATH_LANGUAGES for lang in languages) else "math"
    ordered = sorted(languages)
    caps: dict[str, dict[str, int]] = {lang: {} for lang in ordered}
    for side, total in TABLE1_PAIRS[reference].items():
        share, remainder = divmod(total, len(ordered))
        for index, lang in enumerate(ordered):
            caps[lang][side] = share + (index < remainder)
    return caps


def mix_pairs(
    pairs: PairSet, mixing: str, max_per_language: int | Literal["table1"] | None, seed: int
) -> dict[str, list[TranslationPair]]:
    """Cap each language (seeded sample, order kept): ``max_per_language`` (``table1``: each
    language and side at its share of Table 1, :func:`table1_caps`), then for ``balanced`` the
    smallest language's count."""
    rng = random.Random(seed)
    if max_per_language == "table1":
        caps = table1_caps(list(pairs.pairs))
        chosen = {}
        for lang, items in pairs.pairs.items():
            by_side = {side: [p for p in items if p.side == side] for side in dict.fromkeys(p.side for p in items)}
            kept = {id(p) for side, group in by_side.items() for p in _sample(group, caps[lang].get(side, 0), rng)}
            chosen[lang] = [p for p in items if id(p) in kept]
    else:
        chosen = {lang: _sample(items, max_per_language, rng) for lang, items in pairs.pairs.items()}
    if mixing == "balanced" and chosen:
        smallest = min(len(items) for items in chosen.values())
        chosen = {lang: _sample(items, smallest, rng) for lang, items in chosen.items()}
    return chosen


def _sample(items: list, n: int | None, rng: random.Random) -> list:
    if n is None or len(items) <= n:
        return list(items)
    keep = sorted(rng.sample(range(len(items)), n))
    return [items[i] for i in keep]
