"""The bare forward+backward ceiling of SLAM's training step, and its peak memory at the plan's
worst case against `harness plan`.

    python benchmarks/gpu_ceiling.py --model-dir M [--batch 8] [--max-length 1024] [--steps 5]
    python benchmarks/gpu_ceiling.py --model-dir M --batch 2 --max-length 64 --steps 3   # a CPU

No Trainer, no data pipeline: the model of ``--model-dir`` with SLAM's plan (up_proj + down_proj
of layers 0-5, frozen weights in the model's dtype, the trained ones in fp32 as the plain Trainer
holds them), fused AdamW, and micro-batches of ``--batch`` x ``--max-length`` random tokens with
no padding: the plan's worst case (every sequence at ``training.max_length``), hence the most
memory a step of the recipe can take. Each step is synchronized and timed; from the second on:
tokens/s and their share of the GPU's dense bf16 peak with SLAM's FLOPs per token
(harness/training/speed.py), the ceiling the train stage's steady tokens/s is compared with.
The CUDA peak allocated memory is set beside ``recipe_memory``'s peak (what `harness plan`
prints) for the same set-up (the plain Trainer, bf16, this micro-batch). JSON to $OUT/gpu_ceiling.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

LAYERS = list(range(6))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM

    from harness.training.config import TrainingConfig
    from harness.training.memory import recipe_memory
    from harness.training.plan import apply_plan, build_plan
    from harness.training.speed import flops_per_token, peak_tflops, synchronize
    from harness.training.trainer import trainable_in_fp32

    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    dtype = torch.bfloat16 if cuda else torch.float32
    model = AutoModelForCausalLM.from_pretrained(args.model_dir, dtype=dtype).to(device)
    layers = [i for i in LAYERS if i < model.config.num_hidden_layers]
    plan = build_plan(model.config, layers, "up_down", model=model)
    apply_plan(model, plan)
    trainable_in_fp32(model)
    model.config.use_cache = False
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5, fused=cuda)
    tokens = torch.randint(3, model.config.vocab_size, (args.batch, args.max_length), device=device)
    labels = tokens.clone()
    labels[:, : args.max_length // 2] = -100  # the loss on the English half, as a translation prompt's

    if cuda:
        torch.cuda.reset_peak_memory_stats()
    seconds = []
    for _ in range(args.steps):
        synchronize()
        started = time.perf_counter()
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=cuda):
            loss = model(input_ids=tokens, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        synchronize()
        seconds.append(time.perf_counter() - started)
    steady = seconds[1:] or seconds
    tokens_per_s = args.batch * args.max_length * len(steady) / sum(steady)
    flops = flops_per_token(model, plan)
    name = torch.cuda.get_device_name() if cuda else "cpu"
    peak = peak_tflops(name) if cuda else None
    training = TrainingConfig.model_validate(
        {
            "precision": "bf16",
            "per_device_batch_size": args.batch,
            "max_length": args.max_length,
            "global_batch_size": args.batch,
        }
    )
    estimate = recipe_memory(plan, training)["peak"]
    measured = torch.cuda.max_memory_allocated() if cuda else None
    result = {
        "device": name,
        "micro_batch": [args.batch, args.max_length],
        "step_seconds": [round(s, 4) for s in seconds],
        "ceiling_tokens_per_s": round(tokens_per_s, 1),
        "flops_per_token": flops["flops_per_token"],
        "share_of_bf16_peak": round(tokens_per_s * flops["flops_per_token"] / (peak * 1e12), 4) if peak else None,
        "cuda_peak_bytes": measured,
        "plan_peak_bytes": estimate,
    }
    gib = 2**30
    share = f"{result['share_of_bf16_peak']:.1%} of the bf16 peak" if peak else "no bf16 peak known here"
    print(
        f"ceiling (bare forward+backward+AdamW, {args.batch} x {args.max_length} tokens, no padding, {name}): "
        f"{tokens_per_s:,.0f} tokens/s from step 2 of {args.steps}, {share}"
    )
    print(
        "peak memory at the plan's worst case: measured "
        + (f"{measured / gib:.2f} GiB" if measured is not None else "n/a (no CUDA)")
        + f", harness plan {estimate / gib:.2f} GiB"
        + (f" (measured / plan {measured / estimate:.2f})" if measured else "")
    )
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "gpu_ceiling.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
