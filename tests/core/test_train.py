"""The training loop: events and metric names, reproducibility, tasks, failures, checkpoints, snapshots, baselines."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from omib_core.bound.result import BoundResult, Estimate
from omib_core.config import ModelConfig, RunConfig, TrainConfig
from omib_core.data.dataset import MultimodalDataset, make_split
from omib_core.train import (
    EpochEvent,
    RunFailed,
    RunFinished,
    RunStarted,
    SnapshotEvent,
    StepEvent,
    embed,
    load_checkpoint,
    train,
)

torch.set_num_threads(1)

TINY = ModelConfig(hidden_dim=16, enc_layers=1, z_dim=8, latent_dim=8, xi_dim=8, tokens=2, heads=2)
BOUND = BoundResult(
    estimator="gaussian",
    modalities=("v1", "v2"),
    entropies={},
    mutual_information=None,
    h_joint=Estimate("H_joint", 10.0),
    M_u=1 / 30,
    M_l=1 / 60,
)


# helpers


def make_dataset(task: str = "classification", n: int = 360, seed: int = 0, m: int = 2) -> MultimodalDataset:
    """Two (or three) noisy views of a 2-D latent; the target depends on the latent only."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, 2))
    outlier = rng.random(n) < 0.15
    if task == "anomaly":
        a[outlier] += 3.0
    views = {
        "v1": np.c_[a[:, :1] + 0.2 * rng.normal(size=(n, 1)), rng.normal(size=(n, 3))],
        "v2": np.c_[a[:, 1:] + 0.2 * rng.normal(size=(n, 1)), rng.normal(size=(n, 2))],
    }
    if m == 3:
        views["v3"] = np.c_[a.sum(1, keepdims=True), rng.normal(size=(n, 2))]
    if task == "classification":
        y = (a[:, 0] > 0).astype(np.int64) + (a[:, 1] > 0).astype(np.int64)  # 3 classes
    elif task == "regression":
        y = (a[:, 0] + 0.5 * a[:, 1]).astype(np.float32)
    else:
        y = outlier.astype(np.int64)
    mods = {k: v.astype(np.float32) for k, v in views.items()}
    return MultimodalDataset("toy", mods, y, task, make_split(n, 0.2, 0.2, seed))


def config(model: ModelConfig = TINY, **train_kw) -> RunConfig:
    kw = dict(
        schedule="fixed",
        epochs=3,
        warmup_epochs=1,
        batch_size=64,
        lr=3e-3,
        log_every=2,
        device="cpu",
        snapshot_every=2,
        seed=0,
    )
    kw.update(train_kw)
    return RunConfig(model=model, train=TrainConfig(**kw))


def run(cfg: RunConfig, ds: MultimodalDataset | None = None, **kw) -> list:
    kw.setdefault("bound", BOUND)
    return list(train(cfg, ds if ds is not None else make_dataset(), **kw))


def epochs_of(events: list, stage: str | None = None) -> list[EpochEvent]:
    return [e for e in events if isinstance(e, EpochEvent) and (stage is None or e.stage == stage)]


# event stream and metric names


def test_classification_smoke_beats_chance_and_follows_the_naming_convention():
    ds = make_dataset(n=600)
    events = run(config(epochs=8, lr=1e-2), ds)
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    start, end = events[0], events[-1]
    assert start.task == "classification" and start.modalities == ("v1", "v2") and start.total_epochs == 9
    assert start.beta == pytest.approx(1 / 30) and start.beta_over_Mu == pytest.approx(1.0)
    assert start.estimator == "gaussian"
    assert len(epochs_of(events)) == 9 and len(epochs_of(events, "warmup")) == 1
    warm = epochs_of(events, "warmup")[0].metrics
    assert {"loss", "trb_loss/v1", "trb_loss/v2", "trb/v1/val/accuracy", "samples_per_second"} <= set(warm)
    assert not any(k.startswith(("kl/", "val/")) for k in warm)
    main = epochs_of(events, "main")
    expected = {"loss", "task_loss", "beta", "M_u", "beta_over_Mu", "samples_per_second"}
    for m in ("v1", "v2"):
        expected |= {f"kl/{m}", f"beta_kl/{m}", f"r/{m}", f"trb_loss/{m}", f"trb/{m}/val/accuracy"}
    for s in ("train", "val", "test"):
        expected |= {f"{s}/accuracy", f"{s}/f1_macro"}
    assert expected <= set(main[-1].metrics)
    assert all(isinstance(v, float) for e in main for v in e.metrics.values())
    assert all(e.metrics["r/v1"] == 1.0 for e in main)
    assert main[0].metrics["r/v2"] == 1.0  # r = 1 during the first main epoch
    assert any(e.metrics["r/v2"] != 1.0 for e in main[1:])  # then recomputed
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert steps and all(e.step % 2 == 0 for e in steps)
    assert {"loss", "kl/v1", "r/v2", "beta_over_Mu"} <= set([e for e in steps if e.stage == "main"][0].metrics)
    counts = np.bincount(ds.target[ds.split == 2])
    chance = counts.max() / counts.sum()
    assert end.test_metrics["accuracy"] > chance + 0.15
    assert 0.0 < end.r_final[1] < 2.0 and end.r_final[0] == 1.0


