"""Training-data accounting: the pairs kept, per language and side, against the paper's Table 1.

SLAM's Table 1 lists 57,817 question and 65,968 answer X->English pairs of MGSM8KInstruct
after the authors' quality filtering, which the paper does not describe. This module counts, per
language and side, what the source holds, what each of our filters drops and why, what the
mixing caps, and what is trained on, and explains the difference from the paper's totals:

    used - paper = (loaded - paper) - dropped by each reason - capped by the mixing

``loaded - paper`` is what the source itself holds beyond (or short of) the paper's pairs:
languages the source lacks (bn and th in the local QAlign copy), sides it lacks (answers in a
question-only folder), rows the paper's filter removed that ours keeps.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from harness.translation import TABLE1_PAIRS, PairSet, filter_pairs

REASONS = ("unaligned", "empty", "duplicate", "untranslated", "repetitive", "length_ratio", "too_long")
"""Why a pair is not trained on, in the order the filters run (harness.translation, then too_long)."""

PAPER_PAIRS = TABLE1_PAIRS["math"]
"""SLAM Table 1: MGSM8KInstruct X->English question and answer pairs used for training."""
PAPER_REFERENCES = {
    "math": (
        PAPER_PAIRS,
        "SLAM (arXiv 2501.03681) Table 1: MGSM8KInstruct questions / answers (X-English), after filtering",
    ),
    "common_sense": (
        TABLE1_PAIRS["common_sense"],
        "SLAM (arXiv 2501.03681) Table 1: X-CSQA test (X-English) 16,110 + Flores-200 dev 14,955",
    ),
}
WARN_SHARE = 0.05
"""A side whose pairs trained on differ from Table 1's count by more than this share is warned about."""


def paper_reference(languages) -> str:
    """Which of Table 1's training sets a run's languages point to: the math or the common-sense one."""
    from harness.languages import MATH_LANGUAGES

    return "common_sense" if any(lang not in MATH_LANGUAGES for lang in languages) else "math"


SIDE_NAMES = ("question", "answer")


def side_counts(pairs: PairSet) -> dict[str, Counter]:
    """lang -> Counter(side -> pairs)."""
    return {lang: Counter(p.side for p in items) for lang, items in pairs.pairs.items()}


def filter_by_side(pairs: PairSet, max_length_ratio: float) -> dict[str, dict[str, Counter]]:
    """``filter_pairs`` run side by side, in place (the same result: every filter already keeps
    the sides apart), so that each drop is counted per language, side and reason; the order of the
    pairs is kept. Returns lang -> side -> Counter(reason -> pairs)."""
    dropped: dict[str, dict[str, Counter]] = defaultdict(dict)
    by_side = {
        side: PairSet({lang: [p for p in items if p.side == side] for lang, items in pairs.pairs.items()}, pairs.origin)
        for side in SIDE_NAMES
    }
    for side, subset in by_side.items():
        filter_pairs(subset, max_length_ratio)
        for lang, reasons in subset.dropped.items():
            if reasons:
                dropped[lang][side] = Counter(reasons)
                pairs.dropped[lang].update(reasons)
    for lang, items in pairs.pairs.items():
        # kept pairs are stripped copies, unique per (side, source, target) after de-duplication
        position: dict = {}
        for index, p in enumerate(items):
            position.setdefault((p.side, p.source.strip(), p.target.strip()), index)
        kept = [p for side in SIDE_NAMES for p in by_side[side].pairs.get(lang, [])]
        pairs.pairs[lang] = sorted(kept, key=lambda p: position[(p.side, p.source, p.target)])
    return dropped


