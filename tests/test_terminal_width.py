"""Numbers are never cut at any terminal width: text columns wrap first, then the numbers move into
more tables (each repeating the row labels). Checked at 80 columns and wider."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from reporting_fixtures import BASE_13B, TRAINED_13B, make_scores
from rich.console import Console

from harness.presentation import number
from harness.reporting.baselines import load_baselines
from harness.reporting.paper_tables import TableOptions, report_tables
from harness.reporting.render import print_terminal

QUICKSTART_LANGUAGES = ("en", "es", "de", "fr")


def _whole(display: str, text: str) -> bool:
    """``display`` printed as a whole number (not the 5 of 54.2, not cut to 5…)."""
    return re.search(rf"(?<![\d.]){re.escape(display)}(?![\d])", text) is not None


def _rendered(tables, width: int) -> str:
    console = Console(width=width, record=True, force_terminal=False)
    print_terminal(tables, console)
    return console.export_text()


@pytest.mark.parametrize("width", [80, 100, 160])
def test_the_quickstart_headline_table_keeps_every_number_whole(width):
    correct = {"en": 13, "es": 0, "de": 0, "fr": 0}
    scores, _ = make_scores({"demo": {"base": correct, "trained": {**correct, "en": 14}}}, n=24)
    tables = report_tables(scores, load_baselines(), TableOptions(None), None)
    text = _rendered(tables[:1], width)
    assert "…" not in text
    cells = [cell for group in tables[0].groups for row in group.rows for cell in row.cells[1:] if cell.display]
    assert cells and all(_whole(cell.display, text) for cell in cells), text
    assert _whole("54.2", text) and _whole("58.3", text)  # 13/24 and 14/24
    assert all(max(len(line) for line in text.splitlines()) <= width for _ in [0])


@pytest.mark.parametrize("width", [80, 120])
def test_a_wide_paper_table_splits_its_numbers_instead_of_cutting_them(width):
    scores, _ = make_scores({"mgsm": {"base": BASE_13B, "trained": TRAINED_13B}})
    tables = report_tables(scores, load_baselines(), TableOptions("13B"), None)
    text = _rendered(tables[:1], width)
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= width
    cells = [cell for group in tables[0].groups for row in group.rows for cell in row.cells[1:] if cell.display]
    assert all(_whole(cell.display, text) for cell in cells)


def test_ls_baselines_at_80_columns_prints_every_published_number():
    env = {**os.environ, "COLUMNS": "80"}
    result = subprocess.run(
        [sys.executable, "-m", "harness", "ls", "baselines"], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "…" not in text
    lines = [line for line in text.splitlines() if "│" in line or "┃" in line]
    assert max(len(line) for line in lines) <= 80
    for row in load_baselines().rows:
        for lang, score in row.scores.items():
            assert _whole(number(score), text), (row.reference, lang, score)