def test_same_seed_gives_identical_metrics_and_another_seed_does_not():
    cfg = config(epochs=2)
    a, b = run(cfg), run(cfg)
    ma, mb = [e.metrics for e in epochs_of(a)], [e.metrics for e in epochs_of(b)]
    strip = lambda ms: [{k: v for k, v in m.items() if k != "samples_per_second"} for m in ms]  # noqa: E731
    assert strip(ma) == strip(mb)
    c = run(config(epochs=2, seed=1))
    assert strip([e.metrics for e in epochs_of(c)]) != strip(ma)


def test_regression_smoke_beats_the_mean_predictor():
    ds = make_dataset("regression", n=500)
    events = run(config(epochs=6, lr=1e-2), ds)
    end = events[-1]
    assert isinstance(end, RunFinished), events[-1]
    y_test, y_train = ds.target[ds.split == 2], ds.target[ds.split == 0]
    baseline = float(np.abs(y_test - y_train.mean()).mean())
    assert end.test_metrics["mae"] < baseline
    assert {"val/mae", "trb/v1/val/mae"} <= set(epochs_of(events, "main")[-1].metrics)


def test_anomaly_smoke_trains_deep_svdd(tmp_path):
    """One-class training learns: the outliers (shifted 3 std in the latent) score far from the centre."""
    ds = make_dataset("anomaly", n=600)
    events = run(config(epochs=6), ds, out_dir=tmp_path)
    end = events[-1]
    assert isinstance(end, RunFinished), end
    auc = end.test_metrics["auc"]
    assert auc > 0.7 and end.test_metrics["f1"] > 0.0, end.test_metrics  # 0.86 here; 0.5 is chance
    assert "trb/v2/val/auc" in epochs_of(events, "warmup")[0].metrics
    model, _, _ = load_checkpoint(end.checkpoint_path)
    assert model.center.abs().min() >= 0.1 - 1e-6  # fixed centre, near-zero coordinates pushed out
    assert model.ddec.net[-1].bias is None
    arrays = embed(model, ds, "cpu")
    assert arrays["pred"].shape == (ds.n_samples,) and (arrays["pred"] >= 0).all()  # squared distances


def test_three_modalities_run():
    events = run(config(epochs=2), make_dataset(m=3))
    assert isinstance(events[-1], RunFinished)
    assert len(events[-1].r_final) == 3 and {"r/v3", "kl/v3"} <= set(epochs_of(events, "main")[-1].metrics)


# failures and stopping


def test_non_finite_loss_yields_run_failed_and_keeps_earlier_events(monkeypatch, tmp_path):
    import omib_core.train.loop as loop

    calls = {"n": 0}
    real = loop.task_loss

    def poisoned(*args, **kwargs):
        calls["n"] += 1
        out = real(*args, **kwargs)
        return out * float("nan") if calls["n"] > 40 else out

    monkeypatch.setattr(loop, "task_loss", poisoned)
    events = run(config(epochs=5), out_dir=tmp_path)
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFailed)
    assert len(epochs_of(events)) >= 1 and not any(isinstance(e, RunFinished) for e in events)
    msg = events[-1].message
    assert "non-finite" in msg and "lr=" in msg and "beta" in msg and f"epoch {events[-1].epoch}" in msg
    assert not (tmp_path / "checkpoint.pt").exists()


