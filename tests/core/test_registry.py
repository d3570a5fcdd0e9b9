"""The dataset registry: ids, parameters, errors and plug-in loaders."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import numpy as np
import pytest

import omib_core.data as data
from omib_core.config import DataConfig
from omib_core.data import DatasetInfo, get_info, list_datasets, load_dataset, make_sim, register
from omib_core.data import registry as reg
from omib_core.errors import ConfigError, DataError

BUILTIN = ["sim-i", "sim-ii", "sim-iii", "sim-teach", "sim-reg", "sim-anomaly", "sim-3m"]
FAST = {"n_samples": 400, "b1": 4, "b2": 4}  # small draws (drawing trains no reference model)


def fast(dataset_id: str) -> dict:
    extra = {"b3": 4} if dataset_id == "sim-3m" else {}
    return {**FAST, **extra}


@pytest.fixture
def scratch_id() -> Iterator[str]:
    yield "test-toy"
    reg._REGISTRY.pop("test-toy", None)


def test_builtin_ids_and_infos() -> None:
    infos = list_datasets()
    assert [i.id for i in infos][: len(BUILTIN)] == BUILTIN
    tasks = {i.id: (i.task, i.n_modalities) for i in infos}
    assert tasks["sim-reg"] == ("regression", 2)
    assert tasks["sim-anomaly"] == ("anomaly", 2)
    assert tasks["sim-3m"] == ("classification", 3)
    for info in infos[: len(BUILTIN)]:
        assert info.title and info.description and info.source and info.licence
        assert set(info.param_help) == set(info.defaults), info.id  # every parameter documented
        assert not set(info.defaults) & {"seed", "val_fraction", "test_fraction"}


def test_variant_defaults_are_the_presets() -> None:
    assert get_info("sim-i").defaults["w1"] > get_info("sim-i").defaults["w2"]
    assert get_info("sim-ii").defaults["w2"] > get_info("sim-ii").defaults["w1"]
    assert get_info("sim-iii").defaults["a1"] == get_info("sim-iii").defaults["a2"]
    sig = inspect.signature(make_sim).parameters
    assert get_info("sim-i").defaults["noise"] == sig["noise"].default


@pytest.mark.parametrize("dataset_id", BUILTIN)
def test_every_builtin_loads_as_its_info_says(dataset_id: str) -> None:
    info = get_info(dataset_id)
    ds = load_dataset(DataConfig(dataset=dataset_id, params=fast(dataset_id), seed=1))
    assert ds.name == dataset_id and ds.task == info.task and len(ds.modalities) == info.n_modalities
    assert ds.ground_truth is not None and "exact_h_joint" in ds.ground_truth


def test_data_config_seed_and_fractions_reach_the_generator() -> None:
    params = fast("sim-i")
    cfg = DataConfig(dataset="sim-i", params=params, seed=5, val_fraction=0.2, test_fraction=0.1)
    ds = load_dataset(cfg)
    ref = make_sim("sim-i", seed=5, val_fraction=0.2, test_fraction=0.1, **params)
    np.testing.assert_array_equal(ds.modalities["v1"], ref.modalities["v1"])
    np.testing.assert_array_equal(ds.split, ref.split)
    assert abs(int((ds.split == 1).sum()) - 80) <= 4
    other = load_dataset("sim-i", seed=6, **params)  # string id + keyword overrides
    assert not np.array_equal(other.modalities["v1"], ds.modalities["v1"])


def test_keyword_params_override_config_params() -> None:
    cfg = DataConfig(dataset="sim-ii", params=fast("sim-ii"))
    ds = load_dataset(cfg, n_samples=300)
    assert ds.n_samples == 300


def test_unknown_id_lists_known_ids() -> None:
    with pytest.raises(DataError) as err:
        load_dataset("sim-iv")
    assert "'sim-iv'" in str(err.value)
    for i in BUILTIN:
        assert i in str(err.value)
    with pytest.raises(DataError, match="Known datasets"):
        get_info("nope")


def test_unknown_param_is_named_with_valid_ones() -> None:
    with pytest.raises(ConfigError) as err:
        load_dataset("sim-i", n_sample=100)
    msg = str(err.value)
    assert "n_sample" in msg and "n_samples" in msg and "noise" in msg


def test_split_keys_in_params_are_refused() -> None:
    with pytest.raises(ConfigError, match="DataConfig itself"):
        load_dataset(DataConfig(dataset="sim-i", params={"seed": 3}))


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"noise": -0.1}, "'noise'"),
        ({"n_samples": 10}, "'n_samples'"),
        ({"dim_v1": 3}, "'dim_v1'"),
        ({"bayes_accuracy": 0.2}, "'bayes_accuracy'"),
        ({"n_classes": 1}, "'n_classes'"),
        ({"label_model": "gumbel"}, "'label_model'"),
        ({"a0": -1}, "'a0'"),
        ({"w1": float("nan")}, "'w1'"),
    ],
)
def test_bad_values_raise_config_error(params: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_dataset("sim-i", **{**fast("sim-i"), **params})


def test_bad_split_fraction_goes_through_data_config() -> None:
    with pytest.raises(ConfigError, match="val_fraction"):
        load_dataset("sim-i", val_fraction=1.5, **fast("sim-i"))


def test_register_plugin_loader(scratch_id: str) -> None:
    def loader(seed: int, val_fraction: float, test_fraction: float, scale: float = 1.0):
        return make_sim("sim-iii", seed=seed, val_fraction=val_fraction, test_fraction=test_fraction, **fast("sim-iii"))

    info = DatasetInfo(scratch_id, "Toy", "classification", 2, "a toy", {"scale": 1.0}, source="a scale")
    register(info, loader)
    assert get_info(scratch_id) is info
    assert load_dataset(scratch_id, scale=2.0).n_samples == 400
    assert info.params["scale"].kind == "float"  # a plain default declares a parameter of its type
    with pytest.raises(ConfigError, match="'scale' parameter of dataset .* must be a finite float"):
        load_dataset(scratch_id, scale="big")
    with pytest.raises(ConfigError, match="already registered"):
        register(info, loader)
    register(info, loader, replace=True)
    with pytest.raises(ConfigError, match="callable"):
        register(info, "not a function", replace=True)  # type: ignore[arg-type]


def test_dataset_info_validation() -> None:
    with pytest.raises(ConfigError, match="task"):
        DatasetInfo("x", "X", "ranking", 2, "")
    with pytest.raises(ConfigError, match="DataConfig"):
        DatasetInfo("x", "X", "regression", 2, "", params={"seed": 0})


def test_package_reexports() -> None:
    for name in (
        "MultimodalDataset",
        "make_split",
        "list_datasets",
        "get_info",
        "load_dataset",
        "register",
        "make_sim",
    ):
        assert hasattr(data, name), name
