"""The paper's datasets, CMU-MOSI and CREMA-D, read from the server admin's dataset directory (``admin_dir.py``).

Neither is downloaded or bundled: the admin puts the feature files under ``$OMIB_DATASETS_DIR`` (see
docs/deploy.md, "Paper datasets") and a loader is given a name relative to it.

- CMU-MOSI (text, audio, vision; sentiment in [-3, 3]) from one of two pickle layouts, told apart by their keys:
  MMSA (``aligned_50.pkl`` / ``unaligned_50.pkl``: ``{"train"|"valid"|"test": {"text", "audio", "vision",
  "regression_labels", "id", ...}}``, arrays (N, T, d), optional ``audio_lengths`` / ``vision_lengths``) and MulT
  (``mosi_data.pkl``: the same splits with ``labels`` (N, 1, 1) instead of ``regression_labels``). A pickle runs
  code when it is loaded, so it is only ever opened from a path ``resolve_admin_file`` returned.
- CREMA-D (audio, visual; 6 emotions) from an ``.npz`` of pre-extracted features, read with ``allow_pickle=False``.

Both pool time steps by their mean, since OMIB's encoders are MLPs: (N, T, d) -> (N, d). CMU-MOSI keeps the
file's own train / valid / test split; CREMA-D uses the file's ``split`` array, else a seeded stratified split.
Importing this module registers both ids (``omib_core.data`` does it).
"""

from __future__ import annotations

import functools
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from omib_core.data.admin_dir import ENV_VAR, resolve_admin_file
from omib_core.data.dataset import TEST, TRAIN, VAL, MultimodalDataset, stratified_split
from omib_core.data.folder import parse_split
from omib_core.data.info import DatasetInfo
from omib_core.data.registry import register
from omib_core.errors import DataError
from omib_core.params import Param

MOSI_SPLITS = {"train": TRAIN, "valid": VAL, "test": TEST}  # the files' split names -> our codes
MOSI_MODALITIES = ("text", "audio", "vision")  # text first: the reference modality of r
MOSI_LABELS = {"mmsa": "regression_labels", "mult": "labels"}
MOSI_RANGE = 3.0
MOSI_EXTS = (".pkl", ".pickle")
CREMAD_MODALITIES = ("audio", "visual")
CREMAD_CODES = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")  # class ids 0..5 when the labels are codes
MOSI_SOURCE = (
    "CMU-MOSI: Zadeh, Zellers, Pincus, Morency, 'MOSI: Multimodal Corpus of Sentiment Intensity and Subjectivity "
    "Analysis in Online Opinion Videos', IEEE Intelligent Systems 31(6), 2016; features as released by MMSA "
    "(thuiar/MMSA, aligned_50.pkl / unaligned_50.pkl) or MulT (yaohungt/Multimodal-Transformer, mosi_data.pkl)."
)
MOSI_LICENCE = (
    "CMU Multimodal SDK terms: research use only, cite Zadeh et al. 2016; the feature release's own terms apply. "
    "Not redistributed with this app."
)
CREMAD_SOURCE = (
    "CREMA-D: Cao, Cooper, Keutmann, Gur, Nenkova, Verma, 'CREMA-D: Crowd-sourced Emotional Multimodal Actors "
    "Dataset', IEEE Transactions on Affective Computing 5(4), 2014; features pre-extracted by the admin."
)
CREMAD_LICENCE = (
    "Open Database License (ODbL) v1.0, contents under the Database Contents License; cite Cao et al. 2014."
)


# helpers


def _pool(x: np.ndarray, what: str, lengths: np.ndarray | None = None) -> np.ndarray:
    """(N, T, d) -> (N, d) mean over time (only the first ``lengths[i]`` frames of row i); (N, d) kept."""
    if x.ndim == 2:
        return x
    if x.ndim != 3:
        raise DataError(f"{what} has shape {x.shape}; it must be (N, T, d) features over time or (N, d) features.")
    if lengths is None:
        return x.mean(axis=1, dtype=np.float64)
    valid = np.arange(x.shape[1])[None, :] < lengths[:, None]  # (N, T): frame t of row i is real
    summed = np.einsum("ntd,nt->nd", x, valid.astype(x.dtype), dtype=np.float64)
    return summed / np.maximum(valid.sum(axis=1), 1)[:, None]  # a row with no frames pools to zeros


def _numeric(value: Any, what: str, dtype: type = np.float64) -> np.ndarray:
    """A numeric array as a fresh copy of ``dtype`` (features stay float32: MOSI's text is (N, 50, 768))."""
    x = np.asarray(value)
    if x.dtype.kind not in "biuf":
        raise DataError(f"{what} has dtype {x.dtype}; it must hold numbers (int or float arrays).")
    return x.astype(dtype)


