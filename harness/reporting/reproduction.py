"""The report's reproduction section: what a paper run decided and whether it matches the paper.

- the layer check: the pinned layers beside the layers SLAM's probe picks on this model, with the
  activation threshold and boundary rule used (selection.json ``probe_check``);
- every open choice with its value and origin ("paper", "authors' code", "ours"), as the stages
  recorded them (``open_choices`` in selection.json, train.json, scores.json);
- the training data: pairs kept per language and side beside the paper's Table 1 counts, the
  difference broken down by reason (train.json ``data.accounting``);
- the base-model check: a base whose English accuracy falls outside the 95% interval around the
  published base row (MetaMath, RFT, Llama2-mono) is flagged: the wrong checkpoint or prompt.

Each part returns tables and warning lines; a part whose record is missing returns nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.artifacts import SELECTION_FILE, TRAIN_FILE, OpenChoice, Scores, Selection, TrainRecord
from harness.reporting.baselines import QUESTIONS_PER_LANGUAGE as PUBLISHED_TEST_SIZE
from harness.reporting.scored import scored_models
from harness.reporting.table import Cell, Column, Group, Row, Table, number

BASE_SYSTEMS = (("mugglemath", "RFT"), ("metamath", "MetaMath"), ("llama2-mono", "Llama2-mono"))
"""A base model's source (lower case contains) -> its published row in the paper's tables."""


def _text(value: Any) -> Cell:
    return Cell(None, "" if value is None else str(value))


def _text_table(id: str, title: str, headers: list[str], rows: list[list[Any]], caption: str = "") -> Table:
    columns = [Column(name, numeric=False) for name in headers]  # the first cell of a row is its label
    rows_ = [Row(str(r[0]), [_text(v) for v in r], "detail") for r in rows]
    return Table(id, title, columns, [Group("This run", rows_, titled=False)], caption)


# -- layers -------------------------------------------------------------------------------------


def layer_check(selection: Selection | None) -> tuple[list[Table], list[str]]:
    check = None if selection is None else selection.probe_check
    if check is None:
        return [], []
    rule = check.rule
    rows: list[list[Any]] = [
        ["pinned (trained)", check.pinned_layers, check.pinned_by],
        [
            "SLAM's probe on this model",
            check.probe_layers or "none",
            f"firing_share {rule.activation_threshold.value}, peak_search {rule.boundary_rule.value}"
            + (f"; {check.error.split(';')[0]}" if check.error else ""),
        ],
        ["agree", "yes" if check.agrees else "NO", check.warning or ""],
    ]
    table = _text_table(
        "reproduction_layers",
        "Layers: pinned vs the probe",
        ["which", "layers", "how"],
        rows,
        "The paper's layers are trained; SLAM's probe runs on this model as a check.",
    )
    warnings = [f"Layer check: {check.warning}"] if check.warning else []
    return [table], warnings


# -- open choices --------------------------------------------------------------------------------


def recorded_choices(selection: Selection | None, train: TrainRecord | None, settings: dict) -> list[OpenChoice]:
    """The open choices the stages recorded, in stage order."""
    evaluation = [OpenChoice.model_validate(choice) for choice in settings.get("open_choices") or []]
    return [*(selection.open_choices if selection else []), *(train.open_choices if train else []), *evaluation]


def open_choices_table(choices: list[OpenChoice]) -> list[Table]:
    if not choices:
        return []
    rows = [[c.what, c.field, c.value, c.origin, c.note] for c in choices]
    return [
        _text_table(
            "reproduction_choices",
            "Open choices and their origin",
            ["choice", "recipe field", "value", "origin", "note"],
            rows,
            "paper: stated in the paper; authors' code: the authors' released scripts; "
            "ours: stated nowhere, this project's choice.",
        )
    ]


# -- training data -------------------------------------------------------------------------------


def data_table(train: TrainRecord | None) -> list[Table]:
    table = None if train is None else train.data.accounting
    if not table:
        return []
    columns = [
        Column("language", numeric=False),
        Column("side", numeric=False),
        Column("loaded"),
        Column("dropped", numeric=False),
        Column("kept"),
        Column("used"),
        Column("paper (Table 1)"),
        Column("difference"),
        Column("by reason", numeric=False),
    ]
    groups = []
    for side, total in table["totals"].items():
        rows = []
        for lang, entry in table["by_language"].items():
            e = entry[side]
            dropped = ", ".join(f"{r} {n:,}" for r, n in e["dropped"].items()) or (
                "language missing" if "missing" in e else ""
            )
            rows.append(
                Row(
                    lang,
                    [
                        _text(lang),
                        _text(side),
                        number(e["loaded"]),
                        _text(dropped),
                        number(e["kept"]),
                        number(e["used"]),
                        _text(""),
                        _text(""),
                        _text(e.get("missing", "")),
                    ],
                    "detail",
                )
            )
        reasons = "; ".join(f"{what} {n:+,}" for what, n in total["difference_by_reason"].items())
        rows.append(
            Row(
                "all",
                [
                    _text("all"),
                    _text(side),
                    number(total["loaded"]),
                    _text(", ".join(f"{r} {n:,}" for r, n in total["dropped"].items())),
                    number(total["kept"]),
                    number(total["used"]),
                    number(total["paper"]) if total["paper"] is not None else _text("not given"),
                    Cell(total["difference"], f"{total['difference']:+,}")
                    if total["difference"] is not None
                    else _text(""),
                    _text(reasons),
                ],
                "run",
            )
        )
        groups.append(Group(f"{side} pairs", rows))
    for group in groups:
        for row in group.rows:
            for cell in row.cells:
                if cell.value is not None and cell.display.endswith(".0"):
                    cell.display = f"{int(cell.value):,}"
    return [
        Table(
            "reproduction_data",
            "Training pairs against the paper's Table 1",
            columns,
            groups,
            f"{table['paper']['source']}. {table.get('note', '')}",
        )
    ]


# -- the base model ------------------------------------------------------------------------------


def base_check(scores: Scores | dict, baselines, size: str | None, source: str) -> tuple[list[Table], list[str]]:
    """The base model's English accuracy against the published base row's 95% interval."""
    from harness.stats import wilson_interval

    system = next((name for key, name in BASE_SYSTEMS if key in source.lower()), None)
    base = next((model for model in scored_models(scores) if model.role == "base"), None)
    if system is None or base is None:
        return [], []
    rows, warnings = [], []
    for task in base.tasks():
        english = base.language(task, "en")
        n_published = PUBLISHED_TEST_SIZE.get(task)
        if english is None or english.accuracy is None or n_published is None:
            continue
        published = [r for r in baselines.for_benchmark(task, size, [system]) if "en" in r.scores]
        if not published:
            continue
        row = published[0]
        p = float(row.scores["en"])
        low, high = wilson_interval(round(p * n_published / 100), n_published)
        ours = float(english.accuracy)
        inside = low <= ours <= high
        impossible = row.impossible.get("en")
        rows.append(
            [
                task,
                f"{row.system} {row.size}",
                f"{p:.1f}" + (" (not a possible score)" if impossible else ""),
                f"{low:.1f}-{high:.1f}",
                f"{ours:.1f}",
                english.n,
                "yes" if inside else "NO",
            ]
        )
        if not inside:
            warnings.append(
                f"Base model check: {source} scores {ours:.1f} on {task} en, outside the 95% interval "
                f"{low:.1f}-{high:.1f} around the published {row.system} {row.size} ({p:.1f}, {row.provenance.table}): "
                "the wrong checkpoint or prompt?"
            )
        if impossible:
            warnings.append(
                f"Base model check: its reference, {row.system} {row.size} {task} en {p:.1f} "
                f"({row.provenance.table}), {impossible.split(': ', 1)[1]}: the interval is taken around "
                f"{round(p * n_published / 100)}/{n_published} = "
                f"{100 * round(p * n_published / 100) / n_published:.1f}; "
                "the printed number is a misprint or not from the full test set"
            )
    if not rows:
        return [], []
    table = _text_table(
        "reproduction_base",
        "Base model: English accuracy against the published base",
        ["task", "published row", "published en", "95% interval", "this run en", "n", "inside"],
        rows,
        "Wilson interval at the full test set's size "
        f"({', '.join(f'{k} {v}' for k, v in PUBLISHED_TEST_SIZE.items())} per language).",
    )
    return [table], warnings


def reproduction_section(recipe, run, scores: Scores, baselines, size: str | None):
    """(tables, warnings) of the reproduction section for a run."""

    def done(stage: str, name: str) -> bool:
        return (Path(run.stage_dir(stage)) / name).is_file()

    selection = run.selection() if done("select", SELECTION_FILE) else None
    train = run.train_record() if done("train", TRAIN_FILE) else None
    tables, warnings = [], []
    part, notes = layer_check(selection)
    tables += part
    warnings += notes
    tables += open_choices_table(recorded_choices(selection, train, scores.settings))
    tables += data_table(train)
    accounting = (None if train is None else train.data.accounting) or {}
    if "totals" in accounting:
        from harness.training.accounting import table1_warnings

        warnings += table1_warnings(accounting["totals"])
    source = str(getattr(getattr(recipe, "model", None), "source", ""))
    part, notes = base_check(scores, baselines, size, source)
    tables += part
    warnings += notes
    return tables, warnings
