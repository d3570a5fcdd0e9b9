"""Hand-made features of square image patches around points (no pretrained weights): colour, texture, context.

Every statistic is a box sum read from an integral image (summed-area table), so a patch costs O(1) whatever its
side, all spots are computed at once with NumPy indexing, and a patch that crosses the image border is simply
clipped to the part inside the image (its statistics are over the pixels it covers).

Per spot, for a patch of side ``s`` centred on it:

- ``{R,G,B}_mean``, ``{R,G,B}_std``: colour and its spread (H&E: eosin pink vs haematoxylin purple, stroma vs
  dense nuclei);
- ``{H,S,V}_hist{k}``: the share of the patch's pixels in each of ``HIST_BINS`` bins of hue, saturation, value;
- ``grad_mean``, ``grad_std``: grey-level gradient magnitude (texture, nucleus edges);
- ``ctx_{R,G,B}_mean``, ``ctx_grey_std``, ``ctx_grad_mean``: the same kind of statistics on a ``CONTEXT`` times
  wider patch, the spot's neighbourhood (a small multi-scale set).
"""

from __future__ import annotations

import numpy as np

from omib_core.errors import DataError

HIST_BINS = 8
CONTEXT = 2  # the context patch is this many times wider than the spot patch
GREY = (0.299, 0.587, 0.114)  # ITU-R 601 luma weights


# helpers


def integral_image(plane: np.ndarray) -> np.ndarray:
    """``(H, W)`` -> ``(H + 1, W + 1)`` float64 summed-area table, ``S[r, c] = plane[:r, :c].sum()``."""
    h, w = plane.shape
    out = np.zeros((h + 1, w + 1), dtype=np.float64)
    np.cumsum(plane, axis=0, dtype=np.float64, out=out[1:, 1:])
    np.cumsum(out[1:, 1:], axis=1, out=out[1:, 1:])
    return out


def patch_boxes(centres: np.ndarray, side: int, height: int, width: int) -> tuple[np.ndarray, ...]:
    """Row / column bounds ``[r0, r1) x [c0, c1)`` of ``side``-pixel squares around ``centres`` ``(N, 2)`` (row, col),
    clipped to the image; returns ``(r0, r1, c0, c1, area)``, each ``(N,)`` int64 (area 0: the patch is outside)."""
    side = max(int(side), 1)
    start = np.floor(np.asarray(centres, dtype=np.float64) - side / 2 + 0.5).astype(np.int64)  # (N, 2)
    r0, c0 = np.clip(start[:, 0], 0, height), np.clip(start[:, 1], 0, width)
    r1, c1 = np.clip(start[:, 0] + side, 0, height), np.clip(start[:, 1] + side, 0, width)
    return r0, r1, c0, c1, (r1 - r0) * (c1 - c0)


def box_sums(table: np.ndarray, boxes: tuple[np.ndarray, ...]) -> np.ndarray:
    """Sums of the plane behind ``table`` (an integral image) over each box, ``(N,)``."""
    r0, r1, c0, c1 = boxes[:4]
    return table[r1, c1] - table[r0, c1] - table[r1, c0] + table[r0, c0]


def _mean_std(plane: np.ndarray, boxes: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    area = boxes[4]
    mean = box_sums(integral_image(plane), boxes) / area
    var = box_sums(integral_image(np.square(plane, dtype=np.float64)), boxes) / area - mean**2
    return mean, np.sqrt(np.clip(var, 0.0, None))  # clip: cancellation can leave -1e-12


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB -> float32 HSV in [0, 1] (hue as a fraction of the colour circle)."""
    x = rgb.astype(np.float32) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    v = x.max(axis=-1)
    delta = v - x.min(axis=-1)
    s = np.divide(delta, v, out=np.zeros_like(v), where=v > 0)
    safe = np.where(delta > 0, delta, 1.0)
    hue = np.where(v == r, (g - b) / safe, np.where(v == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe))
    hue = np.where(delta > 0, (hue / 6.0) % 1.0, 0.0)
    return np.stack([hue, s, v], axis=-1).astype(np.float32)


def feature_names(bins: int = HIST_BINS) -> list[str]:
    """Column names of ``patch_features``, in order."""
    names = [f"{c}_mean" for c in "RGB"] + [f"{c}_std" for c in "RGB"]
    names += [f"{c}_hist{k}" for c in "HSV" for k in range(bins)]
    names += ["grad_mean", "grad_std"]
    names += [f"ctx_{c}_mean" for c in "RGB"] + ["ctx_grey_std", "ctx_grad_mean"]
    return names


# main function


def patch_features(image: np.ndarray, centres: np.ndarray, side: int, bins: int = HIST_BINS) -> np.ndarray:
    """Colour, texture and context statistics of the patch around each centre.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        centres: ``(N, 2)`` float (row, column) pixel coordinates in ``image``.
        side: the patch's side in pixels (>= 1); the context patch is ``CONTEXT * side``.
        bins: histogram bins per HSV channel.

    Returns:
        ``(N, len(feature_names(bins)))`` float32.

    Raises:
        DataError: a patch lies wholly outside the image (the coordinates do not belong to this image).
    """
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise DataError(f"patch_features expects an (H, W, 3) uint8 RGB image. Got {img.shape} {img.dtype}.")
    h, w = img.shape[:2]
    inner = patch_boxes(centres, side, h, w)
    outer = patch_boxes(centres, CONTEXT * max(int(side), 1), h, w)
    outside = np.flatnonzero(inner[4] == 0)
    if outside.size:
        r, c = np.asarray(centres)[outside[0]]
        raise DataError(
            f"{outside.size} spot(s) lie outside the {w} x {h} image (e.g. at row {r:.0f}, column {c:.0f}); "
            "the spot coordinates must be pixel positions in this image."
        )
    cols: list[np.ndarray] = []
    means, stds, ctx_means = [], [], []
    for ch in range(3):  # one plane at a time: two (H+1, W+1) float64 tables alive at most
        plane = img[..., ch]
        m, s = _mean_std(plane, inner)
        means.append(m)
        stds.append(s)
        ctx_means.append(box_sums(integral_image(plane), outer) / outer[4])
    cols += means + stds
    hsv = rgb_to_hsv(img)  # (H, W, 3) in [0, 1]
    for ch in range(3):
        code = np.minimum((hsv[..., ch] * bins).astype(np.int64), bins - 1)  # (H, W) bin of each pixel
        for k in range(bins):
            cols.append(box_sums(integral_image(code == k), inner) / inner[4])
    del hsv
    grey = img.astype(np.float32) @ np.asarray(GREY, dtype=np.float32)  # (H, W)
    gy, gx = np.gradient(grey)
    grad = np.hypot(gx, gy)
    g_mean, g_std = _mean_std(grad, inner)
    cols += [g_mean, g_std]
    _, ctx_grey_std = _mean_std(grey, outer)
    cols += ctx_means + [ctx_grey_std, box_sums(integral_image(grad), outer) / outer[4]]
    return np.stack(cols, axis=1).astype(np.float32)


__all__ = ["CONTEXT", "HIST_BINS", "feature_names", "patch_boxes", "patch_features", "rgb_to_hsv"]
