"""Report tables as data: a table of cells built from a run's scores and the published baselines.

One ``Table`` renders many ways (``harness.reporting.render``: terminal, Markdown, LaTeX, HTML)
and serialises to JSON. A ``Cell`` has a value, its display text, a description (details shown
as a tooltip: interval, sample count, provenance) and, when it is empty or its number needs a
caveat, a footnote saying why ("baseline has no number", "task not run", "language not
evaluated", "published average differs from the mean of its cells"). Empty cells are never
silently blank.

Rows are grouped by model size as in the paper; the run's own rows (its base and trained models)
sit in the size group the recipe names (``report.size``) or in a group of their own, followed by
delta rows: trained - base, and the run's model - the paper's SLAM row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Literal

from harness import presentation
from harness.artifacts import TrainRecord
from harness.languages import MATH_LANGUAGES, XCSQA_LANGUAGES
from harness.reporting.baselines import Baseline, Baselines, short_version

# Why a cell is empty: the texts reports show.
NO_BASELINE_NUMBER = "baseline has no number"
TASK_NOT_RUN = "task not run"
LANGUAGE_NOT_EVALUATED = "language not evaluated"
NOT_TRAINED = "not trained by this run"
NO_TRAIN_RECORD = "no train/train.json in this run"
NOT_COMPARABLE = "not comparable"

BENCHMARK_OF_TASK = {"mgsm": "mgsm", "msvamp": "msvamp", "xcsqa": "xcsqa"}
"""Task name in scores.json -> benchmark of the published baselines (the demo task has none)."""
PAPER_LANGUAGES = {"mgsm": MATH_LANGUAGES, "msvamp": MATH_LANGUAGES, "xcsqa": XCSQA_LANGUAGES}
MAIN_TABLE = {"mgsm": "Table 2", "msvamp": "Table 4", "xcsqa": "Table 10"}
"""The SLAM paper's table of each benchmark whose rows (with the run's) compete for the bold best.
Other published rows sit beside them, marked by their table (RFT: Tables 11/12, another base
model and costs relative to RFT+SLAM) or source (‡: systems read outside the paper), unbolded."""
NEWER_MARK = "‡"
TASK_TITLES = {
    "mgsm": "MGSM (in-domain)",
    "msvamp": "MSVAMP (out-of-domain)",
    "xcsqa": "X-CSQA (dev)",
    "demo": "Demo math problems (this project's own data)",
}

RowKind = Literal["baseline", "run", "strict", "delta", "detail"]


@dataclass
class Cell:
    value: float | None = None
    display: str = ""
    description: str | None = None
    """Details: interval, counts, provenance (HTML shows it as a tooltip; JSON keeps it)."""
    footnote: str | None = None
    """Why the cell is empty, or the caveat on its number; renderers turn it into a marked note."""
    best: bool = False
    sign: int = 0
    """For delta cells: +1 gain, -1 drop, 0 none."""

    @property
    def empty(self) -> bool:
        return self.value is None and not self.display


@dataclass
class Row:
    label: str
    cells: list[Cell]
    kind: RowKind = "baseline"
    description: str | None = None
    """Provenance of a baseline row, or the model source of a run row."""
    ranked: bool = True
    """Whether the row competes for the bold best (a published row of another table or source does not)."""


@dataclass
class Group:
    name: str
    rows: list[Row] = field(default_factory=list)


@dataclass
class Column:
    name: str
    description: str | None = None
    best: bool = False
    """Whether the highest value of this column is marked (accuracy columns)."""
    numeric: bool = True


@dataclass
class Table:
    id: str
    title: str
    columns: list[Column]
    groups: list[Group]
    caption: str = ""
    notes: list[str] = field(default_factory=list)

    def rows(self) -> Iterable[Row]:
        for group in self.groups:
            yield from group.rows

    def footnotes(self) -> list[str]:
        """Distinct footnote texts in reading order (renderers letter them a, b, c, ...)."""
        seen: list[str] = []
        for row in self.rows():
            for cell in row.cells:
                if cell.footnote and cell.footnote not in seen:
                    seen.append(cell.footnote)
        return seen

    def to_json(self) -> dict:
        return asdict(self)

    def cell(self, row_label: str, column: str) -> Cell:
        """The cell at a row label and column name (for tests and scripts)."""
        index = [c.name for c in self.columns].index(column)
        for row in self.rows():
            if row.label == row_label:
                return row.cells[index]
        raise KeyError(row_label)


# -- formatting ------------------------------------------------------------------------------


def empty(reason: str | None) -> Cell:
    return Cell(None, "", None, reason)


def number(value: float, description: str | None = None, footnote: str | None = None) -> Cell:
    return Cell(value, presentation.number(value), description, footnote)


def delta(
    a: float | None, b: float | None, reason_a: str | None, reason_b: str | None, description: str | None = None
) -> Cell:
    if a is None or b is None:
        return empty(reason_a if a is None else reason_b)
    d = a - b
    rounded = round(d, 1)
    return Cell(d, presentation.signed(d), description, None, False, (rounded > 0) - (rounded < 0))


# -- the run's side --------------------------------------------------------------------------


@dataclass
class RunModel:
    """One evaluated model of the run (``base`` or ``trained``) on one task."""

    role: str
    label: str
    source: str
    task: dict | None
    """The task's entry in scores.json, or None when this model did not run the task."""

    def language(self, lang: str) -> dict | None:
        return (self.task or {}).get("languages", {}).get(lang)

    def accuracy(self, lang: str) -> tuple[float | None, str | None]:
        if self.task is None:
            return None, TASK_NOT_RUN
        entry = self.language(lang)
        if entry is None or entry.get("accuracy") is None:
            return None, LANGUAGE_NOT_EVALUATED
        return float(entry["accuracy"]), None

    def languages(self) -> list[str]:
        return list((self.task or {}).get("languages", {}))


