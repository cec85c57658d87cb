"""The training path as a GPU node runs it, held on the CPU: steady-state speed and SLAM's FLOPs
per token in train.json, no attention mask for right-padded batches (same loss), token counts
from the collator (no host sync per micro-batch), the device bound before the model loads,
memory released after training in process, DeepSpeed's accelerator decided by torch."""

from __future__ import annotations

import json
import weakref

import pytest
from test_training_run import make_recipe, make_run, train


@pytest.fixture(scope="module")
def trained_once(tiny_llama_dir, tmp_path_factory, request):
    """One in-process training of 6 steps (checkpoint every 2), watching the model it loads."""
    import harness.models

    loaded = []
    original = harness.models.load_model

    def load_and_watch(*args, **kwargs):
        model = original(*args, **kwargs)
        loaded.append(weakref.ref(model))
        return model

    patch = pytest.MonkeyPatch()
    patch.setattr(harness.models, "load_model", load_and_watch)
    try:
        recipe = make_recipe(tiny_llama_dir, logging_steps=1)
        train_dir = train(recipe, make_run(tmp_path_factory.mktemp("speed") / "run"))
    finally:
        patch.undo()
    return json.loads((train_dir / "train.json").read_text()), loaded


def test_steady_speed_leaves_out_the_first_step_and_the_checkpoint_saves(trained_once):
    report, _ = trained_once
    steady = report["steady"]
    assert steady["steps"] == report["steps"] - 1 == 5  # from the second step on
    assert 0 < steady["tokens"] < report["tokens_seen"]["non_pad"]  # the first step's tokens left out
    assert steady["checkpoint_save_s"] > 0  # saves at steps 2, 4 and 6, timed apart
    assert report["steady_tokens_per_second"] == pytest.approx(steady["tokens"] / steady["seconds"], rel=1e-3)
    assert report["share_of_bf16_peak"] is None and report["peak_bf16_tflops_per_gpu"] is None  # a CPU
    assert "steady_tokens_per_second" in report["loss_curve"][0] or report["steady_tokens_per_second"] > 0


def test_slam_flops_per_token_count_backward_down_to_the_lowest_trained_layer(trained_once, tiny_llama):
    """layers 0 and 2 of 4 trained (up, down): input gradients through every layer from 0 up."""
    report, _ = trained_once
    model, _ = tiny_llama
    h, i, kv, vocab, layers = 64, 128, 32, model.config.vocab_size, 4
    per_layer = 2 * h * h + 2 * h * kv + 3 * h * i  # q, o; k, v; gate, up, down
    n = layers * per_layer + vocab * h  # + lm_head; the embedding does no matmul
    trained = 2 * 2 * h * i
    flops = report["flops"]
    assert (flops["N"], flops["N_above"], flops["T"]) == (n, n, trained)
    assert flops["flops_per_token"] == 2 * n + 2 * n + 2 * trained


def test_flops_backward_stops_at_the_lowest_trained_layer(tiny_llama):
    import copy

    from harness.training.plan import apply_plan, build_plan
    from harness.training.speed import flops_per_token

    model = copy.deepcopy(tiny_llama[0])
    plan = build_plan(model.config, [2, 3], "up_down", model=model)
    apply_plan(model, plan)
    flops = flops_per_token(model, plan)
    h, i, kv = 64, 128, 32
    per_layer = 2 * h * h + 2 * h * kv + 3 * h * i
    head = model.config.vocab_size * h
    assert flops["N_above"] == 2 * per_layer + head and flops["N"] == 4 * per_layer + head
    assert flops["flops_per_token"] == 2 * flops["N"] + 2 * flops["N_above"] + 2 * 2 * 2 * h * i


def test_training_in_process_releases_the_model(trained_once):
    """Dead without a gc of the test's own: the stage collected the Trainer's reference cycles."""
    _, loaded = trained_once
    assert len(loaded) == 1 and loaded[0]() is None


def test_right_padded_batches_have_no_mask_and_the_same_loss(tiny_llama):
    import torch

    from harness.training.data import TOKEN_COUNTS, PadCollator

    model, _ = tiny_llama
    items = [
        {"input_ids": [5, 6, 7, 8, 9, 10], "labels": [-100, -100, 7, 8, 9, 10]},
        {"input_ids": [11, 12, 13], "labels": [-100, 12, 13]},
    ]
    batch = PadCollator(0, count_tokens=True)(items)
    assert "attention_mask" not in batch
    assert batch.pop(TOKEN_COUNTS) == (9, 6, 12)
    mask = (torch.arange(6)[None, :] < torch.tensor([[6], [3]])).long()
    with torch.no_grad():
        without = model(**batch).loss
        masked = model(**batch, attention_mask=mask).loss
    assert torch.allclose(without, masked, atol=1e-6), (without, masked)


