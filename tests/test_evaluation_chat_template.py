"""`evaluation.chat_template`: prompts go through lm-eval's apply_chat_template (a math question on
its own as the user turn), and scores.json says so."""

from __future__ import annotations

from evaluation_fixtures import GoldLM, write_mgsm_folder

from harness.evaluation.config import EvaluationConfig, TaskConfig
from harness.evaluation.runner import resolve_tasks, run_models


class ChatLM(GoldLM):
    """A GoldLM with a chat template: <user>...</user><assistant>."""

    tokenizer_name = "chat-test"

    def chat_template(self, chat_template=False):
        return "test template"

    def apply_chat_template(self, chat_history, add_generation_prompt=True):
        turns = "".join(f"<{turn['role']}>{turn['content']}</{turn['role']}>" for turn in chat_history)
        return turns + ("<assistant>" if add_generation_prompt else "")


def run(tmp_path, chat_template: bool):
    folder = write_mgsm_folder(tmp_path / "mgsm", languages=("en", "de"), n=3)
    evaluation = EvaluationConfig(
        tasks=[TaskConfig(name="mgsm", path=str(folder))],
        models=["base"],
        max_new_tokens=16,
        chat_template=chat_template,
    )
    lm = ChatLM()
    scores = run_models(
        evaluation,
        resolve_tasks(evaluation, ["en", "de"]),
        tmp_path / f"out-{chat_template}",
        lambda model: (lm, "test:chat"),
    )
    return scores, [context for context, _, _ in lm.requests]


def test_the_chat_template_wraps_every_prompt_and_is_recorded(tmp_path):
    scores, contexts = run(tmp_path, chat_template=True)
    assert scores["settings"]["chat_template"] is True
    assert len(contexts) == 6
    # A math question is the user turn on its own: the chat format replaces the Alpaca scaffold.
    assert all(c.startswith("<user>") and c.endswith("</user><assistant>") for c in contexts)
    assert not any("Below is an instruction" in c for c in contexts)
    assert scores["settings"]["math_prompt"] == "{{question}} in the model's chat template"
    assert scores["models"]["base"]["tasks"]["mgsm"]["languages"]["en"]["accuracy"] == 100.0


def test_without_it_the_prompt_is_the_papers(tmp_path):
    scores, contexts = run(tmp_path, chat_template=False)
    assert scores["settings"]["chat_template"] is False
    assert all(c.startswith("Below is an instruction") and "<user>" not in c for c in contexts)


def test_a_log_gets_one_line_per_language_and_no_lm_eval_bars(tmp_path, tiny_llama_dir, capfd):
    from evaluation_fixtures import write_mgsm_folder as mgsm

    from harness.evaluation.stage import run_evaluate
    from harness.recipe import Recipe
    from harness.runs import Run

    folder = mgsm(tmp_path / "data", languages=("en", "de"), n=2)
    recipe = Recipe.model_validate(
        {
            "name": "tiny-log",
            "languages": ["en", "de"],
            "model": {"source": str(tiny_llama_dir)},
            "evaluation": {
                "tasks": [{"name": "mgsm", "path": str(folder)}],
                "models": ["base"],
                "max_new_tokens": 4,
                "batch_size": 2,
            },
        }
    )
    run_evaluate(recipe, Run.create(tmp_path / "run"), tmp_path / "run" / "eval")
    err = capfd.readouterr().err
    assert "Running generate_until requests" not in err and "Building contexts" not in err
    assert [line.split(":")[0] for line in err.splitlines() if line.startswith("evaluate ")] == [
        "evaluate base mgsm en",
        "evaluate base mgsm de",
    ]
