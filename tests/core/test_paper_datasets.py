"""CMU-MOSI and CREMA-D from the admin's dataset directory: both MOSI pickle layouts, the CREMA-D .npz, bad inputs
as sentences, the registry entries and a CLI run end to end, all on tiny fixtures written in the real layouts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from omib_core.analysis.metrics import regression_metrics
from omib_core.config import DataConfig
from omib_core.data import TEST, TRAIN, VAL, get_info, list_datasets, load_dataset
from omib_core.data.admin_dir import ENV_VAR
from omib_core.errors import DataError
from tests.core.paper_fixtures import SIZES, cremad_arrays, mosi_splits, write_cremad, write_mosi, write_pickle


@pytest.fixture
def admin_dir(tmp_path, monkeypatch):
    root = tmp_path / "datasets"
    root.mkdir()
    monkeypatch.setenv(ENV_VAR, str(root))
    return root


def mosi(file: str = "mosi/aligned_50.pkl"):
    return load_dataset(DataConfig(dataset="cmu-mosi", params={"file": file}))


def cremad(file: str = "crema-d/features.npz", **kw):
    return load_dataset(DataConfig(dataset="crema-d", params={"file": file}, **kw))


def raises(fn, *needles: str) -> str:
    with pytest.raises(DataError) as e:
        fn()
    msg = str(e.value)
    for needle in needles:
        assert needle in msg, msg
    return msg


# CMU-MOSI


def oracle_pool(x: np.ndarray) -> np.ndarray:
    """MMSA's cleaning (-inf -> 0, NaN -> 0), then the mean over time."""
    x = np.where(np.isneginf(x) | np.isnan(x), 0.0, x.astype(np.float64))
    return x.mean(axis=1)


@pytest.mark.parametrize("layout", ["mmsa", "mult"])
def test_mosi_both_layouts_keep_the_files_split_and_pool_time(admin_dir, layout):
    splits = mosi_splits(layout)
    write_pickle(admin_dir, "mosi/data.pkl", splits)
    ds = mosi("mosi/data.pkl")
    n = sum(SIZES.values())
    assert ds.task == "regression" and ds.modality_names == ("text", "audio", "vision")
    assert ds.input_dims == {"text": 6, "audio": 4, "vision": 5} and ds.n_samples == n
    assert ds.meta["layout"] == {"mmsa": "MMSA", "mult": "MulT"}[layout] and "Zadeh" in ds.meta["source"]
    expected_split = np.repeat([TRAIN, VAL, TEST], list(SIZES.values()))
    np.testing.assert_array_equal(ds.split, expected_split)  # the file's split, in file order, not re-drawn
    key = "regression_labels" if layout == "mmsa" else "labels"
    y = np.concatenate([np.reshape(splits[s][key], -1) for s in SIZES])
    np.testing.assert_allclose(ds.target, y)
    for m in ds.modality_names:
        want = np.concatenate([oracle_pool(splits[s][m]) for s in SIZES])
        np.testing.assert_allclose(ds.modalities[m], want, rtol=1e-5, atol=1e-6)
        assert np.isfinite(ds.modalities[m]).all()


def test_mosi_split_ignores_the_split_fractions(admin_dir):
    write_mosi(admin_dir)
    a = load_dataset(DataConfig(dataset="cmu-mosi", seed=1, val_fraction=0.3, test_fraction=0.3))
    np.testing.assert_array_equal(a.split, mosi().split)
    assert int((a.split == VAL).sum()) == SIZES["valid"]


def test_mosi_unaligned_pools_only_the_valid_frames(admin_dir):
    splits = mosi_splits("mmsa", lengths=True)
    write_pickle(admin_dir, "mosi/unaligned_50.pkl", splits)
    ds = mosi("mosi/unaligned_50.pkl")
    for m in ("audio", "vision"):
        rows = []
        for s in SIZES:
            x = np.where(np.isneginf(splits[s][m]) | np.isnan(splits[s][m]), 0.0, splits[s][m].astype(np.float64))
            for i, k in enumerate(splits[s][f"{m}_lengths"]):
                rows.append(x[i, :k].mean(0) if k else np.zeros(x.shape[2]))
        np.testing.assert_allclose(ds.modalities[m], np.array(rows), rtol=1e-5, atol=1e-6)
        assert np.abs(ds.modalities[m]).max() < 50  # no padding frame (100) leaked in
    assert np.all(ds.modalities["audio"][2] == 0)  # a segment without frames pools to zeros


