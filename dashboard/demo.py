"""The demo experiments the Home page and teachers' links start from."""

from __future__ import annotations

from omib_core.config import DataConfig, RunConfig, TrainConfig


def demo_config(dataset: str = "sim-i") -> RunConfig:
    """The SIM-I demo: defaults at beta = M_u, a snapshot every 2 epochs so xi can be watched."""
    return RunConfig(data=DataConfig(dataset=dataset), train=TrainConfig(snapshot_every=2))
