"""Pure chart builders (data in, plotly figure out; no ``st.*`` calls) and the shared look.

Every page colours a modality the same way: by its position in the dataset (the first modality, the
reference of r, is always the first colour). Use ``modality_colors(names)`` or ``modality_color(i)``.
"""

from __future__ import annotations

from collections.abc import Sequence

# Okabe-Ito-like palette, readable by colour-blind users; index = modality position in the dataset.
MODALITY_COLORS: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
FUSED_COLOR = "#4F46E5"  # xi / the fused model (the app's primary colour)
REFERENCE_COLOR = "#6B7280"  # bounds, ground truth and other reference lines
SPLIT_COLORS = {"train": "#94A3B8", "val": "#4F46E5", "test": "#DC2626"}


def plain(text: object) -> str:
    """User text (a class or run name) for a plotly label: plotly renders a few HTML tags in labels (``<b>``,
    ``<a href>``), so ``<``, ``>`` and ``&`` go in as entities and show as typed."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def modality_color(index: int) -> str:
    """Colour of the modality at position ``index`` (0-based) of its dataset."""
    return MODALITY_COLORS[int(index) % len(MODALITY_COLORS)]


def modality_colors(names: Sequence[str]) -> dict[str, str]:
    """``{modality: colour}`` for a dataset's modalities, in dataset order."""
    return {name: modality_color(i) for i, name in enumerate(names)}


__all__ = ["FUSED_COLOR", "MODALITY_COLORS", "REFERENCE_COLOR", "SPLIT_COLORS", "modality_color", "modality_colors"]


def centre_note(fig, text: str, color: str | None = None) -> None:
    """Write ``text`` (plain, already escaped where needed) in the middle of ``fig``: why a chart has nothing yet."""
    fig.add_annotation(
        text=text,
        showarrow=False,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        font={"size": 14, **({"color": color} if color else {})},
    )