def test_mosi_regression_run_reports_the_mosi_metrics(admin_dir):
    """A real (tiny) training run on CMU-MOSI ends with the MOSI protocol's metrics on its test split."""
    import torch

    from omib_core.config import ModelConfig, RunConfig, TrainConfig
    from omib_core.train import RunFinished, train

    torch.set_num_threads(1)
    write_mosi(admin_dir)
    ds = mosi()
    assert ds.task == "regression"
    m = regression_metrics(ds.target, ds.target + 0.1)  # the protocol itself: a near-perfect prediction
    assert m["mae"] == pytest.approx(0.1) and m["corr"] == pytest.approx(1.0)
    cfg = RunConfig(
        data=DataConfig(dataset="cmu-mosi", params={"file": "mosi/aligned_50.pkl"}),
        model=ModelConfig(hidden_dim=16, enc_layers=1, z_dim=8, latent_dim=8, xi_dim=8, tokens=2, heads=2),
        train=TrainConfig(schedule="fixed", epochs=2, warmup_epochs=1, batch_size=16, beta=0.01, device="cpu"),
    )
    events = list(train(cfg, ds))
    end = events[-1]
    assert isinstance(end, RunFinished), end
    got = end.test_metrics
    assert {"mae", "corr", "acc2", "f1", "acc7"} <= set(got), got
    assert 0 < got["mae"] < 6 and 0 <= got["acc7"] <= 1 and 0 <= got["acc2"] <= 1, got
    assert len(events) > 4 and any(getattr(e, "stage", None) == "main" for e in events)


def drop(key: str, split: str = "train"):
    data = mosi_splits("mmsa")
    del data[split][key]
    return data


@pytest.mark.parametrize(
    ("data", "needles"),
    [
        (drop("audio"), ("'train' split has keys", "regression_labels")),
        (drop("regression_labels"), ("MulT layout",)),
        (drop("vision", "test"), ("lacks ['vision']", "'test'")),
        ({"train": {}, "test": {}}, ("'train', 'valid' and 'test'",)),
        ([1, 2, 3], ("it holds list",)),
    ],
    ids=["no-audio", "no-labels", "test-no-vision", "no-valid", "a-list"],
)
def test_mosi_missing_keys_are_sentences(admin_dir, data, needles):
    write_pickle(admin_dir, "mosi/aligned_50.pkl", data)
    raises(mosi, "CMU-MOSI", *needles)


def test_mosi_mismatched_rows_and_label_range_are_sentences(admin_dir):
    data = mosi_splits("mmsa")
    data["valid"]["audio"] = data["valid"]["audio"][:-1]
    write_pickle(admin_dir, "mosi/rows.pkl", data)
    raises(lambda: mosi("mosi/rows.pkl"), "'audio'", "rows", "one row per video segment")
    data = mosi_splits("mult")
    data["test"]["labels"][0] = 4.5
    write_pickle(admin_dir, "mosi/range.pkl", data)
    raises(lambda: mosi("mosi/range.pkl"), "outside [-3, 3]")
    data = mosi_splits("mmsa")
    data["train"]["text"] = data["train"]["text"][:, :, :3]
    write_pickle(admin_dir, "mosi/dims.pkl", data)
    raises(lambda: mosi("mosi/dims.pkl"), "different feature sizes")


def test_mosi_bad_files_and_names_are_refused(admin_dir, tmp_path, monkeypatch):
    (admin_dir / "mosi").mkdir()
    (admin_dir / "mosi" / "broken.pkl").write_bytes(b"\x80\x05not a pickle")
    raises(lambda: mosi("mosi/broken.pkl"), "could not be unpickled")
    raises(lambda: mosi("mosi/absent.pkl"), "no file 'mosi/absent.pkl'")
    raises(lambda: mosi("mosi/data.npz"), "not a pickle")
    write_mosi(tmp_path, rel="outside.pkl")  # a valid pickle outside the admin's directory
    raises(lambda: mosi("../outside.pkl"), "without '..'")
    raises(lambda: mosi(str(tmp_path / "outside.pkl")), "without '..' or a leading '/'")
    monkeypatch.delenv(ENV_VAR)
    raises(mosi, "not configured", ENV_VAR, "docs/deploy.md")


# CREMA-D


def test_cremad_int_labels_get_a_seeded_stratified_split(admin_dir):
    write_cremad(admin_dir, **cremad_arrays())
    a, b, c = cremad(seed=3), cremad(seed=3), cremad(seed=4)
    assert a.task == "classification" and a.modality_names == ("audio", "visual") and a.n_classes == 6
    assert a.input_dims == {"audio": 8, "visual": 6} and "class_names" not in a.meta  # the file's own coding
    np.testing.assert_array_equal(a.split, b.split)
    assert not np.array_equal(a.split, c.split)
    for code in (TRAIN, VAL, TEST):  # stratified: every class in every split
        assert len(np.unique(a.target[a.split == code])) == 6


