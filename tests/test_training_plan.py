"""The trainable plan: the paper's parameter shares from configs alone, exact names, freezing,
memory estimates, `harness plan`, and the settings that must fail clearly."""

from __future__ import annotations

import json

import pytest

from harness.errors import HarnessError


def llama2(size: str):
    """Llama-2 configs from their published numbers (no hub)."""
    from transformers import LlamaConfig

    hidden, inter, layers, heads = {"7B": (4096, 11008, 32, 32), "13B": (5120, 13824, 40, 40)}[size]
    return LlamaConfig(
        hidden_size=hidden,
        intermediate_size=inter,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        vocab_size=32000,
    )


@pytest.mark.parametrize(
    "size,k,sublayers,share",
    [
        ("7B", 6, "up_down", "8.0%"),  # Table 2, SLAM 7B
        ("13B", 6, "up_down", "6.5%"),  # Table 2, SLAM 13B
        ("7B", 5, "up_down", "6.7%"),  # Table 11, RFT+SLAM 7B
        ("13B", 5, "up_down", "5.4%"),  # Table 11, RFT+SLAM 13B
        ("7B", 6, "ffn", "12.0%"),  # with gate_proj: not what the paper counts
    ],
)
def test_llama2_shares_match_the_paper(size, k, sublayers, share):
    from harness.training.plan import build_plan

    plan = build_plan(llama2(size), list(range(k)), sublayers)
    assert f"{plan.share:.1%}" == share
    per_layer = 3 if sublayers == "ffn" else 2
    assert len(plan.names) == k * per_layer
    assert plan.total == {"7B": 6_738_415_616, "13B": 13_015_864_320}[size]


def test_lora_r256_on_every_projection_gives_the_qalign_lora_shares():
    from harness.training.plan import build_plan

    for size, share in (("7B", "8.7%"), ("13B", "7.1%")):
        config = llama2(size)
        plan = build_plan(config, list(range(config.num_hidden_layers)), "ffn_attention", "lora", lora_rank=256)
        assert f"{plan.share:.1%}" == share
        assert plan.total == plan.base_total + plan.trainable


def test_plan_names_are_exact_and_sorted_by_layer():
    from harness.training.plan import build_plan

    plan = build_plan(llama2("7B"), [3, 0], "up_down")
    assert plan.layers == [0, 3]
    assert plan.names == [
        "model.layers.0.mlp.up_proj.weight",
        "model.layers.0.mlp.down_proj.weight",
        "model.layers.3.mlp.up_proj.weight",
        "model.layers.3.mlp.down_proj.weight",
    ]
    assert set(plan.counts.values()) == {4096 * 11008}


def test_memory_estimate_follows_the_zero_model():
    from harness.training.memory import parameter_memory
    from harness.training.plan import build_plan

    plan = build_plan(llama2("7B"), list(range(6)), "up_down")
    memory = parameter_memory(plan, world_size=8)
    p, t = plan.total, plan.trainable
    assert memory["total"] == 2 * p + 2 * t + 12 * t
    assert memory["zero2"]["total"] == pytest.approx(2 * p + 14 * t / 8)
    full = build_plan(llama2("7B"), None, "ffn", "full")
    assert full.share == 1.0 and parameter_memory(full, 8)["total"] == 16 * full.total


GIB = 2**30