def model_label(role: str, source: str) -> str:
    name = short_name(source)
    return f"This run: {role} ({name})" if role == "base" else f"This run: {role}"


def short_name(source: str) -> str:
    name = source.removeprefix("package:").rstrip("/").split("/")[-1]
    for suffix in (".gguf", ".safetensors"):
        name = name.removesuffix(suffix)
    return name or source


def run_models(scores: dict, task: str) -> list[RunModel]:
    models = scores.get("models", {})
    out = []
    for role in ("base", "trained"):
        if role in models:
            entry = models[role]
            source = str(entry.get("source", role))
            out.append(RunModel(role, model_label(role, source), source, entry.get("tasks", {}).get(task)))
    return out


@dataclass
class TrainingRecord:
    """What the report shows of train/train.json: the run's training cost and trained share."""

    trained_share: float | None = None
    """Percent of all parameters trained."""
    cost_display: str | None = None
    cost_value: float | None = None
    cost_description: str | None = None

    @classmethod
    def from_record(cls, record: TrainRecord | None) -> TrainingRecord | None:
        """From train/train.json (:class:`harness.artifacts.TrainRecord`)."""
        if record is None:
            return None
        share = 100.0 * record.plan.share
        gpu_hours = record.gpu_hours
        seconds = record.train_runtime_s if record.train_runtime_s is not None else record.wall_time_s
        cost_display = cost_value = None
        parts = []
        if gpu_hours:
            cost_value, cost_display = float(gpu_hours), f"{gpu_hours:.2f} GPU-h"
        elif seconds is not None:
            cost_value = float(seconds)
            cost_display = f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"
        if seconds is not None:
            parts.append(f"wall time {seconds:.0f} s")
        if gpu_hours:
            parts.append(f"{gpu_hours:.3f} GPU-hours")
        if record.steady_tokens_per_second:
            peak = f", {record.share_of_bf16_peak:.1%} of the bf16 peak" if record.share_of_bf16_peak else ""
            parts.append(f"{record.steady_tokens_per_second:,.0f} tokens/s in steady state{peak}")
        device = record.hyperparameters.get("device")
        if device and not gpu_hours and cost_display:
            cost_display += f" ({str(device).upper()})"
        description = (
            ("measured by this run (" + ", ".join(parts) + "); the paper's costs are training time relative to SLAM's")
            if parts
            else None
        )
        return cls(share, cost_display, cost_value, description)


# -- building --------------------------------------------------------------------------------


@dataclass
class TableOptions:
    size: str | None = None
    """The paper's size group the run is compared with (None: every group)."""
    systems: list[str] | None = None
    """Published systems to show (None: all)."""


