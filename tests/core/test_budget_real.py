"""The submit-time estimate (``omib_core.runs.budget``) is pinned to the real model, the real schedule, the real
dataset shapes and the one rule for the rows the optimiser fits (issue 21: each parameter declared once)."""

from __future__ import annotations

import numpy as np
import pytest

from omib_core.config import ModelConfig, RunConfig
from omib_core.data import load_dataset
from omib_core.data.dataset import fit_mask, make_split, n_fit_rows
from omib_core.data.folder import folder_files
from omib_core.data.registry import dataset_shape
from omib_core.data.shapes import folder_shape
from omib_core.model import OMIB
from omib_core.runs import budget
from omib_core.train import schedule
from omib_core.train.constants import out_dim
from omib_core.train.schedule import resolve_schedule

MODELS = [
    ModelConfig(),
    ModelConfig(fusion="concat"),
    ModelConfig(enc_layers=2),
    ModelConfig(fusion="concat", enc_layers=2, hidden_dim=48, z_dim=24, latent_dim=16, xi_dim=8),
    ModelConfig(latent_dim=64, tokens=8, heads=2, xi_dim=20),
]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("dims", [(7, 5), (30, 12, 3)])
@pytest.mark.parametrize(("task", "n_classes"), [("classification", 4), ("regression", 1), ("anomaly", 1)])
def test_parameter_count_is_the_real_models(model, dims, task, n_classes):
    out = out_dim(task, n_classes)
    real = OMIB({f"m{i}": d for i, d in enumerate(dims)}, out, model, task=task)
    assert budget.model_parameters(dims, out, model, task) == sum(p.numel() for p in real.parameters())


def _run(n: int, **train) -> RunConfig:
    return RunConfig.from_dict({"data": {"dataset": "sim-i", "params": {"n_samples": n}}, "train": train})


def _n_fit(cfg: RunConfig) -> int:
    d = cfg.data
    return int((make_split(cfg.data.params["n_samples"], d.val_fraction, d.test_fraction, d.seed) == 0).sum())


@pytest.mark.parametrize(
    ("n", "train"),
    [
        (60, {}),  # a tiny training set: the minimum batch decides
        (100, {"batch_fraction": 0.01}),
        (1000, {}),
        (10000, {"warmup_epochs": 0}),
        (50000, {"epochs": 3, "min_steps": 100, "max_steps": 500}),
        (2000, {"schedule": "fixed", "batch_size": 64, "epochs": 5, "patience": 0}),
    ],
)
def test_steps_and_batch_are_the_real_schedules(n, train):
    cfg = _run(n, **train)
    shape = budget.data_shape(cfg)
    assert shape.n_fit == _n_fit(cfg)  # an unstratified split: exact
    sched = resolve_schedule(cfg.train, _n_fit(cfg))
    est = budget.estimate(cfg, shape=shape)
    batch = sched.batch_size
    assert est.parts["activations"] == 3 * batch * budget._row_floats(shape.dims, shape.out, cfg.model) * 4
    params = budget.model_parameters(shape.dims, shape.out, cfg.model)
    assert est.work_parts["train"] == (sched.warmup_steps + sched.main_steps) * 6 * batch * params


def test_budget_follows_the_schedules_minimum_batch(monkeypatch):
    cfg = _run(60, batch_fraction=0.05)  # 42 training rows: the minimum batch decides
    shape = budget.data_shape(cfg)
    row = 3 * budget._row_floats(shape.dims, shape.out, cfg.model) * 4
    for min_batch in (schedule.MIN_BATCH, 30):
        monkeypatch.setattr(schedule, "MIN_BATCH", min_batch)
        assert budget.estimate(cfg).parts["activations"] == min_batch * row


def test_a_schedule_the_run_would_refuse_is_still_estimated():
    cfg = _run(1000, schedule="fixed", batch_size=5000, epochs=10**6, patience=10**7)
    est = budget.estimate(cfg)
    assert est.work > 0 and est.parts["activations"] > 0


