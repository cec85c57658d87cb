"""Reasoning and instruct models: system prompt, chat template arguments (enable_thinking), the
end-of-reasoning marker and per-model max new tokens; on stand-in thinking outputs and on a tiny
random Qwen3 whose chat template knows `enable_thinking`, through the thinking-model recipe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evaluation_fixtures import GoldLM, write_mgsm_folder

from harness.errors import HarnessError
from harness.evaluation.config import EvaluationConfig, TaskConfig
from harness.evaluation.extraction import score_response
from harness.evaluation.runner import resolve_tasks, run_models

REPO = Path(__file__).resolve().parents[1]
THINKING_RECIPE = REPO / "harness" / "recipes" / "templates" / "qwen3_thinking.yaml"

# Qwen3's chat template, reduced to what decides the prompt: the system turn, the user turns, and
# the empty <think></think> the template writes into the prompt when thinking is switched off.
QWEN3_STYLE_TEMPLATE = (
    "{%- if messages[0].role == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}{%- if message.role != 'system' %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
    "{%- endif %}"
)


class ThinkingLM(GoldLM):
    """Stand-in thinking outputs: question i thinks, then answers right (i % 3 == 0), answers wrong
    after thinking (i % 3 == 1), or is cut while thinking (i % 3 == 2), its reasoning's last number
    being the gold answer (the last-number rule alone would count it right)."""

    tokenizer_name = "thinking-test"

    def chat_template(self, chat_template=False):
        return "test template"

    def apply_chat_template(self, chat_history, add_generation_prompt=True):
        turns = "".join(f"<{turn['role']}>{turn['content']}</{turn['role']}>" for turn in chat_history)
        return turns + ("<assistant>" if add_generation_prompt else "")

    def generate_until(self, requests, disable_tqdm: bool = False):
        answers = []
        for request in requests:
            context, kwargs = request.args
            self.requests.append((context, kwargs, request.doc))
            gold, kind = request.doc["answer"], request.doc["index"] % 3
            thought = f"<think>Let me add: 10 + {request.doc['index']} = {gold}"
            if kind == 0:
                answers.append(f"{thought}. Checked.</think>\nThe answer is {gold}.")
            elif kind == 1:
                answers.append(f"{thought}. Hmm, maybe not.</think>\nThe answer is 7.")
            else:
                answers.append(thought)  # cut by max_new_tokens inside the reasoning
        return answers


def thinking_evaluation(folder, **overrides):
    settings = {
        "tasks": [TaskConfig(name="mgsm", path=str(folder), languages=["en", "de"])],
        "models": ["base"],
        "chat_template": True,
        "chat_template_args": {"enable_thinking": True},
        "system_prompt": "Think, then answer.",
        "reasoning_end": "</think>",
        "max_new_tokens": {"base": 64},
        **overrides,
    }
    return EvaluationConfig(**settings)


# -- extraction ----------------------------------------------------------------------------------


def test_the_answer_is_read_after_the_reasoning_only():
    marker = "</think>"
    assert score_response("math", "<think>2 + 2 = 4</think> So 5.", "5", reasoning_end=marker)["correct"]["paper"]
    cut = score_response("math", "<think>10 + 2 = 12", "12", reasoning_end=marker)
    assert cut == {
        "extracted": {"paper": None, "strict": None},
        "correct": {"paper": False, "strict": False},
        "reasoning_ended": False,
    }
    assert score_response("math", "<think>10 + 2 = 12", "12")["correct"]["paper"]  # without the marker: read
    # the last marker ends the reasoning; the choice task reads its label after it
    assert score_response("choice", "(A)</think>(B)</think> so (C)", "C", reasoning_end=marker)["correct"]["paper"]


def test_recipe_checks_the_reasoning_settings():
    with pytest.raises(ValueError, match="chat_template_args are passed to the chat template"):
        EvaluationConfig(tasks=[TaskConfig(name="mgsm")], chat_template_args={"enable_thinking": True})
    with pytest.raises(ValueError, match="enable_thinking is false"):
        EvaluationConfig(
            tasks=[TaskConfig(name="mgsm")],
            chat_template=True,
            chat_template_args={"enable_thinking": False},
            reasoning_end="</think>",
        )
    config = EvaluationConfig(tasks=[TaskConfig(name="mgsm")], max_new_tokens={"base": 4096})
    assert (config.new_tokens("base"), config.new_tokens("trained")) == (4096, 512)


# -- the runner on stand-in thinking outputs -----------------------------------------------------


def test_a_response_cut_inside_its_reasoning_is_scored_wrong_and_counted(tmp_path):
    folder = write_mgsm_folder(tmp_path / "mgsm", languages=("en", "de"), n=6)
    evaluation = thinking_evaluation(folder)
    lm = ThinkingLM()
    out = tmp_path / "eval"
    scores = run_models(evaluation, resolve_tasks(evaluation, ["en", "de"]), out, lambda m: (lm, "test:thinker"))

    settings = scores["settings"]
    assert settings["system_prompt"] == "Think, then answer."
    assert settings["chat_template_args"] == {"enable_thinking": True}
    assert settings["reasoning_end"] == "</think>"
    assert scores["models"]["base"]["max_new_tokens"] == 64
    assert all(kwargs["max_gen_toks"] == 64 for _, kwargs, _ in lm.requests)
    assert all(context.startswith("<system>Think, then answer.</system><user>") for context, _, _ in lm.requests)
    en = scores["models"]["base"]["tasks"]["mgsm"]["languages"]["en"]
    # questions 0, 3 right; 1, 4 wrong after thinking; 2, 5 cut while thinking (gold in the reasoning)
    assert (en["correct"], en["n"], en["reasoning_unfinished"]) == (2, 6, 2)

    rows = [json.loads(line) for line in (out / "mgsm" / "samples.jsonl").read_text().splitlines()]
    cut = next(row for row in rows if row["lang"] == "en" and row["doc_id"] == 2)
    assert cut["response"] == "<think>Let me add: 10 + 2 = 12" and cut["reasoning_ended"] is False
    assert cut["correct"] == {"paper": False, "strict": False} and cut["extracted"]["paper"] is None
    # lm-eval's own metric (the task hook) reads the answer the same way
    results = json.loads(next((out / "lm_eval" / "base").glob("results_*.json")).read_text())
    assert results["results"]["slam_mgsm_en"]["acc,none"] == pytest.approx(2 / 6)


def test_harness_score_reads_after_the_marker(tmp_path, capsys):
    from harness.cli import main

    folder = write_mgsm_folder(tmp_path / "mgsm", languages=("en",), n=3)
    lines = [
        {"lang": "en", "index": 0, "response": "<think>10 + 0 = 10</think> The answer is 10."},
        {"lang": "en", "index": 1, "response": "<think>10 + 1 = 11"},
        {"lang": "en", "index": 2, "response": "<think>hmm</think> 12"},
    ]
    file = tmp_path / "generations.jsonl"
    file.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert main(["score", str(file), "--task", "mgsm", "--path", str(folder), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["languages"]["en"]["correct"] == 3
    args = ["score", str(file), "--task", "mgsm", "--path", str(folder), "--reasoning-end", "</think>"]
    assert main([*args, "--json"]) == 0
    en = json.loads(capsys.readouterr().out)["languages"]["en"]
    assert (en["correct"], en["reasoning_unfinished"]) == (2, 1)
    assert main(args) == 0
    assert "scored wrong: en 1" in capsys.readouterr().out


# -- compare and leaderboard keep differently prompted runs apart ---------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("system_prompt", "Be brief."),
        ("chat_template_args", {"enable_thinking": True}),
        ("reasoning_end", "</think>"),
    ],
)
def test_compare_and_leaderboard_refuse_runs_prompted_differently(tmp_path, field, value):
    from reporting_fixtures import make_run

    from harness.reporting.compare import compare_sides
    from harness.reporting.leaderboard import load_entries, partition

    scores = {"mgsm": {"trained": {"en": 200, "de": 180}}}
    old, new = make_run(tmp_path / "old", scores), make_run(tmp_path / "new", scores)
    path = new / "eval" / "scores.json"
    data = json.loads(path.read_text())
    data.setdefault("settings", {})[field] = value
    path.write_text(json.dumps(data))
    with pytest.raises(HarnessError, match=rf"refusing to compare: evaluation.{field} differs"):
        compare_sides(str(new), str(old), 1.0)
    groups = partition(load_entries([str(old), str(new)]), "mgsm")
    assert len(groups) == 2 and groups[1][1][0].startswith(f"evaluation.{field}:")


def test_compare_refuses_different_token_budgets(tmp_path):
    from reporting_fixtures import make_run

    from harness.reporting.compare import compare_sides

    scores = {"mgsm": {"base": {"en": 200}, "trained": {"en": 190}}}
    run = make_run(tmp_path / "run", scores)
    path = run / "eval" / "scores.json"
    data = json.loads(path.read_text())
    data["models"]["base"]["max_new_tokens"], data["models"]["trained"]["max_new_tokens"] = 4096, 512
    path.write_text(json.dumps(data))
    with pytest.raises(HarnessError, match=r"evaluation.max_new_tokens differs \(.*512.*4096\)"):
        compare_sides(f"{run}:trained", f"{run}:base", 1.0)


# -- the thinking-model recipe on a tiny random Qwen3 ---------------------------------------------


@pytest.fixture(scope="module")
def tiny_qwen3_dir(tmp_path_factory):
    """A saved tiny random Qwen3 with a chat template that knows `enable_thinking`."""
    import torch
    from conftest import build_tiny_tokenizer
    from transformers import Qwen3Config, Qwen3ForCausalLM

    tokenizer = build_tiny_tokenizer()
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>", "<think>", "</think>"]})
    tokenizer.chat_template = QWEN3_STYLE_TEMPLATE
    torch.manual_seed(0)
    config = Qwen3Config(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        vocab_size=len(tokenizer),
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    folder = tmp_path_factory.mktemp("tiny-qwen3")
    Qwen3ForCausalLM(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.integration
def test_the_thinking_recipe_on_a_tiny_qwen3(tmp_path, tiny_qwen3_dir):
    from harness.evaluation.stage import run_evaluate
    from harness.recipe import load_recipe
    from harness.runs import Run

    folder = write_mgsm_folder(tmp_path / "mgsm", languages=("en", "de"), n=2)
    recipe = load_recipe(
        THINKING_RECIPE,
        [
            f"model.source={tiny_qwen3_dir}",
            "model.dtype=float32",
            "languages=[en, de]",
            "evaluation.models=[base]",
            f"evaluation.tasks=[{{name: mgsm, path: {folder}}}]",
            "evaluation.batch_size=2",
            "evaluation.max_new_tokens.base=6",
        ],
    )
    out = tmp_path / "run" / "eval"
    scores = run_evaluate(recipe, Run.create(tmp_path / "run"), out)
    settings = scores["settings"]
    assert settings["chat_template"] is True and settings["chat_template_args"] == {"enable_thinking": True}
    assert settings["reasoning_end"] == "</think>" and settings["system_prompt"].startswith("Solve the problem.")
    assert scores["models"]["base"]["max_new_tokens"] == 6
    rows = [json.loads(line) for line in (out / "mgsm" / "samples.jsonl").read_text().splitlines()]
    # the tokenizer's own template: system turn, user turn, the assistant turn open to think in
    assert all(row["prompt"].startswith("<|im_start|>system\nSolve the problem.") for row in rows)
    assert all(row["prompt"].endswith("<|im_start|>assistant\n") for row in rows)
    # six random tokens never close a thought: every answer is still reasoning, scored wrong
    assert all(row["reasoning_ended"] is False and not row["correct"]["paper"] for row in rows)
    en = scores["models"]["base"]["tasks"]["mgsm"]["languages"]["en"]
    assert (en["n"], en["correct"], en["reasoning_unfinished"]) == (2, 0, 2)


def test_enable_thinking_false_closes_the_reasoning_in_the_prompt(tiny_qwen3_dir):
    """What lm-eval's `chat_template_args` do to the tiny Qwen3's prompt (why reasoning_end must
    then be dropped)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen3_dir)
    turn = [{"role": "user", "content": "1 + 1?"}]
    on = tokenizer.apply_chat_template(turn, tokenize=False, add_generation_prompt=True, enable_thinking=True)
    off = tokenizer.apply_chat_template(turn, tokenize=False, add_generation_prompt=True, enable_thinking=False)
    assert on.endswith("<|im_start|>assistant\n") and off.endswith("<think>\n\n</think>\n\n")
