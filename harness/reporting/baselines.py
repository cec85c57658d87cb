"""Published baselines: the paper's table rows as YAML data under ``harness/baselines/``, with provenance.

Each ``baselines/*.yaml`` file holds one printed table (or one benchmark of a table):

    source: {paper, arxiv, table, caption}   where the numbers were printed
            (+ url, version: the file they were read from and its commit, for a repository's
             README or a model card; the SLAM paper's own tables need neither)
    benchmark: mgsm | msvamp | xcsqa
    primary: true          false for summary tables that repeat rows printed elsewhere
    languages: [...]       the per-language columns every row must fill
    rows:
      - row: 1             position in the printed table (1-based)
        size: 7B
        system: MetaMath
        cost: 3.5          training time relative to SLAM (1.0); null when not printed
        trained_share: 100.0
        quoted_from: Zhu et al. 2024 (QAlign)
        scores: {bn: 7.6, ...}     null: the source prints no number ("-")
        average: 38.4      the published mean over the file's languages, kept as printed
        base, trained      the model the system starts from and what it trains
        reading            tells apart two readings of one system in one source

One system (benchmark, size, system) may have several published readings in different files
(MetaMath-7B in SLAM's Table 2 and in the LLaMAX2-7B-MetaMath model card): the first in file
order (the SLAM paper's tables first) is the system's row; the others are ``alternative``,
listed by ``Baselines.readings`` and ``harness ls baselines``, and named ``...@<table>``.

Loading validates every file (missing or extra language, duplicate row, a number outside
[0, 100]: a ``HarnessError`` naming the file and the row) and recomputes every published
average: one that differs from the mean of its cells by more than ``AVERAGE_TOLERANCE`` is kept
as printed and flagged with a labelled warning (``Baselines.warnings``). A cell that no count of
right answers out of the benchmark's questions (``QUESTIONS_PER_LANGUAGE``) rounds to is flagged
the same way (``Baseline.impossible``): MGSM's 250 questions allow multiples of 0.4 only. Rows with
``cells_from`` repeat or summarise another table's row; their numbers are checked against it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.errors import HarnessError
from harness.registry import suggest
from harness.shipped import package_path

QUESTIONS_PER_LANGUAGE = {"mgsm": 250, "msvamp": 1000, "xcsqa": 1000}
"""Questions per language of each benchmark's full test set (X-CSQA: its dev set), the n behind
every published accuracy: an MGSM score is k/250, so a multiple of 0.4; MSVAMP and X-CSQA move in
0.1 steps."""

SLAM_ARXIV = "2501.03681"
"""The paper this harness reproduces; rows from other sources are systems published beside or since it."""

AVERAGE_TOLERANCE = 0.1
"""A published average further than this (points) from the mean of its cells is flagged.

Every cell and the average are printed rounded to 0.1, so the mean of the printed cells can
legitimately sit up to 0.05 + 0.05 = 0.1 from the printed average (Table 2's 13B SLAM: cells give
58.36, printed 58.3). Beyond that the difference is not rounding: TABLES.md lists those rows."""

BASELINES_DIR = package_path("baselines")
"""The ``baselines/`` folder that ships inside the package (``harness/baselines``)."""

Percent = Annotated[float, Field(ge=0.0, le=100.0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(_Strict):
    paper: str
    """Title of the paper that printed the table."""
    arxiv: str
    """arXiv id of that paper."""
    table: str
    """The table as the paper names it (`Table 2`), or the document it is read from (`MindMerger README`)."""
    caption: str = ""
    url: str | None = None
    """Where the numbers were read, when not in the SLAM paper: a repository file or model card."""
    version: str | None = None
    """The commit (or version) of ``url`` the numbers were read at."""


class RowRef(_Strict):
    """Another table's row that this row repeats or summarises."""

    table: str
    size: str
    system: str


