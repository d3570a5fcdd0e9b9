"""MultimodalDataset: every malformed input raises DataError with a message that says how to fix it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from omib_core.data import TEST, TRAIN, VAL, MultimodalDataset, make_split
from omib_core.errors import DataError

N = 40


def good(**changes: Any) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    kw: dict[str, Any] = {
        "name": "toy",
        "modalities": {"a": rng.normal(size=(N, 3)).astype(np.float32), "b": rng.normal(size=(N, 2))},
        "target": np.arange(N) % 2,
        "task": "classification",
        "split": make_split(N, 0.2, 0.2, seed=0),
    }
    kw.update(changes)
    return kw


def mods(**arrays: np.ndarray) -> dict[str, np.ndarray]:
    base = good()["modalities"]
    return {**base, **arrays}


def test_valid_dataset_and_views() -> None:
    ds = MultimodalDataset(**good())
    assert ds.modality_names == ("a", "b")
    assert ds.input_dims == {"a": 3, "b": 2}
    assert ds.n_samples == N and ds.n_classes == 2
    sub = ds.subset("train")
    assert sub["a"].shape[0] == len(ds.indices(TRAIN)) == sub["target"].shape[0]
    st = ds.standardized()
    tr = st.split == TRAIN
    np.testing.assert_allclose(st.modalities["a"][tr].mean(0), 0.0, atol=1e-6)
    np.testing.assert_allclose(st.modalities["a"][tr].std(0), 1.0, atol=1e-5)
    assert ds.summary()["splits"] == {n: int((ds.split == c).sum()) for c, n in ((0, "train"), (1, "val"), (2, "test"))}


def test_make_split_stratified_fractions_and_seed() -> None:
    y = np.repeat([0, 1, 2], [100, 200, 300])
    s = make_split(600, 0.1, 0.2, seed=3, stratify=y)
    for c, n in ((0, 100), (1, 200), (2, 300)):
        assert int(((s == VAL) & (y == c)).sum()) == round(0.1 * n)
        assert int(((s == TEST) & (y == c)).sum()) == round(0.2 * n)
    np.testing.assert_array_equal(s, make_split(600, 0.1, 0.2, seed=3, stratify=y))
    assert not np.array_equal(s, make_split(600, 0.1, 0.2, seed=4, stratify=y))


@pytest.mark.parametrize(
    ("changes", "needles"),
    [
        # wrong shapes
        ({"modalities": mods(a=np.zeros(N))}, ["'a'", "2-D", "flatten"]),
        ({"modalities": mods(a=np.zeros((N, 2, 2)))}, ["'a'", "2-D", f"({N}, 2, 2)"]),
        ({"modalities": mods(a=np.zeros((N, 0)))}, ["'a'", "no feature columns"]),
        ({"target": np.zeros((N, 1))}, ["Target", f"({N},)"]),
        ({"target": np.zeros(N - 1)}, ["Target", f"({N},)"]),
        ({"split": np.zeros(N - 1, dtype=np.int8)}, ["Split", "0 (train)"]),
        ({"split": np.full(N, 3)}, ["Split", "codes"]),
        # NaN / inf
        ({"modalities": mods(a=np.where(np.eye(N, 3) > 0, np.nan, 0.0))}, ["'a'", "3 NaN/inf", "impute"]),
        ({"modalities": mods(b=np.full((N, 2), np.inf))}, ["'b'", "NaN/inf"]),
        ({"target": np.where(np.arange(N) == 3, np.nan, 1.0)}, ["Target", "NaN/inf"]),
        # differing row counts
        ({"modalities": mods(b=np.zeros((N + 5, 2)))}, ["different row counts", f"'b': {N + 5}", "same order"]),
        # object / non-numeric arrays
        ({"modalities": mods(a=np.zeros((N, 3)).astype(object))}, ["'a'", "object array", "float"]),
        ({"modalities": mods(a=np.full((N, 3), "x"))}, ["'a'", "non-numeric", "float"]),
        ({"target": np.array(["cat", "dog"] * (N // 2), dtype=object)}, ["Target", "numeric", "ints"]),
        # labels
        ({"target": np.zeros(N, dtype=int)}, ["single class", "at least 2"]),
        ({"target": np.arange(N) % 2 - 1}, ["non-negative integer"]),
        ({"target": (np.arange(N) % 2) + 0.5}, ["non-negative integer"]),
        ({"task": "anomaly", "target": np.arange(N) % 3}, ["0 (normal) or 1"]),
        ({"task": "anomaly", "target": np.ones(N, dtype=int)}, ["normal rows", "training split"]),
        # modalities and task
        ({"modalities": {"a": np.zeros((N, 3))}}, ["at least 2 modalities", "add a second"]),
        ({"task": "ranking"}, ["task must be one of", "'ranking'"]),
        # too few samples for the splits
        ({"split": np.r_[np.zeros(N - 3), np.ones(2), np.full(1, 2)].astype(np.int8)}, ["1 test rows", "at least 2"]),
    ],
)
def test_bad_inputs_raise_helpful_data_error(changes: dict[str, Any], needles: list[str]) -> None:
    with pytest.raises(DataError) as err:
        MultimodalDataset(**good(**changes))
    msg = str(err.value)
    for needle in needles:
        assert needle in msg, (needle, msg)


def test_too_few_samples_for_splits_from_make_split() -> None:
    n = 6
    split = make_split(n, 0.15, 0.15, seed=0)  # rounds to 1 val and 1 test row
    rng = np.random.default_rng(0)
    kw = good(
        modalities={"a": rng.normal(size=(n, 2)), "b": rng.normal(size=(n, 2))},
        target=np.arange(n) % 2,
        split=split,
    )
    with pytest.raises(DataError, match="Use more samples or larger val/test fractions"):
        MultimodalDataset(**kw)
