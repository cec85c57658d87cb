"""The report's tables of a run, built as in the paper: accuracy beside the published rows, PCR, details.

Rows are grouped by model size as in the paper; the run's own rows (its base and trained models)
sit in the size group the recipe names (``report.size``) or in a group of their own, followed by
delta rows: trained - base, and the run's model - the paper's SLAM row.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import presentation
from harness.artifacts import Scores
from harness.reporting.baselines import Baseline, Baselines
from harness.reporting.paper import BENCHMARK_OF_TASK, MAIN_TABLE, PAPER_LANGUAGES, TASK_TITLES
from harness.reporting.published_rows import (
    baseline_row,
    published_notes,
    size_order,
)
from harness.reporting.run_rows import (
    DEGENERATE_AVERAGE,
    TrainingRecord,
    delta_rows,
    has_width,
    model_rows,
    run_label,
    run_source,
    task_languages,
)
from harness.reporting.scored import as_scores, scored_models
from harness.reporting.table import (
    LANGUAGE_NOT_EVALUATED,
    TASK_NOT_RUN,
    Cell,
    Column,
    Group,
    Row,
    Table,
    delta,
    empty,
    mark_best,
    number,
)


@dataclass
class TableOptions:
    size: str | None = None
    """The paper's size group the run is compared with (None: every group)."""
    systems: list[str] | None = None
    """Published systems to show (None: all)."""


def accuracy_table(
    task: str,
    scores: Scores | dict,
    baselines: Baselines | None,
    options: TableOptions,
    training: TrainingRecord | None,
) -> Table:
    """The paper-style leaderboard of one task: baselines by size, the run's rows, deltas."""
    scores = as_scores(scores)
    models = scored_models(scores)
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
                baseline_row(base_row, languages, paper_languages, MAIN_TABLE.get(benchmark))
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

    run_rows = model_rows(task, models, languages, paper_languages, training, notes)
    if models:
        comparison = ((scores.comparisons or {}).get("trained_vs_base") or {}).get(task)
        deltas = delta_rows(task, models, languages, published, paper_languages, comparison)
        run_rows += [row for row in deltas if any(cell.value is not None for cell in row.cells)]
        verdict = non_english_verdict(comparison)
        if verdict:
            notes.append(verdict)
    else:
        notes.append("This run's scores.json has no evaluated models.")

    groups: list[Group] = []
    run_group_name = options.size if options.size and options.size in rows_by_size else None
    for size in sorted(rows_by_size, key=size_order):
        rows = rows_by_size[size]
        if size == run_group_name:
            rows = rows + run_rows
        groups.append(Group(size, rows))
    if run_group_name is None:
        groups.append(Group("This run", run_rows, titled=False))
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


def pcr_table(task: str, scores: Scores | dict) -> Table:
    """PCR per non-English language (the share of English-solved questions also solved in it)."""
    models = scored_models(scores)
    languages = [lang for lang in task_languages(task, models) if lang != "en"]
    columns = [Column("System", numeric=False)]
    columns += [Column(lang, f"PCR (%) of {lang} against English", best=True) for lang in languages]
    columns.append(Column("Avg", "mean PCR over the averaged non-English languages", best=True))
    rows: list[Row] = []
    for model in models:
        cells = [Cell(None, run_label(model))]
        entry = model.task(task)
        pcr = None if entry is None else entry.pcr
        for lang in languages:
            if entry is None:
                cells.append(empty(TASK_NOT_RUN))
            elif model.language(task, "en") is None:
                cells.append(empty("English not evaluated: PCR needs it"))
            elif model.language(task, lang) is None:
                cells.append(empty(LANGUAGE_NOT_EVALUATED))
            elif (value := (pcr or {}).get(lang)) is None:
                cells.append(empty("no question right in English: PCR undefined"))
            else:
                cells.append(number(float(value)))
        average = None if entry is None else entry.pcr_average
        cells.append(
            number(float(average)) if average is not None else empty(TASK_NOT_RUN if entry is None else "PCR undefined")
        )
        rows.append(Row(run_label(model), cells, "run", run_source(model)))
    by_role = {m.role: r for m, r in zip(models, rows)}
    if "base" in by_role and "trained" in by_role:
        cells = [Cell(None, "Δ trained − base")]
        for base_cell, trained_cell in zip(by_role["base"].cells[1:], by_role["trained"].cells[1:]):
            cells.append(delta(trained_cell.value, base_cell.value, trained_cell.footnote, base_cell.footnote))
        rows.append(Row(cells[0].display, cells, "delta"))
    group = Group("This run", rows, titled=False)
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


def details_table(task: str, scores: Scores | dict) -> Table:
    """Per language and model: questions, correct answers, accuracy with its 95% interval."""
    scores = as_scores(scores)
    models = scored_models(scores)
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
            task_entry = model.task(task)
            if task_entry is None:
                cells += [empty(TASK_NOT_RUN)] * 4
                continue
            entry = task_entry.average if lang == "avg" else model.language(task, lang)
            if entry is None or entry.accuracy is None:
                cells += [empty(LANGUAGE_NOT_EVALUATED)] * 4
                continue
            n = getattr(entry, "n", None)
            correct = getattr(entry, "correct", None)
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
            cells.append(number(float(entry.accuracy), None))
            ci = entry.ci95
            if lang == "avg" and ci and not has_width(ci):
                cells.append(empty(DEGENERATE_AVERAGE))
            else:
                cells.append(Cell(None, presentation.interval(ci)) if ci else empty("no interval recorded"))
        rows.append(Row(lang, cells, "detail"))
    header = scores.extraction
    notes = [
        f"Scores of record use the {header!r} answer extraction."
        if header
        else "scores.json does not say which answer extraction it used."
    ]
    versions = {m.role: m.task_version(task) for m in models}
    notes.append(
        "Task version: "
        + ", ".join(f"{role} {v}" for role, v in versions.items())
        + f"; lm-eval {scores.lm_eval_version}."
    )
    return Table(
        f"{task}_details",
        f"{TASK_TITLES.get(task, task)}: per-language details",
        columns,
        [Group("This run", rows, titled=False)],
        "Question counts and 95% intervals: Wilson's score interval per language; for the "
        "average, a percentile bootstrap over questions, resampled jointly across languages.",
        notes,
    )


def report_tables(
    scores: Scores | dict, baselines: Baselines | None, options: TableOptions, training: TrainingRecord | None
) -> list[Table]:
    """Every table of a report: for each task in scores.json, accuracy, PCR and details."""
    scores = as_scores(scores)
    tasks: list[str] = []
    for model in scores.models.values():
        tasks += [t for t in model.tasks if t not in tasks]
    tables = []
    for task in tasks:
        tables.append(accuracy_table(task, scores, baselines, options, training))
        tables.append(pcr_table(task, scores))
        tables.append(details_table(task, scores))
    return tables
