"""The train stage itself on a random Llama-2-7B-shaped model: tokens/s and share of the GPU's peak.

    python benchmarks/gpu_train_stage.py                       # a GPU machine: 7B shape, bf16
    python benchmarks/gpu_train_stage.py --data /data/pairs.jsonl --steps 8
    python benchmarks/gpu_train_stage.py --tiny --steps 2      # smoke run on a CPU (fp32)

What runs is the harness's `train` stage (``run_train``: the data pipeline, the plan, the
Trainer, DeepSpeed when asked, train.json), as `harness run` would, on a LlamaForCausalLM with
random weights in the Llama-2-7B shape (hidden 4096, intermediate 11008, 32 layers, 32 heads,
vocab 32000), saved once to a temporary folder. SLAM's plan: up_proj + down_proj of layers 0-5,
global batch 64, per-device batch 8, max length 1024 (the paper's settings, fewer steps).

Data: ``--data`` (any ``training.data.source``: a JSONL of lang/source/target pairs, a
line-parallel folder, ...; the real MGSM8KInstruct pairs are what the paper trains on) or the
demo pairs that ship with the harness (short questions: padding and attention cost less than
with real question+answer pairs). Tokenizer: ``--tokenizer`` (a folder), else a byte-level BPE
trained here on the data's text (no download), which cuts text into fewer tokens than Llama-2's.

Configurations (each in a fresh process, so each peak memory is its own):
- ``launcher``: ZeRO-2, bf16, through the ``deepspeed`` launcher on every visible GPU (what the
  paper recipes run);
- ``deepspeed``: ZeRO-2, bf16, one process without a launcher;
- ``plain``: the Trainer without DeepSpeed, frozen weights bf16, trained ones fp32 (one GPU);
- ``plain_ckpt``: the same with gradient checkpointing (what the 13B recipes need).

Reported per configuration: steps, steady-state non-padding tokens/s (train.json's
``steady_tokens_per_second``: from the second step on, synchronized, checkpoint saves apart)
beside the Trainer's overall figure, the share of padding among computed tokens, SLAM's FLOPs
per non-padding token (harness/training/speed.py: 2 N + 2 N_above + 2 T) and their share of the
GPUs' dense bf16 peak, CUDA peak allocated memory against `harness plan`'s estimate, the losses.

Data sides: ``--sides questions`` (default; the demo pairs and QAlign's question folders have
questions only) or ``both`` for pairs that carry answers too. The JSON goes to $OUT/gpu_train_stage.json when $OUT
is set (the device tool).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHAPE_7B = {
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "vocab_size": 32000,
}
TINY = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 8,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 2000,
}
CONFIGS = {
    "launcher": {"deepspeed": True, "launcher": "deepspeed"},
    "deepspeed": {"deepspeed": True},
    "plain": {"deepspeed": False},
    "plain_ckpt": {"deepspeed": False, "gradient_checkpointing": True},
}
LAYERS = list(range(6))


def build_model(folder: Path, shape: dict, data: str, tokenizer_dir: str | None) -> None:
    """A random-weight Llama of ``shape`` and a tokenizer, saved to ``folder``."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    cuda = torch.cuda.is_available()
    if tokenizer_dir:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    else:
        tokenizer = train_tokenizer(data, shape["vocab_size"])
    config = LlamaConfig(
        **{**shape, "vocab_size": max(shape["vocab_size"], len(tokenizer))},
        max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    dtype = torch.bfloat16 if cuda else torch.float32
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device("cuda" if cuda else "cpu"):
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    del model
    if cuda:
        torch.cuda.empty_cache()


def train_tokenizer(data: str, vocab: int):
    """A byte-level BPE trained on the data's source and English text (no download)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from harness.training.config import TranslationDataConfig
    from harness.training.data import load_pairs

    languages = ["bn", "th", "sw", "ja", "zh", "de", "fr", "ru", "es"]
    pairs = load_pairs(TranslationDataConfig(source=data, missing_languages="skip"), languages).pairs
    text = [side for items in pairs.values() for pair in items for side in (pair.source, pair.target)]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab, special_tokens=["<unk>", "<s>", "</s>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(text, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="</s>"
    )


def run_config(name: str, args) -> dict:
    """One configuration: the train stage in this process, its train.json and derived figures."""
    import torch

    from harness.recipe import Recipe
    from harness.runs import Run, write_json
    from harness.training.plan import build_plan
    from harness.training.stage import run_train

    cuda = torch.cuda.is_available()
    gpus = torch.cuda.device_count() if name == "launcher" and cuda else 1
    training = {
        # the demo folder has question translations only; real pairs: questions and answers (the paper)
        "data": {"source": args.data, "missing_languages": "skip", "sides": args.sides},
        "max_steps": args.steps,
        "global_batch_size": args.global_batch,
        "num_gpus": gpus,
        "per_device_batch_size": args.batch,
        "max_length": args.max_length,
        "precision": "bf16" if cuda else "fp32",
        "save": "delta",
        "save_steps": 10_000,
        "logging_steps": 1,
        **CONFIGS[name],
    }
    recipe = Recipe.model_validate(
        {
            "name": f"gpu-train-stage-{name}",
            "languages": ["bn", "th", "sw", "ja", "zh", "de", "fr", "ru", "es", "en"],
            "model": {"source": args.model_dir, "dtype": "bfloat16" if cuda else "float32"},
            "selection": {"layers": {"policy": "fixed", "layers": LAYERS}, "sublayers": "up_down"},
            "training": training,
        }
    )
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        run = Run.create(Path(tmp) / "run")
        with run.stage("select", "benchmark") as out:
            write_json(out / "selection.json", {"selected_layers": LAYERS})
        started = time.time()
        with run.stage("train", "benchmark") as out:
            run_train(recipe, run, out)
        wall = time.time() - started
        report = json.loads((run.stage_dir("train") / "train.json").read_text())
    from transformers import AutoConfig

    from harness.training.memory import recipe_memory

    plan = build_plan(AutoConfig.from_pretrained(args.model_dir), LAYERS, "up_down")
    estimate = recipe_memory(plan, recipe.training)  # what `harness plan` prints for this recipe
    seen = report["tokens_seen"]
    steady = report["steady_tokens_per_second"]
    flops = report["flops"]["flops_per_token"]
    share = report["share_of_bf16_peak"]
    if args.peak_tflops and steady:
        share = steady * flops / (args.peak_tflops * 1e12 * gpus)
    return {
        "config": name,
        "device": report.get("device_name"),
        "gpus": gpus,
        "steps": report["steps"],
        "train_runtime_s": report["train_runtime_s"],
        "stage_wall_s": round(wall, 1),
        "non_pad_tokens": seen["non_pad"],
        "padded_tokens": seen.get("padded"),
        "padding_share": 1 - seen["non_pad"] / seen["padded"] if seen.get("padded") else None,
        "overall_tokens_per_s": report["throughput_tokens_per_s"],  # Trainer runtime: warm-up and saves in
        "steady_tokens_per_s": steady,
        "steady": report["steady"],
        "flops_per_token": flops,
        "share_of_peak": share,
        "cuda_peak_bytes": report["peak_memory"]["cuda_max_allocated_bytes"],
        "plan_estimate_bytes": estimate["peak"],
        "loss_curve": [p["loss"] for p in report["loss_curve"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default="deepspeed,plain", help=f"comma list of {', '.join(CONFIGS)}")
    parser.add_argument("--steps", type=int, default=6, help="optimizer steps per configuration")
    parser.add_argument("--global-batch", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8, help="per-device batch")
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--data", default="demo", help="training.data.source (default: the demo pairs)")
    parser.add_argument("--sides", default="questions", choices=["questions", "both"], help="training.data.sides")
    parser.add_argument("--tokenizer", help="a tokenizer folder (default: a BPE trained on the data)")
    parser.add_argument("--model-dir", help="an existing model folder (default: build the random 7B shape)")
    parser.add_argument("--peak-tflops", type=float, help="the GPU's dense bf16 peak, if not in the table")
    parser.add_argument("--tiny", action="store_true", help="a tiny model (smoke run on a CPU)")
    parser.add_argument("--work", default=None, help="folder for the model and runs (default: a temp folder)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print("RESULT " + json.dumps(run_config(args.one, args)), flush=True)
        return

    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration(s) {unknown}; choose from {', '.join(CONFIGS)}")
    with tempfile.TemporaryDirectory(dir=args.work) as work:
        if not args.model_dir:
            args.model_dir = str(Path(work) / "model")
            started = time.time()
            build_model(Path(args.model_dir), TINY if args.tiny else SHAPE_7B, args.data, args.tokenizer)
            print(f"random model built and saved in {time.time() - started:.0f} s", flush=True)
        results = []
        for name in names:
            command = [
                sys.executable,
                __file__,
                "--one",
                name,
                "--model-dir",
                args.model_dir,
                "--work",
                work,
                "--steps",
                str(args.steps),
                "--global-batch",
                str(args.global_batch),
                "--batch",
                str(args.batch),
                "--max-length",
                str(args.max_length),
                "--data",
                args.data,
                "--sides",
                args.sides,
            ]
            if args.peak_tflops:
                command += ["--peak-tflops", str(args.peak_tflops)]
            done = subprocess.run(command, capture_output=True, text=True)
            line = next((out for out in done.stdout.splitlines() if out.startswith("RESULT ")), None)
            if done.returncode != 0 or line is None:
                print(f"{name}: FAILED (exit {done.returncode})\n{done.stderr[-3000:]}", file=sys.stderr)
                results.append({"config": name, "error": done.stderr[-3000:]})
                continue
            results.append(json.loads(line[len("RESULT ") :]))

    gib = 2**30
    ok = [r for r in results if "error" not in r]
    if ok:
        print(
            f"device: {ok[0]['device']}; model {args.model_dir if args.model_dir else ''}; "
            f"{args.global_batch} x {args.max_length} max tokens per step, "
            f"per-device batch {args.batch}, {args.steps} steps"
        )
        print(
            f"{'config':<10}{'gpus':>5}{'steady tok/s':>13}{'overall':>9}{'padding':>9}{'of peak':>9}"
            f"{'CUDA peak':>11}{'plan':>9}  losses"
        )
        for r in ok:
            share = f"{r['share_of_peak']:.1%}" if r["share_of_peak"] is not None else "n/a"
            padding = f"{r['padding_share']:.0%}" if r["padding_share"] is not None else "n/a"
            cuda_peak = f"{r['cuda_peak_bytes'] / gib:.1f}G" if r["cuda_peak_bytes"] else "n/a"
            steady = f"{r['steady_tokens_per_s']:,.0f}" if r["steady_tokens_per_s"] else "n/a"
            print(
                f"{r['config']:<10}{r['gpus']:>5}{steady:>13}{r['overall_tokens_per_s']:>9,.0f}{padding:>9}{share:>9}"
                f"{cuda_peak:>11}{r['plan_estimate_bytes'] / gib:>8.1f}G  "
                f"{', '.join(f'{x:.4f}' for x in r['loss_curve'])}"
            )
        print("steady: optimizer steps from the second on, synchronized, checkpoint saves apart; FLOPs per token")
        print("  2 N + 2 N_above + 2 T (forward; input gradients down to the lowest trained layer; trained weights)")
        by_name = {r["config"]: r for r in ok}
        for name in ("launcher", "deepspeed"):
            if name in by_name and "plain" in by_name and by_name[name]["gpus"] == by_name["plain"]["gpus"]:
                ds, plain = by_name[name]["loss_curve"], by_name["plain"]["loss_curve"]
                gap = max(abs(a - b) for a, b in zip(ds, plain))
                print(f"DeepSpeed ({name}) vs plain Trainer losses: largest difference {gap:.2e} over {len(ds)} steps")
        base = ok[0]
        for r in ok[1:]:
            if r["steady_tokens_per_s"] and base["steady_tokens_per_s"]:
                ratio = r["steady_tokens_per_s"] / base["steady_tokens_per_s"]
                print(f"{r['config']} / {base['config']} steady tokens/s: {ratio:.2f}x")
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "gpu_train_stage.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
