"""Memory left behind by training in process: the train stage run in this process (the plain
Trainer, as ``launcher: none`` without DeepSpeed trains), then what the GPU still holds.

    python benchmarks/gpu_release.py --model-dir M [--data FOLDER] [--batch 8] [--max-length 1024]

Before issue 20 the stage returned with the model, the fp32 trainables, their AdamW state and the
Accelerator alive in reference cycles and in the CUDA cache (~20 GB on GPU 0 at 7B) that a vLLM
engine or an evaluation worker of the next stage could not use. Printed: CUDA memory allocated
and reserved before and after the stage, and whether the model object is gone (a weak reference).
"""

from __future__ import annotations

import argparse
import sys
import weakref
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--work", default=None)
    parser.add_argument("--data", default="demo")
    parser.add_argument("--sides", default="questions")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()
    args.global_batch, args.peak_tflops = args.batch, None

    import torch

    import harness.models

    sys.path.insert(0, str(Path(__file__).parent))
    import gpu_train_stage

    loaded = []
    load_model = harness.models.load_model

    def watched(*a, **k):
        model = load_model(*a, **k)
        loaded.append(weakref.ref(model))
        return model

    harness.models.load_model = watched
    cuda = torch.cuda.is_available()
    gib = 2**30

    def held() -> str:
        if not cuda:
            return "no CUDA"
        allocated, reserved = torch.cuda.memory_allocated() / gib, torch.cuda.memory_reserved() / gib
        return f"{allocated:.2f} GiB allocated, {reserved:.2f} GiB reserved"

    before = held()
    result = gpu_train_stage.run_config("plain", args)
    peak = f"{result['cuda_peak_bytes'] / gib:.1f} GiB" if result["cuda_peak_bytes"] else "n/a"
    print(f"in-process training: {result['steps']} steps, CUDA peak {peak}")
    print(f"GPU memory before the stage: {before}; after it returned: {held()}")
    print(f"model object after the stage: {'gone' if loaded and loaded[0]() is None else 'STILL ALIVE'}")


if __name__ == "__main__":
    main()