SIMS = {
    "sim-i": {},
    "sim-ii": {"b2": 20, "dim_v2": 50},
    "sim-iii": {"b1": 7},
    "sim-teach": {},
    "sim-reg": {},
    "sim-anomaly": {"train_contamination": 0.1},
    "sim-3m": {"a3": 5, "dim_v1": 90},
}


@pytest.mark.parametrize("dataset_id", list(SIMS))
def test_sim_shapes_are_the_generators(dataset_id):
    params = {"n_samples": 300, **SIMS[dataset_id]}
    if dataset_id != "sim-anomaly":
        params["reference"] = False
    if dataset_id in ("sim-i", "sim-ii", "sim-iii", "sim-3m", "sim-teach"):
        params["label_model"] = "uniform"  # no Monte Carlo for the temperature
    ds = load_dataset(dataset_id, **params)
    shape = dataset_shape(dataset_id, params)
    assert (shape.n_rows, shape.dims, shape.task) == (ds.n_samples, tuple(ds.input_dims.values()), ds.task)
    if ds.task == "classification":
        assert shape.n_classes == ds.n_classes
    assert shape.blocks == {b: s for b, s in ds.meta["blocks"].items()}
    fit = int(fit_mask(ds.split, ds.target, ds.task).sum())
    assert abs(n_fit_rows(shape.n_rows, 0.15, 0.15, shape.task, shape.anomaly_share) - fit) <= 10


REAL = ["uci-mfeat", "uci-mfeat-fac-mor", "uci-mfeat-zer-mor", "nutrimouse", "breast-cancer", "digits"]


@pytest.mark.parametrize("dataset_id", REAL)
def test_real_shapes_are_the_loaders(dataset_id):
    ds = load_dataset(dataset_id)
    shape = dataset_shape(dataset_id)
    assert (shape.n_rows, shape.dims, shape.task) == (ds.n_samples, tuple(ds.input_dims.values()), ds.task)
    assert shape.n_classes == ds.n_classes
    assert budget.data_shape(RunConfig.from_dict({"data": {"dataset": dataset_id}})).out == ds.n_classes


def test_real_shapes_follow_their_parameters():
    for params in ({"views": "pix,zer,kar"}, {"views": "mor,fou"}):
        ds = load_dataset("uci-mfeat", **params)
        assert dataset_shape("uci-mfeat", params).dims == tuple(ds.input_dims.values())
    ds = load_dataset("nutrimouse", label="diet")
    assert dataset_shape("nutrimouse", {"label": "diet"}).n_classes == ds.n_classes == 5


def test_folder_shape_reads_the_headers(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "audio.npy", rng.standard_normal((120, 3, 4)).astype(np.float32))
    rows = "\n".join(";".join(f"{v:.3f}" for v in r) for r in rng.standard_normal((120, 5)))
    (tmp_path / "video.csv").write_text("a;b;c;d;e\n" + rows + "\n")
    (tmp_path / "labels.csv").write_text("label\n" + "\n".join(str(i % 3) for i in range(120)) + "\n")
    folder_files(tmp_path)  # a valid folder
    shape = folder_shape(tmp_path)
    ds = load_dataset(str(tmp_path))
    assert shape.dims == tuple(ds.input_dims.values()) == (12, 5)
    assert shape.n_rows >= ds.n_samples == 120


def test_fit_rows_are_defined_once():
    split = np.array([0, 0, 0, 1, 2, 0])
    target = np.array([0, 1, 0, 1, 0, 0])
    assert fit_mask(split, target, "classification").tolist() == [True, True, True, False, False, True]
    assert fit_mask(split, target, "anomaly").tolist() == [True, False, True, False, False, True]
    for n, val, test in ((1000, 0.15, 0.15), (333, 0.1, 0.2), (57, 0.25, 0.25)):
        assert n_fit_rows(n, val, test, "regression") == int((make_split(n, val, test, 0) == 0).sum())
