"""SLAM's statistics and the policies on hand-made counts whose results are worked out by hand."""

from __future__ import annotations

import typing
from fractions import Fraction

import pytest
import torch

from harness.errors import HarnessError
from harness.selection import statistics
from harness.selection.policies import (
    AllPolicy,
    FirstKPolicy,
    FixedPolicy,
    LayerPolicy,
    RandomPolicy,
    SlamMsdPolicy,
    select_layers,
)

D = 4  # neurons per layer
TOKENS = 10  # real tokens per language


def counts(sets_by_layer, fired=5):
    """Token counts [layers, D]: ``fired`` for the neurons listed per layer, 0 elsewhere."""
    out = torch.zeros(len(sets_by_layer), D, dtype=torch.int64)
    for layer, neurons in enumerate(sets_by_layer):
        out[layer, list(neurons)] = fired
    return out


# Activated sets per layer (5 of 10 tokens = share 0.5 > 0.05).
HAND = {
    "en": counts([{0, 1}, {0, 1, 2}, {0, 1, 2, 3}, {0, 1, 2, 3}]),
    "zh": counts([{2, 3}, {0, 1}, {0, 1, 2}, {0, 1}]),
    "de": counts([{0, 1, 2, 3}, {0, 1, 2}, {0, 1, 2, 3}, {0, 1, 2, 3}]),
}
HAND_TOKENS = {lang: TOKENS for lang in HAND}


def test_hand_made_boundary_msd_theta_selection():
    a = statistics.analyze(HAND, HAND_TOKENS, firing_share=0.05)
    # R = |A| / 4:       layer 0      1          2          3
    #   en               2/4          3/4        4/4        4/4
    #   zh               2/4          2/4        3/4        2/4
    #   de               4/4          3/4        4/4        4/4
    assert a.rates["zh"] == [Fraction(1, 2), Fraction(1, 2), Fraction(3, 4), Fraction(1, 2)]
    # overlap(X) = |A_X ∩ A_en| / |A_en|
    #   zh: {} / 2 = 0;  {0,1}/3 = 2/3;  {0,1,2}/4 = 3/4;  {0,1}/4 = 1/2
    #   de: 2/2 = 1;     3/3 = 1;        4/4 = 1;          4/4 = 1
    assert a.overlaps["zh"] == [0, Fraction(2, 3), Fraction(3, 4), Fraction(1, 2)]
    assert a.overlaps["de"] == [1, 1, 1, 1]
    # average: 1/2, 5/6, 7/8, 3/4 -> first maximum at layer 2 -> K = {0, 1}
    assert a.average_overlap == [Fraction(1, 2), Fraction(5, 6), Fraction(7, 8), Fraction(3, 4)]
    assert a.boundary == 2 and a.language_specific == [0, 1]
    # MSD, layer 0: R = 1/2, 1/2, 1 (en, zh, de); mu = 2/3; deviations -1/6, -1/6, 1/3
    #   -> (1/36 + 1/36 + 4/36) / 3 = 1/18 = 8/144
    # MSD, layer 1: R = 3/4, 1/2, 3/4; mu = 2/3; deviations 1/12, -1/6, 1/12
    #   -> (1/144 + 4/144 + 1/144) / 3 = 1/72 = 2/144
    assert a.msd[0] == Fraction(1, 18) and a.msd[1] == Fraction(1, 72)
    # MSD, layer 2: R = 1, 3/4, 1; mu = 11/12; deviations 1/12, -1/6, 1/12 -> 1/72
    assert a.msd[2] == Fraction(1, 72)
    # theta = (8/144 + 2/144) / 2 = 5/144; only layer 0 has MSD > theta.
    assert a.theta == Fraction(5, 144)
    assert a.selected == [0]
    assert select_layers(SlamMsdPolicy(), 4, a) == [0]

    data = statistics.to_json(a)
    assert data["boundary"] == 2 and data["selected"] == [0]
    assert data["theta"] == pytest.approx(5 / 144)
    assert data["layers"][1]["overlap_with_en"]["zh"] == pytest.approx(2 / 3)
    assert data["layers"][0]["activated"] == {"en": 2, "zh": 2, "de": 4}


