"""Accuracy with 95% intervals, the paper's averages, PCR, and a paired test of two runs.

Accuracies are percentages (0-100); the intervals and the test are :mod:`harness.stats`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from harness.stats import Outcomes, average_interval, mcnemar_exact, wilson_interval


def accuracy(correct: int, n: int) -> float:
    """Percentage of correct answers (0 when there are no questions)."""
    return 100.0 * correct / n if n else 0.0


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
    languages = {lang: language_scores({mode: by_mode[mode][lang] for mode in by_mode}, record) for lang in outcomes}
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
        rows[lang] = {
            **test.as_dict(),
            "delta": round(100.0 * (test.only_b - test.only_a) / test.n, 4) if test.n else None,
        }
        pooled_a.update({(lang, i): v for i, v in a[lang].items()})
        pooled_b.update({(lang, i): v for i, v in b[lang].items()})

    def pooled(keep) -> dict:
        a_kept = {key: v for key, v in pooled_a.items() if keep(key[0])}
        b_kept = {key: v for key, v in pooled_b.items() if keep(key[0])}
        test = mcnemar_exact(a_kept, b_kept)
        return {
            **test.as_dict(),
            "delta": round(100.0 * (test.only_b - test.only_a) / test.n, 4) if test.n else None,
            "a_correct": sum(a_kept[k] for k in a_kept.keys() & b_kept.keys()),
            "b_correct": sum(b_kept[k] for k in a_kept.keys() & b_kept.keys()),
        }

    # non_english: what SLAM sets out to change (the languages other than English, pooled).
    return {
        "languages": dict(sorted(rows.items())),
        "all": pooled(lambda lang: True),
        "non_english": pooled(lambda lang: lang != "en"),
    }
