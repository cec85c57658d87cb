"""Accuracy, Wilson and bootstrap intervals, PCR, the exact McNemar test, scores.json entries."""

from __future__ import annotations

import math

import pytest

from harness.evaluation.metrics import accuracy, paired_comparison, pcr, task_scores
from harness.stats import average_interval, mcnemar_exact, wilson_interval


def outcomes(pattern: str) -> dict[str, bool]:
    """ "1101" -> {"0": True, "1": True, "2": False, "3": True}."""
    return {str(i): c == "1" for i, c in enumerate(pattern)}


def test_accuracy_is_a_percentage():
    assert accuracy(3, 4) == 75.0
    assert accuracy(0, 0) == 0.0


def test_wilson_interval_known_values():
    # 5/10: centre 0.5, half-width z*sqrt(.025 + z^2/400)/(1 + z^2/10).
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(23.6593, abs=1e-3) and high == pytest.approx(76.3407, abs=1e-3)
    # 0/10 and 10/10: one end at the boundary, the other inside (unlike the Wald interval).
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(0, 10)[1] == pytest.approx(27.7533, abs=1e-3)
    assert wilson_interval(10, 10)[1] == pytest.approx(100.0) and wilson_interval(10, 10)[0] == pytest.approx(
        72.2467, abs=1e-3
    )


def test_wilson_interval_contains_the_estimate():
    for correct, n in [(1, 250), (125, 250), (249, 250), (612, 1000)]:
        low, high = wilson_interval(correct, n)
        assert low <= accuracy(correct, n) <= high


def test_pcr_on_a_hand_built_case():
    english = outcomes("11110000")  # M = {0, 1, 2, 3}
    other = outcomes("10101010")  # N = {0, 2, 4, 6}; M ∩ N = {0, 2}
    assert pcr(english, other) == 50.0
    assert pcr(english, english) == 100.0
    assert pcr(outcomes("0000"), outcomes("1111")) is None  # nothing right in English


def test_pcr_pairs_by_question_id_not_by_position():
    english = {"q1": True, "q2": True, "q3": False}
    other = {"q3": True, "q2": True, "q1": False}  # another order
    assert pcr(english, other) == 50.0
    assert pcr(english, {"q2": True}) == 100.0  # only paired ids count


def test_mcnemar_exact_against_the_binomial():
    a = outcomes("1" * 10 + "0" * 2 + "1" * 5)
    b = outcomes("0" * 10 + "1" * 2 + "1" * 5)  # 10 only in A, 2 only in B, 5 in both
    result = mcnemar_exact(a, b)
    assert (result.n, result.only_a, result.only_b) == (17, 10, 2)
    expected = 2 * sum(math.comb(12, k) for k in range(3)) / 2**12
    assert result.p_value == pytest.approx(expected)
    assert result.p_value == pytest.approx(0.03857, abs=1e-5)


def test_mcnemar_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    for only_a, only_b in [(10, 2), (3, 3), (0, 7), (25, 14)]:
        a = outcomes("1" * only_a + "0" * only_b)
        b = outcomes("0" * only_a + "1" * only_b)
        expected = stats.binomtest(min(only_a, only_b), only_a + only_b, 0.5).pvalue
        assert mcnemar_exact(a, b).p_value == pytest.approx(expected)


def test_mcnemar_without_discordant_pairs():
    assert mcnemar_exact(outcomes("1010"), outcomes("1010")).p_value == 1.0


def test_average_interval_is_seeded_and_paired():
    languages = {"en": outcomes("1101101110" * 5), "de": outcomes("1001101010" * 5)}
    first = average_interval(languages)
    assert first == average_interval(languages)  # same seed, same interval
    mean = (accuracy(35, 50) + accuracy(25, 50)) / 2
    assert first[0] < mean < first[1]
    # Perfectly correlated languages: the paired bootstrap is as wide as one language's.
    same = {"en": languages["en"], "de": dict(languages["en"])}
    alone = average_interval({"en": languages["en"]})
    assert average_interval(same) == pytest.approx(alone)


def test_average_interval_with_unpaired_languages():
    low, high = average_interval({"en": outcomes("1" * 20), "de": {"x": False, "y": True}})
    assert 50.0 <= low <= high <= 100.0


def test_task_scores_shape_and_modes():
    by_mode = {
        "paper": {"en": outcomes("1110"), "de": outcomes("1010"), "te": outcomes("0000")},
        "strict": {"en": outcomes("1100"), "de": outcomes("1010"), "te": outcomes("0000")},
    }
    scores = task_scores(by_mode, "paper", average_languages=["de", "en"])
    assert scores["languages"]["en"] == {
        "n": 4,
        "correct": 3,
        "accuracy": 75.0,
        "ci95": [round(x, 4) for x in wilson_interval(3, 4)],
        "correct_strict": 2,
        "accuracy_strict": 50.0,
    }
    assert scores["average"]["languages"] == ["de", "en"]  # te is outside the average
    assert scores["average"]["accuracy"] == 62.5
    assert scores["average"]["accuracy_strict"] == 50.0
    assert scores["pcr"] == {"de": pytest.approx(200 / 3, abs=1e-3), "te": 0.0}
    assert scores["pcr_average"] == pytest.approx(200 / 3, abs=1e-3)  # over the average's languages

    strict = task_scores(by_mode, "strict", average_languages=["de", "en"])
    assert strict["languages"]["en"]["accuracy"] == 50.0
    assert strict["languages"]["en"]["accuracy_paper"] == 75.0


def test_task_scores_without_english_has_no_pcr():
    scores = task_scores({"paper": {"de": outcomes("10")}}, "paper", ["de", "en"])
    assert "pcr" not in scores and scores["average"]["languages"] == ["de"]


def test_paired_comparison_per_language_and_pooled():
    base = {"en": outcomes("1100"), "de": outcomes("0000")}
    trained = {"en": outcomes("1110"), "de": outcomes("1100")}
    result = paired_comparison(base, trained)
    assert result["languages"]["en"]["only_b"] == 1 and result["languages"]["en"]["delta"] == 25.0
    assert result["languages"]["de"]["only_b"] == 2
    assert result["all"]["n"] == 8 and result["all"]["only_b"] == 3 and result["all"]["only_a"] == 0
    assert result["all"]["p_value"] == pytest.approx(0.25)


def test_the_non_english_comparison_leaves_english_out_and_reads_as_a_sentence():
    from harness.reporting.paper_tables import non_english_verdict

    base = {"en": outcomes("1100"), "de": outcomes("0000"), "fr": outcomes("0000")}
    trained = {"en": outcomes("0000"), "de": outcomes("1111"), "fr": outcomes("1111")}
    result = paired_comparison(base, trained)["non_english"]
    assert (result["n"], result["only_b"], result["only_a"], result["a_correct"], result["b_correct"]) == (
        8,
        8,
        0,
        0,
        8,
    )
    assert result["p_value"] == pytest.approx(2 / 2**8)
    assert non_english_verdict({"non_english": result}) == (
        "Did training change non-English accuracy? Yes (up): 0/8 right before, 8/8 after, on the same 8 "
        "non-English questions (+100.0 points; 8 newly right, 0 newly wrong; exact McNemar p = 0.00781; "
        "a change counts at p < 0.05)."
    )
    same = paired_comparison({"de": outcomes("10")}, {"de": outcomes("01")})["non_english"]
    assert non_english_verdict({"non_english": same}).startswith("Did training change non-English accuracy? No: 1/2")
