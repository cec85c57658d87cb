"""Chained training stages (``stages:``) on the tiny random Llama: each stage trains the model the one
before it trained, in a run of its own; a change to stage 1 redoes stage 2, a change to stage 2
leaves stage 1 alone; the trained model is the whole chain; a ``run:`` source names a run's model."""

from __future__ import annotations

import json

import pytest

from harness.errors import HarnessError

pytestmark = pytest.mark.integration

STEPS = {"max_steps": 2, "global_batch_size": 4, "per_device_batch_size": 4, "max_length": 96, "save": "delta"}


def write_metamath(path):
    rows = [
        {
            "query": f"Anna has {n} apples and eats 2. How many are left?",
            "response": f"{n} - 2 = {n - 2}\nThe answer is: {n - 2}",
            "type": "GSM_AnsAug",
        }
        for n in range(3, 11)
    ]
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def chained_recipe(model_dir, data_file, stage1_lr=1e-3, stage2_lr=1e-3):
    from harness.recipe import Recipe

    return Recipe.model_validate(
        {
            "name": "chain_test",
            "languages": ["de", "fr", "en"],
            "model": {"source": str(model_dir)},
            "stages": [
                {
                    "name": "question_alignment",
                    "training": {
                        **STEPS,
                        "mode": "full",
                        "learning_rate": stage1_lr,
                        "data": {"source": "demo", "max_pairs_per_language": 8},
                    },
                }
            ],
            "selection": {"layers": {"policy": "fixed", "layers": [0]}},
            "training": {
                **STEPS,
                "learning_rate": stage2_lr,
                "data": {"kind": "instructions", "source": str(data_file)},
            },
        }
    )


def run_chain(recipe, root):
    from harness.pipeline import open_run, run_pipeline

    run = open_run(recipe, root)
    run_pipeline(recipe, run)
    return run


def output_ids(root):
    from harness.runs import Run

    return (
        Run(root / "stages" / "question_alignment").finished("train").output_id,
        Run(root).finished("train").output_id,
    )


def test_a_change_upstream_redoes_what_depends_on_it_and_nothing_else(tiny_llama_dir, tmp_path):
    import torch

    from harness.models.loading import load_model, load_trained_model

    data = write_metamath(tmp_path / "MetaMathQA-395K.json")
    root = tmp_path / "run"
    recipe = chained_recipe(tiny_llama_dir, data)
    run_chain(recipe, root)
    first = output_ids(root)
    stage1 = root / "stages" / "question_alignment"
    assert json.loads((stage1 / "manifest.json").read_text())["recipe"]["name"] == "chain_test.question_alignment"
    manifest = json.loads((root / "manifest.json").read_text())["recipe"]
    assert manifest["stages"][0]["name"] == "question_alignment"  # the run's recipe, not its train stage's view
    assert manifest["model"]["source"] == str(tiny_llama_dir)
    train = json.loads((root / "train" / "train.json").read_text())
    assert train["data"]["kind"] == "instructions" and train["data"]["examples_total"] == 8

    # the trained model is the chain: stage 2 changed layer 0's FFN of the model stage 1 trained
    base = load_model(recipe.model).state_dict()
    after_stage1 = load_model(recipe.model.model_copy(update={"source": f"run:{stage1}"})).state_dict()
    final = load_trained_model(recipe, root / "train").state_dict()
    attention = "model.layers.1.self_attn.q_proj.weight"
    assert not torch.equal(base[attention], after_stage1[attention])  # stage 1 trained every parameter
    assert torch.equal(final[attention], after_stage1[attention])  # stage 2 left it as stage 1 made it
    up = "model.layers.0.mlp.up_proj.weight"
    assert not torch.equal(final[up], after_stage1[up])

    run_chain(recipe, root)
    assert output_ids(root) == first  # nothing changed: nothing redone

    run_chain(chained_recipe(tiny_llama_dir, data, stage2_lr=5e-4), root)
    second = output_ids(root)
    assert second[0] == first[0] and second[1] != first[1]  # stage 2 changed: stage 1 left alone

    run_chain(chained_recipe(tiny_llama_dir, data, stage1_lr=5e-4, stage2_lr=5e-4), root)
    third = output_ids(root)
    assert third[0] != second[0] and third[1] != second[1]  # stage 1 changed: stage 2 redone too


def test_a_run_source_needs_a_finished_run(tmp_path):
    from harness.models.config import ModelConfig
    from harness.models.loading import load_config

    with pytest.raises(HarnessError, match="is not a harness run .no manifest.json.; run the recipe"):
        load_config(ModelConfig(source=f"run:{tmp_path}"))