def task_languages(task: str, models: list[RunModel]) -> list[str]:
    """Columns: the paper's languages in its order, then any other language the run evaluated."""
    paper = list(PAPER_LANGUAGES.get(task, ()))
    evaluated: list[str] = []
    for model in models:
        evaluated += [lang for lang in model.languages() if lang not in evaluated]
    if not paper:
        order = {lang: i for i, lang in enumerate(MATH_LANGUAGES)}
        return sorted(evaluated, key=lambda lang: (order.get(lang, len(order)), lang))
    return paper + [lang for lang in evaluated if lang not in paper]


def accuracy_table(
    task: str, scores: dict, baselines: Baselines | None, options: TableOptions, training: TrainingRecord | None
) -> Table:
    """The paper-style leaderboard of one task: baselines by size, the run's rows, deltas."""
    models = run_models(scores, task)
    benchmark = BENCHMARK_OF_TASK.get(task)
    languages = task_languages(task, models)
    paper_languages = list(PAPER_LANGUAGES.get(task, ()))
    columns = [
        Column("System", numeric=False),
        Column("Cost", "training time relative to SLAM (1.0x)"),
        Column("Trained", "share of parameters trained"),
    ]
    columns += [Column(lang, f"accuracy (%) in {lang}", best=True) for lang in languages]
    avg_description = (
        f"mean over the paper's {len(paper_languages)} languages, English included"
        if paper_languages
        else "mean over the evaluated languages"
    )
    columns.append(Column("Avg", avg_description, best=True))
    notes: list[str] = []

    rows_by_size: dict[str, list[Row]] = {}
    published: list[Baseline] = []
    if benchmark and baselines is not None:
        sizes = [options.size] if options.size else None
        published = [
            r for r in baselines.for_benchmark(benchmark, systems=options.systems) if sizes is None or r.size in sizes
        ]
        for base_row in published:
            rows_by_size.setdefault(base_row.size, []).append(
                _baseline_row(base_row, languages, paper_languages, MAIN_TABLE.get(benchmark))
            )
        quoted = sorted(
            {
                n.split(";")[0].removeprefix("quoted from ")
                for r in published
                if r.from_slam and (n := r.provenance.note) and n.startswith("quoted from")
            }
        )
        if quoted:
            notes.append(f"† quoted by the paper from {', '.join(quoted)}.")
        notes += published_notes(published, baselines, MAIN_TABLE.get(benchmark))
        extra = [lang for lang in languages if lang not in paper_languages]
        if extra:
            notes.append(
                f"The paper reports no {', '.join(extra)} numbers; its averages cover {', '.join(paper_languages)}."
            )
    elif benchmark is None:
        what = (
            "the run's base and trained models"
            if len(models) > 1
            else "the run's own model" + (f" ({models[0].role})" if models else "")
        )
        notes.append(
            f"No published baselines: the {task!r} task is not one of the paper's benchmarks "
            f"(the paper has no numbers for it), so the table shows {what} only."
        )

    run_rows = _run_rows(task, models, languages, paper_languages, training, notes)
    if models:
        comparison = ((scores.get("comparisons") or {}).get("trained_vs_base") or {}).get(task)
        deltas = _delta_rows(models, languages, published, paper_languages, comparison)
        run_rows += [row for row in deltas if any(cell.value is not None for cell in row.cells)]
        verdict = non_english_verdict(comparison)
        if verdict:
            notes.append(verdict)
    else:
        notes.append("This run's scores.json has no evaluated models.")

    groups: list[Group] = []
    run_group_name = options.size if options.size and options.size in rows_by_size else None
    for size in sorted(rows_by_size, key=_size_key):
        rows = rows_by_size[size]
        if size == run_group_name:
            rows = rows + run_rows
        groups.append(Group(size, rows))
    if run_group_name is None:
        groups.append(Group("This run", run_rows))
    for group in groups:
        mark_best(group.rows, columns)

    title = f"{TASK_TITLES.get(task, task)}: accuracy (%)"
    if published:
        caption = (
            "Published rows from arXiv 2501.03681 (SLAM) and, marked ‡, from systems' own repositories "
            "and model cards, grouped by model size; the run's rows beside them, with deltas. Best per "
            "column and size group in bold, among the paper's main table and the run."
        )
    elif len(models) > 1:
        caption = "The run's models before and after training, with the change per language."
    else:
        caption = "The run's model per language (this run evaluated one model)."
    return Table(f"{task}_accuracy", title, columns, groups, caption, notes)