def test_huge_learning_rate_fails_cleanly():
    events = run(config(epochs=3, warmup_epochs=0, lr=1e30))
    assert isinstance(events[-1], RunFailed) and "non-finite" in events[-1].message


def test_missing_bound_fails_unless_beta_is_set_by_hand():
    none = BoundResult(
        "mine", ("v1", "v2"), {}, None, Estimate("H_joint", -3.0), M_u=None, M_l=None, failure="H_joint < 0."
    )
    events = run(config(epochs=1), bound=none)
    assert len(events) == 1 and isinstance(events[0], RunFailed) and "H_joint < 0." in events[0].message
    events = run(config(epochs=1, beta=0.01), bound=none)
    assert isinstance(events[-1], RunFinished)
    assert events[0].beta == 0.01 and events[0].beta_over_Mu is None and events[0].estimator is None


def test_closing_the_generator_mid_run_stops_cleanly(tmp_path):
    torch.set_num_threads(2)
    try:
        gen = train(config(epochs=20), make_dataset(), out_dir=tmp_path, bound=BOUND)
        for event in gen:
            if isinstance(event, EpochEvent):
                break
        assert torch.get_num_threads() == 1  # the thread policy of a CPU run
        gen.close()
        assert torch.get_num_threads() == 2  # restored on close
    finally:
        torch.set_num_threads(1)
    assert not (tmp_path / "checkpoint.pt").exists()
    with pytest.raises(StopIteration):
        next(gen)


def test_bound_is_estimated_when_not_given():
    events = list(train(config(epochs=1, warmup_epochs=0), make_dataset()))
    start = events[0]
    assert isinstance(start, RunStarted) and isinstance(events[-1], RunFinished)
    assert start.estimator == "gaussian" and start.M_u > 0 and start.beta == pytest.approx(start.M_u)
    assert start.bound_note is None  # a plain Wishart-corrected estimate: nothing to explain


def test_a_shrunk_bound_says_so_in_the_first_event():
    """nutrimouse: 28 training rows for 141 features, so the bound comes from a shrunk covariance and says so."""
    from omib_core.data import load_dataset

    ds = load_dataset("nutrimouse")
    start = next(iter(train(config(epochs=1, warmup_epochs=0, batch_size=8), ds)))  # fixed: batch <= 28 rows
    assert isinstance(start, RunStarted) and start.M_u > 0
    assert start.bound_note and "Ledoit-Wolf" in start.bound_note


# checkpoints and snapshots


def test_checkpoint_round_trip_gives_identical_predictions(tmp_path):
    ds = make_dataset()
    cfg = config(epochs=2, select="last")  # the last snapshot and the checkpoint are then the same model
    events = run(cfg, ds, out_dir=tmp_path)
    end = events[-1]
    payload = torch.load(end.checkpoint_path, weights_only=True)
    assert payload["config"] == cfg.to_dict()
    model, cfg2, extra = load_checkpoint(end.checkpoint_path, "cpu")
    assert cfg2 == cfg and extra["r"] == list(end.r_final) and extra["test_metrics"] == end.test_metrics
    snaps = [e for e in events if isinstance(e, SnapshotEvent)]
    last = np.load(snaps[-1].path, allow_pickle=False)
    arrays = embed(model, ds, "cpu")
    rows = last["index"]
    np.testing.assert_array_equal(arrays["xi"][rows], last["xi"])
    np.testing.assert_array_equal(arrays["pred"][rows], last["pred"])
    assert float(np.mean(arrays["correct"][ds.split == 2])) == pytest.approx(end.test_metrics["accuracy"])


def test_snapshots_are_plain_npz_with_a_fixed_subset(tmp_path):
    events = run(config(epochs=3, snapshot_every=1, snapshot_max_points=50), out_dir=tmp_path)
    snaps = [e for e in events if isinstance(e, SnapshotEvent)]
    assert [s.epoch for s in snaps] == [1, 2, 3]
    files = [np.load(s.path, allow_pickle=False) for s in snaps]
    keys = {"xi", "z_v1", "z_v2", "zeta_v1", "zeta_v2", "index", "split", "target", "pred", "correct"}
    assert keys <= set(files[0].files)
    assert files[0]["xi"].shape == (50, 8) and files[0]["z_v1"].shape == (50, 8)
    np.testing.assert_array_equal(files[0]["index"], files[-1]["index"])
    assert set(np.unique(files[0]["split"])) <= {0, 1, 2}
    assert not np.array_equal(files[0]["xi"], files[-1]["xi"])


