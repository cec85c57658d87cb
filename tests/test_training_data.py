"""Translation pairs: every source format, the filters with their counts, mixing, the Table 7
prompt and its loss mask, and the inputs that must fail clearly."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.training.data import build_translation_data, format_pair, tokenize_pair
from harness.training.prompts import TABLE7
from harness.translation import (
    PairSet,
    TranslationDataConfig,
    TranslationPair,
    filter_pairs,
    is_degenerate,
    load_pairs,
    mix_pairs,
)

REPO = Path(__file__).resolve().parent.parent


def write_lines(folder, lang, source, target):
    pair = folder / f"{lang}-en"
    pair.mkdir(parents=True, exist_ok=True)
    if source is not None:
        (pair / f"train.{lang}").write_text("\n".join(source) + "\n", encoding="utf-8")
    (pair / "train.en").write_text("\n".join(target) + "\n", encoding="utf-8")


def test_demo_source_has_pairs_for_every_math_language():
    pairs = load_pairs(TranslationDataConfig(source="demo"), ["bn", "th", "sw", "ja", "zh", "de", "fr", "ru", "es"])
    assert pairs.origin.startswith("line-parallel folder") and pairs.origin.endswith("translation")
    assert all(n > 0 for n in pairs.counts().values()) and len(pairs.counts()) == 9


def test_a_language_without_its_side_is_an_error_or_skipped(tmp_path):
    write_lines(tmp_path, "de", ["Hallo Welt"], ["Hello world"])
    write_lines(tmp_path, "bn", None, ["Hello world"])  # like bn/th in shared/data: train.en only
    with pytest.raises(
        HarnessError, match=r"no translation pairs for bn \(.*bn-en: train\.bn missing\); th \(no folder th-en/"
    ):
        load_pairs(TranslationDataConfig(source=str(tmp_path)), ["de", "bn", "th"])
    pairs = load_pairs(TranslationDataConfig(source=str(tmp_path), missing_languages="skip"), ["de", "bn", "th"])
    assert pairs.counts() == {"de": 1} and set(pairs.skipped) == {"bn", "th"}


def test_line_files_of_different_lengths_are_an_error(tmp_path):
    write_lines(tmp_path, "de", ["a", "b"], ["a"])
    with pytest.raises(HarnessError, match="train.de has 2 lines but train.en has 1"):
        load_pairs(TranslationDataConfig(source=str(tmp_path)), ["de"])


def test_line_folders_hold_questions_only(tmp_path):
    write_lines(tmp_path, "de", ["a"], ["a"])
    with pytest.raises(HarnessError, match="holds question translations only"):
        load_pairs(TranslationDataConfig(source=str(tmp_path), sides="both"), ["de"])


def test_jsonl_pairs_with_sides(tmp_path):
    rows = [
        {"lang": "de", "source": "Frage", "target": "Question"},
        {"lang": "de", "source": "Antwort", "target": "Answer", "side": "answer"},
        {"lang": "fr", "source": "Réponse", "target": "Answer", "side": "answer"},
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    both = load_pairs(TranslationDataConfig(source=str(path), sides="both"), ["de", "fr"])
    assert both.counts() == {"de": 2, "fr": 1}
    with pytest.raises(HarnessError, match=r"no translation pairs for fr \(no question pairs"):
        load_pairs(TranslationDataConfig(source=str(path)), ["de", "fr"])
    path.write_text('{"lang": "de", "source": "x", "target": "y"}\n{"lang": "de", "source": "x"}\n')
    with pytest.raises(HarnessError, match="row 2: missing field"):
        load_pairs(TranslationDataConfig(source=str(path)), ["de"])
    path.write_text('{"lang": "de", "source": "x", "target": "y"}\n{oops\n')
    with pytest.raises(HarnessError, match="line 2: not valid JSON"):
        load_pairs(TranslationDataConfig(source=str(path)), ["de"])


def mathoctopus_row(language, question, answer):
    prompt = (
        "Below is an instruction that describes a task. Write a response that appropriately completes "
        f"the request in {language}. Please answer in {language}.\n\n### Instruction:\n{question}\n\n### Response:"
    )
    return {"prompt": prompt, "chosen": answer}


def test_mathoctopus_rows_are_paired_with_english_by_their_answers(tmp_path):
    english = [
        ("Tom has 3 apples.", "3 + 0 = 3\n#### 3"),
        ("Ann has 5 pens.", "5\n#### 5"),
        ("Bo has 7 cats.", "7\n#### 7"),
    ]
    german = [("Tom hat 3 Äpfel.", "3 + 0 = 3\n#### 3"), ("Bo hat 7 Katzen.", "7\n#### 7")]  # lacks problem 2
    rows = [mathoctopus_row("English", q, a) for q, a in english] + [mathoctopus_row("German", q, a) for q, a in german]
    path = tmp_path / "MGSM8KInstruct_Parallel.json"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    pairs = load_pairs(TranslationDataConfig(source=str(path), sides="both"), ["de"])
    got = [(p.side, p.source, p.target) for p in pairs.pairs["de"]]
    assert got == [
        ("question", "Tom hat 3 Äpfel.", "Tom has 3 apples."),
        ("answer", "3 + 0 = 3\n#### 3", "3 + 0 = 3\n#### 3"),
        ("question", "Bo hat 7 Katzen.", "Bo has 7 cats."),
        ("answer", "7\n#### 7", "7\n#### 7"),
    ]
    assert pairs.dropped["de"]["unaligned"] == 0


def test_filters_count_each_reason_per_language():
    pairs = PairSet(
        {
            "de": [
                TranslationPair("de", "Anna hat 3 Äpfel.", "Anna has 3 apples."),
                TranslationPair("de", "Anna hat 3 Äpfel.", "Anna has 3 apples."),  # duplicate
                TranslationPair("de", "  ", "Empty source."),  # empty
                TranslationPair("de", "Tom has 4 pens.", "Tom has 4 pens."),  # untranslated
                TranslationPair("de", "Er kauft kauft kauft kauft Brot.", "He buys bread."),  # repetitive
                TranslationPair("de", "Ja.", "Yes, and then a very long English sentence appears here."),  # ratio
                TranslationPair("de", "Bo hat 7 Katzen.", "Bo has 7 cats."),
                TranslationPair("de", "Lena hat 2 Hunde.", "Lena has 2 dogs."),
            ]
        },
        "test",
    )
    filter_pairs(pairs, max_length_ratio=3.0)
    assert pairs.counts() == {"de": 3}
    assert pairs.dropped["de"] == Counter(duplicate=1, empty=1, untranslated=1, repetitive=1, length_ratio=1)


def test_degenerate_repetition():
    assert is_degenerate("kila mfuko unatoa unatoa unatoa unatoa unatoa")
    assert is_degenerate("他的的的的的的的的的的")
    assert is_degenerate("Tom has 5 apples. " * 15)
    assert not is_degenerate("It costs 1,000,000 dollars, that is 10000000 cents.")
    assert not is_degenerate("ha ha, she said")


def test_mixing_natural_balanced_and_cap():
    def items(lang, n):
        return [TranslationPair(lang, f"{lang} {i}", f"en {i}") for i in range(n)]

    pairs = PairSet({"de": items("de", 10), "fr": items("fr", 4)}, "test")
    assert {k: len(v) for k, v in mix_pairs(pairs, "natural", None, 0).items()} == {"de": 10, "fr": 4}
    balanced = mix_pairs(pairs, "balanced", None, 0)
    assert {k: len(v) for k, v in balanced.items()} == {"de": 4, "fr": 4}
    assert balanced == mix_pairs(pairs, "balanced", None, 0)  # seeded
    capped = mix_pairs(pairs, "natural", 6, 0)
    assert {k: len(v) for k, v in capped.items()} == {"de": 6, "fr": 4}
    assert [p.source for p in capped["de"]] == sorted((p.source for p in capped["de"]), key=lambda s: int(s.split()[1]))


def test_table7_prompt_and_english_only_labels(tiny_llama):
    _, tokenizer = tiny_llama
    pair = TranslationPair("de", "Anna hat 12 Äpfel.", "Anna has 12 apples.")
    prompt, _completion = format_pair(pair)
    assert prompt == "Translate this from [German] to [English]:\n[German]: Anna hat 12 Äpfel.\n[English]:"
    assert TABLE7.startswith("Translate this from [{source_lang}] to [English]:\n")
    example = tokenize_pair(pair, tokenizer, max_length=256)
    labels = example["labels"]
    assert labels[-1] == tokenizer.eos_token_id == example["input_ids"][-1]
    first = next(i for i, label in enumerate(labels) if label != -100)
    assert all(label == -100 for label in labels[:first])
    assert all(label != -100 for label in labels[first:])
    assert tokenizer.decode(example["input_ids"][:first]) == prompt
    assert tokenizer.decode(labels[first:-1]) == " Anna has 12 apples."
    assert tokenize_pair(pair, tokenizer, max_length=5) is None  # no English token fits


def test_build_records_counts_per_language(tiny_llama, tmp_path):
    _, tokenizer = tiny_llama
    write_lines(tmp_path, "de", ["Hallo Welt", "Hallo Welt", "Guten Tag"], ["Hello world", "Hello world", "Good day"])
    write_lines(tmp_path, "fr", ["Bonjour"], ["Hello"])
    data = build_translation_data(TranslationDataConfig(source=str(tmp_path)), ["de", "fr", "en"], tokenizer, 128, 0)
    report = data.report
    assert report["pairs_loaded"] == {"de": 3, "fr": 1}
    assert report["filtered"] == {"de": {"duplicate": 1}, "fr": {}}
    assert report["examples"] == {"de": 2, "fr": 1} and len(data.examples) == 3
    assert report["target_tokens_per_epoch"]["de"] > 0


def test_unknown_language_and_missing_paths_are_clear():
    with pytest.raises(HarnessError, match="unknown language 'xx'"):
        load_pairs(TranslationDataConfig(source="demo"), ["xx"])
    with pytest.raises(HarnessError, match="no such file or folder"):
        load_pairs(TranslationDataConfig(source="./nowhere/pairs.jsonl"), ["de"])


def test_hub_dataset_offline_is_a_clear_error():
    with pytest.raises(
        HarnessError,
        match="HF_HUB_OFFLINE=1 is set and Mathoctopus/GSM8KInstruct_Parallel is not in "
        "the local datasets cache; point it at local files",
    ):
        load_pairs(TranslationDataConfig(source="Mathoctopus/GSM8KInstruct_Parallel"), ["de"])


def test_table1_cap_preset_matches_the_papers_counts_and_a_gap_beyond_5_percent_warns():
    from harness.training.accounting import table1_warnings
    from harness.translation import PairSet, TranslationPair, mix_pairs, table1_caps

    languages = ["bn", "th", "sw", "ja", "zh", "de", "fr", "ru", "es"]
    pairs = PairSet(
        {
            lang: [
                TranslationPair(lang, f"{lang} {side} {i}", f"en {i}", side)
                for side in ("question", "answer")
                for i in range(7_473)
            ]
            for lang in languages
        },
        "test",
    )
    mixed = mix_pairs(pairs, "natural", "table1", seed=0)
    totals = {side: sum(p.side == side for items in mixed.values() for p in items) for side in ("question", "answer")}
    assert totals == {"question": 57_817, "answer": 65_968}
    assert (
        table1_caps(languages)["bn"] == {"question": 6_425, "answer": 7_330}
        and table1_caps(languages)["zh"]["question"] == 6_424
    )
    from harness.open_choices import open_choices
    from harness.recipe import load_recipe

    recipe = load_recipe(REPO / "harness" / "recipes" / "slam_7b.yaml", ["training.data.max_pairs_per_language=table1"])
    (cap,) = [c for c in open_choices(recipe) if c["field"] == "training.data.max_pairs_per_language"]
    assert cap["value"] == "table1" and cap["origin"] == "ours"
    # the natural mixing keeps 7,473 per language and side: 16% above Table 1 on questions
    natural = {"question": {"used": 9 * 7_473, "paper": 57_817}, "answer": {"used": 65_968 + 3_000, "paper": 65_968}}
    (warning,) = table1_warnings(natural)
    assert "67,257 question pairs, +16.3%" in warning and "max_pairs_per_language=table1" in warning
