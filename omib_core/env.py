"""Server settings read from the environment: one set of rules for every ``OMIB_*`` variable.

- Unset or blank (only spaces) means the default.
- Numbers are positive and finite; whole numbers accept ``4``, ``4.0`` or ``1e9``; byte sizes also accept a
  k / M / G / T suffix (``512M``, ``3G``, ``3GiB``, powers of 1024).
- Switches accept ``1 / true / yes / on`` and ``0 / false / no / off`` (any case).
- Anything else raises ``SettingError``: a sentence naming the variable, what it must be with an example, the
  value received, and how to fix it. ``SettingError`` is both a ``ConfigError`` and a ``DataError``, so callers
  that catch either (the launcher, the upload checks) keep working.

This module imports nothing from omib_core but its errors, so every layer may use it.
"""

from __future__ import annotations

import math
import os
import re

from omib_core.errors import ConfigError, DataError

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_BYTES_RE = re.compile(r"([0-9.e+]+)\s*([kmgt]?)i?b?")


class SettingError(ConfigError, DataError):
    """An environment variable holds a value its setting cannot use."""


def _raw(name: str) -> str:
    return os.environ.get(name, "").strip()


def _number(raw: str) -> float:
    """``raw`` as a float; NaN when it is not a number (the caller refuses it with its own sentence)."""
    try:
        return float(raw)
    except ValueError:
        return math.nan


def _refuse(name: str, what: str, raw: str) -> SettingError:
    return SettingError(
        f"The environment variable {name} must be {what}. Got {raw!r} instead; set it to such a value, or unset it "
        "to use the default (on a shared server, ask the person who runs it)."
    )


def env_text(name: str) -> str:
    """``$name`` stripped; "" when unset (a URI, a name: no parsing)."""
    return _raw(name)


def env_float(name: str, default: float | None = None, example: str = "2.5") -> float | None:
    """A positive finite number from ``$name``; ``default`` when unset or blank."""
    raw = _raw(name)
    if not raw:
        return default
    value = _number(raw)
    if not (math.isfinite(value) and value > 0):
        raise _refuse(name, f"a positive number such as {example}", raw)
    return value


def env_int(name: str, default: int | None = None, example: str = "4") -> int | None:
    """A positive whole number from ``$name`` (``4``, ``4.0`` and ``1e9`` are accepted); ``default`` when unset."""
    raw = _raw(name)
    if not raw:
        return default
    value = _number(raw)
    if not (math.isfinite(value) and value >= 1 and value.is_integer()):
        raise _refuse(name, f"a positive whole number such as {example}", raw)
    return int(value)


def env_bytes(name: str, default: int | None = None, example: str = "3G") -> int | None:
    """A positive byte count from ``$name``: a number, or one with a k / M / G / T suffix (powers of 1024)."""
    raw = _raw(name)
    if not raw:
        return default
    m = _BYTES_RE.fullmatch(raw.lower())
    try:
        value = float(m.group(1)) * _UNITS[m.group(2)] if m else math.nan
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 1):
        raise _refuse(name, f"a positive number such as {example} (bytes; k, M, G and T suffixes allowed)", raw)
    return int(value)


def env_bool(name: str, default: bool) -> bool:
    """A switch from ``$name``: 1/true/yes/on or 0/false/no/off (any case); ``default`` when unset or blank."""
    raw = _raw(name)
    if not raw:
        return default
    if raw.lower() in TRUE_WORDS:
        return True
    if raw.lower() in FALSE_WORDS:
        return False
    raise _refuse(name, "a switch: 1, true, yes or on to turn it on; 0, false, no or off to turn it off", raw)