class ScoreRow(_Strict):
    row: int = Field(gt=0)
    """Position in the printed table, 1-based."""
    size: str
    """Model size group (`7B`, `13B`)."""
    system: str
    """The system's name (`MetaMath`, `SLAM`, `QAlign +LoRA (r=256)`)."""
    label: str | None = None
    """The row label exactly as printed, when it differs from `system` (`LangBridge-9B`)."""
    base: str | None = None
    """The model the system starts from, when the table says."""
    trained: str | None = None
    """What the system trains (all parameters, a mapping layer, ...), when its source says."""
    reading: str | None = None
    """Which reading of the system this row is, when one source prints two (`official`, `reproduced`)."""
    cost: float | None = Field(None, ge=0)
    """Training time relative to SLAM (1.0); null when the table prints none."""
    cost_note: str | None = None
    trained_share: Percent | None = None
    """Percent of the parameters trained; null when the table prints none."""
    extra_params: str | None = None
    """Parameters added to the base model (Table 3)."""
    quoted_from: str | None = None
    """The publication the paper quotes this row from."""
    note: str | None = None
    scores: dict[str, Percent | None] = Field(default_factory=dict)
    """Accuracy (%) per language; null where the source prints none ("-")."""
    average: Percent | None = None
    """The published mean over the file's languages, as printed."""
    non_english_average: Percent | None = None
    """The published mean over the non-English languages (Table 6), as printed."""
    cells_from: RowRef | None = None

    @field_validator("size")
    @classmethod
    def _size(cls, value: str) -> str:
        if not re.fullmatch(r"\d+(\.\d+)?[BM]", value):
            raise ValueError(f"size {value!r} is not like '7B' or '135M'")
        return value


class ScoreFile(_Strict):
    kind: Literal["scores"] = "scores"
    source: Source
    benchmark: Literal["mgsm", "msvamp", "xcsqa"]
    primary: bool = True
    """False for summary tables whose rows repeat rows printed in another table."""
    languages: list[str]
    rows: list[ScoreRow] = Field(min_length=1)


class SamplesRow(_Strict):
    row: int = Field(gt=0)
    system: str
    languages: int = Field(gt=0)
    samples: int = Field(gt=0)


class SamplesFile(_Strict):
    kind: Literal["training_samples"]
    source: Source
    rows: list[SamplesRow] = Field(min_length=1)


BaselineFile = Annotated[ScoreFile | SamplesFile, Field(discriminator="kind")]


class _FileModel(BaseModel):
    file: BaselineFile


# -- loaded data -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Provenance:
    paper: str
    arxiv: str
    table: str
    row: int
    file: str
    note: str | None = None
    url: str | None = None
    version: str | None = None

    def cite(self) -> str:
        if self.url:
            at = f" at {short_version(self.version)}" if self.version else ""
            text = f"{self.table}, row {self.row} ({self.url}{at}; arXiv {self.arxiv})"
        else:
            text = f"arXiv {self.arxiv} {self.table}, row {self.row}"
        return f"{text}; {self.note}" if self.note else text

    def to_json(self) -> dict:
        return {
            "paper": self.paper,
            "arxiv": self.arxiv,
            "table": self.table,
            "row": self.row,
            "file": self.file,
            "note": self.note,
            "url": self.url,
            "version": self.version,
        }


