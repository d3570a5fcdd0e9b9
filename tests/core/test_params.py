"""The parameter schema (issue 21): each parameter declared once, one validator, and every refusal a sentence
naming the parameter, the constraint and the value, whether the value came through the Python API, the CLI, a
``?cfg=`` link or the memory estimate."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from dashboard.state import decode_config, encode_config
from omib_core.cli import TRAIN_FLAGS, main, parameters_markdown
from omib_core.config import BoundConfig, DataConfig, ModelConfig, RunConfig, TrainConfig
from omib_core.data import get_info, list_datasets, load_dataset
from omib_core.errors import ConfigError
from omib_core.params import Param, fit_to_controls, schema
from omib_core.runs.budget import check_budget, estimate

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = {"train": TrainConfig, "model": ModelConfig, "data": DataConfig, "bound": BoundConfig}
# values no number parameter takes: text, NaN, inf, a bool where a number belongs, a negative size
BAD_NUMBERS = ("12", float("nan"), float("inf"), True, -5)


def numeric(cls) -> list[str]:
    return [n for n, p in schema(cls).items() if p.kind in ("int", "float")]


def assert_sentence(message: str, name: str, spec: Param, value) -> None:
    assert f"'{name}' parameter of" in message, message
    assert spec.words() in message, message
    assert repr(value) in message, message


# the declarations


def test_every_config_field_is_declared_once_with_help() -> None:
    for cls in SECTIONS.values():
        declared = schema(cls)
        fields = {f.name for f in dataclasses.fields(cls)} - {"params"}
        assert set(declared) == fields, cls.__name__
        for name, p in declared.items():
            assert p.help, f"{cls.__name__}.{name} has no help"
            assert p.default is None or p.check(cls.__name__, name, p.default) == p.default


def test_every_dataset_parameter_is_declared_and_its_default_passes_its_own_check() -> None:
    for info in list_datasets():
        for name, p in info.params.items():
            assert isinstance(p, Param) and p.help, (info.id, name)
            p.check(info.owner, name, p.default)  # the declared default is valid
            lo, hi = p.bounds()
            if p.kind in ("int", "float") and p.default is not None:  # the control can show the default
                assert (lo is None or lo <= p.default) and (hi is None or p.default <= hi), (info.id, name)


def test_the_control_range_lies_inside_the_valid_range() -> None:
    params = {**{f"{s}.{n}": p for s, c in SECTIONS.items() for n, p in schema(c).items()}}
    params.update({f"{i.id}.{n}": p for i in list_datasets() for n, p in i.params.items()})
    for where, p in params.items():
        if p.kind in ("int", "float") and p.ui is not None:
            lo, hi = p.ui
            for x in (lo, hi):
                assert p.contains(x) or (p.none and x is None), f"{where}: control end {x} is not a valid value"


def test_the_docs_table_is_current() -> None:
    assert (ROOT / "docs" / "parameters.md").read_text() == parameters_markdown(), (
        "docs/parameters.md is stale: run `python -m omib_core parameters > docs/parameters.md`"
    )


# the one validator


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (Param("int", 1, low=1), "a positive int"),
        (Param("int", 0, low=0), "an int >= 0"),
        (Param("int", 5, low=0, high=10, closed="[)"), "an int in [0, 9]"),
        (Param("float", 0.5, low=0.0, high=1.0, closed="()"), "a float in (0, 1)"),
        (Param("float", 0.5, low=0.0, high=1.0, closed="[)"), "a float in [0, 1)"),
        (Param("float", 1.0, low=0.0, closed="()"), "a finite float > 0"),
        (Param("float", 1.0, low=0.0), "a finite float >= 0"),
        (Param("float", None, low=0.0, closed="()", none="no clipping"), "a finite float > 0, or None (no clipping)"),
        (Param("choice", "a", choices=("a", "b")), "one of ('a', 'b')"),
        (Param("bool", True), "true or false"),
    ],
)
def test_the_constraint_is_said_in_words(spec: Param, words: str) -> None:
    assert spec.words() == words


def test_values_are_cleaned_and_wrong_types_are_named() -> None:
    p = Param("int", 1, low=1)
    assert p.check("X", "n", np.int64(7)) == 7 and type(p.check("X", "n", np.int64(7))) is int
    f = Param("float", 1.0, low=0.0)
    assert f.check("X", "f", 2) == 2.0 and type(f.check("X", "f", 2)) is float
    with pytest.raises(ConfigError) as e:
        p.check("X", "n", 7.0)  # an integral float is not an int: JSON 1e9 must not slip past the server's sizing
    assert str(e.value) == (
        "The 'n' parameter of X must be a positive int (a whole number such as 1000, without quotes or a decimal "
        "point). Got 7.0 (a float) instead."
    )
    with pytest.raises(ConfigError, match=r"Got 'x' \(a string\) instead"):
        f.check("X", "f", "x")
    d = schema(TrainConfig)["device"]
    assert d.check("T", "device", "cuda:1") == "cuda:1"
    for bad in ("cuda:", "cuda:x", "tpu", "cpu:0"):
        with pytest.raises(ConfigError, match="'cuda:N'"):
            d.check("T", "device", bad)


def test_fitting_to_the_controls_notes_every_change_and_leaves_valid_values_alone() -> None:
    params = schema(TrainConfig)
    out, notes = fit_to_controls(params, {"epochs": 10**9, "lr": 1e-3, "r_form": "info_gain"})
    assert out == {"epochs": 2000, "lr": 1e-3, "r_form": "info_gain"}
    assert notes == ["Main epochs 1,000,000,000 → 2,000 (the most this page allows)"]


# bad input at every entry point


@pytest.mark.parametrize("section", ["train", "model", "bound", "data"])
@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
def test_python_api_refuses_bad_numbers_with_a_sentence(section: str, value) -> None:
    cls = SECTIONS[section]
    for name in numeric(cls):
        spec = schema(cls)[name]
        if spec.check(cls.__name__, name, spec.default) is None:
            continue
        if not isinstance(value, (str, bool)) and not (isinstance(value, float) and not math.isfinite(value)):
            if spec.contains(value) and spec.kind == "float":
                continue  # -5 is a valid value of an unbounded float
            if spec.kind == "int" and spec.contains(value):
                continue
        with pytest.raises(ConfigError) as e:
            cls(**{name: value})
        assert_sentence(str(e.value), name, spec, value)


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
def test_dataset_parameters_refuse_bad_numbers_through_load_dataset(value) -> None:
    info = get_info("sim-i")
    for name in ("n_samples", "noise", "b1", "w1", "bayes_accuracy", "n_classes"):
        spec = info.params[name]
        if spec.kind == "float" and not isinstance(value, (str, bool)) and spec.contains(value):
            continue
        with pytest.raises(ConfigError) as e:
            load_dataset(DataConfig(dataset="sim-i", params={name: value}))
        assert_sentence(str(e.value), name, spec, value)
        assert "dataset 'sim-i'" in str(e.value)


def test_unknown_parameters_are_refused_listing_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"has no parameter\(s\) \['n_rows'\]. Valid parameters: n_samples"):
        load_dataset(DataConfig(dataset="sim-i", params={"n_rows": 10}))
    with pytest.raises(ConfigError, match="unknown parameter"):
        TrainConfig.from_dict({"epoch": 3})


@pytest.mark.parametrize(
    ("argv", "name", "value"),
    [
        (["--epochs", "ten"], "epochs", "'ten'"),
        (["--lr", "nan"], "lr", "nan"),
        (["--lr", "inf"], "lr", "inf"),
        (["--batch-size", "-3"], "batch_size", "-3"),
        (["--r-ema", "1"], "r_ema", "1.0"),
        (["--device", "tpu"], "device", "'tpu'"),
        (["--hidden-dim", "1.5"], "hidden_dim", "'1.5'"),
        (["--param", "n_samples=lots"], "n_samples", "'lots'"),
        (["--param", "noise=nan"], "noise", "nan"),
        (["--param", "b1=-1"], "b1", "-1"),
        (["--param", "reference=maybe"], "reference", "'maybe'"),
    ],
)
def test_cli_refuses_bad_values_with_the_same_sentence(argv, name, value, capsys, tmp_path) -> None:
    rc = main(["train", "--quiet", "--out", str(tmp_path / "out"), *argv])
    err = capsys.readouterr().err
    assert rc == 2 and f"'{name}' parameter of" in err and f"Got {value}" in err, err
    assert "Traceback" not in err and not (tmp_path / "out").exists()  # refused before anything ran


def test_cli_flags_are_generated_for_every_training_and_model_parameter(capsys) -> None:
    from omib_core.cli import make_parser

    text = make_parser()._subparsers._group_actions[0].choices["train"].format_help()
    for name in [*TRAIN_FLAGS, *schema(ModelConfig)]:
        assert "--" + name.replace("_", "-") in text, name


def test_cli_param_takes_typed_values_and_names_unknown_ones(capsys, tmp_path) -> None:
    from omib_core.cli import _params

    assert _params("sim-i", ["n_samples=500", "noise=0.3", "dim_v1=none", "label_model=uniform"]) == {
        "n_samples": 500,
        "noise": 0.3,
        "dim_v1": None,
        "label_model": "uniform",
    }
    with pytest.raises(ConfigError, match=r"dataset 'sim-i' has no parameter 'rows'. Valid parameters: n_samples"):
        _params("sim-i", ["rows=5"])


@pytest.mark.parametrize(
    ("section", "name", "value"),
    [
        ("train", "epochs", "10"),
        ("train", "lr", -1.0),
        ("train", "r_smooth", 1.0),
        ("model", "xi_dim", True),
        ("model", "dropout", 1.5),
        ("bound", "seeds", 0),
        ("data", "val_fraction", 2.0),
    ],
)
def test_a_link_with_a_bad_value_is_refused_with_the_sentence(section, name, value) -> None:
    import base64
    import json
    import zlib

    raw = zlib.compress(json.dumps({section: {name: value}}).encode())
    text = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    with pytest.raises(ConfigError) as e:
        decode_config(text)
    message = str(e.value)
    assert message.startswith("The config in this link is not valid, so it was ignored:")
    assert_sentence(message, name, schema(SECTIONS[section])[name], value)


def test_a_link_round_trips_every_declared_value() -> None:
    cfg = RunConfig(
        train=TrainConfig(epochs=7, r_form="ratio_of_means", device="cuda:1", beta=0.01, max_grad_norm=None),
        model=ModelConfig(enc_layers=2, fusion="concat"),
    )
    assert decode_config(encode_config(cfg)) == cfg


@pytest.mark.parametrize("value", ["5000", float("nan"), float("inf"), True, -200], ids=repr)
def test_the_memory_estimate_refuses_bad_dataset_values_with_the_sentence(value) -> None:
    spec = get_info("sim-i").params["n_samples"]
    cfg = RunConfig(data=DataConfig(dataset="sim-i", params={"n_samples": value}))
    for call in (lambda: estimate(cfg), lambda: check_budget(cfg)):
        with pytest.raises(ConfigError) as e:
            call()
        assert_sentence(str(e.value), "n_samples", spec, value)


def test_the_memory_estimate_names_a_value_that_fits_for_huge_numbers() -> None:
    cfg = RunConfig(data=DataConfig(dataset="sim-i", params={"n_samples": 10**12}))
    with pytest.raises(ConfigError, match=r"Use data.n_samples <= \d"):
        check_budget(cfg, max_memory=4 * 2**30)
    cfg = RunConfig(model=ModelConfig(hidden_dim=10**9))
    with pytest.raises(ConfigError, match=r"model.hidden_dim = 1000000000.*Use model.hidden_dim <= \d"):
        check_budget(cfg, max_memory=4 * 2**30)
