"""Accuracy with 95% intervals, the paper's averages, PCR, and a paired test of two runs.

Accuracies are percentages (0-100). Per language, the interval is Wilson's score interval. For
the average over languages, it is a percentile bootstrap over questions: MGSM, MSVAMP and
X-CSQA are parallel (question i is the same problem in every language), so one resample of
question ids is applied to every language at once, which keeps the strong correlation between
languages that an analytic "independent languages" formula would ignore.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

Z95 = 1.959963984540054
"""The 97.5% quantile of the standard normal distribution."""
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 0

Outcomes = Mapping[str, bool]
"""Question id -> answered correctly, for one language."""


def accuracy(correct: int, n: int) -> float:
    """Percentage of correct answers (0 when there are no questions)."""
    return 100.0 * correct / n if n else 0.0


def wilson_interval(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion, in percent."""
    if n == 0:
        return (0.0, 100.0)
    p = correct / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (100.0 * max(0.0, centre - half), 100.0 * min(1.0, centre + half))


def average_interval(
    outcomes: Mapping[str, Outcomes],
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the mean of per-language accuracies, in percent.

    When every language has the same question ids, the ids are resampled jointly (paired);
    otherwise each language is resampled on its own.
    """
    languages = list(outcomes)
    if not languages:
        return (0.0, 100.0)
    rng = np.random.default_rng(seed)
    id_sets = [tuple(sorted(outcomes[lang])) for lang in languages]
    if all(ids == id_sets[0] for ids in id_sets) and id_sets[0]:
        ids = id_sets[0]
        # The mean of per-language accuracies is the mean over questions of each question's
        # share of languages that got it right.
        per_question = np.array([[outcomes[lang][i] for i in ids] for lang in languages], dtype=np.float64).mean(axis=0)
        draws = rng.integers(0, len(ids), size=(samples, len(ids)))
        means = per_question[draws].mean(axis=1)
    else:
        per_language = []
        for lang in languages:
            values = np.array(list(outcomes[lang].values()), dtype=np.float64)
            if values.size == 0:
                per_language.append(np.zeros(samples))
                continue
            draws = rng.integers(0, values.size, size=(samples, values.size))
            per_language.append(values[draws].mean(axis=1))
        means = np.mean(per_language, axis=0)
    low, high = np.percentile(means, [2.5, 97.5])
    return (100.0 * float(low), 100.0 * float(high))


def pcr(english: Outcomes, other: Outcomes) -> float | None:
    """Paper's PCR, in percent: |M ∩ N| / |M|, M = questions right in English, N = right in the other.

    Questions are paired by id; only ids present in both languages count. None when no paired
    question is right in English.
    """
    paired = english.keys() & other.keys()
    right_in_english = [i for i in paired if english[i]]
    if not right_in_english:
        return None
    both = sum(1 for i in right_in_english if other[i])
    return 100.0 * both / len(right_in_english)


@dataclass(frozen=True)
class McNemarResult:
    """Exact McNemar test of two runs on the same questions."""

    n: int
    """Questions answered in both runs."""
    only_a: int
    """Right in A, wrong in B."""
    only_b: int
    """Wrong in A, right in B."""
    p_value: float
    """Two-sided exact binomial p-value on the discordant pairs."""

    def as_dict(self) -> dict:
        return {"n": self.n, "only_a": self.only_a, "only_b": self.only_b, "p_value": self.p_value}


def mcnemar_exact(a: Outcomes, b: Outcomes) -> McNemarResult:
    """Compare two runs question by question (paired by id) with the exact McNemar test.

    Under the null hypothesis each discordant question is equally likely to favour either run,
    so ``only_a ~ Binomial(only_a + only_b, 1/2)``: scipy's exact two-sided binomial test (for
    p = 1/2 the doubled smaller tail), fast for any number of discordant questions.
    """
    from scipy.stats import binomtest

    paired = a.keys() & b.keys()
    only_a = sum(1 for i in paired if a[i] and not b[i])
    only_b = sum(1 for i in paired if b[i] and not a[i])
    discordant = only_a + only_b
    if discordant == 0:
        return McNemarResult(len(paired), 0, 0, 1.0)
    p_value = float(binomtest(only_a, discordant, 0.5).pvalue)
    return McNemarResult(len(paired), only_a, only_b, min(1.0, p_value))


def language_scores(by_mode: Mapping[str, Outcomes], record: str) -> dict:
    """The scores.json entry of one language.

    ``by_mode``: extraction mode -> outcomes. The mode of record gives ``correct``, ``accuracy``
    and ``ci95``; every other mode adds ``correct_<mode>`` and ``accuracy_<mode>``.
    """
    outcomes = by_mode[record]
    n = len(outcomes)
    correct = sum(outcomes.values())
    entry = {
        "n": n,
        "correct": correct,
        "accuracy": round(accuracy(correct, n), 4),
        "ci95": [round(x, 4) for x in wilson_interval(correct, n)],
    }
    for mode, other in by_mode.items():
        if mode != record:
            entry[f"correct_{mode}"] = sum(other.values())
            entry[f"accuracy_{mode}"] = round(accuracy(sum(other.values()), len(other)), 4)
    return entry


def task_scores(
    by_mode: Mapping[str, Mapping[str, Outcomes]],
    record: str,
    average_languages: Sequence[str],
    pivot: str = "en",
) -> dict:
    """A task's scores: per language, the paper's average with its interval, PCR per language.

    ``by_mode``: extraction mode -> language -> outcomes; ``record``: the mode of record.
    ``average_languages``: the languages the paper averages over; those not evaluated are left
    out, and the average lists the ones it covers.
    """
    outcomes = by_mode[record]
    languages = {
        lang: language_scores({mode: by_mode[mode][lang] for mode in by_mode}, record) for lang in outcomes
    }
    covered = [lang for lang in average_languages if lang in outcomes]
    average: dict = {"languages": covered}
    if covered:
        average["accuracy"] = round(float(np.mean([languages[lang]["accuracy"] for lang in covered])), 4)
        average["ci95"] = [round(x, 4) for x in average_interval({lang: outcomes[lang] for lang in covered})]
        for mode in by_mode:
            if mode != record:
                average[f"accuracy_{mode}"] = round(
                    float(np.mean([languages[lang][f"accuracy_{mode}"] for lang in covered])), 4
                )
    scores: dict = {"languages": languages, "average": average}
    if pivot in outcomes:
        ratios = {lang: pcr(outcomes[pivot], outcomes[lang]) for lang in outcomes if lang != pivot}
        scores["pcr"] = {lang: (round(v, 4) if v is not None else None) for lang, v in ratios.items()}
        in_average = [v for lang, v in ratios.items() if v is not None and lang in covered]
        scores["pcr_average"] = round(float(np.mean(in_average)), 4) if in_average else None
    return scores


def paired_comparison(a: Mapping[str, Outcomes], b: Mapping[str, Outcomes]) -> dict:
    """Run B against run A per language (exact McNemar) and over all their shared questions.

    ``delta`` is B's accuracy minus A's on the paired questions, in points.
    """
    rows = {}
    pooled_a: dict[tuple[str, str], bool] = {}
    pooled_b: dict[tuple[str, str], bool] = {}
    for lang in a.keys() & b.keys():
        test = mcnemar_exact(a[lang], b[lang])
        rows[lang] = {**test.as_dict(), "delta": round(100.0 * (test.only_b - test.only_a) / test.n, 4) if test.n else None}
        pooled_a.update({(lang, i): v for i, v in a[lang].items()})
        pooled_b.update({(lang, i): v for i, v in b[lang].items()})
    test = mcnemar_exact(pooled_a, pooled_b)
    pooled = {**test.as_dict(), "delta": round(100.0 * (test.only_b - test.only_a) / test.n, 4) if test.n else None}
    return {"languages": dict(sorted(rows.items())), "all": pooled}
