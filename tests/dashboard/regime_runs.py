"""``add_teaching_run``: a run of the teaching preset written into the store as a worker would, with chosen final
numbers (train and test accuracy, KL per modality), for the Home demo and Sweep page tests."""

from __future__ import annotations

import time

from dashboard import services
from dashboard.demo import demo_config


def add_teaching_run(
    scale: float,
    sweep_id: str,
    *,
    train: float,
    test: float,
    kl: tuple[float, float],
    seed: int = 0,
    status: str = "finished",
    epochs: int = 6,
    done: int | None = None,
    name: str | None = None,
    linear: float = 0.70,
    owner: str = "local",
) -> str:
    """A run at ``scale`` x M_u whose last epoch ends at (train, test, KL_v1, KL_v2); ``done`` epochs written (all by
    default); a ``running`` run keeps its status."""
    store, jobs = services.store(), services.jobs()
    cfg = demo_config(scale)
    cfg = cfg.replace(train=cfg.train.replace(seed=seed), data=cfg.data.replace(seed=seed))
    saved = jobs.max_concurrent
    jobs.max_concurrent = 0  # keep the scheduler from starting it while it is briefly queued
    try:
        rid = store.create_run(cfg.to_dict(), owner, name or f"Teaching demo · β ({scale:g} × M_u)", sweep_id=sweep_id)
        store.set_status(rid, "running", only_from=("queued",), heartbeat=time.time())
    finally:
        jobs.max_concurrent = saved
    total = epochs + 1
    summary = {
        "device": "cpu",
        "task": "classification",
        "modalities": ["v1", "v2"],
        "total_epochs": total,
        "beta": 1e-3 * scale,
        "M_u": 1e-3,
        "beta_over_Mu": scale,
        "estimator": "gaussian",
        "reference": {"optimal_mib_accuracy": 0.896, "linear_test_accuracy": linear},
    }
    store.update_run(rid, summary=summary, total_epochs=total, device="cpu")
    last = epochs if done is None else done
    rows, step = [], 0
    for epoch in range(last + 1):
        stage = "warmup" if epoch == 0 else "main"
        frac = epoch / epochs
        for _ in range(2):
            step += 1
            m = {"loss": 1.0 / step}
            if stage == "main":
                m |= {"kl/v1": kl[0] * (2 - frac), "kl/v2": kl[1] * (2 - frac), "r/v1": 1.0, "r/v2": 0.9}
            rows += [dict(kind="step", stage=stage, step=step, epoch=epoch, name=k, value=v) for k, v in m.items()]
        if stage == "main":
            m = {"train/accuracy": 0.6 + (train - 0.6) * frac, "test/accuracy": 0.6 + (test - 0.6) * frac}
            m["val/accuracy"] = m["test/accuracy"]
            rows += [dict(kind="epoch", stage=stage, step=step, epoch=epoch, name=k, value=v) for k, v in m.items()]
    store.append_metrics(rid, rows, {"epoch": last, "step": step})
    if status != "running":
        result = {"test_metrics": {"accuracy": test}, "last_test_metrics": {"accuracy": test}, "r_final": [1.0, 0.9]}
        store.set_status(rid, status, result=result if status == "finished" else None)
    return rid