def non_english_verdict(comparison: dict | None, alpha: float = 0.05) -> str | None:
    """One plain sentence: did training change non-English accuracy (exact McNemar, pooled)?"""
    test = (comparison or {}).get("non_english")
    if not test or not test.get("n"):
        return None
    n, p = test["n"], test["p_value"]
    answer = "Yes" if p < alpha else "No"
    direction = "" if p >= alpha else (" (up)" if test["only_b"] > test["only_a"] else " (down)")
    return (
        f"Did training change non-English accuracy? {answer}{direction}: {test['a_correct']}/{n} right "
        f"before, {test['b_correct']}/{n} after, on the same {n} non-English questions "
        f"({test['delta']:+.1f} points; {test['only_b']} newly right, {test['only_a']} newly wrong; "
        f"exact McNemar p = {p:.3g}; a change counts at p < {alpha})."
    )


def _size_key(size: str) -> float:
    try:
        value = float(size[:-1])
    except ValueError:
        return float("inf")
    return value * (1000 if size.endswith("B") else 1)


def published_label(row: Baseline, main_table: str | None) -> str:
    """`MetaMath†` (quoted by the paper), `RFT (Table 11)`, `mCoT-7B‡` (read outside the paper)."""
    if not row.from_slam:
        return row.label + NEWER_MARK
    label = row.label + ("†" if (row.provenance.note or "").startswith("quoted from") else "")
    if main_table and row.primary and row.provenance.table != main_table:
        label += f" ({row.provenance.table})"
    return label


def published_notes(published: list[Baseline], baselines: Baselines, main_table: str | None) -> list[str]:
    """What a table of published rows must say: the other sources (‡), the tables outside the
    bolding, and the systems with several published readings (which one the table shows)."""
    notes = []
    newer = [r for r in published if not r.from_slam]
    if newer:
        sources: dict[str, list[str]] = {}
        for r in newer:
            where = (r.provenance.url or "") + (
                f" at {short_version(r.provenance.version)}" if r.provenance.version else ""
            )
            sources.setdefault(f"{r.provenance.table} ({where})", []).append(r.label)
        notes.append(
            f"{NEWER_MARK} published outside the SLAM paper, evaluated by their authors with their own prompts "
            "and settings; not bolded: "
            + "; ".join(f"{', '.join(labels)} from {where}" for where, labels in sources.items())
            + "."
        )
    others = sorted(
        {r.provenance.table for r in published if r.from_slam and r.primary and r.provenance.table != main_table}
    )
    if main_table and others:
        notes.append(
            f"Rows marked ({', '.join(others)}) are from the paper's other tables (another base model, "
            f"costs relative to their own SLAM run): shown beside {main_table}'s rows, not bolded."
        )
    for row in published:
        readings = baselines.readings(row)
        if len(readings) > 1:
            notes.append(reading_spread(readings, row))
    return notes


def reading_spread(readings: list[Baseline], shown: Baseline) -> str:
    """`MetaMath 7B has 3 published readings: ...; cells differ by up to 6.8 (zh); this table shows Table 2's.`"""
    parts = []
    for r in readings:
        which = r.provenance.table + (f" {r.reading}" if r.reading else "")
        average = r.average if r.average is not None else r.mean_over(PAPER_LANGUAGES.get(r.benchmark, r.languages))
        parts.append(f"{which} avg {presentation.number(average, 2) if average is not None else '–'}")
    spread, where = 0.0, ""
    for lang in shown.languages:
        values = [r.scores[lang] for r in readings if lang in r.scores]
        if len(values) > 1 and max(values) - min(values) > spread:
            spread, where = max(values) - min(values), lang
    text = f"{shown.label} {shown.size} has {len(readings)} published readings ({'; '.join(parts)})"
    if where:
        text += f"; their cells differ by up to {spread:.1f} points ({where})"
    return text + f"; this table and its deltas use {shown.provenance.table}'s (`harness ls baselines` lists all)."


