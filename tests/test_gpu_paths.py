"""Pieces of the GPU path that a CPU can check: each stage hands its memory back before the next
(the select stage's model is collected before the stage finishes; on a GPU its cached blocks then
go back with empty_cache), and exports come out in the trained dtype, not fp32."""

from __future__ import annotations

import gc
import weakref

from test_selection_probe import make_recipe, probe_files, run  # noqa: F401 (fixture)


def test_select_stage_frees_its_model_before_it_writes_the_selection(
    tiny_llama_dir, probe_files, tmp_path, monkeypatch
):
    import harness.models
    import harness.selection.stage as stage

    loaded = []
    real_load = harness.models.load_model

    def load_and_watch(*args, **kwargs):
        model = real_load(*args, **kwargs)
        loaded.append(weakref.ref(model))
        return model

    alive_at_plots = []
    real_plots = stage.write_plots

    def plots_and_check(*args, **kwargs):
        alive_at_plots.append([ref() is not None for ref in loaded])
        return real_plots(*args, **kwargs)

    released = []
    monkeypatch.setattr(harness.models, "load_model", load_and_watch)
    monkeypatch.setattr(harness.models, "release_memory", lambda: (gc.collect(), released.append(True)))
    monkeypatch.setattr(stage, "write_plots", plots_and_check)
    out = run(
        make_recipe(tiny_llama_dir, probe_files, {"policy": "first_k", "k": 2}, always=True, batch_size=2), tmp_path
    )
    assert len(loaded) == 1 and released == [True]
    assert alive_at_plots == [[False]]  # collected while the stage was still running
    assert (out / "selection.json").exists()


def test_a_merged_export_is_saved_in_the_trained_dtype(tiny_llama_dir, tmp_path):
    import torch
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM

    from harness.models.delta import export_merged

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, dtype=torch.float32)
    folder = export_merged(model, None, tmp_path / "merged", dtype=torch.bfloat16)
    with safe_open(str(folder / "model.safetensors"), "pt") as tensors:
        assert {tensors.get_tensor(name).dtype for name in tensors.keys()} == {torch.bfloat16}  # noqa: SIM118 (safe_open has no __iter__)


def test_the_trained_model_for_vllm_is_exported_once_in_the_gpu_dtype(tiny_llama_dir, tmp_path):
    """Under dtype auto the export for vLLM is bf16 (what the GPUs evaluate in), and a second
    call (another worker) reuses it."""
    import torch
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM

    from harness.evaluation.backends import trained_folder
    from harness.models.delta import save_delta
    from harness.recipe import Recipe

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
    name = "model.layers.0.mlp.up_proj.weight"
    train_dir = tmp_path / "train"
    save_delta(model, [name], train_dir, {"base_model": {"source": str(tiny_llama_dir)}})
    recipe = Recipe.model_validate(
        {"name": "export", "languages": ["en"], "model": {"source": str(tiny_llama_dir), "dtype": "auto"}}
    )
    folder = trained_folder(recipe.model, train_dir, tmp_path / "export")
    with safe_open(str(folder / "model.safetensors"), "pt") as tensors:
        assert tensors.get_tensor(name).dtype == torch.bfloat16
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert trained_folder(recipe.model, train_dir, tmp_path / "export") == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp


def test_bf16_without_deepspeed_holds_frozen_weights_in_bf16_and_trainable_in_fp32(
    tiny_llama_dir, tmp_path, monkeypatch
):
    """The one-GPU path without DeepSpeed's overhead (run here with CPU autocast): frozen weights
    bf16, trained ones fp32 (so the delta is fp32), padding counted beside the real tokens."""
    import json
    import math

    import torch
    from test_training_run import make_recipe, make_run, train

    import harness.training.trainer as trainer

    dtypes = {}
    real = trainer.trainable_in_fp32

    def record(model):
        real(model)
        dtypes.update({name: p.dtype for name, p in model.named_parameters()})

    monkeypatch.setattr(trainer, "trainable_in_fp32", record)
    recipe = make_recipe(tiny_llama_dir, precision="bf16", max_steps=2, save="delta", save_steps=100)
    train_dir = train(recipe, make_run(tmp_path / "run"))
    trained = {n for n in dtypes if ".mlp.up_proj" in n or ".mlp.down_proj" in n}
    trained = {n for n in trained if n.startswith(("model.layers.0.", "model.layers.2."))}
    assert {dtypes[n] for n in trained} == {torch.float32}
    assert {dtypes[n] for n in dtypes if n not in trained} == {torch.bfloat16}
    report = json.loads((train_dir / "train.json").read_text())
    assert json.loads((train_dir / "delta.json").read_text())["dtype"] == "float32"
    assert all(math.isfinite(p["loss"]) for p in report["loss_curve"])
    seen = report["tokens_seen"]
    assert seen["padded"] >= seen["non_pad"] > seen["target"] > 0
