"""The folder format: fixtures written in tmp dirs in the real layout, loaded by path, and every broken rule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from omib_core.config import DataConfig
from omib_core.data import get_info, load_dataset, load_folder
from omib_core.data.dataset import TEST, TRAIN, VAL
from omib_core.errors import DataError

N = 60


def write_folder(root: Path, *, labels: str = "csv", y: np.ndarray | None = None, split: bool = False) -> Path:
    """audio.csv (header + id column), video.npy (N, 2, 3), text.parquet and labels."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    y = np.arange(N) % 3 if y is None else y
    audio = pd.DataFrame(rng.normal(size=(N, 4)), columns=["a", "b", "c", "d"])
    audio.insert(0, "id", np.arange(N))
    audio.to_csv(root / "audio.csv", index=False)
    np.save(root / "video.npy", rng.normal(size=(N, 2, 3)).astype(np.float32))
    pd.DataFrame(rng.integers(0, 5, size=(N, 3)), columns=["x", "y", "z"]).to_parquet(root / "text.parquet")
    if labels == "csv":
        frame = pd.DataFrame({"id": np.arange(N), "label": y})
        if split:
            frame["split"] = np.array(["train", "val", "test"] * (N // 3))
        frame.to_csv(root / "labels.csv", index=False)
    else:
        np.save(root / "labels.npy", y)
    (root / "README.md").write_text("ignored")
    return root


def test_folder_loads_by_path_with_every_file_type(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "mine")
    ds = load_dataset(str(folder))
    assert ds.input_dims == {"audio": 4, "text": 3, "video": 6}  # id dropped, (N, 2, 3) flattened, sorted names
    assert ds.task == "classification" and ds.n_classes == 3 and ds.n_samples == N
    assert all(int((ds.split == c).sum()) >= 2 for c in (TRAIN, VAL, TEST))
    info = get_info(str(folder))
    assert (info.task, info.n_modalities, info.defaults) == ("classification", 3, {})
    again = load_dataset(DataConfig(dataset=str(folder), seed=0))
    np.testing.assert_array_equal(ds.split, again.split)
    other = load_dataset(DataConfig(dataset=str(folder), seed=1))
    assert not np.array_equal(ds.split, other.split)


def test_split_column_meta_json_and_regression(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "r", y=np.linspace(-1, 1, N), split=True)
    (folder / "meta.json").write_text(json.dumps({"name": "Mine", "modalities": ["video", "audio", "text"]}))
    ds = load_folder(folder)
    assert ds.task == "regression" and ds.target.dtype == np.float32
    assert list(ds.modalities) == ["video", "audio", "text"]
    np.testing.assert_array_equal(ds.split, np.tile([TRAIN, VAL, TEST], N // 3))
    assert get_info(str(folder)).title == "Mine"


def test_labels_npy_mapped_to_class_ids_and_task_from_meta(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", labels="npy", y=np.where(np.arange(N) % 2, 7, -1))
    ds = load_folder(folder)
    assert sorted(np.unique(ds.target)) == [0, 1] and ds.meta["class_names"] == ["-1", "7"]
    (folder / "meta.json").write_text(json.dumps({"task": "regression"}))
    assert load_folder(folder).task == "regression"


def test_cli_trains_on_a_folder_config(tmp_path: Path) -> None:
    from omib_core.cli import build_config, main, make_parser

    folder = write_folder(tmp_path / "cli")
    args = [
        "train",
        "--dataset",
        str(folder),
        "--schedule",
        "fixed",
        "--epochs",
        "1",
        "--warmup-epochs",
        "1",
        "--batch-size",
        "8",
        "--beta",
        "0.01",
        "--device",
        "cpu",
        "--quiet",
        "--out",
        str(tmp_path / "run"),
    ]
    assert load_dataset(build_config(make_parser().parse_args(args)).data).n_samples == N
    assert main(args) == 0
    res = json.loads((tmp_path / "run" / "result.json").read_text())
    assert res["status"] == "finished" and res["dataset"] == str(folder) and res["test_metrics"]
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert len(history) >= 3 and "kl/video" in history[0]


@pytest.mark.parametrize(
    ("breakage", "match"),
    [
        (lambda f: (f / "labels.csv").unlink(), "exactly one labels file"),
        (lambda f: (f / "labels.csv").write_text("label\n" + "cat\n2\n" * (N // 2)), "mixes numbers and names: row 2"),
        (
            lambda f: (f / "labels.csv").write_text(
                "id,label\n" + "".join(f"{i},{'cat' if i % 7 else ''}\n" for i in range(N))
            ),
            "row 1 has no label",
        ),
        (lambda f: (f / "audio.csv").write_text("a,b\n1,2\n3,x\n"), "text such as 'x'"),
        (lambda f: np.save(f / "video.npy", np.zeros((N - 1, 2))), "different row counts"),
        (lambda f: np.save(f / "video.npy", np.full((N, 2), np.nan)), "NaN/inf"),
        (lambda f: np.save(f / "video.npy", np.array([{"a": 1}] * N, dtype=object), allow_pickle=True), "object"),
        (lambda f: (f / "x.pkl").write_bytes(b"\x80\x04."), "Pickle files are refused"),
        (lambda f: (f / "meta.json").write_text("{not json"), "not valid JSON"),
        (lambda f: (f / "meta.json").write_text('{"task": "ranking"}'), "task must be one of"),
        (lambda f: [(f / n).unlink() for n in ("video.npy", "text.parquet")], "at least two"),
        (lambda f: (f / "audio.npy").write_bytes(b""), "two files for modality"),
    ],
)
def test_broken_folders_raise_sentences(tmp_path: Path, breakage, match: str) -> None:
    folder = write_folder(tmp_path / "b")
    breakage(folder)
    with pytest.raises(DataError, match=match):
        load_dataset(str(folder))


def test_unknown_path_is_an_unknown_id_and_folders_can_be_switched_off(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(DataError, match="Unknown dataset"):
        load_dataset(str(tmp_path / "missing"))
    folder = write_folder(tmp_path / "off")
    monkeypatch.setenv("OMIB_FOLDER_DATASETS", "0")
    with pytest.raises(DataError, match="not accepted"):
        load_dataset(str(folder))


# class names (issue 22)

SPECIES = np.array(["Adelie", "Chinstrap", "Gentoo"])


def test_class_names_are_numbered_in_sorted_order_and_kept(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    ids = rng.permutation(np.arange(N) % 3)  # the first row's class is not class 0: order comes from the names
    names = write_folder(tmp_path / "names", y=SPECIES[ids])
    ints = write_folder(tmp_path / "ints", y=ids)
    a, b = load_dataset(str(names)), load_dataset(str(ints))
    assert a.task == "classification" and a.meta["class_names"] == ["Adelie", "Chinstrap", "Gentoo"]
    np.testing.assert_array_equal(a.target, ids)
    np.testing.assert_array_equal(a.split, b.split)  # the same stratified split as integer labels
    npy = write_folder(tmp_path / "npy", labels="npy", y=SPECIES[ids])  # a numpy string array
    np.testing.assert_array_equal(load_dataset(str(npy)).target, ids)


def test_names_train_exactly_as_integer_labels(tmp_path: Path) -> None:
    """A three-class folder with names trains as with integer labels: identical metrics for the same seed."""
    from omib_core.config import RunConfig, TrainConfig
    from omib_core.train import train

    ids = np.arange(N) % 3
    results = []
    for kind, y in (("names", SPECIES[ids]), ("ints", ids)):
        folder = write_folder(tmp_path / kind, y=y)
        cfg = RunConfig(
            data=DataConfig(dataset=str(folder)),
            train=TrainConfig(schedule="fixed", epochs=3, warmup_epochs=1, batch_size=8, beta=0.01, device="cpu"),
        )
        events = list(train(cfg))
        finished = [e for e in events if type(e).__name__ == "RunFinished"]
        assert finished, kind
        results.append((finished[0].test_metrics, finished[0].val_metrics))
        names = tuple(SPECIES) if kind == "names" else ()
        assert events[0].class_names == names  # RunStarted: the run store's summary and result.json carry them
    assert results[0] == results[1]


def test_result_json_carries_the_class_names(tmp_path: Path) -> None:
    from omib_core.cli import main

    folder = write_folder(tmp_path / "names", y=SPECIES[np.arange(N) % 3])
    args = ["train", "--dataset", str(folder), "--schedule", "fixed", "--epochs", "2", "--warmup-epochs", "1"]
    args += ["--batch-size", "8", "--beta", "0.01", "--device", "cpu", "--quiet", "--out", str(tmp_path / "r")]
    assert main(args) == 0
    res = json.loads((tmp_path / "r" / "result.json").read_text())
    assert res["class_names"] == ["Adelie", "Chinstrap", "Gentoo"]


def test_odd_names_survive_the_store(tmp_path: Path, monkeypatch) -> None:
    """Commas, quotes, emoji and HTML in class names: stored as text and read back unchanged."""
    from omib_core.data import store_upload

    monkeypatch.setenv("OMIB_DATA_DIR", str(tmp_path))
    odd = np.array(['a, "b"', "🐧 emperor", "<b>c</b>", "=1+2"])
    folder = write_folder(tmp_path / "odd", y=odd[np.arange(N) % 4])
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "README.md"}
    uid = store_upload(files, owner="ana", isolated=False)
    ds = load_dataset(f"upload:{uid}")
    assert ds.meta["class_names"] == sorted(odd.tolist())
    np.testing.assert_array_equal(np.array(ds.meta["class_names"])[ds.target], odd[np.arange(N) % 4])