# baselines and options


@pytest.mark.parametrize(
    "model,train_kw",
    [
        (TINY.replace(fusion="concat"), {}),
        (TINY, {"dynamic_r": False}),
        (TINY.replace(bottleneck=False), {}),
        (TINY, {"beta": 0.5}),
        (TINY, {"r_update": "batch", "bound": "with_r", "r_form": "ratio_of_means"}),
    ],
    ids=["concat", "fixed_r", "no_bottleneck", "hand_beta", "batch_r_with_r"],
)
def test_baselines_and_options_run(model, train_kw):
    events = run(config(model, epochs=3, **train_kw))
    assert isinstance(events[-1], RunFinished), events[-1]
    main = [e.metrics for e in epochs_of(events, "main")]
    if train_kw.get("dynamic_r") is False:
        assert all(m["r/v2"] == 1.0 for m in main) and events[-1].r_final == (1.0, 1.0)
    if not model.bottleneck:
        assert all(m["kl/v1"] == 0.0 and m["beta_kl/v2"] == 0.0 for m in main)
    if "beta" in train_kw:
        assert all(m["beta"] == pytest.approx(0.5) for m in main) and events[0].estimator is None
    if train_kw.get("bound") == "with_r":
        # beta = M_u(r) = 1 / ((1 + r) H_joint) follows r once r moves
        last = main[-1]
        assert last["r/v2"] != 1.0
        assert last["M_u"] == pytest.approx(1 / ((1 + last["r/v2"]) * 10.0), rel=1e-6)
        assert main[0]["beta"] == pytest.approx(1 / 20)


def test_best_val_selection_keeps_the_best_epoch_in_results_and_checkpoint(tmp_path):
    ds = make_dataset()
    events = run(config(epochs=4, lr=3e-2), ds, out_dir=tmp_path)  # a high lr makes val accuracy move around
    end = events[-1]
    val = {e.epoch: e.metrics["val/accuracy"] for e in events if isinstance(e, EpochEvent) and e.stage == "main"}
    best = max(val, key=lambda k: (val[k], -k))  # the first epoch reaching the maximum
    assert end.best_epoch == best and end.val_metrics["accuracy"] == pytest.approx(val[best])
    model, _, extra = load_checkpoint(end.checkpoint_path, "cpu")
    assert extra["epoch"] == best
    arrays = embed(model, ds, "cpu")
    assert float(np.mean(arrays["correct"][ds.split == 2])) == pytest.approx(end.test_metrics["accuracy"])
    last = max(val)
    test_last = next(e for e in events if isinstance(e, EpochEvent) and e.epoch == last).metrics["test/accuracy"]
    assert end.last_test_metrics["accuracy"] == pytest.approx(test_last)


# the objective and the warm-up, checked against what the loop logs and does


def test_logged_loss_is_task_plus_beta_r_kl_plus_trb_weight_times_trb():
    """Every logged step: loss = L_task + sum_j beta r_j KL_j + trb_weight sum_i L_TRB_i (warm-up: sum_i L_TRB_i)."""
    ds = make_dataset(n=300, m=3)
    cfg = config(epochs=3, log_every=1, trb_weight=0.7, r_update="batch", snapshot_every=0)
    events = run(cfg, ds)
    assert isinstance(events[-1], RunFinished), events[-1]
    steps = [e for e in events if isinstance(e, StepEvent)]
    mods = ("v1", "v2", "v3")
    main = [e.metrics for e in steps if e.stage == "main"]
    warm = [e.metrics for e in steps if e.stage == "warmup"]
    assert main and warm
    assert any(m["r/v2"] != 1.0 for m in main), "r moved, so the test tells r_j KL_j from KL_j"
    for m in main:
        beta_r_kl = [m["beta"] * m[f"r/{j}"] * m[f"kl/{j}"] for j in mods]
        np.testing.assert_allclose([m[f"beta_kl/{j}"] for j in mods], beta_r_kl, rtol=1e-5, atol=1e-7)
        trb = sum(m[f"trb_loss/{j}"] for j in mods)
        assert m["loss"] == pytest.approx(m["task_loss"] + sum(beta_r_kl) + 0.7 * trb, rel=1e-5, abs=1e-6), m
    for m in warm:
        assert m["loss"] == pytest.approx(sum(m[f"trb_loss/{j}"] for j in mods), rel=1e-5, abs=1e-6), m


