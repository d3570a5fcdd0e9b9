"""GPU checks (skipped without CUDA; run on a GPU host with `make gpu-check`)."""

import numpy as np
import pytest
import torch

from omib_core.config import DataConfig, RunConfig, TrainConfig
from omib_core.data import load_dataset
from omib_core.device import resolve_device
from omib_core.train import RunFinished, RunStarted, train

pytestmark = pytest.mark.gpu


def _run(device: str) -> tuple[RunStarted, RunFinished]:
    cfg = RunConfig(
        data=DataConfig(dataset="sim-i", params={"n_samples": 3000, "reference": False}),
        train=TrainConfig(schedule="fixed", epochs=4, warmup_epochs=1, device=device, snapshot_every=0),
    )
    events = list(train(cfg, load_dataset(cfg.data)))
    started = next(e for e in events if isinstance(e, RunStarted))
    finished = next(e for e in events if isinstance(e, RunFinished))
    return started, finished


def test_auto_picks_cuda():
    assert resolve_device("auto").type == "cuda"


def test_cuda_training_runs_on_the_gpu_and_learns():
    started, finished = _run("cuda")
    assert started.device.startswith("cuda")
    assert finished.test_metrics["accuracy"] > 0.5  # 4 classes: chance is 0.25
    assert all(0.0 < r < 2.0 for r in finished.r_final)


def test_cuda_and_cpu_agree_roughly():
    _, gpu = _run("cuda")
    _, cpu = _run("cpu")
    assert np.isclose(gpu.test_metrics["accuracy"], cpu.test_metrics["accuracy"], atol=0.1)
    assert torch.cuda.max_memory_allocated() > 0
