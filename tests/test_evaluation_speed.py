"""Evaluation as fast as its batches allow: one lm-eval call per task over every language (full,
length-sorted batches), and stop strings matched on token ids, not by decoding the batch once per
string at every generated token; the answers stay those of lm-eval's own HFLM."""

from __future__ import annotations

import pytest
from evaluation_fixtures import GoldLM, write_mgsm_folder

from harness.evaluation.config import EvaluationConfig, TaskConfig
from harness.evaluation.runner import resolve_tasks, run_models


class CountingLM(GoldLM):
    """A GoldLM that records the size of each generate_until call."""

    def __init__(self):
        super().__init__()
        self.calls: list[int] = []

    def generate_until(self, requests, disable_tqdm: bool = False):
        self.calls.append(len(requests))
        return super().generate_until(requests, disable_tqdm)


def test_one_lm_eval_call_per_task_covers_every_language(tmp_path):
    """Fails with one call per (model, task, language): [5, 5, 5]."""
    folder = write_mgsm_folder(tmp_path / "mgsm", languages=("en", "de", "bn"), n=5)
    evaluation = EvaluationConfig(tasks=[TaskConfig(name="mgsm", path=str(folder))], models=["base"])
    lm = CountingLM()
    scores = run_models(
        evaluation, resolve_tasks(evaluation, ["en", "de", "bn"]), tmp_path / "out", lambda m: (lm, "t")
    )
    assert lm.calls == [15]
    languages = scores["models"]["base"]["tasks"]["mgsm"]["languages"]
    assert {lang: row["n"] for lang, row in languages.items()} == {"en": 5, "de": 5, "bn": 5}
    assert all(row["correct"] == 5 for row in languages.values())


def test_a_resumed_stage_asks_only_for_the_languages_left(tmp_path):
    import json

    folder = write_mgsm_folder(tmp_path / "mgsm", languages=("en", "de", "bn"), n=4)
    evaluation = EvaluationConfig(tasks=[TaskConfig(name="mgsm", path=str(folder))], models=["base"])
    tasks = resolve_tasks(evaluation, ["en", "de", "bn"])
    out = tmp_path / "out"
    run_models(evaluation, tasks, out, lambda m: (GoldLM(), "t"))
    (out / "scores.json").unlink()  # killed before the end: samples.jsonl kept, parts gone
    lines = [json.loads(line) for line in (out / "mgsm" / "samples.jsonl").read_text().splitlines()]
    (out / "mgsm" / "samples.jsonl").unlink()
    parts = out / "mgsm" / ".parts"
    parts.mkdir(parents=True)
    from harness.runs import write_json

    rows = [row for row in lines if row["lang"] == "en"]
    write_json(parts / "base.en.json", {"model": "base", "lang": "en", "source": "t", "task_version": 1, "rows": rows})
    lm = CountingLM()
    run_models(evaluation, tasks, out, lambda m: (lm, "t"))
    assert lm.calls == [8]  # de and bn, in one call


@pytest.mark.integration
def test_stop_strings_on_token_ids_give_lm_evals_answers_without_decoding_per_step(tiny_llama, monkeypatch):
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    from harness.evaluation.hf_model import HarnessHFLM

    model, tokenizer = tiny_llama
    tokenizer.padding_side = "left"
    prompts = ["Anna hat 12 Äpfel.", "How many apples are left?", "0 1 2 3", "小明有 8 个苹果。"]
    # stop strings the random model writes: answers end early, at different steps
    until = ["1", "e ", "###", "</s>"]
    requests = [
        Instance("generate_until", {}, (p, {"until": until, "max_gen_toks": 24}), i) for i, p in enumerate(prompts)
    ]
    decodes = []
    original = type(tokenizer).batch_decode

    def counting(self, *args, **kwargs):
        decodes.append(1)
        return original(self, *args, **kwargs)

    answers = {}
    for kind in (HFLM, HarnessHFLM):
        lm = kind(pretrained=model, tokenizer=tokenizer, batch_size=4, device="cpu")
        monkeypatch.setattr(type(tokenizer), "batch_decode", counting)
        decodes.clear()
        answers[kind] = lm.generate_until(requests)
        monkeypatch.setattr(type(tokenizer), "batch_decode", original)
        answers[kind, "decodes"] = len(decodes)
    assert answers[HarnessHFLM] == answers[HFLM]
    assert answers[HFLM, "decodes"] > 0 and answers[HarnessHFLM, "decodes"] == 0
