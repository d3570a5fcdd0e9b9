"""10x Visium spatial breast tissue (the paper's anomaly task), read from the admin's dataset directory.

Two layouts, both relative to ``$OMIB_DATASETS_DIR`` (see ``admin_dir.py`` and docs/deploy.md, 'Paper datasets'):

- a Space Ranger ``outs/`` folder (the default ``10x-breast/outs``)::

      outs/
        filtered_feature_bc_matrix.h5     HDF5 group 'matrix': barcodes, data, indices, indptr, shape [genes, spots],
                                          features/name (+ features/feature_type: 'Gene Expression' rows kept)
        spatial/tissue_positions.csv      Space Ranger >= 2: header barcode,in_tissue,array_row,array_col,
                                          pxl_row_in_fullres,pxl_col_in_fullres
        spatial/tissue_positions_list.csv Space Ranger 1: the same columns without the header
        spatial/scalefactors_json.json    tissue_hires_scalef, spot_diameter_fullres (tissue_lowres_scalef)
        spatial/tissue_hires_image.png    (or tissue_lowres_image.png)
        disease.csv                       not written by Space Ranger: barcode + a disease / label column

- an AnnData ``.h5ad`` file (read with h5py, without anndata): ``X`` (dense, or a CSR / CSC group; raw counts, or
  ``layers/counts`` when present), ``obs['disease']`` (categorical, anndata >= 0.8 or the older ``__categories``
  layout, or strings), ``var`` gene names, ``obsm['spatial']`` (N, 2) = (x, y) full-resolution pixels (scanpy's
  convention), optional ``obs['in_tissue']`` and ``uns['spatial'][library]['scalefactors']``; its image is the
  ``image`` parameter, or the ``.png`` / ``.tif`` of the same stem next to it.

Modalities: ``expression`` (library size normalised to 1e4, log1p, the ``n_genes`` most variable genes,
``expression.py``) and ``image`` (colour, texture and context features of a square patch around each spot, ``patches.py``).
Target: 1 (anomaly) for every label other than ``normal_label``, 0 for normal tissue.

[choice] Like ``sim-anomaly``, training rows are all normal (Deep SVDD is trained one-class on normal tissue): the
split is seeded and stratified (``folder.stratified_split``), then the anomalies it drew for training are moved to
validation and test in proportion to their fractions, so no labelled tumour spot is wasted.
[choice] The most variable genes are ranked on all spots, without their labels (as a scanpy pipeline does on one
slide). The training rows are normal tissue only, so ranking on them would drop exactly the genes that differ
between normal and tumour tissue; the labels never enter the ranking.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from omib_core.data.admin_dir import ENV_VAR, admin_data_dir, resolve_admin_file
from omib_core.data.dataset import TEST, TRAIN, VAL, MultimodalDataset, stratified_split
from omib_core.data.expression import expression_features
from omib_core.data.info import DatasetInfo
from omib_core.data.patches import feature_names, patch_features
from omib_core.data.registry import register
from omib_core.errors import ConfigError, DataError, OmibError
from omib_core.params import Param, validate

DATASET_ID = "10x-breast"
WHAT = "10x Visium breast tissue"
OWNER = f"dataset '{DATASET_ID}'"
LABEL_COLUMNS = ("disease", "label", "labels", "annotation", "pathology")  # first match, case-insensitive
LABEL_FILES = ("disease.csv", "labels.csv")
IMAGE_EXTS = (".png", ".tif", ".tiff")
POSITION_COLUMNS = ("barcode", "in_tissue", "array_row", "array_col", "pxl_row_in_fullres", "pxl_col_in_fullres")
SPOT_OVER_PITCH = 0.55  # Visium: 55 um spots, 100 um apart (centre to centre)
MIN_PATCH = 3  # pixels
MIN_IMAGE = 16  # pixels per side
WORK_PATCH = 16  # patches wider than 2x this are computed on an image shrunk by an integer factor
SOURCE = (
    "10x Genomics Visium spatial gene expression of human breast tissue with its H&E image (e.g. 'Human Breast "
    "Cancer: Block A Section 1'), Space Ranger output or an AnnData .h5ad, put in the server's dataset directory "
    "by its admin"
)
LICENCE = "the terms of the copy the admin supplied (10x Genomics publishes its demonstration datasets under CC BY 4.0)"


@dataclass
class Spots:
    """What a reader returns: one row per labelled in-tissue spot."""

    barcodes: np.ndarray  # (N,) str
    counts: Any  # (N, G) scipy.sparse CSR, non-negative
    genes: np.ndarray  # (G,) str
    labels: np.ndarray  # (N,) str, stripped, non-empty
    coords: np.ndarray  # (N, 2) float64 (row, col) in full-resolution pixels
    image: Path
    scales: tuple[float, ...]  # image pixels per full-resolution pixel: candidates, first that fits wins
    spot_diameter: float | None  # full-resolution pixels (None: from the spot spacing)
    layout: str
    label_source: str


# helpers: HDF5


def _strings(values: Any) -> np.ndarray:
    """An HDF5 string array (bytes or str, any dtype) -> (N,) str."""
    arr = np.asarray(values).ravel()
    if arr.dtype.kind in ("S", "O"):
        return np.array([v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in arr], dtype=str)
    if arr.dtype.kind in ("i", "u"):
        return arr.astype(np.int64).astype(str)
    return arr.astype(str)


def _attr(node: Any, name: str, default: Any = None) -> Any:
    value = node.attrs.get(name, default)
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _open_h5(path: Path, what: str) -> Any:
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise DataError(
            f"{what}: {path.name} is not a readable HDF5 file ({e}); copy it again from the source."
        ) from None


def _sparse(node: Any, what: str) -> Any:
    """An AnnData matrix node (dense dataset, or CSR / CSC group) -> scipy CSR."""
    import h5py
    import scipy.sparse as sp

    if isinstance(node, h5py.Dataset):
        if node.ndim != 2:
            raise DataError(f"{what} must be a 2-D matrix (spots x genes). Got shape {node.shape}.")
        return sp.csr_matrix(np.asarray(node[()], dtype=np.float32))
    enc = _attr(node, "encoding-type") or f"{_attr(node, 'h5sparse_format', '')}_matrix"  # anndata 0.7: h5sparse_*
    shape = _attr(node, "shape", _attr(node, "h5sparse_shape"))
    if enc not in ("csr_matrix", "csc_matrix") or shape is None or not {"data", "indices", "indptr"} <= set(node):
        raise DataError(
            f"{what} is an HDF5 group but not a sparse matrix (expected encoding-type csr_matrix / csc_matrix, a "
            "'shape' attribute and data, indices, indptr). Re-save the file with a recent anndata."
        )
    cls = sp.csr_matrix if enc == "csr_matrix" else sp.csc_matrix
    try:
        mat = cls((node["data"][()], node["indices"][()], node["indptr"][()]), shape=tuple(int(s) for s in shape))
    except ValueError as e:
        raise DataError(f"{what}: the sparse matrix is inconsistent ({e}); the file is damaged.") from None
    return mat.tocsr().astype(np.float32)


def _obs_column(obs: Any, name: str) -> np.ndarray:
    """One obs column as (N,) str; '' for missing values. Both categorical layouts, strings, numbers."""
    import h5py

    node = obs[name]
    if isinstance(node, h5py.Group):
        if {"categories", "codes"} <= set(node):  # anndata >= 0.8
            categories, codes = _strings(node["categories"][()]), np.asarray(node["codes"][()], dtype=np.int64)
        elif "values" in node:  # nullable arrays: values + mask
            values = _strings(node["values"][()])
            mask = np.asarray(node["mask"][()], dtype=bool) if "mask" in node else np.zeros(len(values), bool)
            return np.where(mask, "", values)
        else:
            raise DataError(f"{WHAT}: obs[{name!r}] is a group in an unknown layout; store it as a categorical.")
    elif "__categories" in obs and name in obs["__categories"]:  # anndata < 0.8: codes + obs/__categories/<name>
        categories, codes = _strings(obs["__categories"][name][()]), np.asarray(node[()], dtype=np.int64)
    else:
        values = _strings(node[()])
        return np.where(np.isin(np.char.lower(values), ("nan", "none")), "", values)
    out = np.full(codes.shape, "", dtype=object)
    ok = (codes >= 0) & (codes < len(categories))  # -1 = missing
    out[ok] = categories[codes[ok]]
    return out.astype(str)


def _index(group: Any, what: str) -> np.ndarray:
    key = _attr(group, "_index", "_index")
    if key not in group:
        raise DataError(f"{WHAT}: {what} has no index dataset {key!r}; re-save the file with anndata.")
    return _strings(group[key][()])


def _pick_column(columns: list[str], what: str) -> str:
    lower = {c.lower(): c for c in columns}
    for name in LABEL_COLUMNS:
        if name in lower:
            return lower[name]
    raise DataError(
        f"{WHAT}: {what} has no disease label column; name one {', '.join(LABEL_COLUMNS)} (normal vs tumour). "
        f"Columns found: {', '.join(columns) or 'none'}."
    )


# helpers: the two layouts


def _sibling_image(name: str) -> str:
    base = admin_data_dir()
    for ext in IMAGE_EXTS:
        rel = str(Path(name).with_suffix(ext))
        if base is not None and (base / rel).is_file():
            return rel
    raise DataError(
        f"{WHAT}: no image next to {name!r} (looked for {', '.join(Path(name).stem + e for e in IMAGE_EXTS)}). "
        "Put the tissue image there with the same name, or set the 'image' parameter to its file name."
    )


def _h5ad_scalefactors(f: Any) -> dict[str, float]:
    lib = f.get("uns/spatial")
    if lib is None or not len(lib):
        return {}
    sf = lib[sorted(lib)[0]].get("scalefactors")
    return {k: float(np.asarray(sf[k][()]).ravel()[0]) for k in sf} if sf is not None else {}


def read_h5ad(name: str, image: str = "") -> Spots:
    """The spots of an AnnData ``.h5ad`` (relative to ``$OMIB_DATASETS_DIR``) and its image."""
    path = resolve_admin_file(name, WHAT, kind="file")
    image_rel = image.strip() or _sibling_image(name)
    image_path = resolve_admin_file(image_rel, f"{WHAT} image", kind="file")
    with _open_h5(path, WHAT) as f:
        missing = [k for k in ("X", "obs", "var", "obsm/spatial") if k not in f]
        if missing:
            raise DataError(
                f"{WHAT}: {path.name} lacks {', '.join(missing)}; an AnnData file of Visium spots has X, "
                "obs, var and obsm['spatial'] (pixel coordinates)."
            )
        obs = f["obs"]
        if not hasattr(obs, "keys"):
            raise DataError(f"{WHAT}: obs of {path.name} is in the pre-0.7 anndata layout; re-save it with anndata.")
        barcodes, genes = _index(obs, "obs"), _index(f["var"], "var")
        col = _pick_column([c for c in obs if not c.startswith("_")], f"obs of {path.name}")
        labels = np.char.strip(_obs_column(obs, col))
        node = f["layers/counts"] if "layers/counts" in f else f["X"]
        counts = _sparse(node, f"{WHAT}: {node.name} of {path.name}")
        xy = np.asarray(f["obsm/spatial"][()], dtype=np.float64)
        keep = labels != ""
        if "in_tissue" in obs:
            keep &= ~np.isin(np.char.lower(_obs_column(obs, "in_tissue")), ("0", "0.0", "false"))
        scalefactors = _h5ad_scalefactors(f)
    n = len(barcodes)
    if counts.shape != (n, len(genes)) or xy.ndim != 2 or xy.shape[0] != n or xy.shape[1] < 2:
        raise DataError(
            f"{WHAT}: {path.name} is inconsistent: X {counts.shape}, obs {n} rows, var {len(genes)} rows, "
            f"obsm['spatial'] {xy.shape}; X must be spots x genes and obsm['spatial'] (spots, 2)."
        )
    scales = tuple(
        dict.fromkeys(
            [
                1.0,
                *(
                    scalefactors[k]
                    for k in ("tissue_hires_scalef", "tissue_lowres_scalef")
                    if scalefactors.get(k, 0) > 0
                ),
            ]
        )
    )
    return Spots(
        barcodes[keep],
        counts[keep],
        genes,
        labels[keep],
        xy[keep][:, [1, 0]],
        image_path,
        scales,
        scalefactors.get("spot_diameter_fullres"),
        "h5ad",
        f"obs[{col!r}]",
    )


def _read_positions(outs: str) -> Any:
    import pandas as pd

    for fname in ("tissue_positions.csv", "tissue_positions_list.csv"):  # Space Ranger 2 (header), 1 (none)
        rel = f"{outs}/spatial/{fname}"
        base = admin_data_dir()
        if base is not None and (base / rel).is_file():
            path = resolve_admin_file(rel, WHAT)
            frame = pd.read_csv(path, header=None, dtype=str)
            if str(frame.iloc[0, 0]).strip().lower() == "barcode":  # a header, whatever the version says
                frame = frame.iloc[1:]
            if frame.shape[1] != len(POSITION_COLUMNS):
                raise DataError(
                    f"{WHAT}: spatial/{fname} has {frame.shape[1]} columns; Space Ranger writes "
                    f"{', '.join(POSITION_COLUMNS)}."
                )
            frame.columns = list(POSITION_COLUMNS)
            return frame.set_index("barcode")
    raise DataError(
        f"{WHAT}: {outs}/spatial has neither tissue_positions.csv (Space Ranger 2) nor "
        "tissue_positions_list.csv (Space Ranger 1); copy the whole spatial/ folder of outs/."
    )


def _read_labels_csv(outs: str) -> tuple[Any, str]:
    import pandas as pd

    base = admin_data_dir()
    for fname in LABEL_FILES:
        if base is not None and (base / outs / fname).is_file():
            frame = pd.read_csv(resolve_admin_file(f"{outs}/{fname}", WHAT), dtype=str, keep_default_na=False)
            frame.columns = [str(c).strip() for c in frame.columns]
            bc = next((c for c in frame.columns if c.lower() in ("barcode", "barcodes", "spot")), frame.columns[0])
            col = _pick_column([c for c in frame.columns if c != bc], fname)
            labels = frame.set_index(frame[bc].str.strip())[col].str.strip()
            twice = labels.index[labels.index.duplicated()]
            if len(twice):
                raise DataError(
                    f"{WHAT}: {fname} lists {len(twice)} barcode(s) twice (e.g. {twice[0]}); keep one label per spot."
                )
            return labels, fname
    raise DataError(
        f"{WHAT}: Space Ranger does not write disease labels, so {outs}/disease.csv is needed: one row per spot "
        "with the columns barcode,disease (e.g. AAACAAGTATCTCCCA-1,normal). See docs/deploy.md, 'Paper datasets'."
    )


def read_space_ranger(outs: str) -> Spots:
    """The labelled in-tissue spots of a Space Ranger ``outs/`` folder (relative to ``$OMIB_DATASETS_DIR``)."""
    import pandas as pd
    import scipy.sparse as sp

    resolve_admin_file(outs, WHAT, kind="dir")
    h5 = resolve_admin_file(f"{outs}/filtered_feature_bc_matrix.h5", WHAT)
    with _open_h5(h5, WHAT) as f:
        g = f.get("matrix")
        need = ("barcodes", "data", "indices", "indptr", "shape", "features/name")
        if g is None or any(k not in g for k in need):
            raise DataError(
                f"{WHAT}: {h5.name} is not a Space Ranger feature-barcode matrix (group 'matrix' with "
                f"{', '.join(need)}); use the filtered_feature_bc_matrix.h5 of Space Ranger >= 1."
            )
        n_genes, n_spots = (int(s) for s in g["shape"][()])
        try:  # stored column by column: (genes, spots) CSC
            counts = sp.csc_matrix((g["data"][()], g["indices"][()], g["indptr"][()]), shape=(n_genes, n_spots))
        except ValueError as e:
            raise DataError(f"{WHAT}: the matrix in {h5.name} is inconsistent ({e}); the file is damaged.") from None
        barcodes, genes = _strings(g["barcodes"][()]), _strings(g["features/name"][()])
        is_gene = (
            (_strings(g["features/feature_type"][()]) == "Gene Expression")
            if "features/feature_type" in g
            else np.ones(n_genes, bool)
        )
    counts = counts.T.tocsr()[:, is_gene].astype(np.float32)  # (spots, genes)
    pos = _read_positions(outs)
    labels, label_file = _read_labels_csv(outs)
    lost = ~np.isin(barcodes, pos.index)
    if lost.any():
        raise DataError(
            f"{WHAT}: {int(lost.sum())} spot(s) of the matrix (e.g. {barcodes[lost][0]}) have no "
            "coordinates in tissue_positions; the matrix and spatial/ must come from the same run."
        )
    in_tissue = pos.loc[barcodes, "in_tissue"].str.strip().to_numpy() == "1"
    labelled = np.isin(barcodes, labels.index[labels != ""])
    if not labelled.any():
        raise DataError(
            f"{WHAT}: none of the {len(labels)} barcodes in {label_file} matches a spot of the matrix (the matrix has "
            f"e.g. {barcodes[0]!r}, {label_file} e.g. {str(labels.index[0]) if len(labels) else 'nothing'!r}). "
            "Write the barcodes exactly as Space Ranger does, with the '-1' suffix."
        )
    keep = in_tissue & labelled
    rows = pos.loc[barcodes[keep], ["pxl_row_in_fullres", "pxl_col_in_fullres"]]
    coords = rows.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)  # text -> NaN -> an error later
    sf_rel = f"{outs}/spatial/scalefactors_json.json"
    try:
        sf = json.loads(resolve_admin_file(sf_rel, WHAT).read_text())
        hires, lowres, diameter = (
            float(sf.get(k, 0) or 0) for k in ("tissue_hires_scalef", "tissue_lowres_scalef", "spot_diameter_fullres")
        )
    except (ValueError, AttributeError) as e:
        raise DataError(f"{WHAT}: {sf_rel} is not Space Ranger's scale-factor JSON ({e}).") from None
    base = admin_data_dir()
    for fname, scale in (("tissue_hires_image.png", hires), ("tissue_lowres_image.png", lowres)):
        if base is not None and (base / outs / "spatial" / fname).is_file() and scale > 0:
            image = resolve_admin_file(f"{outs}/spatial/{fname}", WHAT)
            break
    else:
        raise DataError(
            f"{WHAT}: {outs}/spatial has no tissue_hires_image.png with its tissue_hires_scalef in "
            "scalefactors_json.json; copy the whole spatial/ folder of outs/."
        )
    return Spots(
        barcodes[keep],
        counts[keep],
        genes[is_gene],
        labels.loc[barcodes[keep]].to_numpy(dtype=str),
        coords,
        image,
        (scale,),
        diameter or None,
        "space-ranger",
        label_file,
    )


# helpers: features, target, split


def _open_image(path: Path) -> Any:
    """Pillow image, with Pillow's decompression-bomb guard kept (its warning made an error too)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path)
            im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise DataError(
            f"{WHAT}: the image {path.name} is too large to decode safely ({e}). Give a smaller copy, e.g. Space "
            "Ranger's tissue_hires_image.png, with its tissue_hires_scalef in the .h5ad's "
            "uns['spatial'][library]['scalefactors'] so the spot coordinates can be scaled to it."
        ) from None
    except (UnidentifiedImageError, OSError) as e:
        raise DataError(f"{WHAT}: {path.name} is not a readable PNG / TIFF image ({e}).") from None
    if min(im.size) < MIN_IMAGE:
        raise DataError(
            f"{WHAT}: the image {path.name} is only {im.size[0]} x {im.size[1]} pixels; give the tissue "
            "image at hires or full resolution."
        )
    if im.mode in ("I", "I;16", "I;16B", "F"):  # 16-bit / float grey TIFF: stretch to 8 bits
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        im = Image.fromarray(((arr - lo) / (hi - lo or 1.0) * 255).astype(np.uint8))
    return im.convert("RGB")


