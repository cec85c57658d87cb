"""`harness leaderboard`: many runs in one table, beside the paper's published rows.

Each run contributes its evaluated models (``RUN`` gives its base and trained models,
``RUN:base`` / ``RUN:trained`` one of them). Per task, one table: the published rows of the
chosen size (``--size``; every size when not given), then the runs' models sorted by their
average; per-language cells, Avg, the non-English Avg, PCR, the trained share and the cost; the
best value of each column in bold. With ``--reference RUN[:model]``, a last column gives each
model's difference from the reference on the questions both answered, with the exact McNemar
test (``*``: p < 0.05).

Scores are comparable only when the questions were asked and scored the same way: runs that
differ in task version, answer extraction, prompt (``prompt_sha`` of the task), chat template,
system prompt, chat template arguments, reasoning end marker or max new tokens go into separate tables,
each saying how it differs from the first.

Outputs: the terminal (rich); with ``--out DIR``: leaderboard.md,
leaderboard.tex, leaderboard.html (self-contained), leaderboard.json and one PNG per table;
``--json`` prints the JSON.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import presentation
from harness.artifacts import (
    MANIFEST,
    SCORES_FILE,
    TRAIN_FILE,
    AverageScore,
    Scores,
    TaskScores,
    TrainRecord,
    read_artifact,
    redo,
)
from harness.errors import HarnessError
from harness.reporting.paper import BENCHMARK_OF_TASK, MAIN_TABLE, PAPER_LANGUAGES, TASK_TITLES
from harness.reporting.published_rows import impossible_caveat, published_average, published_label, published_notes
from harness.reporting.run_rows import TrainingRecord
from harness.reporting.scored import ScoredModel, as_scores
from harness.reporting.table import (
    LANGUAGE_NOT_EVALUATED,
    NO_BASELINE_NUMBER,
    NO_TRAIN_RECORD,
    NOT_COMPARABLE,
    NOT_TRAINED,
    Cell,
    Column,
    Group,
    Row,
    Table,
    empty,
    mark_best,
    number,
)
from harness.runs import MODEL_ROLES, Run, parse_model_ref, read_json, verified_output

SIGNIFICANCE = 0.05
NO_PCR = "the paper prints no PCR"
NO_PAIRED_TEST = "published row: no per-question outputs, so no paired test"


# -- the runs' models -------------------------------------------------------------------------


@dataclass
class Entry:
    """One evaluated model of one run, with what the leaderboard shows beside its scores."""

    model: ScoredModel
    training: TrainingRecord | None
    recipe: str | None

    @property
    def run(self) -> Path:
        assert self.model.run_root is not None
        return self.model.run_root

    @property
    def role(self) -> str:
        return self.model.role

    @property
    def label(self) -> str:
        if self.settings.get("lm_eval_results"):
            return f"{self.run.name} (lm-eval)"
        return f"{self.run.name} ({self.role})"

    @property
    def reference(self) -> str:
        return f"{self.run}:{self.role}"

    @property
    def source(self) -> str:
        return str(self.model.source or "?")

    @property
    def settings(self) -> dict:
        return self.model.settings

    def task(self, task: str) -> TaskScores | None:
        return self.model.task(task)

    def tasks(self) -> list[str]:
        return self.model.tasks()

    def outcomes(self, task: str) -> dict[str, dict[str, bool]] | None:
        """Per language, question id -> right (from the run's samples.jsonl), or None."""
        return self.model.outcomes(task)


COMPARABILITY: tuple[tuple[str, Callable[[Entry, str], Any]], ...] = (
    ("task version", lambda e, t: e.model.task_version(t)),
    ("answer extraction", lambda e, t: e.model.extraction),
    ("prompt", lambda e, t: getattr(e.task(t), "prompt_sha", None)),
    ("chat template", lambda e, t: e.settings.get("chat_template") or False),
    *(
        (field, lambda e, t, field=field: _comparable(_prompting(e)[field]))
        for field in (
            "evaluation.system_prompt",
            "evaluation.chat_template_args",
            "evaluation.reasoning_end",
            "evaluation.max_new_tokens",
        )
    ),
)
"""What must be equal for two runs' scores of a task to share a table (a setting missing from an
older scores.json: its default, see :func:`harness.reporting.compare.prompting`)."""


def _prompting(entry: Entry) -> dict:
    return entry.model.prompting()


def _comparable(value: Any) -> Any:
    """A setting as a table key: a mapping (chat_template_args) as its sorted JSON."""
    import json

    return json.dumps(value, sort_keys=True) if isinstance(value, dict) else value


def load_entries(specs: list[str]) -> list[Entry]:
    """``RUN`` (every model it evaluated) or ``RUN:base`` / ``RUN:trained`` -> entries."""
    entries: list[Entry] = []
    for spec in specs:
        root, role = parse_model_ref(spec)
        scores_path = Run(root).stage_dir("evaluate") / SCORES_FILE
        if not root.is_dir():
            raise HarnessError(f"{spec}: no such run directory")
        if not scores_path.is_file() and role is None:
            from harness.evaluation.lm_eval_folder import is_lm_eval_folder
            from harness.evaluation.score import folder_scores

            if is_lm_eval_folder(root):  # a plain `lm_eval --output_path` folder of the harness's tasks
                scores, outcomes = folder_scores(root)
                entry = Entry(ScoredModel("base", as_scores(scores), root), None, None)
                entry.model._outcomes.update(outcomes)
                entries.append(entry)
                continue
        if not scores_path.is_file():
            raise HarnessError(
                f"{spec}: {scores_path} not found; has the evaluate stage finished? "
                f"(`harness evaluate RECIPE --run-dir {root}`)"
            )
        typed = read_artifact(verified_output(root, "evaluate", SCORES_FILE), Scores, redo("evaluate", root))
        models = list(typed.models)
        if role is not None and role not in models:
            raise HarnessError(f"{spec}: this run evaluated no {role!r} model; it has: {', '.join(models) or 'none'}")
        train_json = Run(root).stage_dir("train") / TRAIN_FILE
        training = (
            TrainingRecord.from_record(
                read_artifact(verified_output(root, "train", TRAIN_FILE), TrainRecord, redo("train", root))
            )
            if train_json.is_file()
            else None
        )
        manifest = read_json(root / MANIFEST) if (root / MANIFEST).is_file() else {}
        recipe = (manifest.get("recipe") or {}).get("name")
        for name in [role] if role else [r for r in MODEL_ROLES if r in models]:
            entry = Entry(ScoredModel(name, typed, root), training, recipe)
            if all(entry.reference != e.reference for e in entries):
                entries.append(entry)
    measured_costs(entries)
    return entries


def measured_costs(entries: list[Entry]) -> None:
    """The trained models' cost cells as :mod:`harness.reporting.cost` measures them: every training
    stage of the run, and, when a SLAM run (``report.method: SLAM``) is on the board, the ratio to it,
    the published rows' unit (the paper's SLAM = 1.0x)."""
    from dataclasses import replace

    from harness.reporting.cost import RunCost, published_ratio, run_cost

    costs: dict[Path, RunCost | None] = {}
    for entry in entries:
        if entry.role == "trained" and entry.training is not None and entry.run not in costs:
            try:
                costs[entry.run] = run_cost(entry.run)
            except HarnessError:
                costs[entry.run] = None
    slam = next((cost for cost in costs.values() if cost and cost.method == "SLAM" and cost.hours), None)
    slam_hours = slam.hours if slam is not None else None
    for entry in entries:
        cost = costs.get(entry.run)
        if entry.role != "trained" or entry.training is None or cost is None or cost.hours is None:
            continue
        stages = "; ".join(
            f"{stage.stage}: {stage.hours:.3g} h on {stage.processes} {stage.device}, {stage.tokens:,} tokens"
            for stage in cost.stages
        )
        measured = f"measured by this harness: {cost.hours:.3g} device-hours ({stages})"
        if slam is None or not slam_hours:
            entry.training = replace(entry.training, cost_description=measured)
            continue
        ratio = cost.hours / slam_hours
        paper = published_ratio(cost.method, cost.size)
        description = f"{measured}, over the SLAM run {slam.run.name}'s {slam_hours:.3g} on the same machine" + (
            f"; the paper: {paper:.1f}x" if paper is not None else ""
        )
        entry.training = replace(
            entry.training, cost_value=ratio, cost_display=f"{ratio:.2f}x", cost_description=description
        )


def partition(entries: list[Entry], task: str) -> list[tuple[list[Entry], list[str]]]:
    """Entries that ran ``task``, grouped by what makes scores comparable; each later group
    with the reasons it differs from the first."""
    groups: dict[tuple, list[Entry]] = {}
    for entry in entries:
        if entry.task(task) is not None:
            key = tuple(value(entry, task) for _, value in COMPARABILITY)
            groups.setdefault(key, []).append(entry)
    keys = list(groups)
    out = []
    for key in keys:
        reasons = [
            f"{name}: {theirs!r} here, {first!r} in the first table"
            for (name, _), theirs, first in zip(COMPARABILITY, key, keys[0])
            if theirs != first
        ]
        out.append((groups[key], reasons))
    return out


# -- the table ----------------------------------------------------------------------------------


def _languages(task: str, entries: list[Entry]) -> list[str]:
    paper = list(PAPER_LANGUAGES.get(task, ()))
    evaluated: list[str] = []
    for entry in entries:
        evaluated += [lang for lang in entry.model.languages(task) if lang not in evaluated]
    return paper + [lang for lang in evaluated if lang not in paper] if paper else evaluated


def _run_cells(entry: Entry, task: str, languages: list[str], paper_languages: list[str]) -> list[Cell]:
    scores = entry.task(task) or TaskScores()
    if entry.role == "trained":
        training = entry.training
        if training is None:
            cells = [empty(NO_TRAIN_RECORD), empty(NO_TRAIN_RECORD)]
        else:
            cells = [
                Cell(training.cost_value, training.cost_display, training.cost_description)
                if training.cost_display
                else empty("train.json records no training time"),
                Cell(training.trained_share, f"{training.trained_share:.1f}%", "measured by this run")
                if training.trained_share is not None
                else empty("train.json records no trained share"),
            ]
    else:
        cells = [empty(NOT_TRAINED), empty(NOT_TRAINED)]
    per_language = scores.languages
    for lang in languages:
        row = per_language.get(lang)
        if row is None or row.accuracy is None:
            cells.append(empty(LANGUAGE_NOT_EVALUATED))
            continue
        low, high = row.ci95 or (None, None)
        interval = f"95% CI [{low:.1f}, {high:.1f}], " if low is not None else ""
        cells.append(number(float(row.accuracy), f"{interval}{row.correct}/{row.n} correct (n = {row.n})"))
    average = scores.average or AverageScore()
    covered = list(average.languages)
    caveat = None
    if paper_languages and set(covered) != set(paper_languages):
        caveat = (
            f"{NOT_COMPARABLE} with the published averages: mean over {len(covered)} of the paper's "
            f"{len(paper_languages)} languages ({', '.join(covered)})"
        )
    if average.accuracy is None:
        cells.append(empty(LANGUAGE_NOT_EVALUATED))
    else:
        cells.append(number(float(average.accuracy), f"mean over {', '.join(covered)}", caveat))
    others = [lang for lang in covered if lang != "en" and lang in per_language]
    if others:
        value = sum(float(per_language[lang].accuracy or 0.0) for lang in others) / len(others)
        cells.append(number(value, f"mean over {', '.join(others)}", caveat))
    else:
        cells.append(empty(LANGUAGE_NOT_EVALUATED))
    pcr = scores.pcr_average
    cells.append(
        number(float(pcr), "mean PCR against English over the averaged languages")
        if pcr is not None
        else empty("no English run, or no question right in English")
    )
    return cells


def _published_cells(row, languages: list[str], paper_languages: list[str]) -> list[Cell]:
    cells = [
        Cell(row.cost, f"{row.cost:.1f}x", "training time relative to SLAM")
        if row.cost is not None
        else empty(f"{NO_BASELINE_NUMBER}: {row.provenance.table} prints no cost"),
        Cell(row.trained_share, f"{row.trained_share:.1f}%")
        if row.trained_share is not None
        else empty(f"{NO_BASELINE_NUMBER}: {row.provenance.table} prints no trained share"),
    ]
    for lang in languages:
        value = row.scores.get(lang)
        if value is not None:
            cells.append(number(value, None, impossible_caveat(row, lang)))
        elif not row.languages:
            cells.append(empty(f"{NO_BASELINE_NUMBER}: {row.provenance.table} prints averages only"))
        else:
            cells.append(empty(f"{NO_BASELINE_NUMBER}: {row.provenance.table} prints no {lang}"))
    recomputed = published_average(row, paper_languages)
    if recomputed is not None:
        cells.append(recomputed)
    else:
        cells.append(
            number(row.average, row.provenance.cite()) if row.average is not None else empty(NO_BASELINE_NUMBER)
        )
    non_english = row.non_english_average
    description = "as printed"
    others = [v for lang, v in row.scores.items() if lang != "en"]
    if non_english is None and others:
        non_english, description = sum(others) / len(others), "mean of the printed non-English cells"
    cells.append(number(non_english, description) if non_english is not None else empty(NO_BASELINE_NUMBER))
    cells.append(empty(NO_PCR))
    return cells


def _versus(entry: Entry, reference: Entry, task: str, comparable: bool) -> Cell:
    """The entry minus the reference on their shared questions, with the exact McNemar test."""
    from harness.stats import mcnemar_exact

    if entry.reference == reference.reference:
        return Cell(None, "reference", "the run every other row is tested against")
    if not comparable:
        return empty(f"{NOT_COMPARABLE} with the reference (see the table's note)")
    mine, theirs = entry.outcomes(task), reference.outcomes(task)
    if mine is None or theirs is None:
        return empty(f"no eval/{task}/samples.jsonl in {entry.run if mine is None else reference.run}")
    pooled_a = {(lang, i): v for lang in mine.keys() & theirs.keys() for i, v in theirs[lang].items()}
    pooled_b = {(lang, i): v for lang in mine.keys() & theirs.keys() for i, v in mine[lang].items()}
    test = mcnemar_exact(pooled_a, pooled_b)
    if test.n == 0:
        return empty("no question answered by both")
    delta = 100.0 * (test.only_b - test.only_a) / test.n
    star = "*" if test.p_value < SIGNIFICANCE else ""
    p_text = presentation.p_value(test.p_value)
    description = (
        f"McNemar exact p {p_text if p_text.startswith('<') else '= ' + p_text} on {test.n} shared questions "
        f"({test.only_b} right only here, {test.only_a} right only in the reference)"
    )
    rounded = round(delta, 1)
    return Cell(delta, presentation.signed(delta) + star, description, None, False, (rounded > 0) - (rounded < 0))


def leaderboard_table(
    task: str,
    entries: list[Entry],
    baselines,
    size: str | None,
    reference: Entry | None,
    reference_comparable: bool,
    table_id: str,
    reasons: list[str],
) -> Table:
    """One task's leaderboard over ``entries`` (comparable among themselves)."""
    languages = _languages(task, entries)
    paper_languages = list(PAPER_LANGUAGES.get(task, ()))
    columns = [
        Column("System", numeric=False),
        Column("Cost", "training time (runs) or relative to SLAM (paper)"),
        Column("Trained", "share of parameters trained"),
    ]
    columns += [Column(lang, f"accuracy (%) in {lang}", best=True) for lang in languages]
    columns += [
        Column("Avg", "the paper's average over its languages", best=True),
        Column("non-En Avg", "average over the non-English languages", best=True),
        Column("PCR", "mean PCR (%) against English", best=True),
    ]
    if reference is not None:
        columns.append(Column("Δ vs ref", f"accuracy minus {reference.label}'s on shared questions (points)"))

    groups: list[Group] = []
    benchmark = BENCHMARK_OF_TASK.get(task)
    published = (
        baselines.for_benchmark(benchmark, size=size, readings=True) if benchmark and baselines is not None else []
    )
    main_table = MAIN_TABLE.get(benchmark or "")
    for row in published:
        label = published_label(row, main_table)
        if len(baselines.readings(row)) > 1:
            label += f" [{row.provenance.table}" + (f" {row.reading}" if row.reading else "") + "]"
        cells = [Cell(None, label), *_published_cells(row, languages, paper_languages)]
        if reference is not None:
            cells.append(empty(NO_PAIRED_TEST))
        group = next((g for g in groups if g.name == f"Published {row.size}"), None)
        if group is None:
            group = Group(f"Published {row.size}")
            groups.append(group)
        ranked = row.from_slam and not row.alternative and (not row.primary or row.provenance.table == main_table)
        group.rows.append(Row(label, cells, "baseline", row.provenance.cite(), ranked))

    run_rows = []
    for entry in entries:
        cells = [Cell(None, entry.label), *_run_cells(entry, task, languages, paper_languages)]
        if reference is not None:
            cells.append(
                _versus(entry, reference, task, reference_comparable or entry.reference == reference.reference)
            )
        run_rows.append(Row(entry.label, cells, "run", f"{entry.source} (recipe {entry.recipe})"))
    avg = [c.name for c in columns].index("Avg")
    run_rows.sort(key=lambda r: -(value if (value := r.cells[avg].value) is not None else -1))
    groups.append(Group("Runs", run_rows))
    mark_best((row for group in groups for row in group.rows), columns)  # over the whole table

    first = entries[0]
    settings = "; ".join(f"{name} {value(first, task)!r}" for name, value in COMPARABILITY)
    notes = [f"Every run here: {settings}."]
    if published:
        shown_once = [r for r in published if not r.alternative]
        notes += [
            n.replace("this table and its deltas use", "the rows above show each; a comparison by name uses")
            for n in published_notes(shown_once, baselines, main_table)
        ]
    if reasons:
        notes.insert(0, "In a table of its own, not comparable with the first: " + "; ".join(reasons) + ".")
    if reference is not None:
        notes.append(
            f"Δ vs ref: accuracy minus {reference.label}'s, pooled over the languages both evaluated, "
            f"on the questions both answered; * p < {SIGNIFICANCE} (exact McNemar test)."
        )
    title = f"{TASK_TITLES.get(task, task)}: leaderboard, accuracy (%)" + (
        f" [{table_id.rsplit('_', 1)[-1]}]" if reasons else ""
    )
    caption = (
        f"{len(entries)} model(s) of {len({e.run for e in entries})} run(s)"
        + (f" beside the paper's {size or 'published'} rows" if published else "")
        + "; best per column in bold."
    )
    return Table(table_id, title, columns, groups, caption, notes)


# -- building and rendering ----------------------------------------------------------------------


def build_leaderboard(
    specs: list[str], task: str | None = None, size: str | None = None, reference: str | None = None
) -> tuple[list[Table], list[str], list[Entry]]:
    """The tables, warnings and entries of ``harness leaderboard``."""
    from harness.reporting.baselines import load_baselines

    entries = load_entries(specs)
    ref_entry = None
    if reference is not None:
        ref_entries = load_entries([reference])
        ref_entry = next((e for e in ref_entries if e.role == "trained"), ref_entries[0])
        if all(e.reference != ref_entry.reference for e in entries):
            entries.append(ref_entry)
    all_tasks: list[str] = []
    for entry in entries:
        all_tasks += [t for t in entry.tasks() if t not in all_tasks]
    if task is not None and task not in all_tasks:
        raise HarnessError(f"--task {task}: none of the runs has {task!r} scores; they have: {', '.join(all_tasks)}")
    tasks = [task] if task else all_tasks
    baselines = load_baselines()
    sizes = sorted({row.size for row in baselines.rows})
    if size is not None and size not in sizes:
        raise HarnessError(f"--size {size}: the paper has no {size} rows; choose from: {', '.join(sizes)}")
    warnings = [
        f"{e.label}: no {t!r} scores, left out of its table" for t in tasks for e in entries if e.task(t) is None
    ]
    tables = []
    for name in tasks:
        parts = partition(entries, name)
        ref_key = None
        if ref_entry is not None and ref_entry.task(name) is not None:
            ref_key = next(i for i, (members, _) in enumerate(parts) if ref_entry in members)
        elif ref_entry is not None:
            warnings.append(f"--reference {reference}: has no {name!r} scores; no paired test for {name}")
        for index, (members, reasons) in enumerate(parts):
            if reasons:
                warnings.append(
                    f"{name}: {', '.join(e.label for e in members)} in a separate table: {'; '.join(reasons)}"
                )
            tables.append(
                leaderboard_table(
                    name,
                    members,
                    baselines,
                    size,
                    ref_entry if ref_key is not None else None,
                    ref_key == index,
                    f"{name}_leaderboard" + (f"_{index + 1}" if len(parts) > 1 else ""),
                    reasons,
                )
            )
    return tables, warnings, entries


def leaderboard_plot(table: Table, path: Path) -> Path | None:
    """Horizontal bars of each row's Avg (runs in blue, published rows in grey)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    avg = [c.name for c in table.columns].index("Avg")
    rows = [(row.label, value, row.kind) for row in table.rows() if (value := row.cells[avg].value) is not None]
    if not rows:
        return None
    figure, axis = plt.subplots(figsize=(8, 0.35 * len(rows) + 1.4), dpi=110)
    labels = [label for label, _, _ in rows][::-1]
    values = [value for _, value, _ in rows][::-1]
    colours = ["#0969da" if kind == "run" else "#8c959f" for _, _, kind in rows][::-1]
    axis.barh(range(len(rows)), values, color=colours)
    for y, value in enumerate(values):
        axis.text(value + 0.8, y, f"{value:.1f}", va="center", fontsize=8)
    axis.set_yticks(range(len(rows)))
    axis.set_yticklabels(labels, fontsize=8)
    axis.set_xlim(0, 100)
    axis.set_xlabel("Avg accuracy (%)  (runs: blue; published: grey)")
    axis.set_title(table.title, fontsize=10)
    axis.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def write_leaderboard(
    specs: list[str],
    task: str | None,
    size: str | None,
    reference: str | None,
    out: str | None,
    replace: bool = False,
) -> tuple[list[Table], dict]:
    """`harness leaderboard`: the tables and their JSON; with ``out``, the files written there.

    The files are made in a staging folder inside ``out`` and renamed into place: nothing is
    written through a link planted there, and files of an earlier leaderboard are replaced only
    with ``replace`` (else one error names them and nothing is changed).
    """
    tables, warnings, entries = build_leaderboard(specs, task, size, reference)
    data = {
        "runs": [
            {
                "run": str(e.run),
                "model": e.role,
                "source": e.source,
                "recipe": e.recipe,
                "comparability": {t: {name: value(e, t) for name, value in COMPARABILITY} for t in e.tasks()},
                "settings": e.settings,
            }
            for e in entries
        ],
        "reference": reference,
        "warnings": warnings,
        "tables": [t.to_json() for t in tables],
    }
    if out is not None:
        folder = Path(out)
        names = [f"leaderboard.{ext}" for ext in ("md", "tex", "html", "json")] + [f"{t.id}.png" for t in tables]
        taken = [name for name in names if (folder / name).exists() or (folder / name).is_symlink()]
        if taken and not replace:
            raise HarnessError(
                f"--out {folder}: already holds {', '.join(taken)}; pass --replace to replace them, or choose "
                "another folder (nothing was changed)"
            )
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder, prefix=".leaderboard-"))
        try:
            _write_files(staging, tables, entries, reference, size, warnings, data)
            for name in names:
                if (staging / name).exists():
                    os.replace(staging / name, folder / name)  # replaces a link itself, never its target
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return tables, data


def _write_files(folder: Path, tables, entries, reference, size, warnings, data) -> None:
    from harness.reporting.render import Document, Image, Section, html_document, latex_document, markdown_document
    from harness.runs import atomic_write_text, write_json

    sections = []
    for table in tables:
        image = leaderboard_plot(table, folder / f"{table.id}.png")
        sections.append(
            Section(table.title.split(":")[0], [table], [Image(f"{table.title}: Avg per row", image)] if image else [])
        )
    metadata = [
        ("Runs", ", ".join(dict.fromkeys(str(e.run) for e in entries))),
        ("Reference", reference or "none"),
        ("Published rows", size or "every size"),
        ("Generated", time.strftime("%Y-%m-%d %H:%M:%S %Z")),
    ]
    document = Document("SLAM harness leaderboard", metadata, sections, warnings)
    atomic_write_text(folder / "leaderboard.md", markdown_document(document))
    atomic_write_text(folder / "leaderboard.tex", latex_document(document))
    atomic_write_text(folder / "leaderboard.html", html_document(document))
    write_json(folder / "leaderboard.json", data)
