"""The Embeddings page: renders with no runs, draws a run's snapshots (PCA at once, UMAP when ready), refuses bad files."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import services
from dashboard.text import escape_md
from omib_core.analysis import embedding
from omib_core.analysis.projection_jobs import WORKER_DIED, ProjectionJobs
from omib_core.config import DataConfig, RunConfig, TrainConfig
from tests.dashboard import umap_stand_in as umap_stand_in_module
from tests.dashboard.downloads import capture, download_bytes
from tests.dashboard.umap_stand_in import StandIn

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")


def app(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("app_pages/embeddings.py")
    for k, v in query.items():
        at.query_params[k] = v
    return at


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def chart_titles(at: AppTest) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def add_run_with_snapshots(
    n_snapshots: int = 3, n: int = 120, bad_last: bool = False, owner: str = "local", dataset: str = "sim-i"
) -> str:
    """A finished training run whose worker saved ``n_snapshots`` xi snapshots (classes drift apart over epochs)."""
    store, jobs = services.store(), services.jobs()
    cfg = RunConfig(
        data=DataConfig(dataset=dataset),
        train=TrainConfig(schedule="fixed", epochs=4, warmup_epochs=1, snapshot_every=1),
    )
    saved = jobs.max_concurrent
    jobs.max_concurrent = 0  # keep the scheduler from starting it while it is briefly queued
    try:
        rid = store.create_run(cfg.to_dict(), owner, "snapshot run")
        store.set_status(rid, "running", only_from=("queued",), heartbeat=time.time())
    finally:
        jobs.max_concurrent = saved
    store.update_run(rid, summary={"task": "classification", "modalities": ["v1", "v2"]})
    rng = np.random.default_rng(0)
    target = rng.integers(0, 3, n)
    folder = store.run_dir(rid) / "snapshots"
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n_snapshots):
        epoch = 1 + k
        xi = rng.standard_normal((n, 8)) + (k + 1) * np.eye(8)[target] * 2
        pred = np.where(rng.random(n) < 0.8, target, (target + 1) % 3)
        path = folder / f"epoch_{epoch:04d}.npz"
        if bad_last and k == n_snapshots - 1:
            np.savez(path, xi=np.array([{"evil": 1}] * n, dtype=object))
        else:
            np.savez(
                path,
                xi=xi,
                z_v1=xi[:, :4],
                z_v2=xi[:, 4:],
                zeta_v1=xi[:, :2],
                zeta_v2=xi[:, 2:4],
                index=np.arange(n) * 3,
                split=rng.integers(0, 3, n).astype(np.int8),
                target=target,
                pred=pred,
                correct=pred == target,
                epoch=np.asarray(epoch),
            )
        store.add_artifact(rid, "snapshot", path, epoch=epoch)
    store.set_status(rid, "finished", only_from=("running",))
    return rid


@pytest.fixture
def umap_stand_in(monkeypatch, tmp_path):
    """UMAP replaced by a quick stand-in (the real one compiles numba for a minute on a cold machine).

    The page's jobs go to a real ``ProjectionJobs`` worker process, as on the server; only the function it runs
    is swapped (``umap_stand_in.project``). Yields the ``StandIn``: its calls (input shapes) and ``die_on_next_call``.
    """
    stand_in = StandIn(tmp_path / "umap_calls")

    class StandInJobs(ProjectionJobs):
        def submit(self, key, fn, args=(), group=None):
            assert fn.__name__ == "project_snapshot", fn  # the page's job, swapped for the stand-in
            return super().submit(key, umap_stand_in_module.project, (*args, str(stand_in.log_dir)), group)

    jobs = StandInJobs(executor="process")
    monkeypatch.setattr(services, "umap_jobs", lambda: jobs)
    yield stand_in
    jobs.shutdown()


@pytest.fixture
def fast_umap(umap_stand_in):
    return umap_stand_in


def wait_for_umap(at: AppTest, stand_in: StandIn, calls: int = 1, seconds: float = 60) -> None:
    """Rerun the page until the stand-in was called ``calls`` times and the page no longer says it is computing."""
    deadline = time.time() + seconds
    while len(stand_in.calls) < calls or any("UMAP computing" in i.value for i in at.info):
        assert time.time() < deadline, "the background UMAP never finished"
        time.sleep(0.2)
        at.run()
    no_exception(at)


def test_page_renders():
    at = app()
    at.run()
    no_exception(at)


def test_page_draws_snapshots_pca_then_umap(fast_umap):
    rid = add_run_with_snapshots()
    at = app(run=rid)
    at.run()
    no_exception(at)
    assert at.selectbox(key="emb_run").value == rid
    assert at.selectbox(key="emb_array").options[:3] == [
        "xi (fused representation)",
        "z_v1 (encoder output of v1)",
        "z_v2 (encoder output of v2)",
    ]
    slider = at.select_slider(key="emb_epoch")
    assert slider.value == "epoch 4"  # the last snapshot (epoch index 3, shown 1-based)
    assert chart_titles(at)[0].endswith("epoch 4: PCA") or chart_titles(at)[0].endswith("epoch 4: UMAP")
    wait_for_umap(at, fast_umap)
    assert fast_umap.calls == [(120, 8)]
    assert chart_titles(at) == ["xi (fused representation), epoch 4: UMAP"]
    assert at.download_button(key="emb_csv") is not None
    # watch xi take shape: an earlier epoch, coloured by correctness, PCA only (instant)
    at.select_slider(key="emb_epoch").set_value("epoch 2")
    at.segmented_control(key="emb_color").set_value("correct")
    at.segmented_control(key="emb_method").set_value("pca")
    at.run()
    no_exception(at)
    assert not any("UMAP computing" in i.value for i in at.info)
    assert chart_titles(at) == ["xi (fused representation), epoch 2: PCA"]
    at.toggle(key="emb_grid").set_value(True)
    at.run()
    no_exception(at)
    assert len(at.get("plotly_chart")) == 2  # the main view and the side-by-side grid


def test_embeddings_csv_holds_the_projection_shown(fast_umap, monkeypatch):
    """The CSV download is the drawn projection: one row per sample with its coordinates, class, prediction and split."""
    stored = capture(monkeypatch)
    rid = add_run_with_snapshots(n_snapshots=2, n=90)
    at = app(run=rid)
    at.run()
    wait_for_umap(at, fast_umap)
    assert chart_titles(at) == ["xi (fused representation), epoch 3: UMAP"]
    button = at.download_button(key="emb_csv")
    df = pd.read_csv(io.BytesIO(download_bytes(button, stored)))
    snap = embedding.load_snapshot(services.store().list_artifacts(rid, "snapshot")[-1]["path"])
    assert list(df.columns) == ["sample_id", "x", "y", "target", "label", "prediction", "correct", "split"]
    assert len(df) == 90 and df["sample_id"].tolist() == list(range(0, 270, 3))
    expected = (embedding.pca_2d(snap["xi"])[:, ::-1] * 10.0).astype(np.float32)  # what the stand-in "UMAP" returned
    np.testing.assert_allclose(df[["x", "y"]].to_numpy(), expected, rtol=1e-6, atol=1e-5)
    assert df["target"].tolist() == snap["target"].tolist()
    assert (df["correct"] == "correct").tolist() == snap["correct"].tolist()
    assert df["split"].tolist() == [{0: "train", 1: "val", 2: "test"}[int(s)] for s in snap["split"]]
    assert df["label"].nunique() == 3 and df["prediction"].nunique() <= 3


def test_page_refuses_a_pickled_snapshot_with_a_sentence(fast_umap):
    rid = add_run_with_snapshots(n_snapshots=2, bad_last=True)
    at = app(run=rid)
    at.run()
    no_exception(at)
    assert any("pickled" in e.value for e in at.error)


def test_page_says_why_umap_failed_and_retries_on_request(umap_stand_in):
    umap_stand_in.die_on_next_call()  # the worker process dies mid-fit, as when it is killed (out of memory)
    rid = add_run_with_snapshots(n_snapshots=1)
    at = app(run=rid)
    at.run()
    wait_for_umap(at, umap_stand_in)
    assert [w.value for w in at.warning] == [
        f"UMAP could not be computed: {escape_md(WORKER_DIED)} The PCA is shown instead; press **Retry UMAP** to try again."
    ]
    assert chart_titles(at) == ["xi (fused representation), epoch 2: PCA"]
    at.run()  # a rerun shows the same failure: nothing is recomputed until the viewer asks
    assert len(umap_stand_in.calls) == 1 and at.warning
    at.button(key="emb_umap_retry").click()
    at.run()
    wait_for_umap(at, umap_stand_in, calls=2)
    assert len(umap_stand_in.calls) == 2 and not at.warning
    assert chart_titles(at) == ["xi (fused representation), epoch 2: UMAP"]


def test_boot_keeps_umap_out_of_the_server_process(tmp_path):
    """With the warm-up on, booting runs it in the UMAP worker process: the server never imports umap or numba.

    The server keeps one torch thread: its OpenMP threads spin (and thrash) while the worker takes a core.
    """
    code = (
        "import os, sys\n"
        "from omib_core.analysis import embedding\n"
        "embedding.warm_up_umap = os.getpid  # stand-in for the minute-long warm-up, run where the warm-up runs\n"
        "from dashboard import services\n"
        "services.boot()\n"
        "worker = services._umap_warmup().result(120)\n"
        "import torch\n"
        "print(worker != os.getpid(), 'umap' in sys.modules, 'numba' in sys.modules, torch.get_num_threads())\n"
    )
    env = {**os.environ, "OMIB_SKIP_UMAP_WARMUP": "0", "OMIB_DATA_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "True False False 1"  # and one torch thread in the server


def test_class_names_label_the_embeddings_and_the_train_page_confusion_matrix():
    """Issue 22: a run on data with class names shows them when colouring by label, and the Train page's results
    have a confusion matrix of the last snapshot's test rows with the names on both axes (HTML shown as text)."""
    from tests.dashboard.test_page_train import app as page_app
    from tests.dashboard.test_page_train import no_exception as fine

    rid = add_run_with_snapshots(n_snapshots=1)
    names = ["Adelie", "<b>Chinstrap</b>", "Gentoo"]
    shown = ["Adelie", "&lt;b&gt;Chinstrap&lt;/b&gt;", "Gentoo"]
    services.store().update_run(
        rid, summary={"task": "classification", "modalities": ["v1", "v2"], "class_names": names}
    )
    specs = []
    for page in ("embeddings", "train"):
        at = page_app(page, run=rid)
        at.run()
        fine(at)
        specs.append([json.loads(c.proto.spec) for c in at.get("plotly_chart")])
    legend = {t.get("name") for spec in specs[0] for t in spec["data"]}
    assert set(shown) <= legend, legend
    heat = next(t for spec in specs[1] for t in spec["data"] if t.get("type") == "heatmap")
    assert list(heat["x"]) == list(heat["y"]) == shown
    from tests.dashboard.chart_data import plotly_values

    z = np.asarray(plotly_values(heat["z"])).reshape(3, 3)
    assert (
        z.shape == (3, 3) and np.allclose(z.sum(axis=1), 1) and np.diag(z).mean() > 0.6
    )  # 80 % right by design, few test rows