def _clean(x: np.ndarray, what: str) -> np.ndarray:
    """-inf and NaN -> 0 in place, as MMSA and MulT do (``audio[audio == -np.inf] = 0``); +inf is refused."""
    x[np.isneginf(x) | np.isnan(x)] = 0.0
    if np.isposinf(x).any():
        raise DataError(f"{what} holds +inf values; fix the feature file (MMSA and MulT only clean -inf and NaN).")
    return x


def _keys(d: dict[str, Any]) -> str:
    return ", ".join(sorted(map(str, d))) or "none"


# CMU-MOSI


def _mosi_layout(split: dict[str, Any], name: str) -> str:
    """``"mmsa"`` or ``"mult"`` from the keys of one split."""
    missing = [m for m in MOSI_MODALITIES if m not in split]
    layout = "mmsa" if "regression_labels" in split else "mult" if "labels" in split else None
    if missing or layout is None:
        raise DataError(
            f"CMU-MOSI: {name}'s 'train' split has keys {_keys(split)}; the MMSA layout needs text, audio, vision "
            "and regression_labels, the MulT layout text, audio, vision and labels. Use aligned_50.pkl / "
            "unaligned_50.pkl from MMSA or mosi_data.pkl from MulT as released."
        )
    return layout


def _mosi_split(split: dict[str, Any], layout: str, where: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One split of the file -> ({modality: (n, d) float64}, target (n,) float64)."""
    label_key = MOSI_LABELS[layout]
    missing = [k for k in (*MOSI_MODALITIES, label_key) if k not in split]
    if missing:
        raise DataError(f"CMU-MOSI: {where} lacks {missing} (it has {_keys(split)}); every split needs the same keys.")
    y = _numeric(split[label_key], f"{where}[{label_key!r}]").reshape(-1)  # MulT: (n, 1, 1)
    if not np.all(np.isfinite(y)) or np.abs(y).max(initial=0.0) > MOSI_RANGE:
        raise DataError(
            f"CMU-MOSI: {where}[{label_key!r}] has values outside [-3, 3] (or NaN); sentiment scores "
            "range from -3 to 3. Check that this is a CMU-MOSI file."
        )
    mods: dict[str, np.ndarray] = {}
    for m in MOSI_MODALITIES:
        what = f"{where}[{m!r}]"
        x = _clean(_numeric(split[m], what, np.float32), what)
        if x.shape[0] != y.shape[0]:
            raise DataError(
                f"CMU-MOSI: {what} has {x.shape[0]} rows but {where}[{label_key!r}] has {y.shape[0]}; "
                "each split needs one row per video segment in every array. Re-export the file."
            )
        lengths = None
        if layout == "mmsa" and m != "text" and f"{m}_lengths" in split and x.ndim == 3:  # unaligned MMSA data
            lengths = _numeric(split[f"{m}_lengths"], f"{where}[{m + '_lengths'!r}]").reshape(-1)
            if lengths.shape[0] != x.shape[0]:
                raise DataError(
                    f"CMU-MOSI: {where}[{m + '_lengths'!r}] has {lengths.shape[0]} values for "
                    f"{x.shape[0]} rows; it needs one length per row."
                )
        mods[m] = _pool(x, what, lengths)
    return mods, y


@functools.lru_cache(maxsize=2)
def _read_mosi(path: str, mtime_ns: int, size: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, str]:
    """The pooled arrays of one pickle, cached per (path, modification time, size): (mods, target, split, layout)."""
    name = Path(path).name
    try:
        with open(path, "rb") as fh:
            data = pickle.load(fh)  # noqa: S301 - only ever a path inside the admin's directory (resolve_admin_file)
    except Exception as e:  # noqa: BLE001 - a truncated or foreign file raises many types
        raise DataError(
            f"CMU-MOSI: {name} could not be unpickled ({type(e).__name__}); it must be the MMSA or MulT "
            "pickle as released (Python 3, NumPy arrays). Ask the admin to replace it."
        ) from None
    if not isinstance(data, dict) or any(not isinstance(data.get(s), dict) for s in MOSI_SPLITS):
        found = _keys(data) if isinstance(data, dict) else type(data).__name__
        raise DataError(
            f"CMU-MOSI: {name} must be a dict with 'train', 'valid' and 'test' dicts (MMSA / MulT "
            f"layout); it holds {found}."
        )
    layout = _mosi_layout(data["train"], name)
    parts = [_mosi_split(data[s], layout, f"{name}[{s!r}]") for s in MOSI_SPLITS]
    dims = {m: {s: p[0][m].shape[1] for s, p in zip(MOSI_SPLITS, parts)} for m in MOSI_MODALITIES}
    bad = {m: d for m, d in dims.items() if len(set(d.values())) > 1}
    if bad:
        raise DataError(f"CMU-MOSI: {name} has different feature sizes across splits {bad}; re-export the file.")
    mods = {m: np.concatenate([p[0][m] for p in parts]) for m in MOSI_MODALITIES}
    target = np.concatenate([p[1] for p in parts])
    split = np.concatenate([np.full(len(p[1]), code, np.int8) for p, code in zip(parts, MOSI_SPLITS.values())])
    return mods, target, split, layout


def load_cmu_mosi(
    *, file: str = "mosi/aligned_50.pkl", seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.15
) -> MultimodalDataset:
    """CMU-MOSI from the admin's directory: 3 modalities, regression in [-3, 3], the file's own split.

    ``seed`` and the fractions are accepted for the common loader signature and ignored: the split is the
    file's (2,199 segments: 1,284 train, 229 valid, 686 test in both releases).

    Raises:
        DataError: the directory is not configured, the file is missing, not a pickle of either layout, or its
            arrays disagree (keys, row counts, label range).
    """
    del seed, val_fraction, test_fraction  # the file's split is the benchmark's split
    if not str(file).lower().endswith(MOSI_EXTS):
        raise DataError(
            f"CMU-MOSI: {file!r} is not a pickle (.pkl); name the MMSA aligned_50.pkl / unaligned_50.pkl "
            "or the MulT mosi_data.pkl inside the server's dataset directory."
        )
    path = resolve_admin_file(file, "CMU-MOSI")
    stat = path.stat()
    mods, target, split, layout = _read_mosi(str(path), stat.st_mtime_ns, stat.st_size)
    meta = {
        "description": "Opinion video segments rated for sentiment from -3 (very negative) to +3 (very positive).",
        "source": MOSI_SOURCE,
        "licence": MOSI_LICENCE,
        "file": file,
        "layout": {"mmsa": "MMSA", "mult": "MulT"}[layout],
        "pooling": "mean over time (valid frames only when the file gives lengths)",
    }
    mods32 = {m: x.astype(np.float32) for m, x in mods.items()}
    return MultimodalDataset("cmu-mosi", mods32, target.astype(np.float32), "regression", split.copy(), meta=meta)


# CREMA-D


def _cremad_labels(raw: np.ndarray) -> tuple[np.ndarray, list[str] | None]:
    """Labels (ints 0..5 or emotion codes) -> (class ids (N,) int64, class names when codes were given)."""
    y = raw.reshape(-1) if raw.ndim == 2 and raw.shape[1] == 1 else raw
    if y.ndim != 1:
        raise DataError(f"CREMA-D: 'label' has shape {raw.shape}; it needs one label per row, shape (N,).")
    if y.dtype.kind in "US":
        codes = np.char.upper(np.char.strip(y.astype(str)))
        unknown = sorted(set(codes.tolist()) - set(CREMAD_CODES))
        if unknown:
            raise DataError(
                f"CREMA-D: 'label' has unknown emotion codes {unknown[:5]}; use {', '.join(CREMAD_CODES)} "
                "or the integers 0..5."
            )
        return np.searchsorted(np.array(CREMAD_CODES), codes).astype(np.int64), list(CREMAD_CODES)
    if y.dtype.kind not in "iuf" or (y.dtype.kind == "f" and not np.all(np.isfinite(y) & (y == np.round(y)))):
        raise DataError(
            f"CREMA-D: 'label' (dtype {y.dtype}) must hold whole-number class ids 0..5 or the codes "
            f"{', '.join(CREMAD_CODES)} as a string array."
        )
    if y.size and (y.min() < 0 or y.max() >= len(CREMAD_CODES)):
        raise DataError(
            f"CREMA-D: 'label' ranges from {y.min():g} to {y.max():g}; CREMA-D has 6 classes, so class "
            "ids must be 0..5."
        )
    return y.astype(np.int64), None


def _read_npz(path: Path, name: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)
            missing = [k for k in (*CREMAD_MODALITIES, "label") if k not in keys]
            if missing:
                raise DataError(
                    f"CREMA-D: {name} lacks {missing} (it holds {_keys(dict.fromkeys(keys))}); save it "
                    "with numpy.savez(path, audio=..., visual=..., label=..., split=...)."
                )
            return {k: npz[k] for k in (*CREMAD_MODALITIES, "label", "split") if k in keys}
    except DataError:
        raise
    except ValueError as e:
        if "allow_pickle" in str(e) or "Object arrays" in str(e):
            raise DataError(
                f"CREMA-D: {name} holds an object array, which only loads through pickle; save numeric "
                "features and a string (not object) label array: x.astype('float32'), "
                "labels.astype(str)."
            ) from None
        raise DataError(f"CREMA-D: {name} could not be read as an .npz archive ({e}).") from None
    except Exception as e:  # noqa: BLE001 - BadZipFile, zlib and CRC errors...
        raise DataError(
            f"CREMA-D: {name} is not a valid .npz archive ({type(e).__name__}); save it with numpy.savez."
        ) from None


def load_crema_d(
    *, file: str = "crema-d/features.npz", seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.15
) -> MultimodalDataset:
    """CREMA-D features from the admin's directory: audio and visual, 6 emotion classes.

    The ``.npz`` holds ``audio`` and ``visual`` ((N, d) or (N, T, d), pooled over time), ``label`` (ints 0..5 or
    the codes ANG, DIS, FEA, HAP, NEU, SAD) and optionally ``split`` (train / val / test or 0 / 1 / 2); without
    it a seeded split stratified by class is drawn from ``seed`` and the fractions.

    Raises:
        DataError: the directory is not configured, the file is missing or not an .npz of that layout.
    """
    if not str(file).lower().endswith(".npz"):
        raise DataError(
            f"CREMA-D: {file!r} is not an .npz file; name the features archive (e.g. "
            "crema-d/features.npz) inside the server's dataset directory."
        )
    path = resolve_admin_file(file, "CREMA-D")
    arrays = _read_npz(path, path.name)
    target, class_names = _cremad_labels(arrays["label"])
    mods = {m: _pool(_numeric(arrays[m], f"CREMA-D {m!r}", np.float32), f"CREMA-D {m!r}") for m in CREMAD_MODALITIES}
    counts = {**{m: x.shape[0] for m, x in mods.items()}, "label": target.shape[0]}
    if "split" in arrays:
        counts["split"] = int(np.asarray(arrays["split"]).reshape(-1).shape[0])
    if len(set(counts.values())) > 1:
        raise DataError(
            f"CREMA-D: {path.name} has different row counts {counts}; every array needs one row per clip, "
            "in the same order."
        )
    if "split" in arrays:
        raw = np.asarray(arrays["split"]).reshape(-1)
        split = parse_split((raw.astype(str) if raw.dtype.kind == "S" else raw).tolist(), f"CREMA-D: {path.name}")
    else:
        split = stratified_split(target, "classification", seed, val_fraction, test_fraction)
    meta = {
        "description": "Actors' clips speaking with one of six emotions: anger, disgust, fear, happy, neutral, sad.",
        "source": CREMAD_SOURCE,
        "licence": CREMAD_LICENCE,
        "file": file,
        "pooling": "mean over time",
    }
    if class_names:
        meta["class_names"] = class_names
    mods32 = {m: x.astype(np.float32) for m, x in mods.items()}
    return MultimodalDataset("crema-d", mods32, target, "classification", split, meta=meta)


# registration


def register_paper() -> None:
    """Register ``cmu-mosi`` and ``crema-d`` (idempotent)."""
    where = f"from the server's dataset directory ({ENV_VAR}, set by the admin; see docs/deploy.md)"
    mosi = DatasetInfo(
        "cmu-mosi",
        "CMU-MOSI (sentiment)",
        "regression",
        3,
        f"2,199 opinion video segments, sentiment from -3 to +3; text, audio and vision features pooled over time. "
        f"Read {where}: the MMSA aligned_50.pkl / unaligned_50.pkl or the MulT mosi_data.pkl pickle, detected from "
        "its keys. The file's own train / valid / test split is used, so the split fractions are ignored. "
        "Scored by MAE, Corr, Acc-2, F1 and Acc-7.",
        {
            "file": Param(
                "str",
                "mosi/aligned_50.pkl",
                low=1,
                help=f"pickle name relative to {ENV_VAR}, e.g. mosi/aligned_50.pkl, mosi/unaligned_50.pkl or "
                "mosi/mosi_data.pkl (only files the admin put there are read)",
            )
        },
        source=MOSI_SOURCE,
        licence=MOSI_LICENCE,
    )
    cremad = DatasetInfo(
        "crema-d",
        "CREMA-D (emotions)",
        "classification",
        2,
        f"Audio-visual clips of actors showing 6 emotions (ANG, DIS, FEA, HAP, NEU, SAD). Read {where}: an .npz "
        "with audio and visual features ((N, d) or (N, T, d), pooled over time), label (0..5 or the codes) and an "
        "optional split; without it a seeded stratified split is drawn.",
        {
            "file": Param(
                "str", "crema-d/features.npz", low=1, help=f".npz name relative to {ENV_VAR}, e.g. crema-d/features.npz"
            )
        },
        source=CREMAD_SOURCE,
        licence=CREMAD_LICENCE,
    )
    register(mosi, load_cmu_mosi, replace=True)
    register(cremad, load_crema_d, replace=True)


register_paper()
