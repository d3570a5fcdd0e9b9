"""The grid engine: G runs as one stacked model (omib_core.model.stacked, omib_core.train.grid).

Oracles: the stacked forward against OMIB itself, copy by copy; StackedAdamW against torch.optim.AdamW; a grid's
members against separate runs of the same configs (same data, same initialisation)."""

from __future__ import annotations

import math

import pytest
import torch

from omib_core.config import ModelConfig, RunConfig
from omib_core.errors import ConfigError
from omib_core.model import OMIB, stacked
from omib_core.train import train
from omib_core.train.events import EpochEvent, RunFailed, RunFinished, RunStarted, SnapshotEvent, StepEvent
from omib_core.train.grid import GridTrainer, grid_problem, train_grid
from omib_core.train.stacked_optim import StackedAdamW, clip_grad_norm_

SMALL = {
    "data": {"dataset": "sim-i", "params": {"n_samples": 400, "reference": False}},
    "model": {"hidden_dim": 32, "z_dim": 16, "latent_dim": 16, "xi_dim": 16, "dropout": 0.0},
    "train": {
        "schedule": "fixed",
        "epochs": 4,
        "warmup_epochs": 2,
        "batch_size": 64,
        "device": "cpu",
        "log_every": 2,
        "num_threads": 1,
        "linear_reference": False,
    },
}


def cfg(**train) -> RunConfig:
    d = {k: dict(v) for k, v in SMALL.items()}
    d["train"].update(train)
    return RunConfig.from_dict(d)


@pytest.mark.parametrize(
    "model",
    [
        ModelConfig(dropout=0.0),
        ModelConfig(dropout=0.0, enc_layers=2, fusion="concat"),
        ModelConfig(dropout=0.0, bottleneck=False),
    ],
)
def test_stacked_forward_matches_each_copy(model):
    torch.manual_seed(0)
    dims = {"v1": 7, "v2": 5, "v3": 3}
    copies = [OMIB(dims, 4, model) for _ in range(3)]
    sp = stacked.StackedParams(copies)
    xs = {m: torch.randn(3, 10, d) for m, d in dims.items()}
    out = stacked.forward(copies[0], sp.params, xs, "main", training=False)
    warm = {m: torch.randn(3, 10, model.xi_dim) for m in dims}
    out_w = stacked.forward(copies[0], sp.params, xs, "warmup", training=False, noise=warm)
    for g, net in enumerate(copies):
        net.eval()
        ref = net({m: x[g] for m, x in xs.items()}, "main", sample=False)
        for key in ("xi", "y_hat"):
            torch.testing.assert_close(out[key][g], ref[key], atol=1e-5, rtol=1e-4)
        for m in dims:
            torch.testing.assert_close(out["kl"][m][g], ref["kl"][m], atol=1e-5, rtol=1e-4)
            torch.testing.assert_close(out["y_hat_i"][m][g], ref["y_hat_i"][m], atol=1e-5, rtol=1e-4)
            z = net.encode({k: x[g] for k, x in xs.items()})[m]
            torch.testing.assert_close(out_w["y_hat_i"][m][g], net.trb[m](z, warm[m][g]), atol=1e-5, rtol=1e-4)
        # a copy's state loads back into the plain network unchanged
        fresh = OMIB(dims, 4, model)
        fresh.load_state_dict(sp.member_state(g))
        for (n, a), (_, b) in zip(fresh.state_dict().items(), net.state_dict().items()):
            assert torch.equal(a, b), n


def test_stacked_adamw_equals_torch_adamw_per_copy_and_freezes_masked_copies():
    torch.manual_seed(1)
    nets = [torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2)) for _ in range(3)]
    refs = [torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2)) for _ in range(3)]
    for a, b in zip(refs, nets):
        a.load_state_dict(b.state_dict())
    sp = stacked.StackedParams(nets, first={"0.weight", "0.bias"})
    opt = StackedAdamW(sp, lr=0.01, weight_decay=0.1)
    topts = [torch.optim.AdamW(r.parameters(), lr=0.01, weight_decay=0.1) for r in refs]
    frozen_before = sp.member_state(2)
    active = torch.tensor([True, True, False])
    for _ in range(5):
        x = torch.randn(3, 8, 4)
        sp.zero_grad()
        h = stacked.linear(sp.params, "1", stacked.linear(sp.params, "0", x))
        h.pow(2).mean(dim=(1, 2)).sum().backward()
        norms = clip_grad_norm_(sp.grad, 0.5)
        opt.step(active, warmup=False)
        for g in range(2):
            topts[g].zero_grad()
            refs[g](x[g]).pow(2).mean().backward()
            tn = torch.nn.utils.clip_grad_norm_(refs[g].parameters(), 0.5)
            topts[g].step()
            torch.testing.assert_close(norms[g], tn, atol=1e-5, rtol=1e-5)
    for g in range(2):
        for n, t in refs[g].state_dict().items():
            torch.testing.assert_close(sp.member_state(g)[n], t, atol=1e-6, rtol=1e-5)
    for n, t in frozen_before.items():
        assert torch.equal(sp.member_state(2)[n], t), f"masked copy changed: {n}"


