"""Reading numbers written in text: the authors' last-number rule and a strict reader.

Used by benchmark loading (a gold answer must be a number) and by answer extraction.

Two modes:

- ``paper``: the paper's rule (section 4.4: the last number of the response), as the authors'
  evaluation scripts implement it (MathOctopus/QAlign ``extract_last_num``, which SLAM reuses):
  commas between two digits are removed, the last unsigned integer or decimal is taken, a
  response with no number counts as 0, and two numbers are equal within 1e-3. The gold answer
  goes through the same rule. Python's ``\\d`` is Unicode-aware, so digits of other
  scripts already count as digits there, exactly as in the authors' scripts.
- ``strict``: reads what the number says: a sign, thousands separators (``1,234`` or
  ``1 234`` with a no-break space), decimals (``3.5``, ``3,5``), simple fractions (``3/4``,
  ``2 1/2``, ``\\frac{3}{4}``, ``½``), percent and currency signs around it, and digits of any
  script (Bengali, Thai, Devanagari, full-width, ...). No number is no answer (wrong).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Mode = Literal["paper", "strict"]
MODES: tuple[Mode, ...] = ("paper", "strict")
TOLERANCE = 1e-3
"""Two answers are equal when they differ by less than this (the authors' rule)."""

# -- paper --------------------------------------------------------------------------------------

_PAPER_COMMA = re.compile(r"(\d),(\d)")
_PAPER_NUMBER = re.compile(r"(\d+(\.\d+)?)")


def _paper_number(text: str) -> float:
    text = _PAPER_COMMA.sub(r"\g<1>\g<2>", text)
    found = _PAPER_NUMBER.findall(text)
    return float(found[-1][0]) if found else 0.0


# -- strict -------------------------------------------------------------------------------------

# Punctuation that other scripts or full-width forms write for the ASCII signs a number uses.
_PUNCTUATION = {
    "\uff0c": ",",
    "\uff0e": ".",
    "\uff0d": "-",
    "\u2212": "-",
    "\ufe63": "-",
    "\uff0b": "+",
    "\uff05": "%",
    "\u066a": "%",
    "\uff0f": "/",
    "\u2044": "/",
    "\u2215": "/",
    "\u066b": ".",
    "\u066c": ",",
    "\u060c": ", ",
}
_GROUP_SPACES = "\u00a0\u202f\u2009"
_CURRENCY = r"[$€£¥₹₽₩₦₱৳฿₫₺₴₪¢]|US\$|Rs\.?|Tsh\.?|TSh|KSh|R\$"
_NONZERO = r"(?!0+(?!\d))\d+"
_NUMBER = re.compile(
    rf"""
    (?P<sign>(?<![0-9A-Za-z)\]])[-+])?           # a sign, unless it follows a digit, letter or ')'
    (?:(?:{_CURRENCY})\s?)?
    (?:
        \\d?frac\{{\s*(?P<fnum>\d+)\s*\}}\{{\s*(?P<fden>{_NONZERO})\s*\}}   # \frac{{3}}{{4}}
      | (?P<whole>\d+)\ (?P<mnum>\d+)/(?P<mden>{_NONZERO})(?!\d|/)          # 2 1/2
      | (?P<num>\d+)\s?/\s?(?P<den>{_NONZERO})(?!\d|/|[.,]\d)               # 3/4
      | (?<!\d,)(?P<dint>\d+),(?P<cfrac>\d{{1,2}})(?!\d|,\d)                 # 3,5 (decimal comma)
      | (?P<int>\d{{1,3}}(?:,\d{{3}})+(?!\d|,\d)                              # 1,234,567
              | \d{{1,3}}(?:[{_GROUP_SPACES}]\d{{3}})+(?!\d)                   # 1 234 567 (no-break space)
              | \d+)
        (?:\.(?P<frac>\d+))?                                                 # 3.5
    )
    """,
    re.VERBOSE,
)


def normalize_digits(text: str) -> str:
    """Digits of any script as ASCII digits; full-width and script-specific signs as ASCII ones.

    Vulgar fractions (``½``) become ``1/2``, with a space after a digit (``2½`` -> ``2 1/2``).
    """
    out: list[str] = []
    for char in text:
        if char.isascii():
            out.append(char)
        elif (digit := unicodedata.decimal(char, None)) is not None:
            out.append(str(digit))
        elif char in _PUNCTUATION:
            out.append(_PUNCTUATION[char])
        elif unicodedata.category(char) == "No" and "\u2044" in (vulgar := unicodedata.normalize("NFKC", char)):
            out.append((" " if out and out[-1][-1:].isdigit() else "") + vulgar.replace("\u2044", "/"))
        else:
            out.append(char)
    return "".join(out)


def _strict_value(match: re.Match) -> float:
    # Floats, not ints or Fractions: a degenerate generation can hold thousands of digits, which
    # int() refuses (> 4300) and float() reads as inf; answers are compared within 1e-3 anyway.
    groups = match.groupdict()
    if groups["fnum"] is not None:
        value = float(groups["fnum"]) / float(groups["fden"])
    elif groups["whole"] is not None:
        value = float(groups["whole"]) + float(groups["mnum"]) / float(groups["mden"])
    elif groups["num"] is not None:
        value = float(groups["num"]) / float(groups["den"])
    elif groups["dint"] is not None:
        value = float(f"{groups['dint']}.{groups['cfrac']}")
    else:
        digits = re.sub(rf"[,{_GROUP_SPACES}]", "", groups["int"])
        value = float(f"{digits}.{groups['frac']}" if groups["frac"] else digits)
    return -value if groups["sign"] == "-" else value


def _strict_number(text: str) -> float | None:
    matches = list(_NUMBER.finditer(normalize_digits(text)))
    return _strict_value(matches[-1]) if matches else None


# -- public -------------------------------------------------------------------------------------


def last_number(text: str | None, mode: Mode = "paper") -> float | None:
    """The last number in ``text`` under ``mode``.

    ``paper`` never returns None (no number reads as 0, as in the authors' scripts); ``strict``
    returns None when the text holds no number.
    """
    text = text or ""
    if mode == "paper":
        return _paper_number(text)
    if mode == "strict":
        return _strict_number(text)
    raise ValueError(f"unknown extraction mode {mode!r}; choose from: {', '.join(MODES)}")


def numbers_equal(predicted: float | None, gold: float | None) -> bool:
    """Equal within ``TOLERANCE``; a missing number is never equal."""
    return predicted is not None and gold is not None and abs(predicted - gold) < TOLERANCE


def gold_number(answer: str, mode: Mode = "paper") -> float | None:
    """The gold answer's value under ``mode`` (the authors run gold through the same rule)."""
    return last_number(answer, mode)