@dataclass(frozen=True)
class Baseline:
    """One published row, ready for reports."""

    benchmark: str
    size: str
    system: str
    label: str
    languages: tuple[str, ...]
    scores: dict[str, float]
    average: float | None
    non_english_average: float | None
    cost: float | None
    cost_note: str | None
    trained_share: float | None
    extra_params: str | None
    base: str | None
    primary: bool
    provenance: Provenance
    warnings: tuple[str, ...] = ()
    trained: str | None = None
    reading: str | None = None
    alternative: bool = False
    """A further reading of a system whose row another (earlier) file prints."""
    impossible: dict[str, str] = field(default_factory=dict)
    """language -> why its printed cell cannot be a score of the benchmark (kept as printed)."""

    @property
    def key(self) -> str:
        """``mgsm/13B/SLAM``: benchmark, size and system."""
        return f"{self.benchmark}/{self.size}/{self.system}"

    @property
    def reference(self) -> str:
        """The name `harness compare` takes: ``baseline:mgsm/13B/SLAM`` (``@table3`` for a row that
        a summary table repeats, ``@llamax27bmetamathcard`` for a further reading)."""
        suffix = "" if self.primary and not self.alternative else f"@{_table_slug(self.provenance.table)}"
        return f"baseline:{self.key}" + suffix + (f"@{_norm(self.reading)}" if self.reading else "")

    @property
    def source_label(self) -> str:
        """Where the row is printed, short: `Table 2` (the SLAM paper) or `mCoT README`."""
        return self.provenance.table

    @property
    def from_slam(self) -> bool:
        return self.provenance.arxiv == SLAM_ARXIV

    def mean_over(self, languages: list[str] | tuple[str, ...]) -> float | None:
        """The mean of the printed cells over ``languages``; None when one is not printed."""
        values = [self.scores.get(lang) for lang in languages]
        if not values or any(v is None for v in values):
            return None
        return _mean([float(v) for v in values if v is not None])

    def to_json(self) -> dict:
        return {
            "benchmark": self.benchmark,
            "size": self.size,
            "system": self.system,
            "label": self.label,
            "reference": self.reference,
            "base": self.base,
            "trained": self.trained,
            "reading": self.reading,
            "alternative": self.alternative,
            "languages": {lang: self.scores.get(lang) for lang in self.languages},
            "average": self.average,
            "non_english_average": self.non_english_average,
            "cost": self.cost,
            "cost_note": self.cost_note,
            "trained_share": self.trained_share,
            "extra_params": self.extra_params,
            "primary": self.primary,
            "provenance": self.provenance.to_json(),
            "recomputed_average": self.mean_over(self.languages),
            "warnings": list(self.warnings),
            "impossible_cells": dict(self.impossible),
        }


@dataclass(frozen=True)
class TrainingSamples:
    system: str
    languages: int
    samples: int
    provenance: Provenance