def test_activation_estimate_matches_the_peaks_measured_on_an_h100():
    """Llama-2-13B shape, layers 0-5 up+down, 8 x 1024 tokens: ~54 GiB of activations without
    gradient checkpointing and 6.2 GiB with it; Llama-2-7B on one GPU (ZeRO-2, bf16 gradient
    accumulation, as measured): 57.0 GB allocated at the peak (issue 15)."""
    from harness.training.config import TrainingConfig
    from harness.training.memory import BYTES_GRAD_ACCUMULATION, activation_memory, recipe_memory
    from harness.training.plan import build_plan

    plan13 = build_plan(llama2("13B"), list(range(6)), "up_down")
    assert activation_memory(plan13, 8 * 1024)["total"] / GIB == pytest.approx(54, rel=0.02)
    assert activation_memory(plan13, 8 * 1024, checkpointing=True)["total"] / GIB == pytest.approx(6.2, rel=0.02)
    plan7 = build_plan(llama2("7B"), list(range(6)), "up_down")
    training = TrainingConfig(
        deepspeed=True, precision="bf16", per_device_batch_size=8, max_length=1024, global_batch_size=64
    )
    memory = recipe_memory(plan7, training)
    measured_setup = memory["peak"] - BYTES_GRAD_ACCUMULATION * plan7.trainable
    assert measured_setup / 1e9 == pytest.approx(57.0, rel=0.06)
    # the activations grow with the tokens; trained layers keep more
    assert activation_memory(plan7, 16 * 1024)["layers"] == pytest.approx(
        2 * activation_memory(plan7, 8 * 1024)["layers"]
    )
    every = build_plan(llama2("7B"), list(range(32)), "up_down")
    assert activation_memory(every, 1024)["total"] > activation_memory(plan7, 1024)["total"]


def config_folder(tmp_path, size: str):
    """A folder holding only a Llama-2 config.json (what `harness plan` needs)."""
    folder = tmp_path / f"llama2-{size}"
    folder.mkdir()
    llama2(size).save_pretrained(folder)
    return folder


def test_plan_says_when_a_paper_recipe_does_not_fit_its_gpus(tmp_path, capsys):
    from harness.cli import plan_command
    from harness.recipe import load_recipe

    folder = config_folder(tmp_path, "13B")
    recipe = load_recipe("recipes/slam_13b.yaml", [f"model.source={folder}"])
    assert recipe.training.gradient_checkpointing and recipe.training.gpu_memory_gib == 79
    plan_command(recipe, as_json=False, run_dir=tmp_path / "run")
    text = capsys.readouterr().out
    assert "with gradient checkpointing" in text and "fits the recipe's GPUs" in text
    recipe = load_recipe("recipes/slam_13b.yaml", [f"model.source={folder}", "training.gradient_checkpointing=false"])
    plan_command(recipe, as_json=True, run_dir=tmp_path / "run")
    memory = json.loads(capsys.readouterr().out)["memory"]
    assert memory["fits"] is False and memory["peak"] > 79 * GIB
    plan_command(recipe, as_json=False, run_dir=tmp_path / "run")
    assert "DOES NOT FIT the recipe's GPUs" in capsys.readouterr().out


def test_a_layer_the_model_lacks_is_a_clear_error():
    from harness.training.plan import build_plan

    with pytest.raises(HarnessError, match=r"layer\(s\) \[32\] but the model has 32 layers, numbered 0 to 31"):
        build_plan(llama2("7B"), [0, 32], "up_down")


def test_apply_plan_sets_requires_grad_on_every_parameter(tiny_llama_dir):
    from transformers import AutoModelForCausalLM

    from harness.training.plan import apply_plan, build_plan

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
    plan = build_plan(model.config, [1, 3], "up_down", model=model)
    trainable = apply_plan(model, plan)
    assert trainable == plan.names
    for name, param in model.named_parameters():
        expected = name in {
            "model.layers.1.mlp.up_proj.weight",
            "model.layers.1.mlp.down_proj.weight",
            "model.layers.3.mlp.up_proj.weight",
            "model.layers.3.mlp.down_proj.weight",
        }
        assert param.requires_grad is expected, name


def test_apply_plan_names_a_missing_parameter_and_the_choices(tiny_llama_dir):
    from transformers import AutoModelForCausalLM

    from harness.training.plan import apply_plan, build_plan

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
    plan = build_plan(model.config, [0], "up_down", model=model)
    plan.names = ["model.layers.0.mlp.upp_proj.weight"]
    with pytest.raises(
        HarnessError, match=r"not found in the model; choose from: .*model\.layers\.0\.mlp\.up_proj\.weight"
    ):
        apply_plan(model, plan)


