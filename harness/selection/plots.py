"""Plots of the selection analysis, in the style of the paper's Figures 2, 3 and 11-14.

All functions write a PNG (matplotlib, Agg backend: no display needed) and return its path.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Patch

from harness.selection.statistics import PIVOT, LayerAnalysis


def _layers(analysis: LayerAnalysis) -> list[int]:
    return list(range(analysis.num_layers))


def _mark_boundary(ax, analysis: LayerAnalysis) -> None:
    if analysis.language_specific:
        ax.axvspan(
            -0.5,
            analysis.boundary - 0.5,
            color="tab:orange",
            alpha=0.12,
            label=f"language-specific layers 0-{analysis.boundary - 1}",
        )
    ax.axvline(
        analysis.boundary,
        color="tab:orange",
        linestyle="--",
        linewidth=1,
        label=f"average-overlap peak (layer {analysis.boundary})",
    )
    if analysis.search_from:
        ax.axvline(
            analysis.search_from,
            color="tab:gray",
            linestyle=":",
            linewidth=1,
            label=f"peak searched from layer {analysis.search_from}",
        )


def draw_activation_rates(ax, analysis: LayerAnalysis) -> None:
    """Fig. 2 / 11-14: R(lang, layer) per language."""
    for lang in analysis.languages:
        ax.plot(
            _layers(analysis),
            [float(r) for r in analysis.rates[lang]],
            marker=".",
            label=lang,
            linewidth=2.2 if lang == PIVOT else 1.0,
            color="black" if lang == PIVOT else None,
        )
    ax.set_xlabel("layer (0-based)")
    ax.set_ylabel("activated neurons / d_inter")
    ax.set_title(f"Activation rate (firing share > {analysis.firing_share:g})")
    ax.legend(fontsize=7, ncol=2)


def draw_overlap(ax, analysis: LayerAnalysis) -> None:
    """Fig. 3: each non-English language's overlap with English, their average, the boundary."""
    for lang, values in analysis.overlaps.items():
        ax.plot(_layers(analysis), [float(v) for v in values], linewidth=0.9, alpha=0.75, label=lang)
    ax.plot(
        _layers(analysis),
        [float(v) for v in analysis.average_overlap],
        color="black",
        marker="o",
        markersize=3,
        linewidth=2,
        label="AVG",
    )
    _mark_boundary(ax, analysis)
    ax.set_xlabel("layer (0-based)")
    ax.set_ylabel("|A(X) ∩ A(en)| / |A(en)|")
    ax.set_title("Overlap with English")
    ax.legend(fontsize=7, ncol=2)


def draw_msd(ax, analysis: LayerAnalysis) -> None:
    """MSD by layer; theta over the language-specific layers; the selected layers highlighted."""
    layers = _layers(analysis)
    colors = [
        "tab:red" if i in analysis.selected else ("tab:orange" if i in analysis.language_specific else "tab:gray")
        for i in layers
    ]
    ax.bar(layers, [float(m) for m in analysis.msd], color=colors)
    handles = []
    if analysis.theta is not None:
        handles.append(
            ax.hlines(
                float(analysis.theta),
                -0.5,
                analysis.boundary - 0.5,
                color="black",
                linestyle="--",
                label=f"theta = {float(analysis.theta):.3g} (mean MSD over K)",
            )
        )
    handles += [
        Patch(color="tab:red", label=f"selected {analysis.selected}"),
        Patch(color="tab:orange", label="language-specific, not selected"),
        Patch(color="tab:gray", label="other layers"),
    ]
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
