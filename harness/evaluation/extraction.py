"""Answer extraction: the last number of a math response (see :mod:`harness.numbers` for the two
modes), the last "(A)".."(E)" of a choice response, and both compared with the gold answer.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from harness.numbers import MODES, Mode, gold_number, last_number, numbers_equal

_LABEL_PAPER = re.compile(r"\(([A-E])\)")
_LABEL_STRICT = re.compile(r"[(\uff08]\s*([A-E\uff21-\uff25])\s*[)\uff09]")


def bracket_label(text: str | None, mode: Mode = "paper", which: Literal["last", "first"] = "last") -> str | None:
    """The last (or ``which="first"``: the first) bracketed label "(A)".."(E)" of an X-CSQA
    response, or None.

    ``strict`` also reads full-width brackets and letters (``（Ｂ）``) and spaces inside.
    """
    text = text or ""
    pattern = _LABEL_PAPER if mode == "paper" else _LABEL_STRICT
    found = pattern.findall(text)
    if not found:
        return None
    return unicodedata.normalize("NFKC", found[-1] if which == "last" else found[0])


def format_number(value: float | None) -> str | None:
    """A compact display of an extracted number: 18.0 -> "18", 0.75 -> "0.75", None -> None."""
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def score_response(
    kind: Literal["math", "choice"], response: str | None, answer: str, label_rule: Literal["last", "first"] = "last"
) -> dict:
    """Extracted answer and correctness of one response in both modes.

    ``kind``: ``math`` (last number against the gold number) or ``choice`` (last bracketed label
    against the gold label; ``label_rule``: the last or the first label).
    Returns ``{"extracted": {mode: str|None}, "correct": {mode: bool}}``.
    """
    extracted: dict[str, str | None] = {}
    correct: dict[str, bool] = {}
    for mode in MODES:
        if kind == "math":
            value = last_number(response, mode)
            extracted[mode] = format_number(value)
            correct[mode] = numbers_equal(value, gold_number(answer, mode))
        else:
            label = bracket_label(response, mode, label_rule)
            extracted[mode] = label
            correct[mode] = label is not None and label == answer
    return {"extracted": extracted, "correct": correct}
