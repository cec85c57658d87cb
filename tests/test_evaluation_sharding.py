"""Evaluation over several processes: the devices each worker gets, workers that may start
processes of their own (vLLM's engine does), the chat template, and the same answers and scores
from two CPU processes as from one."""

from __future__ import annotations

import json

import pytest
from evaluation_fixtures import write_mgsm_folder

from harness.errors import HarnessError


def evaluation(**settings):
    from harness.evaluation.config import EvaluationConfig

    return EvaluationConfig.model_validate({"tasks": [{"name": "mgsm"}], **settings})


def test_one_worker_per_gpu_or_per_vllm_engine():
    from harness.evaluation.sharding import device_groups, needs_workers

    assert device_groups(evaluation(), 8) == [str(i) for i in range(8)]
    assert device_groups(evaluation(), 4, visible="4,5,6,7") == ["4", "5", "6", "7"]
    assert device_groups(evaluation(data_parallel_size=2), 8) == ["0", "1"]
    vllm = evaluation(backend="vllm", tensor_parallel_size=2)
    assert device_groups(vllm, 8) == ["0,1", "2,3", "4,5", "6,7"]
    assert device_groups(evaluation(), 0) == [None] and device_groups(evaluation(data_parallel_size=2), 0) == [
        None,
        None,
    ]
    assert not needs_workers(evaluation(), ["0"]) and needs_workers(evaluation(backend="vllm"), ["0"])
    with pytest.raises(HarnessError, match="needs 6 GPUs; 4 visible"):
        device_groups(evaluation(backend="vllm", tensor_parallel_size=2, data_parallel_size=3), 4)
    with pytest.raises(ValueError, match="tensor_parallel_size is a vLLM setting"):
        evaluation(tensor_parallel_size=2)


def minimal_recipe(tmp_path):
    from harness.recipe import Recipe

    folder = write_mgsm_folder(tmp_path / "mgsm", languages=("en",), n=2)
    return Recipe.model_validate(
        {
            "name": "stand-in",
            "languages": ["en"],
            "model": {"source": str(tmp_path)},
            "evaluation": {"tasks": [{"name": "mgsm", "path": str(folder)}], "models": ["base"]},
        }
    )


def test_a_worker_may_start_a_process_of_its_own_as_vllms_engine_does(tmp_path):
    """Fails with daemonic workers: "daemonic processes are not allowed to have children"."""
    from lm_eval.api.instance import Instance

    from harness.evaluation.backends import EvaluationJob
    from harness.evaluation.sharding import ShardedLM

    job = EvaluationJob.of(minimal_recipe(tmp_path))
    lm = ShardedLM(job, "base", None, [None], tmp_path, factory="evaluation_fixtures:engine_lm_factory")
    try:
        requests = [Instance("generate_until", {}, (prompt, {"until": ["\n"]}), i) for i, prompt in enumerate("ab")]
        assert lm.generate_until(requests) == ["1 characters, engine exit 0"] * 2
        # lm-eval's chat-template calls are answered by the worker's LM
        assert lm.tokenizer_name == "engine-stand-in"
        assert lm.chat_template(True) == "<u>{{content}}</u><a>"
        assert lm.apply_chat_template([{"role": "user", "content": "hi"}]) == "<user>hi</user><assistant>"
    finally:
        lm.close()
    assert all(not process.is_alive() for process, _ in lm._workers)


@pytest.fixture(scope="module")
def chat_llama_dir(tiny_llama_dir, tmp_path_factory):
    """The tiny Llama with a chat template in its tokenizer."""
    import shutil

    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("chat-llama")
    shutil.copytree(tiny_llama_dir, folder, dirs_exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.chat_template = (
        "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}</s>{% endfor %}"
        "{% if add_generation_prompt %}<s>assistant:{% endif %}"
    )
    tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.integration
def test_two_processes_give_the_answers_and_scores_of_one(tmp_path, chat_llama_dir):
    """Float32 on a CPU: the same answers exactly (on a GPU in bf16 at batch > 1, only the order
    is exact). Under the chat template, which lm-eval asks of the sharded LM (NotImplementedError
    before ShardedLM answered tokenizer_name and apply_chat_template)."""
    from harness.evaluation.stage import run_evaluate
    from harness.recipe import Recipe
    from harness.runs import Run

    folder = write_mgsm_folder(tmp_path / "mgsm", languages=("en", "de"), n=5)
    results = {}
    for processes in (1, 2):
        recipe = Recipe.model_validate(
            {
                "name": "sharded-eval",
                "languages": ["en", "de"],
                "model": {"source": str(chat_llama_dir)},
                "evaluation": {
                    "tasks": [{"name": "mgsm", "path": str(folder)}],
                    "models": ["base"],
                    "max_new_tokens": 6,
                    "batch_size": 2,
                    "data_parallel_size": processes,
                    "chat_template": True,
                },
            }
        )
        out = tmp_path / f"run{processes}" / "eval"
        scores = run_evaluate(recipe, Run.create(tmp_path / f"run{processes}"), out)
        samples = [json.loads(line) for line in (out / "mgsm" / "samples.jsonl").read_text().splitlines()]
        results[processes] = scores, samples
    (one, one_samples), (two, two_samples) = results[1], results[2]
    assert two["settings"]["processes"] == 2 and one["settings"]["processes"] == 1
    assert [(s["lang"], s["doc_id"], s["response"]) for s in two_samples] == [
        (s["lang"], s["doc_id"], s["response"]) for s in one_samples
    ]
    assert len(one_samples) == 10 and len({s["response"] for s in one_samples}) > 1
    assert all(s["prompt"].startswith("<s>user: ") and s["prompt"].endswith("<s>assistant:") for s in two_samples)
    assert two["models"]["base"]["tasks"] == one["models"]["base"]["tasks"]