def _baseline_row(
    row: Baseline, languages: list[str], paper_languages: list[str] | None = None, main_table: str | None = None
) -> Row:
    cells = [Cell(None, published_label(row, main_table))]
    if row.cost is not None:
        cells.append(Cell(row.cost, presentation.number(row.cost, suffix="x"), "training time relative to SLAM"))
    else:
        reason = (
            f"{NO_BASELINE_NUMBER} ({row.provenance.table} prints {row.cost_note})"
            if row.cost_note
            else f"{NO_BASELINE_NUMBER}: {row.provenance.table} prints no cost"
        )
        cells.append(empty(reason))
    if row.trained_share is not None:
        cells.append(Cell(row.trained_share, presentation.number(row.trained_share, suffix="%")))
    else:
        extra = f" (extra parameters: {row.extra_params})" if row.extra_params else ""
        cells.append(empty(f"{NO_BASELINE_NUMBER}: {row.provenance.table} prints no trained share{extra}"))
    for lang in languages:
        value = row.scores.get(lang)
        if value is not None and lang in row.impossible:
            cells.append(number(value, row.provenance.cite(), impossible_caveat(row, lang)))
        elif value is not None:
            cells.append(number(value))
        elif not row.languages:
            cells.append(empty(f"{NO_BASELINE_NUMBER}: {row.provenance.table} prints averages only"))
        else:
            cells.append(empty(f"{NO_BASELINE_NUMBER}: the paper does not report {lang}"))
    recomputed = published_average(row, paper_languages or [])
    if recomputed is not None:
        cells.append(recomputed)
    elif row.average is None:
        cells.append(empty(NO_BASELINE_NUMBER))
    else:
        warning = next((w for w in row.warnings if "average" in w), None)
        footnote = None
        if warning:
            footnote = f"{row.provenance.table} {row.size} {row.label}: {warning.split(': ', 2)[-1]}"
            footnote = "published average kept as printed; " + footnote
        cells.append(number(row.average, row.provenance.cite(), footnote))
    ranked = row.from_slam and (main_table is None or not row.primary or row.provenance.table == main_table)
    return Row(cells[0].display, cells, "baseline", row.provenance.cite(), ranked)


def published_average(row: Baseline, paper_languages: list[str]) -> Cell | None:
    """The Avg cell of a published row whose average covers another language set than the paper's
    (or that prints none): the mean of its cells over the paper's languages; None: use the printed one."""
    if not paper_languages or not row.languages:
        return None
    if set(row.languages) != set(paper_languages) or (
        row.average is None and row.mean_over(paper_languages) is not None
    ):
        return recomputed_average(row, paper_languages)
    return None


def impossible_caveat(row: Baseline, lang: str) -> str | None:
    if lang not in row.impossible:
        return None
    return f"{row.provenance.table} {row.size} {row.label}: {lang} {row.impossible[lang]}; kept as printed"


def recomputed_average(row: Baseline, languages: list[str]) -> Cell:
    """The mean of a published row's cells over the paper's languages, saying what it prints instead."""
    mean = row.mean_over(languages)
    if row.average is not None:
        printed = f"prints {presentation.number(row.average, 2)} over its {len(row.languages)} languages"
        extra = [lang for lang in row.languages if lang not in languages]
        printed += f" ({', '.join(extra)} included)" if extra else ""
    elif row.non_english_average is not None:
        printed = f"prints only {presentation.number(row.non_english_average)} over its non-English languages"
    else:
        printed = "prints no average"
    where = f"{row.provenance.table} {row.size} {row.label}"
    if mean is None:
        missing = [lang for lang in languages if lang not in row.scores]
        return empty(f"{NOT_COMPARABLE}: {where} {printed}; it has no {', '.join(missing)}")
    return number(
        mean,
        row.provenance.cite(),
        f"mean of the printed cells over the paper's {len(languages)} languages; {where} {printed}",
    )


def _run_rows(
    task: str,
    models: list[RunModel],
    languages: list[str],
    paper_languages: list[str],
    training: TrainingRecord | None,
    notes: list[str],
) -> list[Row]:
    rows = []
    for model in models:
        cells = [Cell(None, model.label)]
        if model.role == "trained":
            if training is None:
                cells += [empty(NO_TRAIN_RECORD), empty(NO_TRAIN_RECORD)]
            else:
                cells.append(
                    Cell(training.cost_value, training.cost_display, training.cost_description)
                    if training.cost_display
                    else empty("train.json records no training time")
                )
                cells.append(
                    Cell(
                        training.trained_share,
                        presentation.number(training.trained_share, suffix="%"),
                        "measured by this run",
                    )
                    if training.trained_share is not None
                    else empty("train.json records no trained share")
                )
        else:
            cells += [empty(NOT_TRAINED), empty(NOT_TRAINED)]
        for lang in languages:
            value, reason = model.accuracy(lang)
            if value is None:
                cells.append(empty(reason))
            else:
                entry = model.language(lang)
                cells.append(number(value, _interval_text(entry)))
        cells.append(_run_average(model, paper_languages))
        rows.append(Row(model.label, cells, "run", model.source))
        for extra in _strict_rows(model, languages):
            rows.append(extra)
            mode = extra.label.rsplit(" · ", 1)[-1]
            note = (
                f"Rows marked '· {mode}' score the same answers with the {mode!r} extraction; the scores "
                "of record use the recipe's extraction (the paper's rule by default)."
            )
            if note not in notes:
                notes.append(note)
    return rows


