"""One device listing: what ``available_devices`` offers, ``resolve_device`` and ``TrainConfig`` accept."""

from __future__ import annotations

import pytest
import torch

from omib_core import device as dev
from omib_core.config import DEVICES, TrainConfig
from omib_core.errors import ConfigError


def test_the_listing_here_resolves_and_validates():
    names = dev.available_devices()
    assert names[:2] == ("auto", "cpu")
    assert ("cuda" in names) == torch.cuda.is_available()
    for name in names:
        assert name.split(":")[0] in DEVICES and TrainConfig(device=name).device == name
        assert isinstance(dev.resolve_device(name), torch.device)


def test_several_gpus_are_listed_one_by_one_and_none_is_listed_without_cuda(monkeypatch):
    monkeypatch.setattr(dev, "_mps_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert dev.available_devices() == ("auto", "cpu", "cuda", "cuda:0", "cuda:1")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert dev.available_devices() == ("auto", "cpu", "cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_mps_available", lambda: True)
    assert dev.available_devices() == ("auto", "cpu", "mps")
    with pytest.raises(ConfigError, match="CUDA is not available"):
        dev.resolve_device("cuda")


def test_the_train_widget_offers_the_core_listing(monkeypatch):
    from dashboard import run_logic as widgets

    monkeypatch.setattr(dev, "available_devices", lambda: ("auto", "cpu", "cuda", "cuda:0", "cuda:1"))
    got = widgets.device_choices()
    assert list(got) == ["auto", "cpu", "cuda", "cuda:0", "cuda:1"] and got["cuda:1"] == "CUDA GPU 1"
    assert got["cpu"] == widgets.PARAMS["device"].labels["cpu"]
