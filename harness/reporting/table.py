"""Report tables as data: a table of cells, with the texts of why a cell is empty.

One ``Table`` renders many ways (``harness.reporting.render``: terminal, Markdown, LaTeX, HTML)
and serialises to JSON. A ``Cell`` has a value, its display text, a description (details shown
as a tooltip: interval, sample count, provenance) and, when it is empty or its number needs a
caveat, a footnote saying why ("baseline has no number", "task not run", "language not
evaluated", "published average differs from the mean of its cells"). Empty cells are never
silently blank.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Literal

from harness import presentation

# Why a cell is empty: the texts reports show.
NO_BASELINE_NUMBER = "baseline has no number"
TASK_NOT_RUN = "task not run"
LANGUAGE_NOT_EVALUATED = "language not evaluated"
NOT_TRAINED = "not trained by this run"
NO_TRAIN_RECORD = "no train/train.json in this run"
NOT_COMPARABLE = "not comparable"


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
    titled: bool = True
    """Whether the name heads the rows when the group is its table's only one (False: the run's own
    rows, or a plain list, that need no heading alone). Presentation only: not in the JSON."""


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
        out = asdict(self)
        for group in out["groups"]:
            del group["titled"]
        return out

    def cell(self, row_label: str, column: str) -> Cell:
        """The cell at a row label and column name (for tests and scripts)."""
        index = [c.name for c in self.columns].index(column)
        for row in self.rows():
            if row.label == row_label:
                return row.cells[index]
        raise KeyError(row_label)


# -- cells ---------------------------------------------------------------------------------


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
