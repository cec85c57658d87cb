"""DeepSpeed ZeRO-2 on the CPU (gloo), through the real launcher: the generated config and the
`deepspeed --module harness.training.worker` path, against the plain Trainer on the same data.

The first DeepSpeed run on a machine JIT-compiles its shared-memory communication op with g++
(about 70 s on 2 cores); it is cached outside the checkout, under harness's cache folder
(``~/.cache/harness/torch_extensions``), so later runs take seconds. Set TORCH_EXTENSIONS_DIR to
put it elsewhere.
"""

from __future__ import annotations

import json
import os

import pytest
from test_training_run import make_recipe, make_run, train

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def extensions_cache(monkeypatch):
    from harness.models.loading import cache_root

    monkeypatch.setenv(
        "TORCH_EXTENSIONS_DIR", os.environ.get("TORCH_EXTENSIONS_DIR") or str(cache_root() / "torch_extensions")
    )


def test_zero2_through_the_deepspeed_launcher_matches_plain_trainer(tiny_llama_dir, tmp_path):
    settings = {"max_steps": 3, "save": "delta", "save_steps": 100}
    plain = train(make_recipe(tiny_llama_dir, **settings), make_run(tmp_path / "plain"))
    recipe = make_recipe(tiny_llama_dir, deepspeed=True, launcher="deepspeed", num_gpus=1, **settings)
    zero2 = train(recipe, make_run(tmp_path / "zero2"))

    config = json.loads((zero2 / "deepspeed.json").read_text())
    assert config["zero_optimization"]["stage"] == 2 and config["bf16"] == {"enabled": False}  # fp32 on a CPU
    report = json.loads((zero2 / "train.json").read_text())
    assert report["hyperparameters"]["deepspeed"] is True and report["hyperparameters"]["launcher"] == "deepspeed"
    assert report["hyperparameters"]["world_size"] == 1
    reference = json.loads((plain / "train.json").read_text())
    losses = [p["loss"] for p in report["loss_curve"]]
    assert losses == pytest.approx([p["loss"] for p in reference["loss_curve"]], rel=1e-4)
    assert report["tokens_seen"] == reference["tokens_seen"]
    assert set(json.loads((zero2 / "delta.json").read_text())["names"]) == set(report["plan"]["names"])


def test_deepspeed_in_one_process_without_a_launcher(tiny_llama_dir, tmp_path):
    recipe = make_recipe(tiny_llama_dir, deepspeed=True, max_steps=2, save="delta", save_steps=100)
    train_dir = train(recipe, make_run(tmp_path / "run"))
    report = json.loads((train_dir / "train.json").read_text())
    assert report["hyperparameters"]["zero_stage"] == 2 and report["steps"] == 2


def test_zero3_full_fine_tuning_saves_whole_weights(tiny_llama_dir, tmp_path):
    import torch
    from test_training_run import state_dict

    settings = {"max_steps": 2, "save": "both", "save_steps": 100, "mode": "full"}
    plain = train(make_recipe(tiny_llama_dir, **settings), make_run(tmp_path / "plain"))
    zero3 = train(make_recipe(tiny_llama_dir, deepspeed=True, zero_stage=3, **settings), make_run(tmp_path / "zero3"))

    zero = json.loads((zero3 / "deepspeed.json").read_text())["zero_optimization"]
    assert zero["stage"] == 3 and zero["stage3_gather_16bit_weights_on_model_save"] is True
    report = json.loads((zero3 / "train.json").read_text())
    reference = json.loads((plain / "train.json").read_text())
    assert report["hyperparameters"]["zero_stage"] == 3
    assert [p["loss"] for p in report["loss_curve"]] == pytest.approx(
        [p["loss"] for p in reference["loss_curve"]], rel=1e-4
    )
    expected, merged = state_dict(plain / "merged"), state_dict(zero3 / "merged")
    assert expected.keys() == merged.keys()
    for name, tensor in expected.items():  # whole tensors, trained as the plain Trainer trains them
        assert merged[name].shape == tensor.shape and torch.allclose(merged[name], tensor, atol=1e-5), name
    from safetensors.torch import load_file

    delta = load_file(str(zero3 / "delta.safetensors"))
    assert all(delta[name].shape == expected[name].shape for name in delta) and len(delta) == len(
        report["plan"]["names"]
    )


def test_the_settings_a_gpu_gets_overlap_comm_checkpoints_without_frozen_weights_and_resume(
    tiny_llama_dir, tmp_path, monkeypatch
):
    """deepspeed.json as a GPU gets it (overlap_comm with fp32 gradient accumulation), run on the
    CPU: the losses of the plain Trainer, checkpoints that leave the frozen weights out, and a
    run resumed from one of them that ends where the uninterrupted one did."""
    import shutil

    from harness.training import stage

    gpu_config = stage.deepspeed_config
    monkeypatch.setattr(stage, "deepspeed_config", lambda training, bf16, cuda: gpu_config(training, bf16, True))
    settings = {"max_steps": 4, "save": "delta", "save_steps": 2}
    plain = train(make_recipe(tiny_llama_dir, **settings), make_run(tmp_path / "plain"))
    recipe = make_recipe(tiny_llama_dir, deepspeed=True, keep_checkpoints=True, **settings)
    whole = train(recipe, make_run(tmp_path / "whole"))

    zero = json.loads((whole / "deepspeed.json").read_text())
    assert zero["zero_optimization"]["overlap_comm"] is True and zero["data_types"]["grad_accum_dtype"] == "fp32"
    report = json.loads((whole / "train.json").read_text())
    reference = json.loads((plain / "train.json").read_text())
    assert [p["loss"] for p in report["loss_curve"]] == pytest.approx(
        [p["loss"] for p in reference["loss_curve"]], rel=1e-4
    )
    checkpoint = whole / "checkpoints" / "checkpoint-2"
    module_files = list(checkpoint.rglob("*model_states.pt"))
    assert module_files, sorted(p.name for p in checkpoint.rglob("*"))
    import torch

    saved = torch.load(module_files[0], map_location="cpu", weights_only=False)["module"]
    assert set(saved) == set(report["plan"]["names"])  # the trained tensors only, no frozen weight

    resumed_run = make_run(tmp_path / "resumed")
    partial = resumed_run.partial_dir("train")
    (partial / "checkpoints").mkdir(parents=True)
    shutil.copytree(checkpoint, partial / "checkpoints" / "checkpoint-2")
    from harness.runs import ATTEMPT, write_json

    write_json(partial / ATTEMPT, {"fingerprint": "test-train"})  # an attempt of the same inputs, killed
    resumed = json.loads((train(recipe, resumed_run) / "train.json").read_text())
    assert resumed["resumed_from"] == "checkpoint-2" and resumed["steps"] == 4
    assert [p["loss"] for p in resumed["loss_curve"]] == pytest.approx(
        [p["loss"] for p in report["loss_curve"]], rel=1e-4
    )
    assert resumed["tokens_seen"] == report["tokens_seen"]
