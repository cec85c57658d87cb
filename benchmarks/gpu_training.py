"""GPU check in one call: bf16 DeepSpeed ZeRO-2, selective vs full, on a random-init ~1B Llama.

    python benchmarks/gpu_training.py                    # on a GPU machine (about 3-5 minutes)
    python benchmarks/gpu_training.py --tiny --steps 3   # smoke run on a CPU (fp32, gloo)

Nothing is downloaded: the model is a LlamaForCausalLM built from a config (default hidden 2048,
16 layers, intermediate 5632, 16 heads, vocab 32000: 1.1B parameters, TinyLlama's shape) with
random weights, and the batches are random token ids (the loss counts the second half of each
sequence, like the English side of a translation prompt). What is exercised is the harness's
training machinery: the plan (``build_plan``/``apply_plan``), the generated ZeRO-2 config
(``deepspeed_config``, bf16 explicitly on) and ``transformers.Trainer`` with it, in a private
single-process distributed environment (as the train stage runs ``deepspeed: true`` without a
launcher). Under ``torchrun``/``deepspeed`` (RANK set) it uses that environment instead.

Configurations, each in a fresh process so peak memory is its own:
- selective: up_proj + down_proj of the first 6 layers (SLAM's count);
- full: every parameter.

Reported: trainable share, median step time (first two steps left out), tokens/s, CUDA peak
allocated memory, and the plan's per-GPU estimate (weights + grads + optimizer, no activations)
for comparison. Results go to stdout and, when $OUT is set (the device tool), to
$OUT/gpu_training.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHAPE = {
    "hidden_size": 2048,
    "num_hidden_layers": 16,
    "intermediate_size": 5632,
    "num_attention_heads": 16,
    "num_key_value_heads": 16,
    "vocab_size": 32000,
}
TINY = {
    "hidden_size": 64,
    "num_hidden_layers": 8,
    "intermediate_size": 128,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 512,
}


class RandomTokens:
    """Deterministic random sequences; labels on the second half only."""

    def __init__(self, n: int, length: int, vocab: int):
        self.n, self.length, self.vocab = n, length, vocab

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int):
        import torch

        generator = torch.Generator().manual_seed(index)
        ids = torch.randint(3, self.vocab, (self.length,), generator=generator)
        labels = ids.clone()
        labels[: self.length // 2] = -100
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}


def one(mode: str, args) -> dict:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Trainer, TrainerCallback, TrainingArguments

    from harness.training.config import TrainingConfig
    from harness.training.memory import parameter_memory
    from harness.training.plan import apply_plan, build_plan
    from harness.training.trainer import PeakMemory, deepspeed_config

    cuda = torch.cuda.is_available() and not args.cpu
    if "RANK" not in os.environ:  # a private one-process distributed environment, as the train stage does
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        os.environ.update(
            {
                "RANK": "0",
                "LOCAL_RANK": "0",
                "WORLD_SIZE": "1",
                "LOCAL_WORLD_SIZE": "1",
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": str(port),
            }
        )
    world = int(os.environ["WORLD_SIZE"])
    bf16 = cuda
    shape = TINY if args.tiny else SHAPE
    torch.manual_seed(0)
    config = LlamaConfig(**shape, max_position_embeddings=max(2048, args.seq_len), tie_word_embeddings=False)
    dtype = torch.bfloat16 if bf16 else torch.float32
    model = LlamaForCausalLM(config).to(dtype)
    plan = build_plan(
        config,
        None if mode == "full" else list(range(args.layers)),
        "up_down",
        "full" if mode == "full" else "selective",
        model=model,
    )
    apply_plan(model, plan)
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if mode != "full":
            model.enable_input_require_grads()
    model.config.use_cache = False

    times: list[float] = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, *a, **k):
            if cuda:
                torch.cuda.synchronize()
            self.start = time.perf_counter()

        def on_step_end(self, *a, **k):
            if cuda:
                torch.cuda.synchronize()
            times.append(time.perf_counter() - self.start)

    with tempfile.TemporaryDirectory() as tmp:
        ds_file = Path(tmp) / "deepspeed.json"
        ds_file.write_text(json.dumps(deepspeed_config(TrainingConfig(deepspeed=True), bf16=bf16, cuda=cuda)))
        training_args = TrainingArguments(
            output_dir=tmp,
            per_device_train_batch_size=args.batch,
            gradient_accumulation_steps=1,
            max_steps=args.steps,
            learning_rate=2e-5,
            lr_scheduler_type="cosine",
            bf16=bf16,
            optim="adamw_torch_fused" if cuda else "adamw_torch",
            use_cpu=not cuda,
            dataloader_pin_memory=cuda,
            remove_unused_columns=False,
            report_to="none",
            save_strategy="no",
            logging_steps=1,
            disable_tqdm=True,
            seed=0,
            deepspeed=str(ds_file),
        )
        data = RandomTokens(args.steps * args.batch * world, args.seq_len, config.vocab_size)
        trainer = Trainer(model=model, args=training_args, train_dataset=data, callbacks=[StepTimer()])
        with PeakMemory() as memory:
            trainer.train()
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    skip = 2 if len(times) > 3 else 0
    median = statistics.median(times[skip:])
    tokens = args.batch * args.seq_len * world
    estimate = parameter_memory(plan, world)
    return {
        "mode": mode,
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "world_size": world,
        "bf16": bf16,
        "zero_stage": 2,
        "shape": shape,
        "parameters": plan.total,
        "trainable": plan.trainable,
        "share": plan.share,
        "step_times_s": [round(t, 4) for t in times],
        "median_step_s": median,
        "tokens_per_step": tokens,
        "tokens_per_s": tokens / median,
        "cuda_max_allocated_bytes": memory.cuda_peak,
        "peak_rss_bytes": memory.peak_rss,
        "estimate_bytes_no_activations": estimate["zero2"]["total"],
        "losses": losses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch", type=int, default=8, help="sequences per step per GPU")
    parser.add_argument("--seq-len", type=int, default=1024)
    parser.add_argument("--layers", type=int, default=6, help="selective: the first N layers")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--tiny", action="store_true", help="a tiny model (smoke run)")
    parser.add_argument("--cpu", action="store_true", help="run on the CPU even if a GPU is there")
    parser.add_argument("--one", choices=["selective", "full"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print("RESULT " + json.dumps(one(args.one, args)), flush=True)
        return

    env = dict(os.environ, HF_HUB_OFFLINE="1")
    if not Path("/dev/nvidiactl").exists() or args.cpu:
        env.setdefault("DS_ACCELERATOR", "cpu")
    results = {}
    for mode in ("selective", "full"):
        started = time.time()
        done = subprocess.run(
            [sys.executable, __file__, "--one", mode, *sys.argv[1:]], capture_output=True, text=True, env=env
        )
        line = next((out for out in done.stdout.splitlines() if out.startswith("RESULT ")), None)
        if done.returncode != 0 or line is None:
            results[mode] = {"error": done.stderr[-4000:], "returncode": done.returncode}
            print(f"{mode}: FAILED\n{done.stderr[-4000:]}", file=sys.stderr)
            continue
        results[mode] = json.loads(line[len("RESULT ") :])
        results[mode]["process_seconds"] = round(time.time() - started, 1)

    gib = 2**30
    print(f"{'':<34}{'selective':>16}{'full':>16}{'ratio':>9}")
    if "error" not in results.get("selective", {"error": 1}) and "error" not in results.get("full", {"error": 1}):
        sel, full = results["selective"], results["full"]
        print(
            f"device {sel['device']}, bf16={sel['bf16']}, ZeRO-2, world {sel['world_size']}, "
            f"{sel['parameters'] / 1e9:.2f}B parameters, {sel['tokens_per_step']} tokens/step"
        )
        rows = [
            ("trainable share", f"{sel['share']:.1%}", f"{full['share']:.1%}", sel["share"] / full["share"]),
            (
                "median step (s)",
                f"{sel['median_step_s']:.3f}",
                f"{full['median_step_s']:.3f}",
                sel["median_step_s"] / full["median_step_s"],
            ),
            (
                "tokens/s",
                f"{sel['tokens_per_s']:,.0f}",
                f"{full['tokens_per_s']:,.0f}",
                sel["tokens_per_s"] / full["tokens_per_s"],
            ),
        ]
        if sel["cuda_max_allocated_bytes"]:
            rows.append(
                (
                    "CUDA peak allocated (GiB)",
                    f"{sel['cuda_max_allocated_bytes'] / gib:.2f}",
                    f"{full['cuda_max_allocated_bytes'] / gib:.2f}",
                    sel["cuda_max_allocated_bytes"] / full["cuda_max_allocated_bytes"],
                )
            )
        rows.append(
            (
                "estimate, no activations (GiB)",
                f"{sel['estimate_bytes_no_activations'] / gib:.2f}",
                f"{full['estimate_bytes_no_activations'] / gib:.2f}",
                sel["estimate_bytes_no_activations"] / full["estimate_bytes_no_activations"],
            )
        )
        rows.append(
            (
                "peak RSS (GiB)",
                f"{sel['peak_rss_bytes'] / gib:.2f}",
                f"{full['peak_rss_bytes'] / gib:.2f}",
                sel["peak_rss_bytes"] / full["peak_rss_bytes"],
            )
        )
        for name, a, b, ratio in rows:
            print(f"{name:<34}{a:>16}{b:>16}{ratio:>9.3f}")
    print(json.dumps(results))
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "gpu_training.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
