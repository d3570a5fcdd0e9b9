import json

import pytest

from omib_core.config import BoundConfig, DataConfig, ModelConfig, RunConfig, TrainConfig
from omib_core.errors import ConfigError


def test_defaults_round_trip_through_json():
    cfg = RunConfig()
    again = RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg


@pytest.mark.parametrize(
    ("cls", "name", "value"),
    [
        (ModelConfig, "latent_dim", 0),
        (ModelConfig, "fusion", "sum"),
        (TrainConfig, "beta", -1.0),
        (TrainConfig, "beta", 0.0),
        (TrainConfig, "epochs", 0),
        (TrainConfig, "r_form", "ratio"),
        (TrainConfig, "device", "tpu"),
        (TrainConfig, "lr", float("nan")),
        (BoundConfig, "estimator", "knn"),
        (DataConfig, "val_fraction", 1.5),
    ],
)
def test_invalid_value_names_parameter_and_value(cls, name, value):
    with pytest.raises(ConfigError) as e:
        cls(**{name: value})
    msg = str(e.value)
    assert f"'{name}'" in msg and repr(value) in msg


def test_latent_dim_must_split_into_tokens():
    with pytest.raises(ConfigError, match="divisible by tokens"):
        ModelConfig(latent_dim=30, tokens=4)


def test_unknown_key_is_named():
    with pytest.raises(ConfigError, match="bogus"):
        TrainConfig.from_dict({"bogus": 1})


def test_splits_must_leave_training_rows():
    with pytest.raises(ConfigError, match="at least 10%"):
        DataConfig(val_fraction=0.5, test_fraction=0.45)