def test_cremad_codes_time_axis_and_given_split(admin_dir):
    arrays = cremad_arrays(time=True)
    codes = np.array(["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"])[arrays["label"]]
    split = np.array(["train", "val", "test", "train", "train", "train"] * 10)
    write_cremad(
        admin_dir, "crema-d/codes.npz", audio=arrays["audio"], visual=arrays["visual"], label=codes, split=split
    )
    ds = cremad("crema-d/codes.npz")
    assert ds.meta["class_names"] == ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"]
    np.testing.assert_array_equal(ds.target, arrays["label"])
    np.testing.assert_allclose(ds.modalities["audio"], arrays["audio"].mean(1), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ds.split[:6], [TRAIN, VAL, TEST, TRAIN, TRAIN, TRAIN])


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        ({"label": None}, ("lacks ['label']",)),
        ({"visual": np.zeros((59, 6))}, ("different row counts", "'visual': 59")),
        ({"label": np.arange(60) % 7}, ("0..5",)),
        ({"label": np.array(["ANG", "JOY"] * 30)}, ("unknown emotion codes ['JOY']",)),
        ({"label": np.array(["ANG", 1] * 30, dtype=object)}, ("object array",)),
        ({"audio": np.zeros((60, 2, 3, 4))}, ("(N, T, d)",)),
        ({"split": np.array(["train", "dev"] * 30)}, ("'dev'", "train, val or test")),
    ],
    ids=["no-label", "rows", "range", "codes", "object", "4d", "split"],
)
def test_cremad_bad_inputs_are_sentences(admin_dir, change, needles):
    arrays = {**cremad_arrays(), **change}
    write_cremad(admin_dir, **{k: v for k, v in arrays.items() if v is not None})
    raises(cremad, "CREMA-D", *needles)


def test_cremad_bad_names_and_no_directory(admin_dir, monkeypatch):
    (admin_dir / "crema-d").mkdir()
    (admin_dir / "crema-d" / "features.npz").write_bytes(b"PK\x03\x04 truncated")
    raises(cremad, "not a valid .npz")
    raises(lambda: cremad("crema-d/../../x.npz"), "without '..'")
    raises(lambda: cremad("crema-d/features.pkl"), "not an .npz")
    monkeypatch.delenv(ENV_VAR)
    raises(cremad, "not configured")


# registry and CLI


def test_registered_with_credits_and_documented_params():
    ids = [i.id for i in list_datasets()]
    assert ids.index("digits") < ids.index("cmu-mosi") < ids.index("crema-d")  # after the bundled ones
    mosi_info, cremad_info = get_info("cmu-mosi"), get_info("crema-d")
    assert (mosi_info.task, mosi_info.n_modalities) == ("regression", 3)
    assert (cremad_info.task, cremad_info.n_modalities) == ("classification", 2)
    assert mosi_info.defaults == {"file": "mosi/aligned_50.pkl"}
    assert cremad_info.defaults == {"file": "crema-d/features.npz"}
    assert "Zadeh" in mosi_info.source and "MMSA" in mosi_info.source and "MulT" in mosi_info.source
    assert "Cao" in cremad_info.source and cremad_info.licence
    for info in (mosi_info, cremad_info):
        assert set(info.param_help) == set(info.defaults) and "server's dataset directory" in info.description


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "omib_core", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )


@pytest.mark.slow
def test_cli_lists_and_trains_cmu_mosi_end_to_end(tmp_path):
    root = tmp_path / "datasets"
    write_mosi(root, "mult", rel="mosi/mosi_data.pkl")
    env = {ENV_VAR: str(root), "OMIB_DATA_DIR": str(tmp_path / "var")}
    out = cli("datasets", "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert {"cmu-mosi", "crema-d"} <= {d["id"] for d in json.loads(out.stdout)}
    out = cli(
        "train",
        "--dataset",
        "cmu-mosi",
        "--param",
        "file=mosi/mosi_data.pkl",
        "--schedule",
        "fixed",
        "--epochs",
        "2",
        "--warmup-epochs",
        "1",
        "--batch-size",
        "16",
        "--device",
        "cpu",
        "--quiet",
        "--out",
        str(tmp_path / "run"),
        env=env,
    )
    assert out.returncode == 0, out.stderr
    res = json.loads((tmp_path / "run" / "result.json").read_text())
    assert res["status"] == "finished" and res["dataset"] == "cmu-mosi"
    assert {"mae", "corr", "acc2", "f1", "acc7"} <= set(res["test_metrics"])
    out = cli("train", "--dataset", "cmu-mosi", "--quiet", "--out", str(tmp_path / "none"), env={ENV_VAR: ""})
    assert out.returncode == 2 and "not configured" in out.stderr and "Traceback" not in out.stderr