@dataclass
class Baselines:
    rows: list[Baseline]
    training_samples: list[TrainingSamples] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [w for row in self.rows for w in row.warnings]

    def to_json(self) -> dict:
        """What `harness ls baselines --json` prints."""
        return {
            "rows": [row.to_json() for row in self.rows],
            "training_samples": [
                {
                    "system": s.system,
                    "languages": s.languages,
                    "samples": s.samples,
                    "provenance": {
                        "paper": s.provenance.paper,
                        "arxiv": s.provenance.arxiv,
                        "table": s.provenance.table,
                        "row": s.provenance.row,
                        "file": s.provenance.file,
                    },
                }
                for s in self.training_samples
            ],
            "warnings": self.warnings,
        }

    def for_benchmark(
        self,
        benchmark: str,
        size: str | None = None,
        systems: list[str] | None = None,
        primary_only: bool = False,
        readings: bool = False,
    ) -> list[Baseline]:
        """Rows of one benchmark, in file then printed order; optionally one size and some systems.

        Summary rows (``primary: false``) that repeat a (size, system) of a primary table are left
        out, so each system appears once (Table 3 adds only LangBridge to Table 2's rows); so are a
        system's further readings, unless ``readings``.
        """
        rows = [
            r
            for r in self.rows
            if r.benchmark == benchmark and (size is None or r.size == size) and (readings or not r.alternative)
        ]
        seen = {(r.size, r.system) for r in rows if r.primary}
        rows = [r for r in rows if r.primary or (not primary_only and (r.size, r.system) not in seen)]
        if systems is not None:
            wanted = {_norm(s) for s in systems}
            rows = [r for r in rows if _norm(r.system) in wanted or _norm(r.label) in wanted]
        # rows of the primary tables first (in their printed order), then what summaries add
        return [r for r in rows if r.primary] + [r for r in rows if not r.primary]

    def readings(self, row: Baseline) -> list[Baseline]:
        """Every published reading of ``row``'s system (itself included), the system's row first."""
        return [
            r
            for r in self.rows
            if r.primary
            and r.benchmark == row.benchmark
            and r.size == row.size
            and _norm(r.system) == _norm(row.system)
        ]

    def resolve(self, reference: str) -> Baseline:
        """``baseline:mgsm/13B/SLAM`` (or ``mgsm/13B/SLAM@table3``) -> the row; clear errors."""
        text = reference.removeprefix("baseline:")
        table = reading = None
        if "@" in text:
            text, table = text.split("@", 1)
            if "@" in table:
                table, reading = table.split("@", 1)
        parts = text.split("/", 2)
        if len(parts) != 3:
            raise HarnessError(
                f"baseline reference {reference!r}: expected baseline:<benchmark>/<size>/<system>, "
                "e.g. baseline:mgsm/13B/SLAM (`harness ls baselines` lists them)"
            )
        benchmark, size, system = parts
        benchmarks = sorted({r.benchmark for r in self.rows})
        if benchmark not in benchmarks:
            raise HarnessError(
                f"baseline reference {reference!r}: unknown benchmark {benchmark!r}"
                f"{suggest(benchmark, benchmarks)}; choose from: {', '.join(benchmarks)}"
            )
        rows = [r for r in self.rows if r.benchmark == benchmark]
        sizes = sorted({r.size for r in rows})
        if size not in sizes:
            raise HarnessError(
                f"baseline reference {reference!r}: no {size!r} rows for {benchmark}; choose from: {', '.join(sizes)}"
            )
        rows = [r for r in rows if r.size == size]
        matches = [r for r in rows if _norm(r.system) == _norm(system) or _norm(r.label) == _norm(system)]
        if table is not None:
            matches = [r for r in matches if _table_slug(r.provenance.table) == _table_slug(table)]
            if reading is not None:
                matches = [r for r in matches if _norm(r.reading or "") == _norm(reading)]
        elif any(r.primary and not r.alternative for r in matches):
            matches = [r for r in matches if r.primary and not r.alternative]
        if not matches:
            names = sorted({r.system for r in rows})
            raise HarnessError(
                f"baseline reference {reference!r}: no system {system!r} in {benchmark} "
                f"{size}{suggest(system, names)}; choose from: {', '.join(names)}"
            )
        if len(matches) > 1:
            options = ", ".join(m.reference for m in matches)
            raise HarnessError(f"baseline reference {reference!r} is ambiguous; use one of: {options}")
        return matches[0]


def short_version(version: str) -> str:
    """A 40-hex commit shortened to 12 characters; any other version as written."""
    return version[:12] if re.fullmatch(r"[0-9a-f]{40}", version) else version


def _norm(name: str) -> str:
    return re.sub(r"[\s_-]+", "", name).lower()


def _table_slug(table: str) -> str:
    return _norm(table)


# -- loading ---------------------------------------------------------------------------------


def _format_error(path: Path, data: dict, error: dict) -> str:
    loc = list(error["loc"])
    # drop the wrapper key and the discriminator tag pydantic puts in the location
    if loc and loc[0] == "file":
        loc = loc[1:]
    if loc and loc[0] in ("scores", "training_samples"):
        loc = loc[1:]
    where = _dotted(loc)
    if len(loc) >= 2 and loc[0] == "rows" and isinstance(loc[1], int):
        rows = data.get("rows") or []
        if loc[1] < len(rows) and isinstance(rows[loc[1]], dict):
            row = rows[loc[1]]
            where = f"{_dotted(loc)} ({_row_name(row)})"
    message = error["msg"]
    if error["type"] in ("less_than_equal", "greater_than_equal"):
        message = f"{message} (got {error.get('input')!r}; percentages lie in [0, 100])"
    return f"{path}: {where}: {message}"


