import pytest

from dashboard.state import decode_config, encode_config
from omib_core.config import DataConfig, RunConfig, TrainConfig
from omib_core.errors import ConfigError


def test_config_round_trips_through_url_text():
    cfg = RunConfig(data=DataConfig(dataset="sim-iii", params={"n_samples": 4000}), train=TrainConfig(beta_scale=3.0))
    text = encode_config(cfg)
    assert len(text) < 200 and all(c.isalnum() or c in "-_" for c in text)
    assert decode_config(text) == cfg


def test_default_config_encodes_tiny():
    assert len(encode_config(RunConfig())) < 20


@pytest.mark.parametrize("text", ["not-base64!!", "AAAA", "x" * 5000])
def test_damaged_link_gives_sentence(text):
    with pytest.raises(ConfigError, match="link"):
        decode_config(text)
