"""Report plots: per-language grouped bars of the run's models against chosen published baselines."""

from __future__ import annotations

import shutil
from pathlib import Path

from harness.artifacts import Scores
from harness.reporting.baselines import Baseline, Baselines
from harness.reporting.paper import BENCHMARK_OF_TASK, TASK_TITLES
from harness.reporting.run_rows import run_accuracy, run_label, task_languages
from harness.reporting.scored import scored_models

DEFAULT_PLOT_SYSTEMS = {
    "mgsm": ["MetaMath", "QAlign", "SLAM"],
    "msvamp": ["MetaMath", "QAlign", "SLAM"],
    "xcsqa": ["Llama2-mono", "SLAM"],
}
"""Published systems drawn beside the run when the recipe's ``report.baselines`` names none."""

RUN_COLOURS = {"base": "#8c959f", "trained": "#0969da"}
BASELINE_COLOURS = ["#bf8700", "#8250df", "#1a7f37", "#cf222e", "#fb8500", "#6e7781", "#a40e26", "#116329"]


def plot_baselines(
    task: str, baselines: Baselines | None, size: str | None, systems: list[str] | None
) -> list[Baseline]:
    """The published rows drawn in a task's plot (only rows with per-language numbers)."""
    benchmark = BENCHMARK_OF_TASK.get(task)
    if benchmark is None or baselines is None:
        return []
    wanted = systems if systems is not None else DEFAULT_PLOT_SYSTEMS.get(benchmark, [])
    rows = baselines.for_benchmark(benchmark, size=size, systems=wanted, primary_only=True)
    return [r for r in rows if r.scores][: len(BASELINE_COLOURS)]


def language_bars(task: str, scores: Scores, published: list[Baseline], path: Path) -> Path | None:
    """Grouped bars: one group per language (and the average), one bar per model or baseline.

    Returns None when the task has nothing to draw.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = [m for m in scored_models(scores) if m.task(task) is not None]
    languages = task_languages(task, models)
    if not models or not languages:
        return None
    groups = [*languages, "avg"]
    series: list[tuple[str, list[float | None], str, bool]] = []
    for model in models:
        values = [run_accuracy(model, task, lang)[0] for lang in languages]
        values.append(model.average(task)[0])
        series.append((run_label(model), values, RUN_COLOURS.get(model.role, "#0969da"), True))
    for colour, row in zip(BASELINE_COLOURS, published):
        values = [row.scores.get(lang) for lang in languages] + [row.average]
        series.append((f"{row.label} {row.size} (paper)", values, colour, False))

    width = 0.8 / len(series)
    figure, axis = plt.subplots(figsize=(min(13.0, max(8.0, 0.2 * len(groups) * len(series) + 3)), 4.6), dpi=110)
    for index, (label, values, colour, is_run) in enumerate(series):
        xs = [g + (index - (len(series) - 1) / 2) * width for g in range(len(groups))]
        heights = [v if v is not None else 0.0 for v in values]
        bars = axis.bar(
            xs,
            heights,
            width * 0.95,
            label=label,
            color=colour,
            edgecolor="black" if is_run else "none",
            linewidth=0.6 if is_run else 0,
        )
        for bar, value in zip(bars, values):
            if value is None:
                bar.set_alpha(0.0)
        if is_run:  # the run's own values, so a 0.0 reads as a score, not a missing bar
            axis.bar_label(
                bars,
                labels=["" if v is None else f"{v:.1f}" for v in values],
                padding=2,
                fontsize=7,
                rotation=90 if len(series) > 3 else 0,
            )
    axis.set_xticks(range(len(groups)))
    axis.set_xticklabels(groups)
    axis.set_ylabel("accuracy (%)")
    axis.set_ylim(0, 100)
    axis.grid(axis="y", alpha=0.3)
    axis.set_axisbelow(True)
    axis.set_title(f"{TASK_TITLES.get(task, task)}: accuracy per language")
    axis.legend(fontsize=8, ncol=min(4, len(series)), loc="upper left", frameon=False)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def copy_selection_plot(selection_dir: Path, out: Path) -> Path | None:
    """The selection stage's plot (MSD, overlap, selected layers), copied into the report."""
    source = selection_dir / "selection.png"
    if not source.is_file():
        return None
    target = out / "selection.png"
    shutil.copyfile(source, target)
    return target


def loss_curve_plot(train_json: Path, path: Path) -> Path | None:
    """The training loss (and learning rate) per optimizer step, from train.json's loss log."""
    import json

    if not Path(train_json).is_file():
        return None
    curve = json.loads(Path(train_json).read_text(encoding="utf-8")).get("loss_curve") or []
    points = [(e["step"], e["loss"], e.get("learning_rate")) for e in curve if e.get("loss") is not None]
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    figure, axis = plt.subplots(figsize=(7.5, 3.6), dpi=110)
    steps = [p[0] for p in points]
    axis.plot(steps, [p[1] for p in points], marker="o" if len(points) < 40 else None, color="#0969da", label="loss")
    axis.set_xlabel("optimizer step")
    axis.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axis.set_ylabel("training loss")
    axis.grid(alpha=0.3)
    rates = [p[2] for p in points]
    if all(r is not None for r in rates):
        second = axis.twinx()
        second.plot(steps, rates, color="#bf8700", linestyle="--", label="learning rate")
        second.set_ylabel("learning rate", color="#bf8700")
    axis.set_title("Training loss (train/train.json)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def overlap_before_after_plot(probe_trained: dict, path: Path) -> Path | None:
    """The paper's Figures 6/9: each non-English language's overlap with English per layer, before
    (dashed) and after (solid) training, their averages in black, the trained layers shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = probe_trained.get("layers") or []
    if not rows:
        return None
    layers = [r["layer"] for r in rows]
    languages = [lang for lang in probe_trained["languages"] if lang != "en"]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(layers) + 3), 4.2))
    colours = plt.get_cmap("tab10")
    for index, lang in enumerate(languages):
        colour = colours(index % 10)
        ax.plot(layers, [r["overlap_before"][lang] for r in rows], "--", color=colour, linewidth=0.9, alpha=0.7)
        ax.plot(layers, [r["overlap_after"][lang] for r in rows], "-", color=colour, linewidth=1.2, label=lang)
    ax.plot(layers, [r["average_before"] for r in rows], "--", color="black", linewidth=2, label="average, before")
    ax.plot(layers, [r["average_after"] for r in rows], "-", color="black", linewidth=2.2, label="average, after")
    trained = sorted(probe_trained.get("selected_layers") or [])
    for number, layer in enumerate(trained):
        ax.axvspan(
            layer - 0.5, layer + 0.5, color="tab:green", alpha=0.12, label="trained layers" if not number else None
        )
    ax.set_xlabel("layer")
    ax.set_ylabel("overlap with English's activated neurons")
    ax.set_title("Overlap with English per layer: before (dashed) and after (solid) training")
    ax.set_xlim(layers[0] - 0.5, layers[-1] + 0.5)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return Path(path)
