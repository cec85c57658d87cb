"""The activation probe on the tiny random Llama, and the select stage end to end."""

from __future__ import annotations

import json

import pytest
import torch

from harness.errors import HarnessError
from harness.selection.config import ProbeConfig
from harness.selection.probe import ProbeCounts, probe_model

SHORT = "Anna has 12 apples."
LONG = "Below is an instruction that describes a task. How many apples are left? The answer is 42."


def test_padding_never_counts(tiny_llama):
    model, tokenizer = tiny_llama
    batched = probe_model(model, tokenizer, {"en": [SHORT, LONG]}, ProbeConfig(batch_size=2))
    short = probe_model(model, tokenizer, {"en": [SHORT]}, ProbeConfig(batch_size=1))
    long = probe_model(model, tokenizer, {"en": [LONG]}, ProbeConfig(batch_size=1))
    # The short question is right-padded in the batch; its counts equal those it gets alone.
    assert torch.equal(batched.fired_tokens["en"], short.fired_tokens["en"] + long.fired_tokens["en"])
    assert torch.equal(batched.fired_questions["en"], short.fired_questions["en"] + long.fired_questions["en"])
    lengths = [len(tokenizer(q)["input_ids"]) for q in (SHORT, LONG)]
    assert lengths[0] < lengths[1]
    assert batched.tokens["en"] == sum(lengths) and batched.questions["en"] == 2
    counts = batched.fired_tokens["en"]
    assert counts.dtype == torch.int64 and counts.shape == (4, 128)
    assert int(counts.max()) <= sum(lengths)
    assert int(batched.fired_questions["en"].max()) <= 2


def test_counts_match_a_manual_gate_computation(tiny_llama):
    model, tokenizer = tiny_llama
    ids = torch.tensor([tokenizer(LONG)["input_ids"]])
    gates = []
    handles = [
        layer.mlp.gate_proj.register_forward_hook(lambda m, i, o: gates.append(o)) for layer in model.model.layers
    ]
    with torch.no_grad():
        model(ids)
    for handle in handles:
        handle.remove()
    expected = torch.stack([(torch.nn.functional.silu(g[0]) > 0).sum(dim=0) for g in gates])
    counts = probe_model(model, tokenizer, {"en": [LONG]}, ProbeConfig())
    assert torch.equal(counts.fired_tokens["en"], expected)


def test_special_tokens_are_not_counted(tiny_llama):
    model, tokenizer = tiny_llama
    from harness.selection.probe import encode_batch

    class WithBos:
        """The tiny tokenizer, adding a BOS token as Llama's does."""

        pad_token_id = tokenizer.pad_token_id

        def __call__(self, texts, **kwargs):
            rows = [[tokenizer.bos_token_id] + tokenizer(t)["input_ids"] for t in texts]
            return {"input_ids": rows, "special_tokens_mask": [[1] + [0] * (len(r) - 1) for r in rows]}

    batch = encode_batch(WithBos(), [SHORT, LONG], 256, "cpu")
    assert batch["attention_mask"].sum() == batch["counted"].sum() + 2
    assert not batch["counted"][:, 0].any()
    counts = probe_model(model, WithBos(), {"en": [SHORT, LONG]}, ProbeConfig())
    assert counts.tokens["en"] == sum(len(tokenizer(q)["input_ids"]) for q in (SHORT, LONG))


def test_shared_activation_module_falls_back_to_the_gate_projection(tiny_llama):
    model, tokenizer = tiny_llama
    normal = probe_model(model, tokenizer, {"en": [SHORT, LONG]}, ProbeConfig(batch_size=2))
    layers = model.model.layers
    originals = [layer.mlp.act_fn for layer in layers]
    try:
        for layer in layers:  # one module for all layers: its hook could not tell them apart
            layer.mlp.act_fn = originals[0]
        shared = probe_model(model, tokenizer, {"en": [SHORT, LONG]}, ProbeConfig(batch_size=2))
    finally:
        for layer, act in zip(layers, originals):
            layer.mlp.act_fn = act
    assert torch.equal(shared.fired_tokens["en"], normal.fired_tokens["en"])