def test_meta_plan_equals_the_plan_of_the_real_model(tiny_llama_dir):
    from transformers import AutoConfig, AutoModelForCausalLM

    from harness.training.plan import build_plan

    config = AutoConfig.from_pretrained(tiny_llama_dir)
    real = build_plan(config, [0, 2], "ffn", model=AutoModelForCausalLM.from_pretrained(tiny_llama_dir))
    meta = build_plan(config, [0, 2], "ffn")
    assert (meta.names, meta.counts, meta.total) == (real.names, real.counts, real.total)


# -- harness plan RECIPE ----------------------------------------------------------------------


def recipe_for(tiny_llama_dir, **training):
    from harness.recipe import Recipe

    policy = training.pop("policy", {"policy": "first_k", "k": 2})
    return Recipe.model_validate(
        {
            "name": "plan_test",
            "languages": ["de", "en"],
            "model": {"source": str(tiny_llama_dir)},
            "selection": {"layers": policy},
            "training": training,
        }
    )


def test_plan_command_prints_layers_names_share_and_memory(tiny_llama_dir, capsys):
    from harness.cli import plan_command

    assert plan_command(recipe_for(tiny_llama_dir), as_json=False) == 0
    text = capsys.readouterr().out
    assert "layers: [0, 1]  [policy first_k (from the config)]" in text
    assert "model.layers.1.mlp.down_proj.weight" in text
    assert "ZeRO-2 over 1 GPU(s)" in text


def test_plan_command_json_for_slam_msd_without_and_with_a_selection(tiny_llama_dir, tmp_path, capsys):
    from harness.cli import plan_command

    recipe = recipe_for(tiny_llama_dir, policy={"policy": "slam_msd"})
    plan_command(recipe, as_json=True, run_dir=tmp_path / "none")
    data = json.loads(capsys.readouterr().out)
    assert data["layers"] == [0, 1, 2, 3] and "the activation probe decides" in data["layers_origin"]
    selection = tmp_path / "run" / "selection"
    selection.mkdir(parents=True)
    (selection / "selection.json").write_text(json.dumps({"selected_layers": [2]}))
    plan_command(recipe, as_json=True, run_dir=tmp_path / "run")
    data = json.loads(capsys.readouterr().out)
    assert data["layers"] == [2] and data["names"] == [
        "model.layers.2.mlp.up_proj.weight",
        "model.layers.2.mlp.down_proj.weight",
    ]


def test_world_size_reads_the_hostfile(tmp_path):
    from harness.training.config import TrainingConfig
    from harness.training.nodes import world_size

    hostfile = tmp_path / "hosts"
    hostfile.write_text("# two nodes\nworker-0 slots=8\nworker-1 slots=8\n")
    assert world_size(TrainingConfig(launcher="deepspeed", num_gpus=8, hostfile=str(hostfile))) == 16
    assert world_size(TrainingConfig(launcher="torchrun", num_gpus=4)) == 4
    assert world_size(TrainingConfig()) == 1
    with pytest.raises(HarnessError, match="hostfile .*file not found"):
        world_size(TrainingConfig(launcher="deepspeed", hostfile=str(tmp_path / "missing")))
    hostfile.write_text("worker-0 gpus=8\n")
    with pytest.raises(HarnessError, match="line 1: expected `hostname slots=N`"):
        world_size(TrainingConfig(launcher="deepspeed", hostfile=str(hostfile)))


def test_global_batch_must_divide_exactly():
    from harness.training.config import TrainingConfig
    from harness.training.trainer import gradient_accumulation

    assert gradient_accumulation(TrainingConfig(global_batch_size=512, per_device_batch_size=4), 8) == 16
    with pytest.raises(HarnessError, match="not a multiple of per_device_batch_size 4 x world size 3 = 12"):
        gradient_accumulation(TrainingConfig(global_batch_size=512, per_device_batch_size=4), 3)


def test_deepspeed_config_is_zero2_with_bf16_explicit():
    from harness.training.config import TrainingConfig
    from harness.training.trainer import deepspeed_config

    config = deepspeed_config(TrainingConfig(deepspeed=True), bf16=True, cuda=True)
    assert config["zero_optimization"]["stage"] == 2
    assert config["bf16"] == {"enabled": True}
    assert config["data_types"] == {"grad_accum_dtype": "fp32"}
    assert config["train_micro_batch_size_per_gpu"] == "auto" and "optimizer" not in config


