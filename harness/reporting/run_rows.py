"""The run's side of a report table: its models' rows, their training cost and share, the delta rows."""

from __future__ import annotations

from dataclasses import dataclass

from harness import presentation
from harness.artifacts import LanguageScore, TrainRecord
from harness.languages import MATH_LANGUAGES
from harness.reporting.baselines import Baseline
from harness.reporting.paper import PAPER_LANGUAGES
from harness.reporting.scored import ScoredModel
from harness.reporting.table import (
    LANGUAGE_NOT_EVALUATED,
    NO_BASELINE_NUMBER,
    NO_TRAIN_RECORD,
    NOT_COMPARABLE,
    NOT_TRAINED,
    TASK_NOT_RUN,
    Cell,
    Row,
    delta,
    empty,
    number,
)


def model_label(role: str, source: str) -> str:
    name = short_name(source)
    return f"This run: {role} ({name})" if role == "base" else f"This run: {role}"


def short_name(source: str) -> str:
    name = source.removeprefix("package:").rstrip("/").split("/")[-1]
    for suffix in (".gguf", ".safetensors"):
        name = name.removesuffix(suffix)
    return name or source


def run_source(model: ScoredModel) -> str:
    return str(model.source or model.role)


def run_label(model: ScoredModel) -> str:
    return model_label(model.role, run_source(model))


def run_accuracy(model: ScoredModel, task: str, lang: str) -> tuple[float | None, str | None]:
    """A language's accuracy, or None and why the cell is empty."""
    if model.task(task) is None:
        return None, TASK_NOT_RUN
    value = model.accuracy(task, lang)[0]
    return (value, None) if value is not None else (None, LANGUAGE_NOT_EVALUATED)


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


def task_languages(task: str, models: list[ScoredModel]) -> list[str]:
    """Columns: the paper's languages in its order, then any other language the run evaluated."""
    paper = list(PAPER_LANGUAGES.get(task, ()))
    evaluated: list[str] = []
    for model in models:
        evaluated += [lang for lang in model.languages(task) if lang not in evaluated]
    if not paper:
        order = {lang: i for i, lang in enumerate(MATH_LANGUAGES)}
        return sorted(evaluated, key=lambda lang: (order.get(lang, len(order)), lang))
    return paper + [lang for lang in evaluated if lang not in paper]


def model_rows(
    task: str,
    models: list[ScoredModel],
    languages: list[str],
    paper_languages: list[str],
    training: TrainingRecord | None,
    notes: list[str],
) -> list[Row]:
    rows = []
    for model in models:
        label = run_label(model)
        cells = [Cell(None, label)]
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
            value, reason = run_accuracy(model, task, lang)
            if value is None:
                cells.append(empty(reason))
            else:
                cells.append(number(value, _interval_text(model.language(task, lang))))
        cells.append(run_average(model, task, paper_languages))
        rows.append(Row(label, cells, "run", run_source(model)))
        for extra in _strict_rows(model, task, languages):
            rows.append(extra)
            mode = extra.label.rsplit(" · ", 1)[-1]
            note = (
                f"Rows marked '· {mode}' score the same answers with the {mode!r} extraction; the scores "
                "of record use the recipe's extraction (the paper's rule by default)."
            )
            if note not in notes:
                notes.append(note)
    return rows


def _interval_text(entry: LanguageScore | None) -> str | None:
    if entry is None:
        return None
    parts = []
    if entry.ci95 is not None and has_width(entry.ci95):
        lo, hi = entry.ci95
        parts.append(f"95% CI {presentation.interval((lo, hi))}")
    parts.append(f"{'?' if entry.correct is None else entry.correct}/{entry.n} correct")
    return ", ".join(parts)


def has_width(ci) -> bool:
    """A usable interval: a bootstrap over answers all scored alike (all wrong) has none."""
    return bool(ci) and round(ci[0], 1) != round(ci[1], 1)


DEGENERATE_AVERAGE = (
    "no interval: every resample scores the same (all answers alike), so the "
    "bootstrap has no spread; see the per-language Wilson intervals"
)


def run_average(model: ScoredModel, task: str, paper_languages: list[str]) -> Cell:
    entry = model.task(task)
    if entry is None:
        return empty(TASK_NOT_RUN)
    average = entry.average
    value = None if average is None else average.accuracy
    if average is None or value is None:
        return empty(LANGUAGE_NOT_EVALUATED)
    covered = list(average.languages or model.languages(task))
    ci = average.ci95
    interval = (
        f"95% CI {presentation.interval(ci)} (bootstrap over questions)"
        if has_width(ci)
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


def _other_modes(model: ScoredModel, task: str) -> list[str]:
    """Extraction modes besides the one of record that scores.json carries (``accuracy_<mode>``)."""
    modes: list[str] = []
    for lang in model.languages(task):
        entry = model.language(task, lang)
        modes += [mode for mode in entry.other_modes() if mode not in modes] if entry is not None else []
    return modes


def _strict_rows(model: ScoredModel, task: str, languages: list[str]) -> list[Row]:
    """One row per other extraction mode whose numbers differ from the scores of record."""
    rows = []
    for mode in _other_modes(model, task):
        cells = [Cell(None, f"{run_label(model)} · {mode}")]
        cells += [empty(f"{mode} extraction: see the row above"), empty(f"{mode} extraction: see the row above")]
        differs = False
        for lang in languages:
            entry = model.language(task, lang)
            value = None if entry is None else entry.accuracy_in(mode)
            if entry is None or value is None:
                cells.append(empty(LANGUAGE_NOT_EVALUATED if entry is None else f"no {mode} score"))
                continue
            differs |= abs(value - float(entry.accuracy if entry.accuracy is not None else value)) > 1e-9
            correct = entry.correct_in(mode)
            cells.append(number(value, f"{'?' if correct is None else correct}/{entry.n} correct ({mode})"))
        scores = model.task(task)
        average = None if scores is None or scores.average is None else scores.average.accuracy_in(mode)
        cells.append(number(float(average)) if average is not None else empty(f"no {mode} average"))
        if differs:
            rows.append(Row(cells[0].display, cells, "strict", run_source(model)))
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


def delta_rows(
    task: str,
    models: list[ScoredModel],
    languages: list[str],
    published: list[Baseline],
    paper_languages: list[str],
    comparison: dict | None = None,
) -> list[Row]:
    rows = []
    by_role = {m.role: m for m in models}
    head = by_role.get("trained") or by_role.get("base")
    columns = [*languages, None]

    def values(model: ScoredModel) -> list[tuple[float | None, str | None]]:
        out = [run_accuracy(model, task, lang) for lang in languages]
        average = run_average(model, task, [])
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
        caveat = run_average(head, task, paper_languages).footnote
        if caveat and caveat.startswith(NOT_COMPARABLE) and cells[-1].value is not None:
            cells[-1].footnote = caveat
        rows.append(Row(cells[0].display, cells, "delta", f"minus {slam.provenance.cite()}"))
    return rows