def test_warmup_step_leaves_main_stage_columns_and_counts_alone():
    torch.manual_seed(2)
    nets = [torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)) for _ in range(2)]
    sp = stacked.StackedParams(nets, first={"0.weight", "0.bias"})
    opt = StackedAdamW(sp, lr=0.1)
    before = sp.data[:, sp.split :].clone()
    sp.grad.fill_(1.0)
    opt.step(torch.tensor([True, True]), warmup=True)
    assert torch.equal(sp.data[:, sp.split :], before)
    assert opt.steps[0].tolist() == [1.0, 1.0] and opt.steps[1].tolist() == [0.0, 0.0]


def test_grid_problem_names_what_cannot_share_a_grid():
    assert grid_problem([cfg(seed=0, beta_scale=1.0), cfg(seed=1, beta_scale=10.0)]) is None
    assert "differ" in grid_problem([cfg(), cfg(lr=0.01)])
    assert "r_update" in grid_problem([cfg(r_update="batch")])
    with pytest.raises(ConfigError, match="cannot train as one grid"):
        GridTrainer([cfg(), cfg(lr=0.01)])


def _events(configs, **kw):
    out: dict[int, list] = {}
    for g, ev in train_grid(configs, **kw):
        out.setdefault(g, []).append(ev)
    return out


def test_grid_members_follow_their_separate_runs_at_several_epochs(tmp_path):
    """Same data, same initialisation: a member's per-epoch numbers track its separate run's (the noise draws differ,
    so closely rather than exactly), at the first, a middle and the last epoch; each member keeps its own beta."""
    configs = [cfg(seed=0, beta_scale=1.0), cfg(seed=0, beta_scale=300.0), cfg(seed=1, beta_scale=1.0)]
    grid = _events(configs, cache_dir=tmp_path)
    for g, c in enumerate(configs):
        evs = grid[g]
        assert isinstance(evs[0], RunStarted) and isinstance(evs[-1], RunFinished)
        single = list(train(c, cache_dir=tmp_path))
        ge = [e for e in evs if isinstance(e, EpochEvent)]
        se = [e for e in single if isinstance(e, EpochEvent)]
        assert [e.epoch for e in ge] == [e.epoch for e in se] == list(range(6))
        assert evs[0].beta == pytest.approx(single[0].beta)
        for i in (0, 3, 5):
            for k in ("trb/v1/val/accuracy",) + (("val/accuracy", "kl/v1") if i >= 2 else ()):
                assert ge[i].metrics[k] == pytest.approx(se[i].metrics[k], abs=0.12, rel=0.5), (g, i, k)
    # the large beta squeezes: its KL is below the small beta's at the last epoch
    last = {g: [e for e in grid[g] if isinstance(e, EpochEvent)][-1] for g in range(3)}
    assert last[1].metrics["kl/v1"] < last[0].metrics["kl/v1"]
    steps = [e for e in grid[0] if isinstance(e, StepEvent)]
    assert steps and all(math.isfinite(v) for v in steps[-1].metrics.values())


def test_a_diverging_member_fails_and_the_others_finish(tmp_path):
    configs = [cfg(seed=0, lr=1e-3), cfg(seed=1, lr=1e-3)]
    trainer = GridTrainer(configs, cache_dir=tmp_path)
    with torch.no_grad():
        trainer.sp.data[1].fill_(float("nan"))  # member 1's weights are broken from the start
    events: dict[int, list] = {}
    for g, ev in trainer.run():
        events.setdefault(g, []).append(ev)
    assert isinstance(events[1][-1], RunFailed) and "non-finite" in events[1][-1].message
    assert isinstance(events[0][-1], RunFinished)
    assert math.isfinite(events[0][-1].last_test_metrics["accuracy"])


def test_pause_freezes_one_member_and_stop_ends_it_while_the_others_train(tmp_path):
    configs = [cfg(seed=0), cfg(seed=1), cfg(seed=2)]
    trainer = GridTrainer(configs, [tmp_path / f"m{g}" for g in range(3)], cache_dir=tmp_path)
    trainer.pause(1)
    frozen = trainer.sp.member_state(1)
    epochs: dict[int, list[int]] = {0: [], 1: [], 2: []}
    finished = set()
    for g, ev in trainer.run():
        if isinstance(ev, EpochEvent):
            epochs[g].append(ev.epoch)
            if g == 0 and ev.epoch == 1:
                for n, t in frozen.items():
                    assert torch.equal(trainer.sp.member_state(1)[n], t)
                trainer.resume(1)  # rejoins at the grid's epoch 2
                trainer.stop(2)
        if isinstance(ev, RunFinished):
            finished.add(g)
            assert ev.checkpoint_path and (tmp_path / f"m{g}" / "checkpoint.pt").exists()
        if isinstance(ev, SnapshotEvent):
            assert str(tmp_path / f"m{g}") in ev.path
    assert epochs[0] == list(range(6)) and epochs[1] == [2, 3, 4, 5] and epochs[2] == [0, 1]
    assert finished == {0, 1}


