"""The paper's recipes as the paper did it: pinned layers and shares, the probe as a check, every
open choice with its origin, the prompt variants, the stop and label rules, the data accounting."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from harness.errors import HarnessError

REPO = Path(__file__).resolve().parent.parent
LLAMA2 = {"7b": (4096, 11008, 32, 32), "13b": (5120, 13824, 40, 40)}


@pytest.fixture(scope="module")
def llama2_dirs(tmp_path_factory):
    """Config-only Llama-2 folders (the published shapes; no weights, no tokenizer)."""
    root = tmp_path_factory.mktemp("llama2")
    for size, (hidden, inter, layers, heads) in LLAMA2.items():
        folder = root / size
        folder.mkdir()
        (folder / "config.json").write_text(
            json.dumps(
                {
                    "architectures": ["LlamaForCausalLM"],
                    "model_type": "llama",
                    "vocab_size": 32000,
                    "hidden_size": hidden,
                    "intermediate_size": inter,
                    "num_hidden_layers": layers,
                    "num_attention_heads": heads,
                    "num_key_value_heads": heads,
                    "tie_word_embeddings": False,
                }
            )
        )
    return root


@pytest.mark.parametrize(
    "recipe,size,layers,share",
    [
        ("slam_7b", "7b", [0, 1, 2, 3, 4, 5], "8.0%"),  # Table 2 / 4, SLAM 7B
        ("slam_13b", "13b", [0, 1, 2, 3, 4, 5], "6.5%"),  # Table 2 / 4, SLAM 13B
        ("rft_mugglemath_7b", "7b", [0, 1, 2, 3, 4], "6.7%"),  # Table 11 / 12, RFT+SLAM 7B
        ("rft_mugglemath_13b", "13b", [0, 1, 2, 3, 4], "5.4%"),  # Table 11 / 12, RFT+SLAM 13B
        ("slam_xcsqa_7b", "7b", [0, 1, 2, 3], "5.4%"),  # Table 10: the first four layers
    ],
)
def test_paper_recipes_pin_the_papers_layers(llama2_dirs, recipe, size, layers, share):
    from harness.recipe import load_recipe
    from harness.training.plan import recipe_plan

    loaded = load_recipe(REPO / "harness" / "recipes" / f"{recipe}.yaml", [f"model.source={llama2_dirs / size}"])
    plan, origin = recipe_plan(loaded, run_dir="/nonexistent")
    assert plan.layers == layers and f"{plan.share:.1%}" == share
    assert "pinned" in origin and "check" in origin
    assert loaded.selection.check is not None and loaded.selection.check.policy == "slam_msd"


def test_derivation_recipes_let_the_probe_decide():
    from harness.recipe import load_recipe

    for file in sorted((REPO / "harness" / "recipes" / "derivation").glob("*.yaml")):
        recipe = load_recipe(file)
        assert recipe.selection.layers.policy == "slam_msd" and recipe.selection.check is None
        assert recipe.name.startswith("derive_layers_")
    assert len(list((REPO / "harness" / "recipes" / "derivation").glob("*.yaml"))) == 5


def test_recipe_headers_note_the_authors_7b_script():
    text = (REPO / "harness" / "recipes" / "slam_7b.yaml").read_text()
    assert "layers 0-4" in text and "six" in text and "appendix A" in text


def test_open_choices_name_their_origin():
    from harness.open_choices import ORIGINS, open_choices
    from harness.recipe import load_recipe

    recipe = load_recipe(REPO / "harness" / "recipes" / "slam_7b.yaml")
    choices = {c["field"]: c for c in open_choices(recipe)}
    assert choices["selection.probe.firing_share"]["origin"] == "ours"
    assert choices["selection.check.peak_search"]["value"] == "all_layers"
    assert choices["selection.probe.dataset"]["value"] == "translation"
    assert "disjoint" in choices["selection.probe.dataset"]["note"]
    assert choices["training.data.prompt"] == {**choices["training.data.prompt"], "value": "table7", "origin": "paper"}
    assert choices["evaluation.stop"] == {**choices["evaluation.stop"], "value": "metamath", "origin": "paper"}
    assert "MetaMath's (Yu et al.) inference settings" in choices["evaluation.stop"]["note"]
    assert choices["evaluation.extraction"]["origin"] == "paper" and "4.4" in choices["evaluation.extraction"]["note"]
    assert (
        choices["selection.probe.max_tokens"]["value"] == 256 and "raw" in choices["selection.probe.max_tokens"]["note"]
    )
    loss = choices["(no field: transformers' Trainer)"]
    assert (
        loss["what"] == "loss normalisation" and "global batch" in loss["value"] and "per micro-batch" in loss["note"]
    )
    assert loss in open_choices(recipe, "training") and loss not in open_choices(recipe, "evaluation")
    assert all(c["origin"] in ORIGINS for c in choices.values())
    assert "evaluation.choice_label" not in choices  # no X-CSQA task in this recipe
    mgsm = load_recipe(
        REPO / "harness" / "recipes" / "slam_7b.yaml",
        ["selection.probe.dataset=mgsm", "evaluation.stop=harness", "training.data.prompt=llama_factory"],
    )
    choices = {c["field"]: c for c in open_choices(mgsm)}
    assert "the same set this run is scored on" in choices["selection.probe.dataset"]["note"]
    assert choices["evaluation.stop"]["origin"] == "ours"
    assert choices["training.data.prompt"]["origin"] == "authors' code"
    xcsqa = load_recipe(
        REPO / "harness" / "recipes" / "slam_xcsqa_7b.yaml",
        ["evaluation.choice_label=authors", "evaluation.max_new_tokens=1024"],
    )
    choices = {c["field"]: c for c in open_choices(xcsqa, "evaluation")}
    assert choices["evaluation.choice_label"]["origin"] == "authors' code"
    assert "The answer is (X)." in choices["evaluation.choice_label"]["note"]
    assert choices["(no field: tasks/_choice_template_yaml)"]["origin"] == "ours"
    first = load_recipe(REPO / "harness" / "recipes" / "slam_xcsqa_7b.yaml", ["evaluation.choice_label=first"])
    assert {c["field"]: c for c in open_choices(first, "evaluation")}["evaluation.choice_label"]["origin"] == "ours"
    assert choices["evaluation.max_new_tokens"]["origin"] == "authors' code"


def test_prompt_variants():
    from harness.training.data import format_pair
    from harness.translation import TranslationPair

    pair = TranslationPair("de", "Anna hat 3 Äpfel.", "Anna has 3 apples.")
    assert format_pair(pair) == (
        "Translate this from [German] to [English]:\n[German]: Anna hat 3 Äpfel.\n[English]:",
        " Anna has 3 apples.",
    )
    assert format_pair(pair, "alma")[0] == "Translate this from German to English:\nGerman: Anna hat 3 Äpfel.\nEnglish:"
    prompt = format_pair(pair, "llama_factory")[0]
    assert prompt.startswith("Human: Translate this from [German]") and prompt.endswith("[English]:\nAssistant:")


def test_label_rule_and_stop_sequences():
    from harness.evaluation.choices import METAMATH_STOP
    from harness.evaluation.extraction import bracket_label, score_response
    from harness.evaluation.tasks import task_config

    response = "Not (A) but (C)."
    assert bracket_label(response) == "C" and bracket_label(response, which="first") == "A"
    assert score_response("choice", response, "A", "first")["correct"]["paper"] is True
    assert score_response("choice", response, "A")["correct"]["paper"] is False
    # the authors' script: the first "The answer is (X)."; no such sentence counts wrong
    worded = "(A) is wrong because of (B). The answer is (C). Or is it? The answer is (D)."
    assert [bracket_label(worded, which=rule) for rule in ("authors", "first", "last")] == ["C", "A", "D"]
    assert bracket_label(response, which="authors") is None
    assert score_response("choice", response, "C", "authors")["correct"] == {"paper": False, "strict": False}
    assert bracket_label("the answer is （Ｂ）", "strict", "authors") == "B"
    assert bracket_label("the answer is (B)", "paper", "authors") is None  # the script's exact wording
    assert task_config("mgsm", "en", stop="metamath")["generation_kwargs"]["until"] == METAMATH_STOP
    assert "### Instruction" in task_config("mgsm", "en")["generation_kwargs"]["until"]


def test_a_changed_policy_replaces_the_parents_block():
    from harness.recipe import deep_merge

    merged = deep_merge({"layers": {"policy": "first_k", "k": 6}}, {"layers": {"policy": "slam_msd"}})
    assert merged == {"layers": {"policy": "slam_msd"}}
    assert deep_merge({"layers": {"policy": "first_k", "k": 6}}, {"layers": {"k": 5}})["layers"] == {
        "policy": "first_k",
        "k": 5,
    }


def test_accounting_explains_the_difference_from_the_paper():
    from harness.training.accounting import PAPER_PAIRS, accounting

    table = accounting(
        loaded={"de": Counter(question=10, answer=8)},
        dropped={"de": {"question": Counter(duplicate=2, too_long=1)}},
        kept={"de": Counter(question=8, answer=8)},
        used={"de": Counter(question=5, answer=8)},
        skipped={"bn": "no bn pairs"},
        sides=("question", "answer"),
    )
    question = table["totals"]["question"]
    assert question["used"] == 5 and question["capped"] == 2 and question["paper"] == PAPER_PAIRS["question"]
    assert sum(question["difference_by_reason"].values()) == question["difference"] == 5 - 57_817
    assert table["by_language"]["bn"]["question"]["missing"] == "no bn pairs"
    assert table["totals"]["answer"]["difference"] == 8 - 65_968
    common = accounting(
        {"ar": Counter(question=4)},
        {},
        {"ar": Counter(question=4)},
        {"ar": Counter(question=4)},
        {},
        ("question",),
        "common_sense",
    )
    assert common["totals"]["question"]["paper"] == 31_065 and "Flores-200" in common["paper"]["source"]


def test_filter_by_side_equals_filter_pairs_and_counts_per_side():
    from harness.training.accounting import filter_by_side
    from harness.translation import PairSet, TranslationPair, filter_pairs

    def fresh():
        return PairSet(
            {
                "de": [
                    TranslationPair("de", "Eins zwei drei", "One two three", "question"),
                    TranslationPair("de", "Die Antwort ist 5", "The answer is 5", "answer"),
                    TranslationPair("de", "Eins zwei drei", "One two three", "question"),
                    TranslationPair("de", "same", "same", "answer"),
                    TranslationPair("de", " Vier ", "Four", "question"),
                ]
            },
            "test",
        )

    plain, split = fresh(), fresh()
    filter_pairs(plain, 3.0)
    dropped = filter_by_side(split, 3.0)
    assert split.pairs == plain.pairs and dict(split.dropped["de"]) == dict(plain.dropped["de"])
    assert dropped["de"]["question"] == Counter(duplicate=1) and dropped["de"]["answer"] == Counter(untranslated=1)


def test_probe_check_warns_when_the_probe_disagrees():
    import torch

    from harness.selection.config import SelectionConfig
    from harness.selection.stage import probe_check
    from harness.selection.statistics import analyze_sets

    # English and German: layers 0-1 language-specific (low overlap), peak at 2
    en = torch.tensor([[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    de = torch.tensor([[0, 0, 1, 1], [1, 0, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    sets = {"en": en, "de": de, "zh": torch.tensor([[0, 0, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1]], dtype=torch.bool)}
    analysis = analyze_sets(sets, 0.05)
    selection = SelectionConfig.model_validate(
        {"layers": {"policy": "first_k", "k": 2}, "check": {"policy": "slam_msd"}}
    )
    check = probe_check(selection, [0, 1], 3, analysis)
    assert check["probe_layers"] == analysis.selected
    assert check["agrees"] == (analysis.selected == [0, 1])
    assert (check["warning"] is None) == check["agrees"]
    assert check["rule"]["activation_threshold"]["value"] == 0.05
    assert check["rule"]["boundary_rule"]["value"] == "all_layers"
    pinned_other = probe_check(selection, [0, 1, 2], 3, analysis)
    assert pinned_other["agrees"] is False and "not the pinned [0, 1, 2]" in pinned_other["warning"]


def test_harness_data_on_a_question_folder(tmp_path, capsys):
    from harness.cli import main
    from harness.recipe import load_recipe

    folder = tmp_path / "pairs"
    for lang, lines in {"de": ["Eins", "Zwei", "Zwei"], "fr": ["Un", "Two"]}.items():
        (folder / f"{lang}-en").mkdir(parents=True)
        (folder / f"{lang}-en" / f"train.{lang}").write_text("\n".join(lines) + "\n", encoding="utf-8")
        english = ["One", "Two", "Two"][: len(lines)]
        (folder / f"{lang}-en" / "train.en").write_text("\n".join(english) + "\n", encoding="utf-8")
    assert (
        main(
            [
                "data",
                str(REPO / "harness" / "recipes" / "slam_7b.yaml"),
                f"training.data.source={folder}",
                "training.data.sides=questions",
                "training.data.missing_languages=skip",
                "--json",
            ]
        )
        == 0
    )
    table = json.loads(capsys.readouterr().out)
    assert table["by_language"]["de"]["question"] == {
        "loaded": 3,
        "dropped": {"duplicate": 1},
        "kept": 2,
        "capped": 0,
        "used": 2,
    }
    assert table["by_language"]["fr"]["question"]["dropped"] == {"untranslated": 1}
    assert "missing" in table["by_language"]["bn"]["question"]
    assert table["totals"]["question"]["difference"] == 3 - 57_817
    with pytest.raises(HarnessError, match="no `training:` section"):
        from harness.training.accounting import account_recipe_data

        account_recipe_data(load_recipe(REPO / "harness" / "recipes" / "eval" / "metamath_7b.yaml"))


def test_base_model_outside_the_published_interval_is_flagged():
    from harness.reporting.baselines import load_baselines
    from harness.reporting.reproduction import base_check

    def scores(mgsm_en, msvamp_en):
        return {
            "models": {
                "base": {
                    "tasks": {
                        "mgsm": {"languages": {"en": {"n": 250, "accuracy": mgsm_en}}},
                        "msvamp": {"languages": {"en": {"n": 1000, "accuracy": msvamp_en}}},
                    }
                }
            }
        }

    baselines = load_baselines()
    tables, warnings = base_check(scores(66.0, 59.0), baselines, "7B", "OFA-Sys/MuggleMath_7B")
    assert tables and warnings == []  # RFT 7B: MGSM en 67.6, MSVAMP en 59.6
    tables, warnings = base_check(scores(50.0, 59.0), baselines, "7B", "OFA-Sys/MuggleMath_7B")
    assert len(warnings) == 1 and "mgsm en" in warnings[0] and "RFT 7B (67.6" in warnings[0]
    _, warnings = base_check(scores(75.0, 58.0), baselines, "13B", "OFA-Sys/MuggleMath_13B")
    assert len(warnings) == 1 and "msvamp en" in warnings[0] and "66.3" in warnings[0]  # RFT 13B: 75.2 / 66.3
    assert base_check(scores(1.0, 1.0), baselines, "7B", "some/other-model") == ([], [])


def test_base_model_check_says_when_its_reference_cannot_be_a_score():
    from harness.reporting.baselines import load_baselines
    from harness.reporting.reproduction import base_check

    scores = {"models": {"base": {"tasks": {"mgsm": {"languages": {"en": {"n": 250, "accuracy": 65.6}}}}}}}
    tables, warnings = base_check(scores, load_baselines(), "7B", "meta-math/MetaMath-7B-V1.0")
    (row,) = tables[0].groups[0].rows
    assert row.cells[2].display == "65.5 (not a possible score)"
    (warning,) = warnings  # 65.6 is inside the interval: the only warning is about the reference
    assert "MetaMath 7B mgsm en 65.5 (Table 2)" in warning and "164/250 = 65.6" in warning


def test_reproduction_tables_from_recorded_stage_files():
    from harness.artifacts import OpenChoice, Selection, TrainRecord
    from harness.reporting.reproduction import data_table, layer_check, open_choices_table, recorded_choices
    from harness.training.accounting import accounting

    check = {
        "pinned_layers": [0, 1],
        "pinned_by": "the first 2 layers",
        "probe_layers": [0],
        "agrees": False,
        "rule": {
            "activation_threshold": {"field": "selection.probe.firing_share", "value": 0.05, "definition": "d"},
            "boundary_rule": {"field": "selection.check.peak_search", "value": "all_layers", "definition": "d"},
            "selected": "s",
        },
        "error": None,
        "warning": "the probe picks layers [0] ...",
    }
    tables, warnings = layer_check(Selection(selected_layers=[0, 1], probe_check=check))
    assert tables[0].cell("agree", "layers").display == "NO" and warnings == [
        "Layer check: the probe picks layers [0] ..."
    ]
    assert layer_check(Selection(selected_layers=[0, 1])) == ([], [])
    choice = {"field": "evaluation.stop", "what": "stop", "value": "harness", "origin": "ours", "note": "n"}
    assert recorded_choices(None, None, {"open_choices": [choice]}) == [OpenChoice.model_validate(choice)]
    assert open_choices_table([OpenChoice.model_validate(choice)])[0].cell("stop", "origin").display == "ours"
    table = accounting(
        {"de": Counter(question=3)}, {}, {"de": Counter(question=3)}, {"de": Counter(question=3)}, {}, ("question",)
    )
    plan = {"trainable": 1, "total": 2, "share": 0.5}
    record = TrainRecord.model_validate({"mode": "selective", "plan": plan, "steps": 1, "data": {"accounting": table}})
    rendered = data_table(record)[0]
    assert rendered.cell("all", "difference").display == f"{3 - 57_817:+,}"


def test_seen_examples_count_draws_only_once_training_began():
    from harness.training.ranks import SeenExamples, rank_record

    seen = SeenExamples(["a", "b", "c"])
    assert [seen[i] for i in range(3)] == ["a", "b", "c"] and seen.seen == set()  # e.g. a length pass
    seen.callback().on_train_begin(None, None, None)
    seen[2], seen[0]
    record = rank_record(seen, steps=1, epochs=0.5)
    assert record["per_rank"] == [{"rank": 0, "examples_drawn": 2, "draws": 2, "steps": 1}]
    assert record["examples_drawn_by_several_ranks"] == 0 and record["same_steps"]
