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
_ANSWER_IS_PAPER = re.compile(r"The answer is \(([A-E])\)")
_ANSWER_IS_STRICT = re.compile(r"[Tt]he answer is:?\s*[(\uff08]\s*([A-E\uff21-\uff25])\s*[)\uff09]")

LabelRule = Literal["last", "first", "authors"]


def bracket_label(text: str | None, mode: Mode = "paper", which: LabelRule = "last") -> str | None:
    """The label "(A)".."(E)" of an X-CSQA response, or None: ``last`` the last bracketed label
    (the paper), ``first`` the first one, ``authors`` the label of the first "The answer is (X)."
    (the authors' script; a response without that sentence has none).

    ``strict`` also reads full-width brackets and letters (``（Ｂ）``) and spaces inside.
    """
    text = text or ""
    if which == "authors":
        pattern = _ANSWER_IS_PAPER if mode == "paper" else _ANSWER_IS_STRICT
    else:
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


def after_reasoning(response: str | None, reasoning_end: str | None) -> tuple[str | None, bool | None]:
    """(the answer part of a response, whether its reasoning ended).

    Without a marker the whole response is the answer (None: not asked). With one, the answer is
    the text after the marker's last occurrence; a response without the marker never finished
    reasoning (cut by the token budget): it has no answer, whatever numbers its reasoning holds.
    """
    if reasoning_end is None:
        return response, None
    _, marker, tail = (response or "").rpartition(reasoning_end)
    if not marker:
        return None, False
    return tail, True


def score_response(
    kind: Literal["math", "choice"],
    response: str | None,
    answer: str,
    label_rule: LabelRule = "last",
    reasoning_end: str | None = None,
) -> dict:
    """Extracted answer and correctness of one response in both modes.

    ``kind``: ``math`` (last number against the gold number) or ``choice`` (last bracketed label
    against the gold label; ``label_rule``: the last or the first label). ``reasoning_end``: the
    answer is read after the end of the reasoning only (:func:`after_reasoning`). Returns
    ``{"extracted": {mode: str|None}, "correct": {mode: bool}}``, plus ``"reasoning_ended"``
    when a marker is given.
    """
    extracted: dict[str, str | None] = {}
    correct: dict[str, bool] = {}
    response, ended = after_reasoning(response, reasoning_end)
    if ended is False:
        return {
            "extracted": {mode: None for mode in MODES},
            "correct": {mode: False for mode in MODES},
            "reasoning_ended": False,
        }
    for mode in MODES:
        if kind == "math":
            value = last_number(response, mode)
            extracted[mode] = format_number(value)
            correct[mode] = numbers_equal(value, gold_number(answer, mode))
        else:
            label = bracket_label(response, mode, label_rule)
            extracted[mode] = label
            correct[mode] = label is not None and label == answer
    return {"extracted": extracted, "correct": correct, **({"reasoning_ended": True} if ended else {})}
