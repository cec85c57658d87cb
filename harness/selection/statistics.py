"""SLAM's layer statistics (paper section 3, equations 3-7), as pure functions on probe counts.

Everything here works on integer counts (see :class:`harness.selection.probe.ProbeCounts`):
for each language, layer and FFN neuron, on how many of the language's real tokens the
SwiGLU gate ``act_fn(W_gate x)`` was above zero, and out of how many tokens. No model, no I/O.

Once the activated sets are fixed (one float comparison per neuron), every later quantity is
computed exactly with :class:`fractions.Fraction` (sizes are integers, so R, overlaps, MSD and
theta are rationals): ties in the overlap peak and "MSD > theta" are decided exactly, never by
rounding noise. Floats are produced only for output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

import torch

from harness.errors import HarnessError

PIVOT = "en"

DEFINITIONS: dict[str, str] = {
    "firing": "a neuron (one of the d_inter channels of an FFN sub-layer) fires on a token when "
    "its SwiGLU gate act_fn(W_gate x) is > 0 there (paper eq. 2-3). Only real tokens count: "
    "padding (attention mask 0) and the special tokens the tokenizer adds (BOS/EOS, identical in "
    "every language) are never counted.",
    "firing_share": "share(lang, layer, neuron) = tokens of lang on which the neuron fires / "
    "real tokens of lang (over all n probe questions)",
    "activated_set": "A(lang, layer) = neurons with share(lang, layer, neuron) > firing_share "
    "(strictly greater). With firing_share = 0 this is the paper's literal reading: fired on at "
    "least one token of some question (it saturates on real models).",
    "activation_rate": "R(lang, layer) = |A(lang, layer)| / d_inter (paper eq. 4)",
    "overlap": "overlap(X, layer) = |A(X, layer) ∩ A(en, layer)| / |A(en, layer)|: the share of "
    "English's activated neurons that language X also activates (0 when A(en, layer) is empty). "
    "Asymmetric on purpose: English is the reference the paper aligns to, and a language that "
    "activates more neurons than English is not penalised for the extra ones (Jaccard would be).",
    "average_overlap": "avg_overlap(layer) = mean of overlap(X, layer) over the non-English languages",
    "boundary": "the first layer (0-based) where avg_overlap reaches its maximum (ties: the "
    "first maximum). With peak_search 'after_initial_decline' (not the paper's default) the "
    "maximum is searched from the end of the initial decline on: from the first layer m where "
    "avg_overlap stops strictly decreasing (avg_overlap[m+1] >= avg_overlap[m]); for models whose "
    "first layer fires almost every neuron in every language (overlap ~1 at layer 0)",
    "language_specific_layers": "K = the layers before the boundary: 0 .. boundary-1 (empty when "
    "the peak is at layer 0)",
    "msd": "MSD(layer) = mean over all languages L, English included, of (R(L, layer) - mu)^2, "
    "mu = mean of R(L, layer) over all languages (paper eq. 5-6); computed for every layer, used "
    "on K",
    "theta": "theta = mean of MSD(layer) over the layers in K (paper eq. 7)",
    "selected": "the layers in K with MSD(layer) > theta (strictly greater)",
    "literal_union_rate": "the paper's literal eq. 3 over all n questions: share of neurons "
    "that fired on at least one real token of at least one question (= R at firing_share 0)",
    "literal_question_rate": "mean over questions of the share of neurons that fired on at least "
    "one real token of that question (the literal reading, question by question)",
}


@dataclass(frozen=True)
class LayerAnalysis:
    """The statistics of one activation-threshold setting, exact where it matters."""

    languages: tuple[str, ...]
    firing_share: float
    d_inter: int
    sizes: dict[str, list[int]]
    """|A(lang, layer)| per language, per layer."""
    rates: dict[str, list[Fraction]]
    """R(lang, layer)."""
    overlaps: dict[str, list[Fraction]]
    """overlap(X, layer) for each non-English X."""
    average_overlap: list[Fraction]
    msd: list[Fraction]
    boundary: int
    language_specific: list[int]
    theta: Fraction | None
    """None when K is empty."""
    selected: list[int]
    notes: list[str] = field(default_factory=list)
    peak_search: str = "all_layers"
    search_from: int = 0
    """The first layer the overlap peak was searched in."""

    @property
    def num_layers(self) -> int:
        return len(self.msd)

    def summary(self) -> dict:
        """The headline numbers as plain JSON data."""
        return {
            "firing_share": self.firing_share,
            "peak_search": self.peak_search,
            "peak_searched_from": self.search_from,
            "boundary": self.boundary,
            "language_specific_layers": self.language_specific,
            "theta": _float(self.theta),
            "selected": self.selected,
            "peak_average_overlap": float(self.average_overlap[self.boundary]),
            "notes": self.notes,
        }


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def check_languages(languages: list[str] | tuple[str, ...]) -> None:
    """English and at least one other language are needed for overlaps."""
    if PIVOT not in languages:
        raise HarnessError(
            f"languages {list(languages)}: 'en' is missing; SLAM measures every language's "
            "overlap with English: add 'en' to the recipe's languages"
        )
    if len(languages) < 2:
        raise HarnessError(
            "languages ['en']: overlap with English needs at least one non-English language; "
            "add some to the recipe's languages"
        )


def activated_sets(fired_tokens: torch.Tensor, tokens: int, firing_share: float) -> torch.Tensor:
    """A(lang, layer) as a bool tensor [layers, d_inter]: share of tokens fired > firing_share."""
    if tokens <= 0:
        raise HarnessError("no real token was probed for a language; its activated set is undefined")
    return fired_tokens.to(torch.float64) / tokens > firing_share


PEAK_SEARCHES = ("all_layers", "after_initial_decline")


def first_maximum(values: list[Fraction], start: int = 0) -> int:
    """Index of the first maximum of ``values[start:]`` (exact comparison)."""
    best = start
    for index in range(start, len(values)):
        if values[index] > values[best]:
            best = index
    return best


def end_of_initial_decline(values: list[Fraction]) -> int:
    """The first index m where ``values`` stops strictly decreasing (0 when it never declines)."""
    m = 0
    while m + 1 < len(values) and values[m + 1] < values[m]:
        m += 1
    return m


def mean_squared_deviation(rates: list[Fraction]) -> Fraction:
    """Paper eq. 5-6 for one layer: mean of (R - mean R)^2 over all languages."""
    mu = sum(rates, Fraction(0)) / len(rates)
    return sum(((r - mu) ** 2 for r in rates), Fraction(0)) / len(rates)


def analyze_sets(
    sets: Mapping[str, torch.Tensor], firing_share: float = float("nan"), peak_search: str = "all_layers"
) -> LayerAnalysis:
    """Equations 4-7 from the activated sets (bool [layers, d_inter] per language)."""
    languages = tuple(sets)
    check_languages(languages)
    shapes = {tuple(s.shape) for s in sets.values()}
    if len(shapes) != 1:
        raise HarnessError(f"activated sets of different shapes across languages: {sorted(shapes)}")
    num_layers, d_inter = next(iter(shapes))
    if num_layers == 0 or d_inter == 0:
        raise HarnessError("no layer or no neuron was probed")
    english = sets[PIVOT]
    sizes = {lang: [int(v) for v in s.sum(dim=1).tolist()] for lang, s in sets.items()}
    rates = {lang: [Fraction(size, d_inter) for size in sizes[lang]] for lang in languages}
    others = [lang for lang in languages if lang != PIVOT]
    overlaps: dict[str, list[Fraction]] = {}
    for lang in others:
        common = (sets[lang] & english).sum(dim=1).tolist()
        overlaps[lang] = [Fraction(int(c), en) if en else Fraction(0) for c, en in zip(common, sizes[PIVOT])]
    average = [sum((overlaps[lang][i] for lang in others), Fraction(0)) / len(others) for i in range(num_layers)]
    msd = [mean_squared_deviation([rates[lang][i] for lang in languages]) for i in range(num_layers)]
    return _select(languages, firing_share, d_inter, sizes, rates, overlaps, average, msd, peak_search)


def _select(languages, firing_share, d_inter, sizes, rates, overlaps, average, msd, peak_search) -> LayerAnalysis:
    if peak_search not in PEAK_SEARCHES:
        raise HarnessError(f"unknown peak_search {peak_search!r}; choose from: {', '.join(PEAK_SEARCHES)}")
    notes: list[str] = []
    if any(size == 0 for size in sizes[PIVOT]):
        empty = [i for i, size in enumerate(sizes[PIVOT]) if size == 0]
        notes.append(f"English activates no neuron at layers {empty}: their overlaps count as 0")
    start = end_of_initial_decline(average) if peak_search == "after_initial_decline" else 0
    if start:
        notes.append(f"the average overlap declines over layers 0-{start}; its peak is searched from layer {start} on")
    boundary = first_maximum(average, start)
    specific = list(range(boundary))
    extra = dict(peak_search=peak_search, search_from=start)
    if not specific:
        notes.append(
            "the average overlap peaks at layer 0, so there is no language-specific layer "
            "(K is empty) and SLAM selects nothing"
        )
        return LayerAnalysis(
            languages,
            firing_share,
            d_inter,
            sizes,
            rates,
            overlaps,
            average,
            msd,
            boundary,
            specific,
            None,
            [],
            notes,
            **extra,
        )
    theta = sum((msd[i] for i in specific), Fraction(0)) / len(specific)
    selected = [i for i in specific if msd[i] > theta]
    if not selected:
        notes.append(
            f"no language-specific layer has MSD above theta (K = {specific}: "
            + ("a single layer is its own mean" if len(specific) == 1 else "all MSD values in K are equal")
            + ")"
        )
    return LayerAnalysis(
        languages,
        firing_share,
        d_inter,
        sizes,
        rates,
        overlaps,
        average,
        msd,
        boundary,
        specific,
        theta,
        selected,
        notes,
        **extra,
    )


def analyze(
    fired_tokens: Mapping[str, torch.Tensor],
    tokens: Mapping[str, int],
    firing_share: float,
    peak_search: str = "all_layers",
) -> LayerAnalysis:
    """SLAM's statistics for one firing-share threshold, from per-language token counts."""
    check_languages(tuple(fired_tokens))
    sets = {lang: activated_sets(fired_tokens[lang], tokens[lang], firing_share) for lang in fired_tokens}
    return analyze_sets(sets, firing_share, peak_search)