def _interval_text(entry: dict | None) -> str | None:
    if not entry:
        return None
    parts = []
    if _has_width(entry.get("ci95")):
        lo, hi = entry["ci95"]
        parts.append(f"95% CI {presentation.interval((lo, hi))}")
    if entry.get("n") is not None:
        parts.append(f"{entry.get('correct', '?')}/{entry['n']} correct")
    return ", ".join(parts) or None


def _has_width(ci) -> bool:
    """A usable interval: a bootstrap over answers all scored alike (all wrong) has none."""
    return bool(ci) and round(ci[0], 1) != round(ci[1], 1)


DEGENERATE_AVERAGE = (
    "no interval: every resample scores the same (all answers alike), so the "
    "bootstrap has no spread; see the per-language Wilson intervals"
)


def _run_average(model: RunModel, paper_languages: list[str]) -> Cell:
    if model.task is None:
        return empty(TASK_NOT_RUN)
    average = model.task.get("average") or {}
    value = average.get("accuracy")
    covered = list(average.get("languages") or model.languages())
    if value is None:
        return empty(LANGUAGE_NOT_EVALUATED)
    ci = average.get("ci95")
    interval = (
        f"95% CI {presentation.interval(ci)} (bootstrap over questions)"
        if _has_width(ci)
        else (DEGENERATE_AVERAGE if ci else "")
    )
    description = (interval + "; " if interval else "") + f"mean over {', '.join(covered)}"
    footnote = None
    if paper_languages and set(covered) != set(paper_languages):
        missing = [lang for lang in paper_languages if lang not in covered]
        footnote = (
            f"{NOT_COMPARABLE} with the published averages: the run's average covers "
            f"{len(covered)} language(s) ({', '.join(covered)})"
            + (f"; missing {', '.join(missing)}" if missing else "")
        )
    return Cell(float(value), presentation.number(float(value)), description, footnote)


def _other_modes(model: RunModel) -> list[str]:
    """Extraction modes besides the one of record that scores.json carries (``accuracy_<mode>``)."""
    modes: list[str] = []
    for entry in (model.task or {}).get("languages", {}).values():
        modes += [
            k.removeprefix("accuracy_")
            for k in entry
            if k.startswith("accuracy_") and k.removeprefix("accuracy_") not in modes
        ]
    return modes


def _strict_rows(model: RunModel, languages: list[str]) -> list[Row]:
    """One row per other extraction mode whose numbers differ from the scores of record."""
    rows = []
    for mode in _other_modes(model):
        cells = [Cell(None, f"{model.label} · {mode}")]
        cells += [empty(f"{mode} extraction: see the row above"), empty(f"{mode} extraction: see the row above")]
        differs = False
        for lang in languages:
            entry = model.language(lang)
            if entry is None or entry.get(f"accuracy_{mode}") is None:
                cells.append(empty(LANGUAGE_NOT_EVALUATED if entry is None else f"no {mode} score"))
                continue
            value = float(entry[f"accuracy_{mode}"])
            differs |= abs(value - float(entry.get("accuracy", value))) > 1e-9
            cells.append(number(value, f"{entry.get(f'correct_{mode}', '?')}/{entry.get('n', '?')} correct ({mode})"))
        average = ((model.task or {}).get("average") or {}).get(f"accuracy_{mode}")
        cells.append(number(float(average)) if average is not None else empty(f"no {mode} average"))
        if differs:
            rows.append(Row(cells[0].display, cells, "strict", model.source))
    return rows


