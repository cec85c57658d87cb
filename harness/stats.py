"""Statistics of accuracies: intervals, the bootstrap over questions, and McNemar's test.

Accuracies, intervals and differences are in percent (points). Used by the evaluation metrics
(an accuracy and its interval) and by `harness compare` (a difference and its interval, and
whether it is significant).

Per language, an accuracy's interval is Wilson's score interval. For the average over
languages, it is a percentile bootstrap over questions: MGSM, MSVAMP and X-CSQA are parallel
(question i is the same problem in every language), so one resample of question ids is applied
to every language at once, which keeps the strong correlation between languages that an
analytic "independent languages" formula would ignore.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

Z95 = 1.959963984540054
"""The 97.5% quantile of the standard normal distribution."""
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 0

Outcomes = Mapping[str, bool]
"""Question id -> answered correctly, for one language."""


# -- one accuracy ------------------------------------------------------------------------------


def wilson_interval(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion, in percent."""
    if n == 0:
        return (0.0, 100.0)
    p = correct / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (100.0 * max(0.0, centre - half), 100.0 * min(1.0, centre + half))


def bootstrap_mean_interval(
    values: Mapping[str, Mapping[str, float]], samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the mean over languages of each language's mean value,
    in percent (values are 0/1 outcomes or their paired differences).

    When every language has the same question ids, the ids are resampled jointly (paired);
    otherwise each language is resampled on its own (a language without questions counts 0).
    """
    rng = np.random.default_rng(seed)
    ids = {lang: sorted(per_question) for lang, per_question in values.items()}
    rows = [np.array([float(values[lang][i]) for i in ids[lang]], dtype=np.float64) for lang in values]
    first = next(iter(ids.values()), [])
    if first and all(lang_ids == first for lang_ids in ids.values()):
        # The mean of per-language means is the mean over questions of each question's mean
        # over languages.
        per_question = np.mean(rows, axis=0)
        draws = rng.integers(0, per_question.size, size=(samples, per_question.size))
        means = per_question[draws].mean(axis=1)
    else:
        means = np.mean(
            [
                row[rng.integers(0, row.size, size=(samples, row.size))].mean(axis=1) if row.size else np.zeros(samples)
                for row in rows
            ],
            axis=0,
        )
    low, high = np.percentile(means, [2.5, 97.5])
    return (100.0 * float(low), 100.0 * float(high))


def average_interval(
    outcomes: Mapping[str, Outcomes], samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float]:
    """95% bootstrap interval of the mean of per-language accuracies, in percent."""
    if not outcomes:
        return (0.0, 100.0)
    return bootstrap_mean_interval(outcomes, samples, seed)


# -- a difference of two accuracies ------------------------------------------------------------


def newcombe_interval(a: float, a_ci: list[float] | None, b: float, b_ci: list[float] | None) -> list[float] | None:
    """95% interval of a - b from each side's own interval (Newcombe's hybrid score method).

    A side without an interval (a published number) counts as exact.
    """
    if a_ci is None and b_ci is None:
        return None
    a_lo, a_hi = a_ci or (a, a)
    b_lo, b_hi = b_ci or (b, b)
    d = a - b
    return [d - math.hypot(a - a_lo, b_hi - b), d + math.hypot(a_hi - a, b - b_lo)]


def paired_interval(only_a: int, only_b: int, n: int) -> list[float] | None:
    """95% Wald interval of the paired difference (A right only - B right only) / n, in points."""
    if n == 0:
        return None
    d = (only_a - only_b) / n
    variance = max(0.0, ((only_a + only_b) / n - d * d) / n)
    half = Z95 * math.sqrt(variance)
    return [100 * (d - half), 100 * (d + half)]


def paired_average_interval(
    a: Mapping[str, Outcomes],
    b: Mapping[str, Outcomes],
    languages: list[str],
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> list[float] | None:
    """95% bootstrap interval of mean-over-languages(A) - mean-over-languages(B), paired by
    question id within each language; None when a language has no question both answered."""
    differences = {}
    for lang in languages:
        shared = (a.get(lang) or {}).keys() & (b.get(lang) or {}).keys()
        if not shared:
            return None
        differences[lang] = {i: float(a[lang][i]) - float(b[lang][i]) for i in shared}
    return list(bootstrap_mean_interval(differences, samples, seed))


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


def mcnemar_exact(a: Mapping[Any, bool], b: Mapping[Any, bool]) -> McNemarResult:
    """Compare two runs question by question (paired by id) with the exact McNemar test.

    Under the null hypothesis each discordant question is equally likely to favour either run,
    so ``only_a ~ Binomial(only_a + only_b, 1/2)`` (scipy's exact binomial test).
    """
    paired = a.keys() & b.keys()
    only_a = sum(1 for i in paired if a[i] and not b[i])
    only_b = sum(1 for i in paired if b[i] and not a[i])
    if only_a + only_b == 0:
        return McNemarResult(len(paired), 0, 0, 1.0)
    from scipy.stats import binomtest

    p_value = binomtest(only_a, only_a + only_b, 0.5).pvalue
    return McNemarResult(len(paired), only_a, only_b, min(1.0, float(p_value)))


def drop_beyond(delta: float | None, tolerance: float | None) -> bool:
    """Whether a difference (accuracy points, A - B) is a drop larger than ``tolerance`` points:
    the gate's first condition, shared by `harness compare`'s verdict and its table."""
    return tolerance is not None and delta is not None and delta < -tolerance - 1e-9
