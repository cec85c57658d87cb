"""Answer extraction: the authors' last-number rule, the strict rule, and X-CSQA labels."""

from __future__ import annotations

import pytest

from harness.evaluation.extraction import bracket_label, format_number, score_response
from harness.numbers import last_number, normalize_digits, numbers_equal

# -- paper: the authors' extract_last_num --------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("Janet sells 16 - 3 - 4 = 9 duck eggs. She makes 9 * 2 = $18 every day.", 18.0),
        ("The answer is 18.", 18.0),  # a trailing full stop is not a decimal point
        ("The total is 1,234,567 dollars", 1234567.0),  # commas between digits removed
        ("It costs 3.75 per pound", 3.75),
        ("The answer is 18.00", 18.0),
        ("He is -5 metres below", 5.0),  # unsigned: the sign is dropped
        ("I cannot solve this.", 0.0),  # no number counts as 0
        ("", 0.0),
        ("3/4 of the cake", 4.0),  # no fractions: the last integer
        ("0,5 kg", 5.0),  # "0,5" -> "05"
        ("উত্তর হল ৩৩।", 33.0),  # Python's \d is Unicode: Bengali digits count, as in their script
        ("１２３個", 123.0),  # so do full-width ones
    ],
)
def test_paper_rule(response, expected):
    assert last_number(response, "paper") == expected


def test_paper_rule_removes_commas_pairwise_like_the_authors_regex():
    # re.sub(r"(\d),(\d)") does not overlap: in "1,2,3" the second comma survives.
    assert last_number("1,2,3", "paper") == 3.0
    assert last_number("answer: 12,345", "paper") == 12345.0


def test_paper_equality_within_tolerance():
    assert numbers_equal(last_number("x = 18.0004", "paper"), 18.0)
    assert not numbers_equal(last_number("x = 18.002", "paper"), 18.0)


# -- strict ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("The answer is 18.", 18.0),
        ("The temperature drops to -5 degrees.", -5.0),  # sign
        ("答案是-5", -5.0),  # sign after a CJK character
        ("10 - 3 = 7", 7.0),
        ("so the result is 10 - 3", 3.0),  # a spaced minus between numbers is subtraction
        ("10-3", 3.0),  # a minus right after a digit is subtraction
        ("(-3)", -3.0),
        ("He paid $1,234, which was a lot", 1234.0),  # thousands separator, then a list comma
        ("1,234,567.89", 1234567.89),
        ("1\u00a0234 roubles", 1234.0),  # no-break space as thousands separator
        ("€12,50", 12.5),  # decimal comma
        ("0,5 kg", 0.5),
        ("1,2,3", 3.0),  # a list, not decimals
        ("3/4.", 0.75),  # simple fraction
        ("She used 2 1/2 cups", 2.5),  # mixed number
        ("2½ cups", 2.5),  # vulgar fraction after a digit
        (r"\frac{3}{4}", 0.75),
        ("60 / 2 = 30", 30.0),
        ("It grew by 25%", 25.0),  # percent sign
        ("-$5", -5.0),  # currency after the sign
        ("Rs. 500", 500.0),
        ("18€", 18.0),
        ("উত্তর হল ৩৩।", 33.0),  # Bengali digits
        ("คำตอบคือ ๒๕", 25.0),  # Thai digits
        ("答えは１２３です", 123.0),  # full-width digits
        ("उत्तर १२३ है", 123.0),  # Devanagari digits
        ("٣٫٥", 3.5),  # Arabic-Indic digits with the Arabic decimal separator
        ("１，２３４", 1234.0),  # full-width comma as a thousands separator
        ("10/0", 0.0),  # no division by zero: two integers
    ],
)
def test_strict_rule(response, expected):
    assert last_number(response, "strict") == pytest.approx(expected)


def test_strict_no_number_is_no_answer():
    assert last_number("I cannot solve this.", "strict") is None
    assert not numbers_equal(None, 0.0)


def test_superscripts_are_not_digits():
    assert normalize_digits("5²") == "5²"
    assert last_number("area 5²", "strict") == 5.0


def test_unknown_mode():
    with pytest.raises(ValueError, match="unknown extraction mode"):
        last_number("1", "loose")


# -- X-CSQA labels --------------------------------------------------------------------------------


def test_bracket_label_takes_the_last_label():
    assert bracket_label("(A) is tempting, but the answer is (C).") == "C"
    assert bracket_label("The answer is C.") is None  # no brackets, no label
    assert bracket_label("(F) is not a choice") is None
    assert bracket_label("") is None


def test_bracket_label_strict_reads_full_width_forms():
    assert bracket_label("答案是（Ｂ）") is None
    assert bracket_label("答案是（Ｂ）", "strict") == "B"
    assert bracket_label("answer: ( d )", "strict") is None  # lower case is not a label
    assert bracket_label("answer: ( D )", "strict") == "D"


# -- one response, both modes --------------------------------------------------------------------


def test_score_response_math_both_modes():
    result = score_response("math", "She has -18 left... so 2,125 dollars.", "2,125")
    assert result == {"extracted": {"paper": "2125", "strict": "2125"}, "correct": {"paper": True, "strict": True}}
    result = score_response("math", "The answer is -8.", "8.0")
    assert result["correct"] == {"paper": True, "strict": False}  # the paper's rule drops the sign
    result = score_response("math", "No idea.", "18")
    assert result == {"extracted": {"paper": "0", "strict": None}, "correct": {"paper": False, "strict": False}}


def test_score_response_handles_a_missing_response():
    assert score_response("math", None, "3")["correct"] == {"paper": False, "strict": False}
    assert score_response("choice", None, "A")["correct"] == {"paper": False, "strict": False}


def test_score_response_choice():
    assert score_response("choice", "I think (B)... no, (E).", "E")["correct"] == {"paper": True, "strict": True}
    assert score_response("choice", "（Ｅ）", "E")["correct"] == {"paper": False, "strict": True}


def test_format_number():
    assert format_number(18.0) == "18"
    assert format_number(0.75) == "0.75"
    assert format_number(None) is None


# -- never raises ---------------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_NUMBERISH = st.text(alphabet="0123456789.,/ -+½%$\u00a0\u0966\u0e53\uff11", max_size=60)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=200), _NUMBERISH, st.tuples(st.text(max_size=20), _NUMBERISH).map("".join)))
def test_extraction_never_raises_on_any_text(text):
    """A degenerate generation must never crash a long evaluation."""
    for kind, gold in (("math", "18"), ("choice", "A")):
        result = score_response(kind, text, gold)
        assert set(result["correct"]) == {"paper", "strict"}


@pytest.mark.parametrize("digits", [4301, 5000, 20000])
@pytest.mark.parametrize("shape", ["{d}", "-{d}", "{d}.5", "1/{d}", "{d}/7", "2 {d}/3", "1,{d}", "\\frac{{{d}}}{{3}}"])
def test_runs_of_thousands_of_digits(shape, digits):
    """Beyond int()'s 4,300-digit limit: read as a float (inf or a tiny ratio), never an error."""
    text = "The answer is " + shape.format(d="9" * digits)
    for mode in ("paper", "strict"):
        value = last_number(text, mode)
        assert value is not None
        format_number(value)
    assert score_response("math", text, "9" * digits)["correct"]["paper"] is False  # inf is no answer
