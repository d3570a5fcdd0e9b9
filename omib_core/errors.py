"""Errors raised by omib_core.

Every message says what was wrong, the value received, and how to fix it, in the style of
scikit-learn ("The 'latent_dim' parameter of ModelConfig must be a positive int. Got 0 instead.").
"""

from __future__ import annotations


class OmibError(Exception):
    """Base class of every error omib_core raises on purpose."""


class ConfigError(OmibError, ValueError):
    """A configuration value is invalid."""


class DataError(OmibError, ValueError):
    """Input data is malformed (shapes, NaN/inf, labels, splits, files)."""


class BoundError(OmibError, ValueError):
    """The beta bound M_u could not be estimated (negative, infinite or failed estimate)."""


def param_error(owner: str, name: str, constraint: str, value: object) -> ConfigError:
    """Build a ConfigError naming the parameter, the constraint and the value received."""
    return ConfigError(f"The '{name}' parameter of {owner} must be {constraint}. Got {value!r} instead.")