def test_zero3_shards_the_weights_and_offloading_moves_the_optimizer_to_the_cpu():
    from harness.training.config import TrainingConfig
    from harness.training.memory import ZERO3_LIVE_PARAMETERS, recipe_memory, zero_options
    from harness.training.plan import build_plan

    plan = build_plan(llama2("13B"), None, "ffn", "full")
    settings = dict(mode="full", deepspeed=True, launcher="deepspeed", num_gpus=8, precision="bf16")
    settings |= dict(global_batch_size=128, per_device_batch_size=2, max_length=512, gpu_memory_gib=79)
    zero2 = recipe_memory(plan, TrainingConfig(**settings))["estimate"]
    zero3 = recipe_memory(plan, TrainingConfig(**settings, zero_stage=3))
    assert zero2["weights"] == 2 * plan.total  # every GPU holds the whole bf16 model
    assert zero3["estimate"]["weights"] == 2 * plan.total / 8 + 2 * ZERO3_LIVE_PARAMETERS
    assert zero3["estimate"]["optimizer"] == zero2["optimizer"] == 12 * plan.total / 8
    offload = recipe_memory(plan, TrainingConfig(**settings, zero_stage=3, offload_optimizer=True))
    assert offload["estimate"]["optimizer"] == 0 and offload["cpu_offload"] == (12 + 4) * plan.total / 8
    assert "ZeRO-3" in zero3["setup"] and "optimizer offloaded to CPU" in offload["setup"]

    one_gpu = TrainingConfig(**{**settings, "num_gpus": 1}, zero_stage=3)
    rows = {row["setup"]: row for row in zero_options(plan, one_gpu)}
    assert rows["ZeRO-2"]["fits"] is False and rows["ZeRO-3"]["fits"] is False  # 13B full AdamW on one GPU
    assert rows["ZeRO-3 + offload optimizer and parameters"]["fits"] is True and rows["ZeRO-3"]["recipe"]
    memory = recipe_memory(plan, one_gpu)
    assert memory["fits"] is False and "training.zero_stage=2 training.offload_optimizer=true" in memory["advice"]


def test_deepspeed_config_of_zero3_with_offload():
    from harness.training.config import TrainingConfig
    from harness.training.trainer import deepspeed_config

    training = TrainingConfig(deepspeed=True, zero_stage=3, offload_optimizer=True, offload_parameters=True)
    config = deepspeed_config(training, bf16=True, cuda=True)
    zero = config["zero_optimization"]
    assert zero["stage"] == 3 and zero["stage3_gather_16bit_weights_on_model_save"] is True
    assert zero["offload_optimizer"]["device"] == "cpu" and zero["offload_param"]["device"] == "cpu"
    assert config["optimizer"]["type"] == "AdamW"  # DeepSpeed's CPU Adam runs the offloaded update
    with pytest.raises(ValueError, match="offload_parameters needs zero_stage: 3"):
        TrainingConfig(deepspeed=True, offload_parameters=True)
    with pytest.raises(ValueError, match="DeepSpeed settings; set deepspeed: true"):
        TrainingConfig(zero_stage=3)


def test_plan_of_a_chained_recipe_covers_every_stage(tmp_path, capsys):
    from harness.cli import plan_command
    from harness.recipe import load_recipe

    folder = config_folder(tmp_path, "7B")
    recipe = load_recipe("recipes/competitors/qalign_7b.yaml", [f"model.source={folder}"])
    plan_command(recipe, as_json=False, run_dir=tmp_path / "run")
    text = capsys.readouterr().out
    assert "training stage 1/2: question_alignment" in text and "training stage 2/2: training" in text
    assert text.count("<- the recipe's") == 2 and "ZeRO-3 + offload optimizer and parameters" in text
    plan_command(recipe, as_json=True, run_dir=tmp_path / "run")
    stages = json.loads(capsys.readouterr().out)["stages"]
    assert [s["stage"] for s in stages] == ["question_alignment", "training"] and stages[0]["mode"] == "full"