def test_counting_tokens_reads_nothing_from_the_device(tiny_llama, tmp_path):
    """Batches on the meta device: any host read of a count (`.item()`, `int()`) would raise."""
    import torch
    from transformers import TrainingArguments

    from harness.training.data import TOKEN_COUNTS
    from harness.training.trainer import _counting_trainer_class

    trainer_class, _, _ = _counting_trainer_class()
    model, _ = tiny_llama
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to=[], logging_nan_inf_filter=False)
    trainer = trainer_class(model=model, args=args)
    batches = [
        {
            "input_ids": torch.ones(2, 5, dtype=torch.long, device="meta"),
            "labels": torch.ones(2, 5, dtype=torch.long, device="meta"),
            TOKEN_COUNTS: (9, 6, 10),
        }
        for _ in range(2)
    ]
    got, _ = trainer.get_batch_samples(iter(batches), 2, torch.device("meta"))
    assert all(TOKEN_COUNTS not in batch for batch in got)  # never reaches the model
    assert trainer.pending[:3] == [18, 12, 20] and trainer.step_tokens == 18
    trainer.flush_counts()
    assert (trainer.state.num_input_tokens_seen, trainer.target_tokens_seen, trainer.padded_tokens_seen) == (18, 12, 20)


def test_the_trainer_runs_without_a_host_sync_per_micro_batch(tiny_llama_dir, tmp_path, monkeypatch):
    """Transformers' NaN filter and its token counting are off (each reads a GPU value per micro-batch)."""
    import transformers

    seen = {}
    original = transformers.TrainingArguments.__init__

    def record(self, *args, **kwargs):
        seen.update(kwargs)
        original(self, *args, **kwargs)

    monkeypatch.setattr(transformers.TrainingArguments, "__init__", record)
    train(make_recipe(tiny_llama_dir, max_steps=1, save_steps=None), make_run(tmp_path / "run"))
    assert seen["logging_nan_inf_filter"] is False
    assert seen.get("include_num_input_tokens_seen", "no") == "no"


def test_a_rank_binds_its_gpu_before_the_model_loads(tiny_llama_dir, tmp_path, monkeypatch):
    import torch

    import harness.models

    calls = []

    class Loaded(Exception):
        pass

    def load(*args, **kwargs):
        calls.append(("load_model", kwargs.get("device")))
        raise Loaded

    monkeypatch.setenv("LOCAL_RANK", "3")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_device", lambda index: calls.append(("set_device", index)))
    monkeypatch.setattr(harness.models, "load_model", load)
    from harness.training.trainer import train_in_process

    run = make_run(tmp_path / "run")
    with pytest.raises(Loaded):
        train_in_process(make_recipe(tiny_llama_dir, precision="fp32"), run, tmp_path / "out")
    assert calls == [("set_device", 3), ("load_model", "cuda:3")]


def test_deepspeeds_accelerator_is_decided_by_torch(monkeypatch):
    import torch

    from harness.training.worker import choose_deepspeed_accelerator

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    env: dict[str, str] = {}
    choose_deepspeed_accelerator(env)  # a GPU without /dev/nvidiactl (WSL2): left to DeepSpeed
    assert "DS_ACCELERATOR" not in env
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    choose_deepspeed_accelerator(env)
    assert env == {"DS_ACCELERATOR": "cpu"}
    env = {"DS_ACCELERATOR": "cuda"}
    choose_deepspeed_accelerator(env)
    assert env == {"DS_ACCELERATOR": "cuda"}


def test_the_plan_counts_overlap_comms_buffers(tiny_llama):
    """ZeRO-2's overlap_comm (on wherever a GPU trains) double-buffers the reduce bucket."""
    from harness.training.config import TrainingConfig
    from harness.training.memory import DEEPSPEED_BUCKETS, recipe_memory
    from harness.training.plan import build_plan

    model, _ = tiny_llama
    plan = build_plan(model.config, [0], "up_down", model=model)
    training = TrainingConfig.model_validate(
        {"deepspeed": True, "precision": "bf16", "global_batch_size": 8, "per_device_batch_size": 8}
    )
    buffers = recipe_memory(plan, training)["estimate"]["buffers"]
    assert buffers == DEEPSPEED_BUCKETS + 200_000_000 * 2 == 1.2e9  # reduce x 2 + all-gather, bf16
