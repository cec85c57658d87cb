"""The probe on the trained model (``selection.after_training``): the paper's Figures 6 and 9.

SLAM's evidence that training aligned the selected layers is the overlap of each language's
activated neurons with English's, per layer, before and after training. When a recipe asks
(``selection.after_training: true``), the probe that chose (or checked) the layers on the base
model runs again on the trained model, on the same questions with the same settings, after the
evaluate stage; ``eval/probe_trained.json`` holds the trained model's per-layer overlaps and the
base model's from selection.json beside them, and the report plots both.
"""

from __future__ import annotations

import time
from pathlib import Path

from harness.errors import HarnessError
from harness.runs import write_json
from harness.selection import statistics

PROBE_TRAINED_FILE = "probe_trained.json"
"""In the evaluate stage's folder: the overlaps before and after training."""


def probe_trained(recipe, run, out: Path) -> dict:
    """Probe the run's trained model as selection.json's probe did the base; write PROBE_TRAINED_FILE."""
    from harness.artifacts import SELECTION_FILE
    from harness.models import release_memory
    from harness.models.loading import load_tokenizer, load_trained_model
    from harness.selection.questions import probe_question_set
    from harness.selection.stage import _device, _probe_with_progress

    selection = recipe.selection
    before_file = run.stage_dir("select") / SELECTION_FILE
    before = run.selection() if before_file.is_file() else None
    if before is None or not before.layers:
        raise HarnessError(
            "selection.after_training: selection.json has no probe of the base model to compare with; "
            "the probe runs on the base only for slam_msd, a `selection.check` or `selection.probe.always: true`"
        )
    languages = list(before.languages)
    questions, _ = probe_question_set(
        selection.probe, languages, recipe.training.data if recipe.training is not None else None
    )
    device = _device()
    model = load_trained_model(recipe, run.require("train"), device=device)
    tokenizer = load_tokenizer(recipe.model)
    started = time.time()
    counts = _probe_with_progress(model, tokenizer, questions, selection.probe)
    seconds = time.time() - started
    del model
    release_memory()
    peak_search = before.peak_search or "all_layers"
    analysis = statistics.analyze(counts.fired_tokens, counts.tokens, selection.probe.firing_share, peak_search)
    after = statistics.to_json(analysis)["layers"]
    result = {
        "languages": languages,
        "firing_share": selection.probe.firing_share,
        "questions_per_language": len(next(iter(questions.values()))),
        "selected_layers": before.selected_layers,
        "seconds": round(seconds, 2),
        "layers": [
            {
                "layer": b["layer"],
                "overlap_before": b["overlap_with_en"],
                "overlap_after": a["overlap_with_en"],
                "average_before": b["average_overlap"],
                "average_after": a["average_overlap"],
            }
            for b, a in zip(before.layers, after)
        ],
    }
    result["summary"] = overlap_summary(result)
    write_json(Path(out) / PROBE_TRAINED_FILE, result)
    return result


def overlap_summary(result: dict) -> dict:
    """The average overlap with English over the selected layers (and over all), before and after."""

    def mean(rows, key):
        return sum(r[key] for r in rows) / len(rows) if rows else None

    selected = set(result.get("selected_layers") or [])
    rows = result["layers"]
    chosen = [r for r in rows if r["layer"] in selected]
    return {
        "selected_before": mean(chosen, "average_before"),
        "selected_after": mean(chosen, "average_after"),
        "all_before": mean(rows, "average_before"),
        "all_after": mean(rows, "average_after"),
    }


def describe(result: dict) -> str:
    """One sentence for the report."""
    s = result["summary"]
    layers = result.get("selected_layers") or []
    text = (
        f"Overlap of the activated neurons with English's, averaged over the non-English languages: "
        f"over all layers {s['all_before']:.3f} before training, {s['all_after']:.3f} after"
    )
    if s["selected_before"] is not None:
        text += (
            f"; over the trained layers ({', '.join(map(str, layers))}) "
            f"{s['selected_before']:.3f} before, {s['selected_after']:.3f} after"
        )
    return text + " (the paper's Figures 6 and 9 show the overlap rising in the trained layers)."