def accounting(
    loaded: dict[str, Counter],
    dropped: dict[str, dict[str, Counter]],
    kept: dict[str, Counter],
    used: dict[str, Counter],
    skipped: dict[str, str],
    sides: tuple[str, ...],
    reference: str = "math",
) -> dict[str, Any]:
    """The accounting table as JSON data (see the module docstring).

    ``loaded``/``kept``/``used``: lang -> side -> pairs (loaded from the source, after the
    filters, trained on); ``dropped``: lang -> side -> reason -> pairs; ``skipped``: languages
    without pairs and why; ``sides``: the sides the recipe trains on; ``reference``: the paper's
    counts to compare with (``math`` or ``common_sense``, :func:`paper_reference`).
    """
    counts, source = PAPER_REFERENCES[reference]
    languages = sorted(set(loaded) | set(skipped))
    by_language: dict[str, Any] = {}
    totals: dict[str, Any] = {}
    for side in sides:
        total: dict[str, Any] = {"loaded": 0, "dropped": Counter(), "kept": 0, "capped": 0, "used": 0}
        for lang in languages:
            row_dropped = Counter(dropped.get(lang, {}).get(side, {}))
            n_loaded = loaded.get(lang, Counter())[side]
            n_kept = kept.get(lang, Counter())[side]
            n_used = used.get(lang, Counter())[side]
            capped = n_kept - n_used - row_dropped["too_long"]
            by_language.setdefault(lang, {})[side] = {
                "loaded": n_loaded,
                "dropped": {r: row_dropped[r] for r in REASONS if row_dropped[r]},
                "kept": n_kept,
                "capped": capped,
                "used": n_used,
                **({"missing": skipped[lang]} if lang in skipped else {}),
            }
            total["loaded"] += n_loaded
            total["dropped"].update(row_dropped)
            total["kept"] += n_kept
            total["capped"] += capped
            total["used"] += n_used
        paper = counts.get(side)
        explained = {} if paper is None else {"source vs paper (loaded - paper)": total["loaded"] - paper}
        explained.update({f"filter: {r}": -total["dropped"][r] for r in REASONS if total["dropped"][r]})
        if total["capped"]:
            explained["mixing cap (max_pairs_per_language / balanced)"] = -total["capped"]
        totals[side] = {
            **total,
            "dropped": {r: total["dropped"][r] for r in REASONS if total["dropped"][r]},
            "paper": paper,
            "difference": None if paper is None else total["used"] - paper,
            "difference_by_reason": explained,
        }
    return {
        "paper": {**{s: counts.get(s) for s in sides}, "source": source, "reference": reference},
        "by_language": by_language,
        "totals": totals,
        "warnings": table1_warnings(totals),
        "missing_languages": dict(skipped),
        "note": "used - paper = sum of difference_by_reason; languages missing from the source "
        "count in 'source vs paper'",
    }


def table1_warnings(totals: dict[str, Any]) -> list[str]:
    """A warning per side whose pairs trained on are more than WARN_SHARE away from Table 1's."""
    out = []
    for side, total in totals.items():
        paper = total.get("paper")
        if not paper or abs(total["used"] - paper) <= WARN_SHARE * paper:
            continue
        out.append(
            f"Training data: {total['used']:,} {side} pairs, {100 * (total['used'] - paper) / paper:+.1f}% from the "
            f"paper's Table 1 ({paper:,}), beyond {100 * WARN_SHARE:.0f}%; training.data.max_pairs_per_language=table1 "
            "caps each language and side at its share of Table 1"
        )
    return out


def account_recipe_data(recipe) -> dict[str, Any]:
    """The accounting of a recipe's training data without a tokenizer: load, filter, mix
    (``too_long``, which needs the tokenizer, is counted by the train stage in train.json)."""
    from harness.errors import HarnessError
    from harness.translation import SIDES, load_pairs, mix_pairs

    if recipe.training is None:
        raise HarnessError(f"recipe {recipe.name!r} has no `training:` section, so no training data")
    data = recipe.training.data
    if data.kind == "instructions":
        raise HarnessError(
            f"recipe {recipe.name!r}: training.data is instruction data; `harness data` counts translation pairs "
            "against the paper's Table 1 (train.json's `data` records the instruction rows loaded, filtered and used)"
        )
    wanted = [lang for lang in (data.languages or recipe.languages) if lang != "en"]
    pairs = load_pairs(data, wanted)
    loaded = side_counts(pairs)
    dropped = filter_by_side(pairs, data.max_length_ratio) if data.filter else {}
    kept = side_counts(pairs)
    mixed = mix_pairs(pairs, data.mixing, data.max_pairs_per_language, recipe.seed)
    used = {lang: Counter(p.side for p in items) for lang, items in mixed.items()}
    table = accounting(loaded, dropped, kept, used, pairs.skipped, SIDES[data.sides], paper_reference(wanted))
    table["origin"] = pairs.origin
    return table
