"""10x spatial breast tissue: tiny fixtures written in the real layouts (AnnData .h5ad, Space Ranger outs/), the
patch features against a pixel-loop oracle, the anomaly target and one-class split, bad inputs, one training run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.sparse as sp
from PIL import Image

from omib_core.config import DataConfig
from omib_core.data import get_info, load_dataset
from omib_core.data.dataset import TEST, TRAIN, VAL
from omib_core.data.expression import expression_features, log_normalize, variable_genes
from omib_core.data.patches import feature_names, patch_features
from omib_core.data.spatial import load_10x_breast, one_class_split
from omib_core.errors import ConfigError, DataError

STR = h5py.string_dtype()
PITCH, ROWS, COLS, SIZE = 18, 6, 10, 200  # a 6 x 10 grid of spots, 18 px apart, on a 200 x 200 image
N, GENES, UP = ROWS * COLS, 40, 5  # tumour spots over-express genes 0..UP-1
PINK, PURPLE = (235, 160, 200), (110, 60, 150)  # eosin-rich normal tissue vs haematoxylin-dense tumour


# helpers: a tissue and its two on-disk layouts


def tissue(seed: int = 0) -> dict:
    """60 spots: columns 0-5 normal, 6-7 DCIS, 8-9 invasive; image pink / purple; counts Poisson."""
    rng = np.random.default_rng(seed)
    r, c = np.divmod(np.arange(N), COLS)
    rows, cols = 20.0 + r * PITCH, 20.0 + c * PITCH  # image pixels
    labels = np.where(c < 6, "normal", np.where(c < 8, "DCIS", "invasive carcinoma"))
    image = np.empty((SIZE, SIZE, 3), dtype=np.float64)
    image[:] = PINK
    image[:, 20 + 6 * PITCH - PITCH // 2 :] = PURPLE  # the tumour half, from midway between columns 5 and 6
    image = np.clip(image + rng.normal(0, 12, image.shape), 0, 255).astype(np.uint8)
    counts = rng.poisson(2.0, (N, GENES)).astype(np.float32)
    counts[labels != "normal", :UP] = rng.poisson(15.0, (int((labels != "normal").sum()), UP))
    barcodes = np.array([f"AAACGT{i:010d}-1" for i in range(N)])
    genes = np.array([f"GENE{j}" for j in range(GENES)])
    return {
        "rows": rows,
        "cols": cols,
        "labels": labels,
        "image": image,
        "counts": counts,
        "barcodes": barcodes,
        "genes": genes,
    }


def write_h5ad(path: Path, t: dict, *, old: bool = False, image_ext: str | None = ".png", **extra) -> Path:
    """anndata >= 0.8 layout (CSR X, categorical group) or the 0.7 one (dense X, obs/__categories, bytes)."""
    with h5py.File(path, "w") as f:
        f.attrs["encoding-type"], f.attrs["encoding-version"] = "anndata", "0.1.0"
        if old:
            f.create_dataset("X", data=t["counts"])
        else:
            x = sp.csr_matrix(t["counts"])
            g = f.create_group("X")
            g.attrs.update({"encoding-type": "csr_matrix", "encoding-version": "0.1.0", "shape": x.shape})
            for k in ("data", "indices", "indptr"):
                g.create_dataset(k, data=getattr(x, k))
        obs = f.create_group("obs")
        cats, codes = np.unique(t["labels"], return_inverse=True)
        if old:
            obs.attrs.update({"_index": "index", "column-order": ["disease"]})
            obs.create_dataset("index", data=t["barcodes"].astype("S"))
            obs.create_group("__categories").create_dataset("disease", data=cats.astype("S"))
            obs.create_dataset("disease", data=codes.astype(np.int8))
        else:
            obs.attrs.update({"encoding-type": "dataframe", "_index": "_index", "column-order": ["disease"]})
            obs.create_dataset("_index", data=t["barcodes"].astype(object), dtype=STR)
            d = obs.create_group("disease")
            d.attrs.update({"encoding-type": "categorical", "encoding-version": "0.2.0", "ordered": False})
            d.create_dataset("categories", data=cats.astype(object), dtype=STR)
            d.create_dataset("codes", data=codes.astype(np.int8))
        for name, values in extra.get("obs", {}).items():
            obs.create_dataset(name, data=values)
        var = f.create_group("var")
        var.attrs["_index"] = "_index"
        var.create_dataset("_index", data=t["genes"].astype(object), dtype=STR)
        f.create_group("obsm").create_dataset("spatial", data=np.c_[t["cols"], t["rows"]] * extra.get("fullres", 1))
        if "scalefactors" in extra:
            sf = f.create_group("uns/spatial/lib1/scalefactors")
            for k, v in extra["scalefactors"].items():
                sf.create_dataset(k, data=v)
    if image_ext:
        Image.fromarray(t["image"]).save(path.with_suffix(image_ext))
    return path


def write_outs(outs: Path, t: dict, *, version: int = 2, scale: float = 0.1, diameter: float = 100.0) -> Path:
    """A Space Ranger outs/ folder; full-resolution pixels = image pixels / scale. Spot 0 is off tissue, spot 1 has
    no label, and two antibody features ride along in the matrix."""
    (outs / "spatial").mkdir(parents=True)
    counts = np.c_[t["counts"], np.full((N, 2), 7.0)].T  # (features, spots)
    x = sp.csc_matrix(counts.astype(np.int32))
    with h5py.File(outs / "filtered_feature_bc_matrix.h5", "w") as f:
        g = f.create_group("matrix")
        g.create_dataset("barcodes", data=t["barcodes"].astype("S"))
        for k in ("data", "indices", "indptr"):
            g.create_dataset(k, data=getattr(x, k))
        g.create_dataset("shape", data=np.array(x.shape, dtype=np.int32))
        names = np.r_[t["genes"], ["CD3", "CD8"]]
        g.create_dataset("features/name", data=names.astype("S"))
        g.create_dataset("features/id", data=np.char.add("ENSG", names).astype("S"))
        g.create_dataset(
            "features/feature_type", data=np.r_[["Gene Expression"] * GENES, ["Antibody Capture"] * 2].astype("S")
        )
    in_tissue = np.ones(N, dtype=int)
    in_tissue[0] = 0
    lines = [
        f"{b},{it},{i // COLS},{i % COLS},{r / scale:.1f},{c / scale:.1f}"
        for i, (b, it, r, c) in enumerate(zip(t["barcodes"], in_tissue, t["rows"], t["cols"]))
    ]
    lines.append("TTTTTTTTTTTTTTTT-1,0,9,9,5.0,5.0")  # a spot off the tissue, not in the filtered matrix
    name = "tissue_positions.csv" if version == 2 else "tissue_positions_list.csv"
    header = ["barcode,in_tissue,array_row,array_col,pxl_row_in_fullres,pxl_col_in_fullres"] if version == 2 else []
    (outs / "spatial" / name).write_text("\n".join(header + lines) + "\n")
    sf = {
        "tissue_hires_scalef": scale,
        "tissue_lowres_scalef": scale / 4,
        "spot_diameter_fullres": diameter,
        "fiducial_diameter_fullres": 1.6 * diameter,
    }
    (outs / "spatial" / "scalefactors_json.json").write_text(json.dumps(sf))
    Image.fromarray(t["image"]).save(outs / "spatial" / "tissue_hires_image.png")
    rows = [f"{b},{lab}" for b, lab in zip(t["barcodes"][2:], t["labels"][2:])] + [f"{t['barcodes'][0]},normal"]
    (outs / "disease.csv").write_text("barcode,disease\n" + "\n".join(rows) + "\n")
    return outs


@pytest.fixture
def datasets_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("OMIB_DATASETS_DIR", str(tmp_path))
    return tmp_path


def tumour_half(ds) -> np.ndarray:
    return ds.target == 1


def check_separates(ds) -> None:
    """Tumour spots are purple and over-express genes 0..4: the features must show it."""
    names = ds.meta["image_features"]
    img, y = ds.modalities["image"], tumour_half(ds)
    red, green = img[:, names.index("R_mean")], img[:, names.index("G_mean")]
    assert red[y].max() < red[~y].min() and green[y].max() < green[~y].min()  # purple is darker in R and G
    expr, genes = ds.modalities["expression"], ds.meta["genes"]
    top = [genes.index(f"GENE{j}") for j in range(UP) if f"GENE{j}" in genes]
    assert top, "the over-expressed genes should rank among the most variable"
    assert (expr[y][:, top].mean() - expr[~y][:, top].mean()) > 1.0  # log1p scale


# patch features


def test_patch_features_match_a_pixel_loop_oracle() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (23, 31, 3), dtype=np.uint8)
    centres = np.array([[11.0, 15.0], [0.0, 0.0], [22.4, 30.6], [5.2, 29.0]])  # inside, corners: clipped patches
    got = patch_features(image, centres, side=6)
    assert got.shape == (4, len(feature_names())) == (4, 37)
    grey = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    grad = np.hypot(*np.gradient(grey))
    for i, (r, c) in enumerate(centres):
        r0, c0 = math.floor(r - 3 + 0.5), math.floor(c - 3 + 0.5)
        patch = image[max(r0, 0) : max(r0 + 6, 0), max(c0, 0) : max(c0 + 6, 0)].reshape(-1, 3).astype(float)
        row = dict(zip(feature_names(), got[i]))
        np.testing.assert_allclose([row[f"{k}_mean"] for k in "RGB"], patch.mean(0), rtol=1e-5)
        np.testing.assert_allclose([row[f"{k}_std"] for k in "RGB"], patch.std(0), rtol=1e-4, atol=1e-3)
        hsv = np.asarray(Image.fromarray(image).convert("HSV"))[max(r0, 0) : r0 + 6, max(c0, 0) : c0 + 6, 1]
        assert abs(row["S_hist7"] - float((hsv.astype(int) * 8 // 256 == 7).mean())) < 0.1  # Pillow's HSV, 8-bit
        g = grad[max(r0, 0) : r0 + 6, max(c0, 0) : c0 + 6]
        np.testing.assert_allclose([row["grad_mean"], row["grad_std"]], [g.mean(), g.std()], rtol=1e-4, atol=1e-3)
        assert abs(sum(row[f"H_hist{k}"] for k in range(8)) - 1.0) < 1e-5
        R0, C0 = math.floor(r - 6 + 0.5), math.floor(c - 6 + 0.5)  # context: 2 x wider
        ctx = image[max(R0, 0) : R0 + 12, max(C0, 0) : C0 + 12].reshape(-1, 3).astype(float)
        np.testing.assert_allclose([row[f"ctx_{k}_mean"] for k in "RGB"], ctx.mean(0), rtol=1e-5)
    with pytest.raises(DataError, match="outside"):
        patch_features(image, np.array([[100.0, 100.0]]), side=4)


def test_variable_genes_prefer_overdispersed_genes_to_frequent_zeros() -> None:
    rng = np.random.default_rng(0)
    level = np.exp(rng.uniform(np.log(0.2), np.log(20.0), 400))  # (G,) Poisson means: many zeros at the low end
    counts = rng.poisson(level, (300, 400)).astype(np.float32)
    markers = np.arange(0, 400, 40)  # ten genes 8x higher in a third of the spots
    counts[:100, markers] = rng.poisson(8 * level[markers], (100, 10))
    x = log_normalize(sp.csr_matrix(counts))
    np.testing.assert_allclose(np.expm1(x.toarray()).sum(1), 1e4, rtol=1e-4)
    top = variable_genes(x, 20)
    assert len(set(top[:10]) & set(markers)) >= 9  # (a marker alone in the top mean bin scores 1, as in scanpy)
    feats, genes = expression_features(sp.csr_matrix(counts), 1000)  # more than there are: all, ranked
    assert feats.shape == (300, 400) and feats.dtype == np.float32 and sorted(genes) == list(range(400))


# the two layouts


def test_h5ad_anndata_08_layout(datasets_dir) -> None:
    write_h5ad(datasets_dir / "breast.h5ad", tissue())
    ds = load_dataset(DataConfig(dataset="10x-breast", params={"path": "breast.h5ad", "n_genes": 25}))
    assert ds.task == "anomaly" and list(ds.modalities) == ["expression", "image"]
    assert ds.input_dims == {"expression": 25, "image": 37} and ds.n_samples == N
    np.testing.assert_array_equal(ds.target, (np.arange(N) % COLS >= 6).astype(int))  # DCIS and invasive = 1
    assert not ds.target[ds.split == TRAIN].any()  # one-class: normal training rows only
    for code in (VAL, TEST):
        assert set(ds.target[ds.split == code]) == {0, 1}
    assert ds.meta["layout"] == "h5ad" and ds.meta["label_counts"] == {
        "DCIS": 12,
        "invasive carcinoma": 12,
        "normal": 36,
    }
    assert ds.meta["image_scale"] == 1.0 and ds.meta["patch_px"] == round(0.55 * PITCH)  # from the spot pitch
    assert len(ds.meta["genes"]) == 25
    check_separates(ds)


def test_h5ad_old_layout_dense_tif_and_scalefactors(datasets_dir) -> None:
    t = tissue(seed=2)
    in_tissue = np.ones(N, dtype=np.int64)
    in_tissue[[0, 1]] = 0
    write_h5ad(
        datasets_dir / "old.h5ad",
        t,
        old=True,
        image_ext=None,
        fullres=10,
        obs={"in_tissue": in_tissue},
        scalefactors={"tissue_hires_scalef": 0.1, "spot_diameter_fullres": 80.0},
    )
    (datasets_dir / "img").mkdir()
    Image.fromarray(t["image"]).save(datasets_dir / "img" / "hires.tif")
    ds = load_10x_breast(path="old.h5ad", image="img/hires.tif", normal_label=" NORMAL ", n_genes=500)
    assert ds.n_samples == N - 2 and ds.input_dims["expression"] == GENES  # fewer genes than n_genes: all kept
    assert ds.meta["image_scale"] == 0.1 and ds.meta["patch_px"] == 8  # full-res coordinates scaled to the hires
    check_separates(ds)
    with pytest.raises(DataError, match="no image next to"):
        load_10x_breast(path="old.h5ad")


@pytest.mark.parametrize("version", [2, 1])
def test_space_ranger_outs(datasets_dir, version) -> None:
    write_outs(datasets_dir / "10x-breast" / "outs", tissue(seed=3), version=version)
    ds = load_10x_breast()  # the default path
    assert ds.n_samples == N - 2  # spot 0 off tissue, spot 1 unlabelled
    assert ds.input_dims == {"expression": GENES, "image": 37}  # antibody features dropped
    assert ds.meta["layout"] == "space-ranger" and ds.meta["labels_from"] == "disease.csv"
    assert ds.meta["image_scale"] == 0.1 and ds.meta["patch_px"] == 10  # spot_diameter_fullres x tissue_hires_scalef
    assert not ds.target[ds.split == TRAIN].any()
    check_separates(ds)
    again = load_10x_breast(seed=0)
    np.testing.assert_array_equal(again.split, ds.split)
    np.testing.assert_array_equal(again.modalities["image"], ds.modalities["image"])
    assert not np.array_equal(load_10x_breast(seed=5).split, ds.split)


def test_one_class_split_moves_training_anomalies() -> None:
    y = np.r_[np.zeros(70, int), np.ones(30, int)]
    split = one_class_split(y, seed=0, val_fraction=0.2, test_fraction=0.1)
    assert not y[split == TRAIN].any() and int((split == TRAIN).sum()) == 49
    assert int((y[split == VAL] == 1).sum()) > int((y[split == TEST] == 1).sum())  # in proportion 2:1


def test_registry_entry() -> None:
    info = get_info("10x-breast")
    assert info.task == "anomaly" and info.n_modalities == 2 and info.source and info.licence
    assert info.defaults == {
        "path": "10x-breast/outs",
        "image": "",
        "n_genes": 500,
        "patch_px": 0,
        "normal_label": "normal",
    }
    assert set(info.param_help) == set(info.defaults)


# bad inputs


def test_not_configured_and_traversal_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("OMIB_DATASETS_DIR", raising=False)
    with pytest.raises(DataError, match="not configured"):
        load_dataset("10x-breast")
    inside = tmp_path / "data"
    inside.mkdir()
    write_h5ad(tmp_path / "secret.h5ad", tissue())
    (inside / "link.h5ad").symlink_to(tmp_path / "secret.h5ad")
    monkeypatch.setenv("OMIB_DATASETS_DIR", str(inside))
    for path in ("../secret.h5ad", str(tmp_path / "secret.h5ad"), "link.h5ad", "../10x-breast/outs"):
        with pytest.raises(DataError, match="outside|without '..'"):
            load_10x_breast(path=path)
    write_h5ad(inside / "ok.h5ad", tissue(), image_ext=None)
    with pytest.raises(DataError, match="without '..'"):
        load_10x_breast(path="ok.h5ad", image="../secret.png")  # the image is checked the same way


def test_space_ranger_label_errors(datasets_dir) -> None:
    outs = write_outs(datasets_dir / "s" / "outs", tissue())
    (outs / "disease.csv").unlink()
    with pytest.raises(DataError, match="disease.csv"):
        load_10x_breast(path="s/outs")
    (outs / "disease.csv").write_text("barcode,disease\nAAAC-9,normal\nAAAD-9,tumour\n")
    with pytest.raises(DataError, match="none of the 2 barcodes"):
        load_10x_breast(path="s/outs")
    (outs / "disease.csv").write_text("barcode,tissue\n" + "".join(f"{b},x\n" for b in tissue()["barcodes"]))
    with pytest.raises(DataError, match="no disease label column.*tissue"):
        load_10x_breast(path="s/outs")
    (outs / "spatial" / "tissue_positions.csv").unlink()
    with pytest.raises(DataError, match="tissue_positions"):
        load_10x_breast(path="s/outs")
    with pytest.raises(ConfigError, match="'image' parameter"):
        load_10x_breast(path="s/outs", image="x.png")


def test_labels_and_parameters(datasets_dir) -> None:
    write_h5ad(datasets_dir / "b.h5ad", tissue())
    with pytest.raises(DataError, match="Labels found: DCIS, invasive carcinoma, normal"):
        load_10x_breast(path="b.h5ad", normal_label="healthy")
    ds = load_10x_breast(path="b.h5ad", normal_label="normal, DCIS")  # several normal labels
    assert int(ds.target.sum()) == 12
    with pytest.raises(DataError, match="anomaly detection needs some tumour"):
        load_10x_breast(path="b.h5ad", normal_label="normal,DCIS,invasive carcinoma")
    for bad in ({"n_genes": 0}, {"patch_px": -1}, {"normal_label": " "}, {"path": 3}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            load_10x_breast(**{"path": "b.h5ad", **bad})


def test_file_errors(datasets_dir, monkeypatch) -> None:
    t = tissue()
    write_h5ad(datasets_dir / "b.h5ad", t)
    with h5py.File(datasets_dir / "b.h5ad", "a") as f:
        del f["obsm/spatial"]
    with pytest.raises(DataError, match=r"lacks obsm/spatial"):
        load_10x_breast(path="b.h5ad")
    (datasets_dir / "junk.h5ad").write_bytes(b"not hdf5")
    Image.fromarray(t["image"]).save(datasets_dir / "junk.png")
    with pytest.raises(DataError, match="not a readable HDF5"):
        load_10x_breast(path="junk.h5ad")
    with pytest.raises(DataError, match="no file 'missing.h5ad'"):
        load_10x_breast(path="missing.h5ad")
    write_h5ad(datasets_dir / "c.h5ad", t)
    with h5py.File(datasets_dir / "c.h5ad", "a") as f:
        f["obsm/spatial"][3] = [np.nan, np.nan]
    with pytest.raises(DataError, match="1 spot.*no pixel coordinates"):
        load_10x_breast(path="c.h5ad")
    write_h5ad(datasets_dir / "d.h5ad", t, fullres=10)  # full-res coordinates, a small image, no scale factor
    with pytest.raises(DataError, match="no scale factor"):
        load_10x_breast(path="d.h5ad")
    write_h5ad(datasets_dir / "f.h5ad", t)
    with h5py.File(datasets_dir / "f.h5ad", "a") as f:
        del f["X/indptr"]
        f["X"].create_dataset("indptr", data=np.arange(5))
    with pytest.raises(DataError, match="sparse matrix is inconsistent"):
        load_10x_breast(path="f.h5ad")
    with h5py.File(datasets_dir / "f.h5ad", "a") as f:
        del f["X"]
        f.create_dataset("X", data=t["counts"])
        f.create_group("uns/spatial/lib/scalefactors/spot_diameter_fullres")  # a group where a number belongs
    with pytest.raises(DataError, match="not in the expected layout"):
        load_10x_breast(path="f.h5ad")
    write_h5ad(datasets_dir / "e.h5ad", t)
    Image.fromarray(t["image"][:10, :10]).save(datasets_dir / "small.png")
    with pytest.raises(DataError, match="only 10 x 10 pixels"):
        load_10x_breast(path="e.h5ad", image="small.png")
    (datasets_dir / "fake.png").write_bytes(b"no image")
    with pytest.raises(DataError, match="not a readable PNG"):
        load_10x_breast(path="e.h5ad", image="fake.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100 * 100)  # Pillow's decompression-bomb guard stays on
    with pytest.raises(DataError, match="too large to decode safely"):
        load_10x_breast(path="e.h5ad")


# end to end


def test_trains_one_class_and_reports_auc_f1(datasets_dir) -> None:
    import torch

    from omib_core.bound.result import BoundResult, Estimate
    from omib_core.config import ModelConfig, RunConfig, TrainConfig
    from omib_core.train import RunFinished, train

    torch.set_num_threads(1)
    write_h5ad(datasets_dir / "e2e.h5ad", tissue())
    cfg = RunConfig(
        data=DataConfig(dataset="10x-breast", params={"path": "e2e.h5ad", "n_genes": 20}),
        model=ModelConfig(hidden_dim=16, enc_layers=1, z_dim=8, latent_dim=8, xi_dim=8, tokens=2, heads=2),
        train=TrainConfig(
            schedule="fixed", epochs=2, warmup_epochs=1, batch_size=16, lr=3e-3, log_every=2, device="cpu", seed=0
        ),
    )
    bound = BoundResult("gaussian", ("expression", "image"), {}, None, Estimate("H_joint", 10.0), 1 / 30, 1 / 60)
    events = list(train(cfg, bound=bound))
    end = events[-1]
    assert isinstance(end, RunFinished), end
    # the tumour spots (strong up-regulated genes, purple tissue) are found: AUC 1.0 here, 0.5 is chance
    assert end.test_metrics["auc"] > 0.9 and end.test_metrics["f1"] > 0.5, end.test_metrics