def _paired_text(test: dict | None) -> str:
    """McNemar figures of scores.json's trained-vs-base comparison, for a delta cell's tooltip."""
    if not test or test.get("p_value") is None:
        return ""
    p = test["p_value"]
    return (
        f"; exact McNemar on {test.get('n')} paired questions: {test.get('only_b')} right only after "
        f"training, {test.get('only_a')} only before, p={presentation.p_value(p)}"
    )


def _delta_rows(
    models: list[RunModel],
    languages: list[str],
    published: list[Baseline],
    paper_languages: list[str],
    comparison: dict | None = None,
) -> list[Row]:
    rows = []
    by_role = {m.role: m for m in models}
    head = by_role.get("trained") or by_role.get("base")
    columns = [*languages, None]

    def values(model: RunModel) -> list[tuple[float | None, str | None]]:
        out = [model.accuracy(lang) for lang in languages]
        average = _run_average(model, [])
        out.append((average.value, average.footnote))
        return out

    if "trained" in by_role and "base" in by_role:
        trained, base = values(by_role["trained"]), values(by_role["base"])
        cells = [
            Cell(None, "Δ trained − base"),
            empty("not applicable to a difference"),
            empty("not applicable to a difference"),
        ]
        paired = (comparison or {}).get("languages") or {}
        for column, (a, ra), (b, rb) in zip(columns, trained, base):
            test = paired.get(column) if column is not None else (comparison or {}).get("all")
            cells.append(delta(a, b, ra, rb, "this run's trained model minus its base model" + _paired_text(test)))
        rows.append(Row(cells[0].display, cells, "delta", "trained minus base, in accuracy points"))
    slam_rows = [r for r in published if r.system == "SLAM" and r.primary] if head is not None else []
    for slam in slam_rows:
        assert head is not None
        mine = values(head)
        cells = [
            Cell(None, f"Δ {head.role} − SLAM {slam.size} (paper)"),
            empty("not applicable to a difference"),
            empty("not applicable to a difference"),
        ]
        for column, (a, ra) in zip(columns, mine):
            if column is None:
                b, rb = slam.average, NO_BASELINE_NUMBER
            else:
                b = slam.scores.get(column)
                rb = NO_BASELINE_NUMBER
            cells.append(delta(a, b, ra, rb, f"this run's {head.role} model minus {slam.provenance.cite()}"))
        caveat = _run_average(head, paper_languages).footnote
        if caveat and caveat.startswith(NOT_COMPARABLE) and cells[-1].value is not None:
            cells[-1].footnote = caveat
        rows.append(Row(cells[0].display, cells, "delta", f"minus {slam.provenance.cite()}"))
    return rows


def mark_best(rows: Iterable[Row], columns: list[Column]) -> None:
    """Bold the highest comparable value of each accuracy column among the ranked baseline and run rows."""
    ranked = [row for row in rows if row.kind in ("baseline", "run") and row.ranked]
    for index, column in enumerate(columns):
        if not column.best:
            continue
        cells = [row.cells[index] for row in ranked]
        cells = [c for c in cells if c.value is not None and not (c.footnote or "").startswith(NOT_COMPARABLE)]
        if len(cells) < 2:
            continue
        shown = [round(c.value, 1) for c in cells if c.value is not None]
        top = max(shown)
        if shown.count(top) == len(shown):  # every row ties (e.g. all 0.0): nothing stands out
            continue
        for cell in cells:
            cell.best = cell.value is not None and round(cell.value, 1) == top


