"""Reading the text files that users and stages hand over: UTF-8 lines and JSON lines, with
errors that name the file and the line."""

from __future__ import annotations

import json
from pathlib import Path

from harness.errors import HarnessError


def text_lines(file: Path) -> list[tuple[int, str]]:
    """(1-based line number, text) of every non-empty line; a clear error for non-UTF-8 bytes."""
    try:
        text = Path(file).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise HarnessError(f"{file}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    return [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]


def read_json_lines(file: Path) -> list[tuple[int, dict]]:
    """(line number, object) for every non-empty line; a clear error naming a bad line."""
    rows = []
    for number, line in text_lines(file):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise HarnessError(
                f"{file}: line {number}: not valid JSON ({error.msg}); expected one JSON object per line"
            ) from None
        except RecursionError:
            raise HarnessError(
                f"{file}: line {number}: nested too deeply; expected one flat JSON object per line"
            ) from None
        if not isinstance(row, dict):
            raise HarnessError(f"{file}: line {number}: expected a JSON object, found {type(row).__name__}")
        rows.append((number, row))
    return rows
