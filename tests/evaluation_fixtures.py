"""A dummy lm-eval LM that answers with the gold answer for some questions, and data builders."""

from __future__ import annotations

import json
from collections.abc import Callable

from lm_eval.api.model import LM


class GoldLM(LM):
    """Answers ``generate_until`` requests: right when ``right(doc)``, otherwise without a number.

    Math docs get "... The answer is <gold>." and X-CSQA docs "... so the answer is (<label>).".
    Every request is kept in ``requests`` (context, generation kwargs, doc).
    """

    def __init__(self, right: Callable[[dict], bool] = lambda doc: True):
        super().__init__()
        self.right = right
        self.requests: list[tuple[str, dict, dict]] = []

    def generate_until(self, requests, disable_tqdm: bool = False):
        answers = []
        for request in requests:
            context, kwargs = request.args
            self.requests.append((context, kwargs, request.doc))
            doc = request.doc
            if not self.right(doc):
                answers.append("Let me think. I am not sure about this one.")
            elif "choices" in doc:
                answers.append(f"(A) looks wrong, so the answer is ({doc['answer']}).")
            else:
                answers.append(f"First 2 + 3 = 5. The answer is {doc['answer']}.")
        return answers

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError


def write_mgsm_folder(folder, languages=("en", "de", "bn"), n=6):
    """Parallel MGSM-format files: question i has answer 10 + i in every language."""
    folder.mkdir(parents=True, exist_ok=True)
    for lang in languages:
        rows = "".join(f"[{lang}] Question {i}: what is 10 + {i}?\t{10 + i:,}\n" for i in range(n))
        (folder / f"mgsm_{lang}.tsv").write_text(rows, encoding="utf-8")
    return folder


def write_xcsqa_folder(folder, languages=("en", "fr"), n=4):
    """Parallel X-CSQA files: question i has id q<i> and answer "ABCDE"[i % 5]."""
    for lang in languages:
        (folder / lang).mkdir(parents=True, exist_ok=True)
        rows = [
            {
                "id": f"q{i}",
                "lang": lang,
                "answerKey": "ABCDE"[i % 5],
                "question": {
                    "stem": f"[{lang}] Where is thing {i}?",
                    "choices": [{"label": label, "text": f"place {label}"} for label in "ABCDE"],
                },
            }
            for i in range(n)
        ]
        (folder / lang / "dev.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return folder


class EngineLM(LM):
    """A stand-in for lm-eval's vLLM model: its engine starts a child process (as vLLM's engine
    core does), answers every prompt with its length, and has a chat template."""

    def __init__(self):
        super().__init__()
        import multiprocessing

        engine = multiprocessing.get_context("fork").Process(target=_engine_core)
        engine.start()  # "daemonic processes are not allowed to have children" in a daemonic worker
        engine.join()
        self.engine_exit_code = engine.exitcode

    tokenizer_name = "engine-stand-in"

    def chat_template(self, chat_template=False):
        return "<u>{{content}}</u><a>"

    def apply_chat_template(self, chat_history, add_generation_prompt=True):
        turns = "".join(f"<{turn['role']}>{turn['content']}</{turn['role']}>" for turn in chat_history)
        return turns + ("<assistant>" if add_generation_prompt else "")

    def generate_until(self, requests, disable_tqdm: bool = False):
        return [f"{len(request.args[0])} characters, engine exit {self.engine_exit_code}" for request in requests]

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError


def _engine_core() -> None:
    pass


def engine_lm_factory(job, train_dir, device, export_dir):
    """`harness.evaluation.sharding.ShardedLM`'s ``factory`` for :class:`EngineLM`."""
    return lambda name: (EngineLM(), "stand-in engine")