def test_ties_take_the_first_maximum():
    # zh: overlaps 1/2, 1, 1 (the same maximum at layers 1 and 2) -> boundary 1, K = {0}
    sets = {
        "en": counts([{0, 1}, {0, 1}, {0, 1}]),
        "zh": counts([{0, 2, 3}, {0, 1}, {0, 1, 2}]),
    }
    a = statistics.analyze(sets, {"en": 10, "zh": 10}, 0.05)
    assert a.average_overlap == [Fraction(1, 2), 1, 1]
    assert a.boundary == 1 and a.language_specific == [0]
    # K has one layer: theta is its own MSD and "MSD > theta" selects nothing.
    # layer 0: R = 2/4, 3/4; mu = 5/8; MSD = ((1/8)^2 + (1/8)^2) / 2 = 1/64
    assert a.theta == a.msd[0] == Fraction(1, 64)
    assert a.selected == []
    with pytest.raises(HarnessError, match="selection.layers.policy slam_msd: no language-specific layer"):
        select_layers(SlamMsdPolicy(), 3, a)


def test_peak_at_layer_zero_means_no_language_specific_layer():
    sets = {
        "en": counts([{0, 1}, {0, 1}]),
        "zh": counts([{0, 1}, {2, 3}]),  # overlap 1 then 0: the peak is layer 0
    }
    a = statistics.analyze(sets, {"en": 10, "zh": 10}, 0.05)
    assert a.boundary == 0 and a.language_specific == [] and a.theta is None and a.selected == []
    assert any("peaks at layer 0" in note for note in a.notes)
    with pytest.raises(HarnessError, match="peaks at layer 0"):
        select_layers(SlamMsdPolicy(), 2, a)


def test_threshold_and_sensitivity_from_the_same_counts():
    # Neuron firing counts of 10 tokens: 9 (share 0.9) or 3 (share 0.3).
    fired = {
        "en": torch.tensor([[9, 9, 3, 0], [9, 9, 9, 3], [9, 9, 9, 9]]),
        "zh": torch.tensor([[3, 3, 9, 9], [9, 3, 9, 0], [9, 9, 9, 9]]),
    }
    tokens = {"en": 10, "zh": 10}
    # share > 0.5: en {0,1} {0,1,2} {all}; zh {2,3} {0,2} {all}
    #   overlaps 0, 2/3, 1 -> boundary 2, K = {0, 1}
    #   R: layer 0 en 1/2 zh 1/2 -> MSD 0; layer 1 en 3/4 zh 1/2 -> mu 5/8, MSD 1/64
    #   theta = 1/128 -> selected [1]
    high = statistics.analyze(fired, tokens, 0.5)
    assert high.boundary == 2 and high.msd[:2] == [0, Fraction(1, 64)] and high.selected == [1]
    # share > 0 (the literal "fired on some token"): en {0,1,2} {all} {all}; zh {all} {0,1,2} {all}
    #   overlaps 1, 3/4, 1 -> first maximum at layer 0: no language-specific layer
    literal = statistics.analyze(fired, tokens, 0.0)
    assert literal.boundary == 0 and literal.selected == []
    rows = statistics.sensitivity(fired, tokens, [0.5, 0.0, 0.5])
    assert [(r["firing_share"], r["boundary"], r["selected"]) for r in rows] == [(0.0, 0, []), (0.5, 2, [1])]


def test_english_is_required_and_not_alone():
    with pytest.raises(HarnessError, match="'en' is missing"):
        statistics.analyze({"zh": HAND["zh"], "de": HAND["de"]}, {"zh": 10, "de": 10}, 0.05)
    with pytest.raises(HarnessError, match="at least one non-English"):
        statistics.analyze({"en": HAND["en"]}, {"en": 10}, 0.05)


def test_literal_rates():
    fired_questions = {"en": torch.tensor([[2, 0, 1, 0]]), "zh": torch.tensor([[2, 2, 2, 2]])}
    rates = statistics.literal_rates(fired_questions, {"en": 2, "zh": 2})
    # en: union = 2 of 4 neurons fired on some question; per question: (2+0+1+0) / (4 * 2) = 3/8
    assert rates["en"] == {"union": [0.5], "per_question": [0.375]}
    assert rates["zh"] == {"union": [1.0], "per_question": [1.0]}


# -- policies --------------------------------------------------------------------------------