def test_counts_round_trip(tiny_llama, tmp_path):
    model, tokenizer = tiny_llama
    counts = probe_model(model, tokenizer, {"en": [SHORT], "de": [LONG]}, ProbeConfig())
    counts.save(tmp_path / "counts.pt")
    again = ProbeCounts.load(tmp_path / "counts.pt")
    assert again.languages == ["en", "de"] and again.tokens == counts.tokens
    assert torch.equal(again.fired_tokens["de"], counts.fired_tokens["de"])


def test_probe_refuses_empty_input(tiny_llama):
    model, tokenizer = tiny_llama
    with pytest.raises(HarnessError, match="no probe question for language 'zh'"):
        probe_model(model, tokenizer, {"en": [SHORT], "zh": []}, ProbeConfig())
    with pytest.raises(HarnessError, match="no language to probe"):
        probe_model(model, tokenizer, {}, ProbeConfig())
    with pytest.raises(HarnessError, match="no real token"):
        probe_model(model, tokenizer, {"en": [""]}, ProbeConfig())


# -- the stage -------------------------------------------------------------------------------

QUESTIONS = {
    "en": [
        "Anna has 12 apples. She eats 3. How many are left?",
        "Pedro has 9 apples and buys 4 more.",
        "How many apples are left?",
    ],
    "de": [
        "Anna hat 12 Äpfel. Sie isst 3. Wie viele bleiben?",
        "Pedro hat 9 Äpfel und kauft 4 dazu.",
        "Wie viele Äpfel bleiben?",
    ],
    "zh": ["小明有 12 个苹果。他吃了 3 个。还剩几个?", "小明有 9 个苹果, 又买了 4 个。", "还剩几个苹果?"],
}


@pytest.fixture
def probe_files(tmp_path):
    folder = tmp_path / "probe"
    folder.mkdir()
    for lang, questions in QUESTIONS.items():
        (folder / f"mgsm_{lang}.tsv").write_text(
            "".join(f"{q}\t{i}\n" for i, q in enumerate(questions)), encoding="utf-8"
        )
    return folder


def make_recipe(model_dir, probe_dir, layers, languages=("en", "de", "zh"), **probe):
    from harness.recipe import Recipe

    return Recipe.model_validate(
        {
            "name": "select-test",
            "languages": list(languages),
            "model": {"source": str(model_dir)},
            "selection": {"layers": layers, "probe": {"dataset": "mgsm", "path": str(probe_dir), **probe}},
        }
    )


def run(recipe, tmp_path):
    from harness.runs import Run
    from harness.selection.stage import run_select

    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    run_select(recipe, Run.create(tmp_path / "run"), out)
    return out


def test_stage_writes_selection_counts_and_plots(tiny_llama_dir, probe_files, tmp_path):
    from harness.artifacts import Selection, read_artifact
    from harness.selection.probe import ProbeCounts
    from harness.selection.stage import COUNTS_FILE

    recipe = make_recipe(tiny_llama_dir, probe_files, {"policy": "first_k", "k": 2}, always=True, batch_size=2)
    out = run(recipe, tmp_path)
    data = json.loads((out / "selection.json").read_text())
    assert data["model"]["num_layers"] == 4 and data["model"]["d_inter"] == 128
    assert data["languages"] == ["en", "de", "zh"]
    assert data["probe"]["questions_per_language"] == 3 and data["probe"]["firing_share"] == 0.05
    assert len(data["layers"]) == 4
    row = data["layers"][0]
    assert set(row["activation_rate"]) == {"en", "de", "zh"} and set(row["overlap_with_en"]) == {"de", "zh"}
    assert row["average_overlap"] == pytest.approx((row["overlap_with_en"]["de"] + row["overlap_with_en"]["zh"]) / 2)
    assert {"boundary", "theta", "language_specific_layers", "msd_selected", "sensitivity", "definitions"} <= set(data)
    assert [r["firing_share"] for r in data["sensitivity"]] == [0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5]
    assert data["selected_layers"] == [0, 1] and data["sublayers"] == "up_down"
    assert data["parameter_names"]["1"] == ["model.layers.1.mlp.up_proj.weight", "model.layers.1.mlp.down_proj.weight"]
    selection = read_artifact(out / "selection.json", Selection, "")
    assert selection.chosen_layers(out) == [0, 1] and selection.policy.model_dump()["k"] == 2
    assert selection.model is not None and selection.model.num_layers == 4 and selection.boundary == data["boundary"]
    assert ProbeCounts.load(out / COUNTS_FILE).questions == {"en": 3, "de": 3, "zh": 3}
    for name in ("selection.png", "activation_rate.png", "overlap.png", "msd.png"):
        assert (out / name).stat().st_size > 1000


