"""Plots of the selection analysis, in the style of the paper's Figures 2, 3, 6 and 11-14.

All functions write a PNG (matplotlib, Agg backend: no display needed) and return its path.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from harness.selection.statistics import PIVOT, LayerAnalysis, analyze  # noqa: E402


def _layers(analysis: LayerAnalysis) -> list[int]:
    return list(range(analysis.num_layers))


def _mark_boundary(ax, analysis: LayerAnalysis) -> None:
    if analysis.language_specific:
        ax.axvspan(-0.5, analysis.boundary - 0.5, color="tab:orange", alpha=0.12,
                   label=f"language-specific layers 0-{analysis.boundary - 1}")
    ax.axvline(analysis.boundary, color="tab:orange", linestyle="--", linewidth=1,
               label=f"average-overlap peak (layer {analysis.boundary})")
    if analysis.search_from:
        ax.axvline(analysis.search_from, color="tab:gray", linestyle=":", linewidth=1,
                   label=f"peak searched from layer {analysis.search_from}")


def draw_activation_rates(ax, analysis: LayerAnalysis) -> None:
    """Fig. 2 / 11-14: R(lang, layer) per language."""
    for lang in analysis.languages:
        ax.plot(_layers(analysis), [float(r) for r in analysis.rates[lang]], marker=".", label=lang,
                linewidth=2.2 if lang == PIVOT else 1.0, color="black" if lang == PIVOT else None)
    ax.set_xlabel("layer (0-based)")
    ax.set_ylabel("activated neurons / d_inter")
    ax.set_title(f"Activation rate (firing share > {analysis.firing_share:g})")
    ax.legend(fontsize=7, ncol=2)


def draw_overlap(ax, analysis: LayerAnalysis) -> None:
    """Fig. 3: each non-English language's overlap with English, their average, the boundary."""
    for lang, values in analysis.overlaps.items():
        ax.plot(_layers(analysis), [float(v) for v in values], linewidth=0.9, alpha=0.75, label=lang)
    ax.plot(_layers(analysis), [float(v) for v in analysis.average_overlap], color="black", marker="o",
            markersize=3, linewidth=2, label="AVG")
    _mark_boundary(ax, analysis)
    ax.set_xlabel("layer (0-based)")
    ax.set_ylabel("|A(X) ∩ A(en)| / |A(en)|")
    ax.set_title("Overlap with English")
    ax.legend(fontsize=7, ncol=2)


def draw_msd(ax, analysis: LayerAnalysis) -> None:
    """MSD by layer; theta over the language-specific layers; the selected layers highlighted."""
    layers = _layers(analysis)
    colors = ["tab:red" if i in analysis.selected else
              ("tab:orange" if i in analysis.language_specific else "tab:gray") for i in layers]
    ax.bar(layers, [float(m) for m in analysis.msd], color=colors)
    handles = []
    if analysis.theta is not None:
        handles.append(ax.hlines(float(analysis.theta), -0.5, analysis.boundary - 0.5, color="black",
                                 linestyle="--", label=f"theta = {float(analysis.theta):.3g} (mean MSD over K)"))
    handles += [Patch(color="tab:red", label=f"selected {analysis.selected}"),
                Patch(color="tab:orange", label="language-specific, not selected"),
                Patch(color="tab:gray", label="other layers")]
    ax.set_xlabel("layer (0-based)")
    ax.set_ylabel("MSD of R across languages")
    ax.set_title("Mean squared deviation")
    ax.legend(handles=handles, fontsize=7)


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_activation_rates(analysis: LayerAnalysis, path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4))
    draw_activation_rates(ax, analysis)
    return _save(fig, path)


def plot_overlap(analysis: LayerAnalysis, path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4))
    draw_overlap(ax, analysis)
    return _save(fig, path)


def plot_msd(analysis: LayerAnalysis, path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4))
    draw_msd(ax, analysis)
    return _save(fig, path)


def plot_selection(analysis: LayerAnalysis, path, title: str | None = None) -> Path:
    """The three panels in one figure (``selection.png``)."""
    fig, axes = plt.subplots(1, 3, figsize=(18, 4.8))
    draw_activation_rates(axes[0], analysis)
    draw_overlap(axes[1], analysis)
    draw_msd(axes[2], analysis)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_overlap_before_after(before_counts, after_counts, path, firing_share: float = 0.05,
                              title: str | None = None) -> Path:
    """Fig. 6: overlap with English per layer before and after training, from two probes.

    Args:
        before_counts, after_counts: :class:`~harness.selection.probe.ProbeCounts` of the base and
            the trained model on the same questions (``probe_model``).
        path: the PNG to write.
        firing_share: the activation threshold (use the recipe's ``selection.probe.firing_share``).
    """
    before = analyze(before_counts.fired_tokens, before_counts.tokens, firing_share)
    after = analyze(after_counts.fired_tokens, after_counts.tokens, firing_share)
    others = list(before.overlaps)
    columns = min(len(others) + 1, 4)
    rows = -(-(len(others) + 1) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3 * rows), squeeze=False, sharey=True)
    panels = [("AVG", before.average_overlap, after.average_overlap)] + [
        (lang, before.overlaps[lang], after.overlaps[lang]) for lang in others
    ]
    for ax, (name, old, new) in zip(axes.flat, panels):
        ax.plot(_layers(before), [float(v) for v in old], color="tab:blue", linewidth=2.5, alpha=0.7, label="before")
        ax.plot(_layers(after), [float(v) for v in new], color="tab:red", label="after")
        ax.set_title(f"{name} vs en")
        ax.set_xlabel("layer")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    axes[0][0].set_ylabel("overlap with English")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title or f"Overlap with English before and after training (firing share > {firing_share:g})")
    return _save(fig, path)
