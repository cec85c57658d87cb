"""A training checkpoint's size and save time: Trainer's own (the whole model) vs the harness's
(the trainable tensors, their optimizer state, scheduler and RNG), SmolLM2 at the quickstart's
selection.

    python benchmarks/bench_checkpoint.py [--layers 1,2,3] [--run-dir RUN] [--repeats 3]

The layers: ``--layers``, else ``RUN/selection/selection.json`` of a quickstart run, else the
quickstart's select stage is run here (recipes/quickstart.yaml, about a minute). Both trainers
take one optimizer step on the same demo batch (so AdamW has its state), then save a checkpoint
``--repeats`` times each; the folders' bytes and the median save time are printed. The last line:

    checkpoint/full = R (share = S)

R: bytes of one harness checkpoint over the bytes of the full model (fp32 state dict); S: the
trainable share of the parameters.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
QUICKSTART = ROOT / "harness" / "recipes" / "quickstart.yaml"


def quickstart_layers(run_dir: str | None) -> tuple[list[int], str]:
    from harness.recipe import load_recipe

    recipe = load_recipe(QUICKSTART)
    if run_dir:
        selection = Path(run_dir) / "selection" / "selection.json"
        return json.loads(selection.read_text())["selected_layers"], str(selection)
    from harness.pipeline import open_run, run_stage

    run = open_run(recipe, Path(tempfile.mkdtemp(prefix="bench-checkpoint-")))
    run_stage(recipe, run, "select")
    selection = run.stage_dir("select") / "selection.json"
    return json.loads(selection.read_text())["selected_layers"], f"the select stage, run now ({selection})"


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", help="comma-separated layer indices (default: the quickstart's selection)")
    parser.add_argument("--run-dir", help="a quickstart run whose selection to use")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", help="model source (default: the quickstart's)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch
    from transformers import Trainer, TrainingArguments

    from harness.models import load_model, load_tokenizer
    from harness.recipe import load_recipe
    from harness.training.checkpoints import checkpointing_trainer
    from harness.training.data import PadCollator, build_translation_data
    from harness.training.plan import apply_plan, build_plan

    torch.set_num_threads(args.threads)
    if args.layers:
        layers, origin = [int(x) for x in args.layers.split(",")], "--layers"
    else:
        layers, origin = quickstart_layers(args.run_dir)
    recipe = load_recipe(QUICKSTART)
    if args.model:
        recipe.model = recipe.model.model_copy(update={"source": args.model})
    tokenizer = load_tokenizer(recipe.model, padding_side="right")
    data = build_translation_data(
        recipe.training.data,
        [lang for lang in recipe.languages if lang != "en"],
        tokenizer,
        recipe.training.max_length,
        recipe.seed,
    )
    examples = data.examples[:4]

    results = {}
    full_bytes = share = None
    for label, make in (
        ("Trainer (before)", lambda: Trainer),
        ("harness (after)", lambda: checkpointing_trainer(Trainer)),
    ):
        model = load_model(recipe.model, dtype=torch.float32)
        plan = build_plan(model.config, layers, recipe.selection.sublayers, "selective", model=model)
        apply_plan(model, plan)
        # Tied tensors (SmolLM2's embedding and lm_head) share storage: count them once.
        full_bytes = sum(
            t.numel() * t.element_size() for t in {t.data_ptr(): t for t in model.state_dict().values()}.values()
        )
        share = plan.share
        out = Path(tempfile.mkdtemp(prefix="bench-checkpoint-"))
        trainer = make()(
            model=model,
            args=TrainingArguments(
                output_dir=str(out),
                per_device_train_batch_size=4,
                max_steps=1,
                learning_rate=1e-4,
                save_strategy="no",
                use_cpu=True,
                dataloader_pin_memory=False,
                remove_unused_columns=False,
                report_to="none",
                disable_tqdm=True,
                save_total_limit=None,
            ),
            train_dataset=examples,
            data_collator=PadCollator(tokenizer.pad_token_id),
        )
        trainer.train()
        times, sizes = [], []
        for repeat in range(args.repeats):
            trainer.state.global_step = 100 + repeat
            started = time.perf_counter()
            trainer._save_checkpoint(trainer.model, None)
            times.append(time.perf_counter() - started)
            sizes.append(folder_bytes(out / f"checkpoint-{100 + repeat}"))
        files = sorted(p.name for p in (out / f"checkpoint-{100 + args.repeats - 1}").iterdir())
        results[label] = {"bytes": statistics.median(sizes), "seconds": statistics.median(times), "files": files}
        del trainer, model

    before, after = results["Trainer (before)"], results["harness (after)"]
    print(f"SmolLM2-135M-Instruct fp32, selective {recipe.selection.sublayers} of layers {layers} ({origin})")
    print(f"full model (fp32 state dict): {full_bytes / 1e6:.1f} MB")
    print(f"{'checkpoint':<18} {'MB':>9} {'save s (median of ' + str(args.repeats) + ')':>24}  files")
    for label, r in results.items():
        print(f"{label:<18} {r['bytes'] / 1e6:>9.1f} {r['seconds']:>24.2f}  {', '.join(r['files'])}")
    print(
        f"size after/before = {after['bytes'] / before['bytes']:.3f}; save time after/before = "
        f"{after['seconds'] / before['seconds']:.3f}"
    )
    print(f"checkpoint/full = {after['bytes'] / full_bytes:.3f} (share = {share:.3f})")


if __name__ == "__main__":
    main()
