"""Length-grouped micro-batches inside seeded global batches, and the tokenisation cache."""

from __future__ import annotations

import json

import pytest

from harness.training.batching import GlobalBatchLengthSampler, padding_share, random_order


def test_each_global_batch_keeps_its_examples_and_is_sorted_by_length():
    lengths = [(7 * i) % 23 + 1 for i in range(50)]
    grouped = list(GlobalBatchLengthSampler(lengths, global_batch_size=16, seed=3))
    plain = random_order(50, seed=3)
    assert sorted(grouped) == list(range(50))
    for start in range(0, 50, 16):
        assert set(grouped[start : start + 16]) == set(plain[start : start + 16])
        widths = [lengths[i] for i in grouped[start : start + 16]]
        assert widths == sorted(widths, reverse=True)
    assert grouped == list(GlobalBatchLengthSampler(lengths, 16, seed=3))  # seeded
    sampler = GlobalBatchLengthSampler(lengths, 16, seed=3)
    sampler.set_epoch(1)
    assert list(sampler) != grouped  # a new order each epoch
    real, slots = padding_share(grouped, lengths, 4)
    real_plain, slots_plain = padding_share(plain, lengths, 4)
    assert real == real_plain == sum(lengths) and slots < slots_plain


def test_grouping_changes_the_micro_batches_not_the_optimizer_steps(tiny_llama_dir, tmp_path):
    from test_training_run import make_recipe, make_run, train

    reports = {}
    for grouped in (True, False):
        recipe = make_recipe(tiny_llama_dir, max_steps=2, save="delta", group_by_length=grouped, save_steps=None)
        train_dir = train(recipe, make_run(tmp_path / f"run-{grouped}"))
        reports[grouped] = json.loads((train_dir / "train.json").read_text())
    assert reports[True]["hyperparameters"]["group_by_length"] is True
    assert reports[True]["tokens_seen"]["target"] == reports[False]["tokens_seen"]["target"]
    assert reports[True]["tokens_seen"]["non_pad"] == reports[False]["tokens_seen"]["non_pad"]
    losses = {k: [p["loss"] for p in r["loss_curve"]] for k, r in reports.items()}
    assert losses[True] == pytest.approx(losses[False], abs=1e-4)


def test_pairs_are_tokenised_once_per_data_and_tokenizer(tiny_llama, tmp_path, monkeypatch):
    from harness.training import data as data_module
    from harness.training.config import TranslationDataConfig
    from harness.training.data import build_translation_data

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    _, tokenizer = tiny_llama
    config = TranslationDataConfig(source="demo", max_pairs_per_language=6)
    first = build_translation_data(config, ["de", "zh", "en"], tokenizer, 96, 0)
    calls = []
    original = data_module.tokenize_pair
    monkeypatch.setattr(data_module, "tokenize_pair", lambda *a: calls.append(1) or original(*a))
    second = build_translation_data(config, ["de", "zh", "en"], tokenizer, 96, 0)
    assert (first.report["tokenized"]["cache"], second.report["tokenized"]["cache"]) == ("miss", "hit")
    assert calls == [] and second.examples == first.examples and second.langs == first.langs
    assert second.report["tokenized"]["key"] == first.report["tokenized"]["key"]
    shorter = build_translation_data(config, ["de", "zh", "en"], tokenizer, 200, 0)
    assert shorter.report["tokenized"]["cache"] == "miss" and calls  # max_length is part of the key
    other = build_translation_data(config, ["de", "fr", "en"], tokenizer, 96, 0)
    assert other.report["tokenized"]["cache"] == "miss"  # so are the pairs


def test_a_used_tokenizer_keeps_its_fingerprint(tiny_llama):
    from harness.training.token_cache import tokenizer_fingerprint

    _, tokenizer = tiny_llama
    before = tokenizer_fingerprint(tokenizer)
    tokenizer(["a b c", "d"], truncation=True, max_length=2, padding="max_length")  # sets the backend's state
    assert tokenizer_fingerprint(tokenizer) == before