def test_policies_fixed_first_k_random_all():
    policies = typing.get_args(typing.get_args(LayerPolicy)[0])
    tags = sorted(policy.model_fields["policy"].default for policy in policies)
    assert tags == ["all", "bottom_top", "first_k", "fixed", "random", "slam_msd"]
    assert select_layers(FixedPolicy(layers=[5, 0, 2]), 6) == [0, 2, 5]
    assert select_layers(FirstKPolicy(k=3), 6) == [0, 1, 2]
    assert select_layers(AllPolicy(), 3) == [0, 1, 2]
    drawn = select_layers(RandomPolicy(k=4, seed=7), 30)
    assert drawn == select_layers(RandomPolicy(k=4, seed=7), 30)  # seeded
    assert len(set(drawn)) == 4 and drawn == sorted(drawn) and all(0 <= i < 30 for i in drawn)
    assert select_layers(RandomPolicy(k=4, seed=8), 30) != drawn
    assert select_layers(RandomPolicy(k=30, seed=1), 30) == list(range(30))


def test_bottom_top_takes_both_ends_of_the_model():
    from harness.selection.policies import BottomTopPolicy

    assert select_layers(BottomTopPolicy(bottom=6, top=2), 32) == [0, 1, 2, 3, 4, 5, 30, 31]
    with pytest.raises(HarnessError, match="bottom 3 \\+ top 2 layers requested but the model has 4"):
        select_layers(BottomTopPolicy(bottom=3, top=2), 4)


def test_policies_refuse_layers_the_model_lacks():
    with pytest.raises(
        HarnessError, match=r"selection.layers.layers: layer\(s\) \[30, 31\] do not exist: the model has 30"
    ):
        select_layers(FixedPolicy(layers=[0, 30, 31]), 30)
    with pytest.raises(HarnessError, match="selection.layers.layers: .* lists a layer twice"):
        select_layers(FixedPolicy(layers=[1, 1]), 30)
    with pytest.raises(HarnessError, match="selection.layers.k: 40 layers requested but the model has 30"):
        select_layers(FirstKPolicy(k=40), 30)
    with pytest.raises(HarnessError, match="selection.layers.k: 31 layers requested"):
        select_layers(RandomPolicy(k=31), 30)
    with pytest.raises(HarnessError, match="needs the activation probe"):
        select_layers(SlamMsdPolicy(), 30, None)


def test_peak_search_after_initial_decline():
    # en fires on every neuron at layer 0 like zh (overlap 1), then the overlap dips and rises.
    sets = {
        "en": counts([{0, 1, 2, 3}, {0, 1}, {0, 1}, {0, 1}, {0, 1}]),
        "zh": counts([{0, 1, 2, 3}, {2, 3}, {1}, {0, 1, 2}, {0, 3}]),
    }
    tokens = {"en": 10, "zh": 10}
    # overlaps: 1, 0, 1/2, 1, 1/2 -> the paper's rule peaks at layer 0 (K empty)
    assert statistics.analyze(sets, tokens, 0.05).boundary == 0
    a = statistics.analyze(sets, tokens, 0.05, peak_search="after_initial_decline")
    # the decline ends at layer 1 (0 < 1/2); first maximum of layers 1.. is layer 3 -> K = {0, 1, 2}
    assert a.search_from == 1 and a.boundary == 3 and a.language_specific == [0, 1, 2]
    # R (en, zh): layer 0: 1, 1 -> MSD 0; layer 1: 1/2, 1/2 -> 0;
    #   layer 2: 1/2, 1/4 -> mu 3/8, deviations +-1/8 -> MSD 1/64
    # theta = (0 + 0 + 1/64) / 3 = 1/192 -> selected [2]
    assert a.msd[:3] == [0, 0, Fraction(1, 64)] and a.theta == Fraction(1, 192) and a.selected == [2]
    # with no initial decline the two searches agree
    b = statistics.analyze(HAND, HAND_TOKENS, 0.05, peak_search="after_initial_decline")
    assert b.search_from == 0 and b.boundary == 2 and b.selected == [0]


def test_plots_write_pngs(tmp_path):
    from harness.selection import plots

    a = statistics.analyze(HAND, HAND_TOKENS, 0.05)
    for draw in (plots.plot_selection, plots.plot_activation_rates, plots.plot_overlap, plots.plot_msd):
        path = draw(a, tmp_path / f"{draw.__name__}.png")
        assert path.stat().st_size > 1000
