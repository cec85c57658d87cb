"""The published baselines as rows of a report table: labels, notes, averages and their caveats."""

from __future__ import annotations

from harness import presentation
from harness.reporting.baselines import Baseline, Baselines, short_version
from harness.reporting.paper import NEWER_MARK, PAPER_LANGUAGES
from harness.reporting.table import (
    NO_BASELINE_NUMBER,
    NOT_COMPARABLE,
    Cell,
    Row,
    empty,
    number,
)


def size_order(size: str) -> float:
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


def baseline_row(
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