def test_members_of_different_data_draws_train_in_one_grid(tmp_path):
    """Seeds that also draw the data (a sweep with reseed_data): each member sees its own draw; rows are shared only
    between members of one draw."""
    a = cfg(seed=0)
    b = a.replace(data=a.data.replace(seed=5), train=a.train.replace(seed=5))
    trainer = GridTrainer([a, b, a.replace(train=a.train.replace(beta_scale=10.0))], cache_dir=tmp_path)
    assert trainer.dmap.tolist() == [0, 1, 0]
    assert trainer.members[0].split_data is trainer.members[2].split_data
    assert not torch.equal(trainer.fit_x["v1"][0], trainer.fit_x["v1"][1])
    done = {g for g, ev in trainer.run() if isinstance(ev, RunFinished)}
    assert done == {0, 1, 2}


def test_evaluating_train_and_test_rows_less_often_changes_no_result(tmp_path):
    """A large grid evaluates train / test rows every few epochs (validation every epoch); the best-val epoch's test
    metrics come from its kept weights at the end, so every result equals that of evaluating at every epoch."""
    configs = [cfg(seed=0, beta_scale=1.0, epochs=7), cfg(seed=1, beta_scale=30.0, epochs=7)]

    def run(every):
        out = {}
        for g, ev in GridTrainer(configs, cache_dir=tmp_path, eval_every=every).run():
            out.setdefault(g, []).append(ev)
        return out

    full, sparse = run(1), run(3)
    for g in range(2):
        a, b = full[g][-1], sparse[g][-1]
        assert isinstance(a, RunFinished) and isinstance(b, RunFinished)
        assert a.best_val_epoch == b.best_val_epoch
        assert a.best_val_test_metrics == pytest.approx(b.best_val_test_metrics)
        assert a.last_test_metrics == pytest.approx(b.last_test_metrics)
        tested = [e.epoch for e in sparse[g] if isinstance(e, EpochEvent) and "test/accuracy" in e.metrics]
        assert tested == [4, 7, 8]  # main epochs 3 and 6 of 7 (warm-up 2), and the last
        assert all("val/accuracy" in e.metrics for e in sparse[g] if isinstance(e, EpochEvent) and e.stage == "main")


def test_the_time_estimate_follows_how_the_grid_will_run(monkeypatch, tmp_path):
    from omib_core.runs import jobs
    from omib_core.runs.grid_estimate import estimate_seconds

    monkeypatch.setattr(jobs, "cpu_count", lambda: 2)
    grid = [cfg(seed=s, beta_scale=b) for s in range(4) for b in (1.0, 10.0, 100.0)]  # 12 members: 2 shards of 6
    est = estimate_seconds(grid, tmp_path)
    assert est["members"] == 6 and "one grid of 12 in 2 processes" in est["basis"] and est["seconds"] > 0
    assert "1 data draw(s) to make" in est["basis"]  # one DataConfig, not yet in the cache
    apart = estimate_seconds([cfg(), cfg(lr=0.01)], tmp_path)
    assert "2 runs one after another" in apart["basis"] and apart["members"] == 1


def test_grid_members_measure_the_information_per_block_with_their_own_network(tmp_path):
    """Each member's snapshot epochs carry I(rep; block) measured with its own weights: the last epoch's numbers equal
    those of a run's own measurement with the member's checkpoint loaded (and differ between the members)."""
    from omib_core.train.checkpoint import load_checkpoint
    from omib_core.train.loop import _Trainer

    def info_cfg(**train) -> RunConfig:
        d = {k: dict(v) for k, v in SMALL.items()}
        d["data"]["params"] = {"n_samples": 1200, "b1": 16, "b2": 16, "reference": False}
        d["train"].update(snapshot_every=2, select="last", **train)
        return RunConfig.from_dict(d)

    configs = [info_cfg(seed=0, beta_scale=1.0), info_cfg(seed=1, beta_scale=300.0)]
    grid = _events(configs, out_dirs=[tmp_path / f"m{g}" for g in range(2)], cache_dir=tmp_path)
    lasts = []
    for g, c in enumerate(configs):
        info = {e.epoch: e.metrics for e in grid[g] if isinstance(e, EpochEvent) and "info/xi/a1" in e.metrics}
        assert sorted(info) == [3, 5]  # main epochs 1 and 3 of 4 (snapshot_every=2), the last among them
        own = _Trainer(c, None, None, None, tmp_path)
        model, _, _ = load_checkpoint(tmp_path / f"m{g}" / "checkpoint.pt")
        own.model.load_state_dict(model.state_dict())
        expected = own._information()
        assert expected and all(info[5][k] == pytest.approx(v, abs=1e-4) for k, v in expected.items())
        lasts.append(info[5])
    assert lasts[0]["info/xi/a1"] != lasts[1]["info/xi/a1"]
