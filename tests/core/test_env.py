"""omib_core.env: one set of rules for every server setting read from the environment."""

from __future__ import annotations

import pytest

from omib_core.env import SettingError, env_bool, env_bytes, env_float, env_int
from omib_core.errors import ConfigError, DataError

VAR = "OMIB_TEST_SETTING"


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_unset_or_blank_means_the_default(monkeypatch, raw) -> None:
    if raw is None:
        monkeypatch.delenv(VAR, raising=False)
    else:
        monkeypatch.setenv(VAR, raw)
    assert env_int(VAR, 7) == 7 and env_int(VAR) is None
    assert env_float(VAR, 2.5) == 2.5
    assert env_bytes(VAR, 123) == 123
    assert env_bool(VAR, True) is True and env_bool(VAR, False) is False


@pytest.mark.parametrize(
    ("parse", "raw", "value"),
    [
        (env_int, " 4 ", 4),
        (env_int, "4.0", 4),
        (env_int, "1e9", 10**9),
        (env_float, "0.25", 0.25),
        (env_float, "1e15", 1e15),
        (env_bytes, "1000", 1000),
        (env_bytes, "3G", 3 * 2**30),
        (env_bytes, "512M", 512 * 2**20),
        (env_bytes, "1.5k", 1536),
        (env_bytes, "2GiB", 2 * 2**30),
        (env_bool, "ON", True),
        (env_bool, "no", False),
    ],
)
def test_good_values_are_read(monkeypatch, parse, raw, value) -> None:
    monkeypatch.setenv(VAR, raw)
    got = parse(VAR, False) if parse is env_bool else parse(VAR)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    ("parse", "raw", "needle"),
    [
        (env_int, "lots", "a positive whole number such as 4"),
        (env_int, "1.5", "a positive whole number"),
        (env_int, "0", "a positive whole number"),
        (env_int, "-3", "a positive whole number"),
        (env_int, "inf", "a positive whole number"),
        (env_float, "nan", "a positive number such as 2.5"),
        (env_float, "0", "a positive number"),
        (env_bytes, "lots", "a positive number such as 3G"),
        (env_bytes, "0", "a positive number such as 3G"),
        (env_bool, "maybe", "a switch"),
    ],
)
def test_bad_values_are_one_sentence_naming_the_variable(monkeypatch, parse, raw, needle) -> None:
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(SettingError) as info:
        parse(VAR, False) if parse is env_bool else parse(VAR)
    message = str(info.value)
    assert message.startswith(f"The environment variable {VAR} must be ") and needle in message
    assert f"Got {raw!r} instead" in message and "unset it to use the default" in message
    # the launcher catches ConfigError, the upload checks DataError: both see it
    assert isinstance(info.value, ConfigError) and isinstance(info.value, DataError)


def test_environment_settings_are_read_only_through_env_py():
    """Issue 21: each setting is read in one home (omib_core/env.py: env_text, env_bool, env_int, ...), so "true"
    means the same everywhere (services.py compared == "1" and ignored "true"). Writes (workers inherit) are fine."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(r"os\.environ\.get\(|os\.getenv\(|environ\.get\(")
    offenders = [
        f"{p.relative_to(root)}:{i}"
        for base in ("omib_core", "dashboard")
        for p in sorted((root / base).rglob("*.py"))
        if p.name != "env.py"
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders, offenders