def _image_modality(spots: Spots, patch_px: int) -> tuple[np.ndarray, dict[str, Any]]:
    """Patch features (N, F) and what was used (scale, patch side, image size)."""
    im = _open_image(spots.image)
    width, height = im.size
    diameter = spots.spot_diameter
    if not diameter or diameter <= 0:  # from the spot pitch: median distance to the nearest spot
        from scipy.spatial import cKDTree

        dist = cKDTree(spots.coords).query(spots.coords, k=2)[0][:, 1]
        diameter = SPOT_OVER_PITCH * float(np.median(dist)) if len(dist) else 0.0
    for scale in spots.scales:  # the first scale that puts every spot inside the image
        centres = spots.coords * scale
        margin = diameter * scale / 2 + 1
        inside = (
            (centres >= -margin).all()
            and (centres[:, 0] <= height + margin).all()
            and (centres[:, 1] <= width + margin).all()
        )
        if inside:
            break
    else:
        far = spots.coords.max(axis=0)
        raise DataError(
            f"{WHAT}: the spots reach row {far[0]:.0f}, column {far[1]:.0f} (full-resolution pixels) but "
            f"{spots.image.name} is {width} x {height} pixels, and no scale factor (tried "
            f"{', '.join(f'{s:g}' for s in spots.scales)}) fits them in. Give the image the coordinates belong to, "
            "or its scale factor (tissue_hires_scalef) with it."
        )
    side = int(patch_px) if patch_px > 0 else int(round(diameter * scale))
    if side < MIN_PATCH:
        raise DataError(
            f"{WHAT}: a spot covers {side} pixel(s) of {spots.image.name} ({width} x {height}); give a "
            f"higher-resolution image or set patch_px to {MIN_PATCH} or more."
        )
    factor = max(side // WORK_PATCH, 1) if side > 2 * WORK_PATCH else 1
    if factor > 1:  # a box filter keeps means and shares; it saves memory and time on big images
        im, centres, side = im.reduce(factor), centres / factor, max(side // factor, MIN_PATCH)
    features = patch_features(np.asarray(im, dtype=np.uint8), centres, side)
    info = {
        "image_file": spots.image.name,
        "image_size": [width, height],
        "image_scale": scale,
        "spot_diameter_fullres": diameter,
        "patch_px": side * factor,
        "image_features": feature_names(),
    }
    return features, info


def anomaly_target(labels: np.ndarray, normal_label: str) -> np.ndarray:
    """1 for every label other than the normal one(s) (comma-separated, case-insensitive), 0 for normal."""
    normal = {s.strip().lower() for s in str(normal_label).split(",") if s.strip()}
    found = sorted(set(labels.tolist()))
    y = (~np.isin(np.char.lower(labels.astype(str)), sorted(normal))).astype(np.int64)
    if not (y == 0).any():
        raise DataError(
            f"{WHAT}: no spot is labelled {normal_label!r} (normal_label), so there is no normal tissue "
            f"to train on. Labels found: {', '.join(found)}. Set normal_label to the healthy one."
        )
    if not (y == 1).any():
        raise DataError(
            f"{WHAT}: every spot is labelled {normal_label!r}; anomaly detection needs some tumour "
            f"spots to score. Labels found: {', '.join(found)}."
        )
    return y


def one_class_split(y: np.ndarray, seed: int, val_fraction: float, test_fraction: float) -> np.ndarray:
    """Seeded stratified split, then the training anomalies moved to val / test (in proportion to their sizes)."""
    split = stratified_split(y, "anomaly", seed, val_fraction, test_fraction)
    moved = np.flatnonzero((split == TRAIN) & (y == 1))
    rng = np.random.default_rng([seed, 2])
    p_val = val_fraction / (val_fraction + test_fraction)
    split[moved] = np.where(rng.random(moved.size) < p_val, VAL, TEST)
    return split


PARAMS = {
    "path": Param(
        "str",
        "10x-breast/outs",
        low=1,
        help=f"a Space Ranger outs folder or an .h5ad file, relative to the server's dataset directory ({ENV_VAR})",
    ),
    "image": Param(
        "str",
        "",
        help="for an .h5ad only: its tissue image (.png / .tif) in that directory; empty = the one of the same "
        "name next to the .h5ad",
    ),
    "n_genes": Param(
        "int",
        500,
        low=1,
        ui=(10, 20_000),
        step=50,
        unit="genes",
        help="most variable genes kept as the expression modality (log1p of counts per 10,000)",
    ),
    "patch_px": Param(
        "int",
        0,
        low=0,
        ui=(0, 1024),
        step=1,
        unit="px",
        constraint="an int >= 0 (0 = the spot diameter)",
        help="side of the image patch around each spot, in pixels of the image read; 0 = the spot diameter",
    ),
    "normal_label": Param(
        "str",
        "normal",
        low=1,
        constraint="the label of healthy tissue, e.g. normal",
        help="the disease label of healthy tissue (any other label is an anomaly); case-insensitive, "
        "several separated by commas",
    ),
}


def _check_params(path: Any, image: Any, n_genes: Any, patch_px: Any, normal_label: Any) -> None:
    validate(
        OWNER,
        PARAMS,
        {"path": path, "image": image, "n_genes": n_genes, "patch_px": patch_px, "normal_label": normal_label},
    )


def _check_spots(spots: Spots) -> None:
    lost = ~np.isfinite(spots.coords).all(axis=1)
    if lost.any():
        raise DataError(
            f"{WHAT}: {int(lost.sum())} spot(s) (e.g. {spots.barcodes[lost][0]}) have no pixel "
            "coordinates; every spot needs its position in the tissue image."
        )
    data = spots.counts.data
    if data.size and (not np.isfinite(data).all() or data.min() < 0):
        raise DataError(
            f"{WHAT}: the expression matrix holds negative or non-finite values; it must hold raw UMI "
            "counts (for an .h5ad, in X or layers['counts'])."
        )


def read_spots(path: str, image: str = "") -> Spots:
    """Either layout, told apart by the ``.h5ad`` suffix; any other failure to parse becomes a DataError."""
    if not path.lower().endswith(".h5ad") and image.strip():
        raise ConfigError(
            f"The 'image' parameter of {OWNER} is for an .h5ad file; a Space Ranger folder brings its "
            f"own tissue_hires_image.png. Got image={image!r} with path={path!r}."
        )
    try:
        spots = read_h5ad(path, image) if path.lower().endswith(".h5ad") else read_space_ranger(path.rstrip("/"))
    except OmibError:
        raise
    except (KeyError, OSError, TypeError, ValueError, IndexError, AttributeError) as e:  # a layout we did not foresee
        raise DataError(
            f"{WHAT}: {path!r} is not in the expected layout ({type(e).__name__}: {e}). See docs/deploy.md, "
            "'Paper datasets', for the files and fields read."
        ) from None
    _check_spots(spots)
    return spots


# main function


def load_10x_breast(
    *,
    path: str = "10x-breast/outs",
    image: str = "",
    n_genes: int = 500,
    patch_px: int = 0,
    normal_label: str = "normal",
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> MultimodalDataset:
    """10x Visium breast tissue as an anomaly task: expression and image patches per spot, tumour = anomaly.

    Args:
        path: a Space Ranger ``outs`` folder or an ``.h5ad`` file, relative to ``$OMIB_DATASETS_DIR``.
        image: for an ``.h5ad``, the tissue image relative to that directory ('' = the .png / .tif of the same stem).
        n_genes: most variable genes kept (all genes when there are fewer).
        patch_px: side of the image patch around a spot, in pixels of the image read (0 = the spot diameter).
        normal_label: the label of healthy tissue (case-insensitive; several separated by commas).
        seed, val_fraction, test_fraction: the split (see the module docstring).

    Raises:
        DataError: the directory is not configured, a file is missing or in the wrong layout, labels or coordinates
            do not match; each message says what to fix.
        ConfigError: a parameter has the wrong type or range.
    """
    _check_params(path, image, n_genes, patch_px, normal_label)
    spots = read_spots(path.strip(), image)
    y = anomaly_target(spots.labels, normal_label)
    split = one_class_split(y, seed, val_fraction, test_fraction)
    expression, genes = expression_features(spots.counts, n_genes)  # genes ranked on all rows: see [choice] above
    image_x, image_info = _image_modality(spots, patch_px)
    labels, counts = np.unique(spots.labels, return_counts=True)
    meta = {
        "description": f"{len(y)} Visium spots of breast tissue; anomaly = any label other than {normal_label!r}.",
        "source": SOURCE,
        "licence": LICENCE,
        "class_names": ["normal", "anomaly"],
        "layout": spots.layout,
        "labels_from": spots.label_source,
        "integer_counts": bool(np.all(spots.counts.data == np.round(spots.counts.data))),  # False: X was not raw
        "label_counts": {str(k): int(v) for k, v in zip(labels, counts)},
        "genes": [str(g) for g in spots.genes[genes]],
        "gene_selection": "normalised dispersion (scanpy flavor='seurat') over all spots, labels unused",
        "anomaly_counts": {
            n: int(((split == c) & (y == 1)).sum()) for c, n in ((TRAIN, "train"), (VAL, "val"), (TEST, "test"))
        },
        **image_info,
    }
    mods = {"expression": expression, "image": image_x}
    return MultimodalDataset(DATASET_ID, mods, y, "anomaly", split, meta=meta)


# registration


def register_spatial() -> None:
    """Register ``10x-breast`` (idempotent)."""
    info = DatasetInfo(
        DATASET_ID,
        "10x Visium breast tissue",
        "anomaly",
        2,
        "The paper's anomaly task: Visium spots of breast tissue, gene expression and H&E image patches, trained "
        "one-class (Deep SVDD) on normal tissue and scored on tumour spots. Read from the server's dataset "
        "directory: ask the admin to put the data there.",
        PARAMS,
        source=SOURCE,
        licence=LICENCE,
    )
    register(info, load_10x_breast, replace=True)


register_spatial()