def sensitivity(
    fired_tokens: Mapping[str, torch.Tensor],
    tokens: Mapping[str, int],
    thresholds: list[float],
    peak_search: str = "all_layers",
) -> list[dict]:
    """The selection under other firing-share thresholds, from the same counts (one row each)."""
    return [analyze(fired_tokens, tokens, t, peak_search).summary() for t in sorted(set(thresholds))]


def literal_rates(
    fired_questions: Mapping[str, torch.Tensor], questions: Mapping[str, int]
) -> dict[str, dict[str, list[float]]]:
    """The paper's literal reading per language and layer (see DEFINITIONS)."""
    out: dict[str, dict[str, list[float]]] = {}
    for lang, counts in fired_questions.items():
        d_inter = counts.shape[1]
        union = (counts > 0).sum(dim=1).to(torch.float64) / d_inter
        per_question = counts.sum(dim=1).to(torch.float64) / (d_inter * max(questions[lang], 1))
        out[lang] = {"union": union.tolist(), "per_question": per_question.tolist()}
    return out


def to_json(analysis: LayerAnalysis) -> dict:
    """Per-layer table and headline numbers as JSON-ready data."""
    others = [lang for lang in analysis.languages if lang != PIVOT]
    layers = []
    for i in range(analysis.num_layers):
        layers.append(
            {
                "layer": i,
                "activated": {lang: analysis.sizes[lang][i] for lang in analysis.languages},
                "activation_rate": {lang: float(analysis.rates[lang][i]) for lang in analysis.languages},
                "overlap_with_en": {lang: float(analysis.overlaps[lang][i]) for lang in others},
                "average_overlap": float(analysis.average_overlap[i]),
                "msd": float(analysis.msd[i]),
                "language_specific": i in analysis.language_specific,
                "selected": i in analysis.selected,
            }
        )
    return {**analysis.summary(), "d_inter": analysis.d_inter, "layers": layers}