def pcr_table(task: str, scores: dict) -> Table:
    """PCR per non-English language (the share of English-solved questions also solved in it)."""
    models = run_models(scores, task)
    languages = [lang for lang in task_languages(task, models) if lang != "en"]
    columns = [Column("System", numeric=False)]
    columns += [Column(lang, f"PCR (%) of {lang} against English", best=True) for lang in languages]
    columns.append(Column("Avg", "mean PCR over the averaged non-English languages", best=True))
    rows: list[Row] = []
    for model in models:
        cells = [Cell(None, model.label)]
        pcr = (model.task or {}).get("pcr")
        for lang in languages:
            if model.task is None:
                cells.append(empty(TASK_NOT_RUN))
            elif model.language("en") is None:
                cells.append(empty("English not evaluated: PCR needs it"))
            elif model.language(lang) is None:
                cells.append(empty(LANGUAGE_NOT_EVALUATED))
            elif not pcr or pcr.get(lang) is None:
                cells.append(empty("no question right in English: PCR undefined"))
            else:
                cells.append(number(float(pcr[lang])))
        average = (model.task or {}).get("pcr_average")
        cells.append(
            number(float(average))
            if average is not None
            else empty(TASK_NOT_RUN if model.task is None else "PCR undefined")
        )
        rows.append(Row(model.label, cells, "run", model.source))
    by_role = {m.role: r for m, r in zip(models, rows)}
    if "base" in by_role and "trained" in by_role:
        cells = [Cell(None, "Δ trained − base")]
        for base_cell, trained_cell in zip(by_role["base"].cells[1:], by_role["trained"].cells[1:]):
            cells.append(delta(trained_cell.value, base_cell.value, trained_cell.footnote, base_cell.footnote))
        rows.append(Row(cells[0].display, cells, "delta"))
    group = Group("This run", rows)
    mark_best(group.rows, columns)
    notes = [
        "PCR = |M ∩ N| / |M|: M the questions answered right in English, N those right in the "
        "other language (paper, section 5)."
    ]
    if task in BENCHMARK_OF_TASK:
        notes.append("The paper shows PCR in figures only: there are no published numbers to put beside these.")
    return Table(
        f"{task}_pcr",
        f"{TASK_TITLES.get(task, task)}: PCR (%)",
        columns,
        [group],
        "Cross-lingual consistency of the run's models.",
        notes,
    )


def details_table(task: str, scores: dict) -> Table:
    """Per language and model: questions, correct answers, accuracy with its 95% interval."""
    models = run_models(scores, task)
    languages = task_languages(task, models)
    columns = [Column("Language", numeric=False)]
    for model in models:
        columns += [
            Column(f"{model.role} n"),
            Column(f"{model.role} correct"),
            Column(f"{model.role} acc"),
            Column(f"{model.role} 95% CI", numeric=False),
        ]
    rows = []
    for lang in [*languages, "avg"]:
        cells = [Cell(None, lang)]
        for model in models:
            if model.task is None:
                cells += [empty(TASK_NOT_RUN)] * 4
                continue
            entry = (model.task.get("average") if lang == "avg" else model.language(lang)) or None
            if entry is None or entry.get("accuracy") is None:
                cells += [empty(LANGUAGE_NOT_EVALUATED)] * 4
                continue
            n = entry.get("n")
            correct = entry.get("correct")
            if lang == "avg":
                cells += [
                    Cell(None, "–", "the average pools languages"),
                    Cell(None, "–", "the average pools languages"),
                ]
            else:
                cells += [
                    Cell(float(n), str(n)) if n is not None else empty("not recorded"),
                    Cell(float(correct), str(correct)) if correct is not None else empty("not recorded"),
                ]
            cells.append(number(float(entry["accuracy"]), None))
            ci = entry.get("ci95")
            if lang == "avg" and ci and not _has_width(ci):
                cells.append(empty(DEGENERATE_AVERAGE))
            else:
                cells.append(Cell(None, presentation.interval(ci)) if ci else empty("no interval recorded"))
        rows.append(Row(lang, cells, "detail"))
    header = scores.get("extraction")
    notes = [
        f"Scores of record use the {header!r} answer extraction."
        if header
        else "scores.json does not say which answer extraction it used."
    ]
    versions = {m.role: (m.task or {}).get("task_version") for m in models}
    notes.append(
        "Task version: "
        + ", ".join(f"{role} {v}" for role, v in versions.items())
        + f"; lm-eval {scores.get('lm_eval_version', '?')}."
    )
    return Table(
        f"{task}_details",
        f"{TASK_TITLES.get(task, task)}: per-language details",
        columns,
        [Group("This run", rows)],
        "Question counts and 95% intervals: Wilson's score interval per language; for the "
        "average, a percentile bootstrap over questions, resampled jointly across languages.",
        notes,
    )


def report_tables(
    scores: dict, baselines: Baselines | None, options: TableOptions, training: TrainingRecord | None
) -> list[Table]:
    """Every table of a report: for each task in scores.json, accuracy, PCR and details."""
    tasks: list[str] = []
    for model in scores.get("models", {}).values():
        tasks += [t for t in model.get("tasks", {}) if t not in tasks]
    tables = []
    for task in tasks:
        tables.append(accuracy_table(task, scores, baselines, options, training))
        tables.append(pcr_table(task, scores))
        tables.append(details_table(task, scores))
    return tables