def _dotted(loc: list) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _row_name(row: dict) -> str:
    bits = [str(row.get(k)) for k in ("size", "system") if row.get(k) is not None]
    return " ".join(bits) or f"row {row.get('row', '?')}"


def load_file(path: Path) -> ScoreFile | SamplesFile:
    """Parse and validate one baselines file; every problem at once, each naming file and row."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HarnessError(f"{path}: file not found") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark else ""
        raise HarnessError(f"{path}: {line}not valid YAML ({getattr(error, 'problem', error)})") from None
    if not isinstance(data, dict):
        raise HarnessError(f"{path}: expected a mapping with source, benchmark, languages and rows")
    data.setdefault("kind", "scores")
    try:
        parsed = _FileModel.model_validate({"file": data}).file
    except ValidationError as error:
        raise HarnessError("\n".join(_format_error(path, data, dict(e)) for e in error.errors())) from None

    problems: list[str] = []
    seen: dict[tuple, int] = {}
    parsed_rows: list[ScoreRow | SamplesRow] = list(parsed.rows)
    for index, row in enumerate(parsed_rows):
        key = (row.size, row.system, row.reading or "") if isinstance(row, ScoreRow) else (row.system,)
        name = " ".join(k for k in key if k)
        if key in seen:
            problems.append(
                f"{path}: rows[{index}] ({name}): duplicate row: {name} is already rows[{seen[key]}]; remove one"
            )
        else:
            seen[key] = index
        if isinstance(parsed, ScoreFile) and isinstance(row, ScoreRow):
            missing = [lang for lang in parsed.languages if lang not in row.scores]
            extra = [lang for lang in row.scores if lang not in parsed.languages]
            if missing:
                problems.append(
                    f"{path}: rows[{index}] ({name}): missing language(s) "
                    f"{', '.join(missing)}; the file's languages are {', '.join(parsed.languages)}"
                )
            if extra:
                problems.append(
                    f"{path}: rows[{index}] ({name}): language(s) {', '.join(extra)} not in the "
                    f"file's languages ({', '.join(parsed.languages) or 'none'})"
                )
            if not parsed.languages and row.average is None:
                problems.append(f"{path}: rows[{index}] ({name}): no numbers: a row needs scores or an average")
    if isinstance(parsed, ScoreFile):
        from harness.languages import LANGUAGE_NAMES, unknown_language

        for lang in parsed.languages:
            if lang not in LANGUAGE_NAMES:
                problems.append(f"{path}: languages: {unknown_language(lang)}")
        if len(set(parsed.languages)) != len(parsed.languages):
            problems.append(f"{path}: languages: a language is listed twice")
    if problems:
        raise HarnessError("\n".join(problems))
    return parsed


def _printed_decimals(value: float) -> int:
    text = repr(float(value))
    return len(text.split(".")[1].rstrip("0") or "") if "." in text and "e" not in text else 0


def impossible_score(value: float, benchmark: str) -> str | None:
    """Why ``value`` (a printed accuracy, %) cannot be a score of ``benchmark``, or None.

    A score is k/n right answers for a whole k; printed with d decimals it lies within half a unit
    of the d-th decimal of 100*k/n. MGSM (n = 250): multiples of 0.4, so 65.5 cannot be printed
    (163.75 right answers; 65.2 and 65.6 can)."""
    n = QUESTIONS_PER_LANGUAGE.get(benchmark)
    if n is None:
        return None
    half_unit = 0.5 * 10 ** -max(_printed_decimals(value), 1)
    k = round(value * n / 100)
    if abs(100 * k / n - value) <= half_unit + 1e-9:
        return None
    below, above = 100 * math.floor(value * n / 100) / n, 100 * math.ceil(value * n / 100) / n
    shown = f"{value:.{max(_printed_decimals(value), 1)}f}"
    return (
        f"{shown} is not a possible score: {benchmark.upper() if benchmark != 'xcsqa' else 'X-CSQA'} has {n} "
        f"questions per language, so scores are multiples of {100 / n:g} ({value * n / 100:g} right answers; "
        f"{below:.1f} and {above:.1f} are possible)"
    )


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def load_baselines(folder: Path | str | None = None) -> Baselines:
    """Load and check every ``*.yaml`` file of ``folder`` (default: the shipped ``harness/baselines``)."""
    folder = Path(folder) if folder is not None else BASELINES_DIR
    return _load(folder.resolve())


@lru_cache(maxsize=8)
def _load(folder: Path) -> Baselines:
    if not folder.is_dir():
        raise HarnessError(f"{folder}: baselines folder not found")
    files = sorted(folder.glob("*.yaml"), key=_file_order)
    if not files:
        raise HarnessError(f"{folder}: no baseline files (*.yaml)")
    problems: list[str] = []
    parsed: list[tuple[Path, ScoreFile | SamplesFile]] = []
    for path in files:
        try:
            parsed.append((path, load_file(path)))
        except HarnessError as error:
            problems.append(str(error))
    if problems:
        raise HarnessError("\n".join(problems))

    tables: dict[tuple[str, str], tuple[Path, str]] = {}
    rows: list[Baseline] = []
    samples: list[TrainingSamples] = []
    by_ref: dict[tuple[str, str, str, str, str | None], Baseline] = {}
    for path, data in parsed:
        rel = _display_path(path)
        table_key = (data.source.table, getattr(data, "benchmark", "samples"))
        if table_key in tables:
            problems.append(f"{rel}: {data.source.table} ({table_key[1]}) is also in {tables[table_key][1]}")
        tables[table_key] = (path, rel)
        if isinstance(data, SamplesFile):
            for sample_row in data.rows:
                samples.append(
                    TrainingSamples(
                        sample_row.system,
                        sample_row.languages,
                        sample_row.samples,
                        Provenance(data.source.paper, data.source.arxiv, data.source.table, sample_row.row, rel),
                    )
                )
            continue
        for r in data.rows:
            note = "; ".join(filter(None, [f"quoted from {r.quoted_from}" if r.quoted_from else None, r.note]))
            row = Baseline(
                benchmark=data.benchmark,
                size=r.size,
                system=r.system,
                label=r.label or r.system,
                languages=tuple(data.languages),
                scores={lang: v for lang, v in r.scores.items() if v is not None},
                average=r.average,
                non_english_average=r.non_english_average,
                cost=r.cost,
                cost_note=r.cost_note,
                trained_share=r.trained_share,
                extra_params=r.extra_params,
                base=r.base,
                trained=r.trained,
                reading=r.reading,
                primary=data.primary,
                provenance=Provenance(
                    data.source.paper,
                    data.source.arxiv,
                    data.source.table,
                    r.row,
                    rel,
                    note or None,
                    data.source.url,
                    data.source.version,
                ),
            )
            rows.append(row)
            by_ref[(data.source.table, data.benchmark, r.size, r.system, r.reading)] = row
    if problems:
        raise HarnessError("\n".join(problems))

    # Recompute every published aggregate; flag (never change) what differs.
    checked: list[Baseline] = []
    for _path, data in parsed:
        if isinstance(data, SamplesFile):
            continue
        for r in data.rows:
            row = by_ref[(data.source.table, data.benchmark, r.size, r.system, r.reading)]
            where = f"{row.provenance.table} {row.benchmark} {row.size} {row.label} ({row.provenance.file} row {r.row})"
            warnings: list[str] = []
            source_row = row
            if r.cells_from is not None:
                ref = (r.cells_from.table, data.benchmark, r.cells_from.size, r.cells_from.system, None)
                if ref not in by_ref:
                    raise HarnessError(
                        f"{row.provenance.file}: rows[{r.row - 1}] ({r.size} {r.system}): "
                        f"cells_from names {r.cells_from.table} {data.benchmark} "
                        f"{r.cells_from.size} {r.cells_from.system}, which no baseline file has"
                    )
                source_row = by_ref[ref]
                for lang, value in row.scores.items():
                    other = source_row.scores.get(lang)
                    if other is not None and abs(other - value) > 1e-9:
                        warnings.append(
                            f"published value differs: {where}: {lang} is {value}, "
                            f"{source_row.provenance.table} prints {other}"
                        )
            impossible = {}
            for lang, value in row.scores.items():
                reason = impossible_score(value, row.benchmark)
                if reason is not None:
                    impossible[lang] = reason
                    warnings.append(f"impossible score: {where}: {lang} {reason} (kept as printed)")
            cells = source_row.scores
            subset = source_row is not row and row.languages and set(row.languages) < set(source_row.languages)
            if row.average is not None and subset:
                mean = source_row.mean_over(row.languages)
                if mean is not None and abs(mean - row.average) > AVERAGE_TOLERANCE + 1e-9:
                    warnings.append(
                        f"published average differs from the mean of its cells: {where}: printed {row.average}, "
                        f"{source_row.provenance.table}'s cells give {mean:.2f} (kept as printed)"
                    )
            elif row.average is not None:
                if source_row is not row and source_row.average is not None:
                    if abs(source_row.average - row.average) > AVERAGE_TOLERANCE:
                        warnings.append(
                            f"published average differs: {where}: avg {row.average}, "
                            f"{source_row.provenance.table} prints {source_row.average}"
                        )
                elif cells and len(cells) == len(source_row.languages):
                    mean = _mean(list(cells.values()))
                    if abs(mean - row.average) > AVERAGE_TOLERANCE + 1e-9:
                        warnings.append(
                            f"published average differs from the mean of its cells: {where}: "
                            f"printed {row.average}, cells give {mean:.2f} (kept as printed)"
                        )
            if row.non_english_average is not None:
                non_en = [v for lang, v in cells.items() if lang != "en"]
                if non_en:
                    mean = _mean(non_en)
                    if abs(mean - row.non_english_average) > AVERAGE_TOLERANCE + 1e-9:
                        origin = "" if source_row is row else f" of {source_row.provenance.table}"
                        warnings.append(
                            f"published non-English average differs from the mean of the "
                            f"cells{origin}: {where}: printed {row.non_english_average}, "
                            f"cells give {mean:.2f} (kept as printed)"
                        )
            checked.append(_with_warnings(row, warnings, impossible))
    return Baselines(rows=_mark_alternatives(checked), training_samples=samples)


def _mark_alternatives(rows: list[Baseline]) -> list[Baseline]:
    """A system printed by several primary files: the first (in file order) is its row, the rest
    are further readings."""
    from dataclasses import replace

    seen: set[tuple[str, str, str]] = set()
    out = []
    for row in rows:
        key = (row.benchmark, row.size, _norm(row.system))
        if row.primary and key in seen:
            row = replace(row, alternative=True)
        elif row.primary:
            seen.add(key)
        out.append(row)
    return out


def _with_warnings(row: Baseline, warnings: list[str], impossible: dict[str, str]) -> Baseline:
    from dataclasses import replace

    return replace(row, warnings=tuple(warnings), impossible=impossible)


def _file_order(path: Path) -> tuple:
    """table2 before table10: order files by the table number in their name."""
    match = re.match(r"table(\d+)", path.name)
    return (int(match.group(1)) if match else 10**6, path.name)


def _display_path(path: Path) -> str:
    try:
        return str(path.relative_to(BASELINES_DIR.parent))
    except ValueError:
        return str(path)