def test_stage_slam_msd_matches_the_statistics(tiny_llama_dir, probe_files, tmp_path):
    from harness.selection import statistics
    from harness.selection.probe import ProbeCounts
    from harness.selection.stage import COUNTS_FILE

    recipe = make_recipe(tiny_llama_dir, probe_files, {"policy": "slam_msd"}, firing_share=0.2)
    try:
        out = run(recipe, tmp_path)
        error = None
    except HarnessError as caught:  # a random model may well have no language-specific layer
        out, error = tmp_path / "out", caught
    data = json.loads((out / "selection.json").read_text())
    counts = ProbeCounts.load(out / COUNTS_FILE)
    analysis = statistics.analyze(counts.fired_tokens, counts.tokens, 0.2)
    assert data["boundary"] == analysis.boundary and data["msd_selected"] == analysis.selected
    if error is None:
        assert data["selected_layers"] == analysis.selected != []
    else:
        assert data["selected_layers"] is None and "selection.layers.policy slam_msd" in data["error"]


def test_stage_bad_inputs(tiny_llama_dir, probe_files, tmp_path):
    with pytest.raises(HarnessError, match=r"selection.layers.k: 40 layers requested but the model has 4"):
        run(make_recipe(tiny_llama_dir, probe_files, {"policy": "first_k", "k": 40}), tmp_path)
    with pytest.raises(HarnessError, match=r"selection.layers.layers: layer\(s\) \[4\] do not exist"):
        run(make_recipe(tiny_llama_dir, probe_files, {"policy": "fixed", "layers": [0, 4]}), tmp_path)
    with pytest.raises(HarnessError, match="selection.probe.dataset 'mgsm'.*mgsm_ja.tsv"):
        run(make_recipe(tiny_llama_dir, probe_files, {"policy": "slam_msd"}, languages=("en", "ja")), tmp_path)
    (probe_files / "mgsm_zh.tsv").write_text("", encoding="utf-8")
    with pytest.raises(HarnessError, match="selection.probe.dataset 'mgsm'.*no questions"):
        run(make_recipe(tiny_llama_dir, probe_files, {"policy": "slam_msd"}), tmp_path)


def test_translation_probe_questions_are_matched_through_english(tmp_path):
    from harness.selection.questions import probe_question_set

    english = ["One apple.", "Two pears.", "Three plums."]
    for lang, lines in {
        "de": ["Ein Apfel.", "Zwei Birnen.", "Drei Pflaumen."],
        "fr": ["Deux poires.", "Trois prunes."],
    }.items():
        folder = tmp_path / f"{lang}-en"
        folder.mkdir()
        (folder / f"train.{lang}").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (folder / "train.en").write_text("\n".join(english[-len(lines) :]) + "\n", encoding="utf-8")
    probe = ProbeConfig(dataset="translation", path=str(tmp_path), n=5)
    questions, info = probe_question_set(probe, ["de", "fr", "en"])
    # only "Two pears." and "Three plums." are translated into both languages
    assert info["parallel"] is True
    assert questions == {
        "de": ["Zwei Birnen.", "Drei Pflaumen."],
        "fr": ["Deux poires.", "Trois prunes."],
        "en": ["Two pears.", "Three plums."],
    }
    assert "fewer than selection.probe.n" in info["note"]
    with pytest.raises(HarnessError, match="selection.probe.dataset 'translation'.*no translation pairs for zh"):
        probe_question_set(probe, ["de", "zh", "en"])