def test_warm_up_trains_only_the_encoders_and_trb_heads(monkeypatch):
    """During warm-up the VAE, CAN and dDec parameters do not move (even with weight decay); the main stage moves
    them."""
    from omib_core.train import loop

    models = []
    adamw = loop._adamw

    def spy(model, lr, weight_decay):
        models.append(model)
        return adamw(model, lr, weight_decay)

    monkeypatch.setattr(loop, "_adamw", spy)
    frozen = ("vae.", "fusion.", "ddec.")
    cfg = config(epochs=1, warmup_epochs=2, weight_decay=0.1, lr=1e-2, snapshot_every=0)
    before = warm_end = None
    for event in train(cfg, make_dataset(n=300), bound=BOUND):
        if isinstance(event, RunStarted):
            (model,) = models
            before = {k: v.detach().clone() for k, v in model.named_parameters()}
        elif isinstance(event, EpochEvent) and event.stage == "warmup" and event.epoch == 1:
            warm_end = {k: v.detach().clone() for k, v in model.named_parameters()}
    after = {k: v.detach().clone() for k, v in model.named_parameters()}
    assert before and warm_end and any(k.startswith("fusion.") for k in before), sorted(before)
    for name, value in before.items():
        moved = not torch.equal(value, warm_end[name])
        if name.startswith(frozen):
            assert not moved, f"{name} changed during warm-up"
            assert not torch.equal(value, after[name]), f"{name} never trained in the main stage"
        elif name.startswith(("encoders.", "trb.")):
            assert moved, f"{name} did not train during warm-up"


# information per latent block (simulated data only)


def _sim(n: int = 1500, **params):
    from omib_core.config import DataConfig
    from omib_core.data import load_dataset

    p = {"n_samples": n, "b1": 16, "b2": 16, "reference": False, **params}
    return load_dataset(DataConfig(dataset="sim-i", params=p, seed=0))


def test_snapshot_epochs_carry_the_information_per_block_and_it_matches_the_ground_truth():
    """At every snapshot epoch and the last, the epoch event carries I(rep; block) for xi, z_i and zeta_i and every
    block; nothing in warm-up or between snapshots. z_v1 is a function of v1, which never sees a2 or b2: it reads
    about 0 for them and holds a1."""
    ds = _sim()
    events = run(config(epochs=5, warmup_epochs=1, snapshot_every=2, lr=1e-2), ds)
    with_info = {e.epoch: e.metrics for e in epochs_of(events) if any(k.startswith("info/") for k in e.metrics)}
    assert sorted(with_info) == [2, 4, 5]  # main epochs 2 and 4 (snapshot_every=2), and the last
    reps = ["xi", "z_v1", "z_v2", "zeta_v1", "zeta_v2"]
    names = {f"info/{r}/{b}" for r in reps for b in ("a0", "a1", "a2", "b0", "b1", "b2")}
    assert set(k for k in with_info[5] if k.startswith("info/")) == names
    last = with_info[5]
    assert last["info/z_v1/a1"] > 0.5 and last["info/z_v2/a2"] > 0.3
    for rep, absent in (("z_v1", "a2"), ("z_v1", "b2"), ("z_v2", "a1"), ("z_v2", "b1")):
        assert abs(last[f"info/{rep}/{absent}"]) < 0.1, (rep, absent, last[f"info/{rep}/{absent}"])


def test_datasets_without_latent_blocks_log_no_information():
    events = run(config(epochs=2, snapshot_every=1))
    assert not any(k.startswith("info/") for e in epochs_of(events) for k in e.metrics)


def test_an_early_stopped_run_measures_its_last_epoch(monkeypatch):
    from omib_core.train import loop

    monkeypatch.setattr(loop._Trainer, "_should_stop", lambda self: self.epoch >= 2)
    events = run(config(epochs=6, warmup_epochs=1, snapshot_every=0), _sim(n=900))
    fin = events[-1]
    assert isinstance(fin, RunFinished) and fin.stopped_early
    info = [e.epoch for e in epochs_of(events) if "info/xi/a1" in e.metrics]
    assert info == [fin.last_epoch] == [2]
