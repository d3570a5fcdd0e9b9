"""Every parameter declared once: its type, range, choices, unit, group, one-line help and whether it is advanced.

A ``Param`` is the whole description of one parameter. The config dataclasses declare their fields with ``param``
(the field's default and its ``Param`` in one place, ``config.py``); each dataset declares its loader's parameters
as ``{name: Param}`` in its ``DatasetInfo``. Everything else is generated from these declarations:

- validation (``Param.check``, the one validator: its sentence names the parameter, the constraint and the value);
- the Data and Train page controls (range, step, choices and their labels, group, help, advanced expander);
- the CLI's flags (``add_flags``) and its ``--param key=value`` parsing (``Param.parse``);
- the ``?cfg=`` link's fitting of values to the controls (``fit_to_controls``) and its notes;
- the parameter table in docs/parameters.md (``markdown_table``; a test keeps the file current).

The model is scikit-learn's ``_parameter_constraints`` (``Interval`` / ``StrOptions`` and one ``validate_params``).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from omib_core.errors import ConfigError

KINDS = ("int", "float", "bool", "str", "choice")
NUMBER_HINT = {
    "int": " (a whole number such as 1000, without quotes or a decimal point)",
    "float": " (a number such as 0.5, without quotes)",
}


@dataclass(frozen=True)
class Param:
    """One parameter: what it takes and how it is shown.

    Attributes:
        kind: ``"int"``, ``"float"``, ``"bool"``, ``"str"`` or ``"choice"``.
        default: the default value.
        low, high: the valid range (None = unbounded); ``closed`` says which ends are allowed: ``"[]"``, ``"[)"``,
            ``"(]"`` or ``"()"``.
        choices: the allowed values of a ``"choice"``; ``prefixed``: the choice that also takes ``":N"`` (``cuda:1``).
        labels: ``{choice: text shown in the UI}``; choice_help: ``{choice: a sentence about it}``.
        none: when None is allowed, what None means (e.g. ``"automatic"``); empty = None is refused.
        label: the control's label (default: the name); unit: shown after the label and in the docs table.
        group: the section of the page the control is drawn in; help: one line for the tooltip and the docs.
        advanced: drawn in the "Advanced" expander of its page; hidden: not drawn at all (set in code or the CLI).
        ui: the control's range when narrower than the valid one (a link's value outside it is fitted, with a note).
        step, fmt: the number control's step and printf format; widget: ``"slider"`` for a slider (default: a
            number box, a toggle, a select box or a text box by kind).
        constraint: the constraint's words when the generated ones would not say it (e.g. a dataset id).
    """

    kind: str
    default: Any = None
    low: float | None = None
    high: float | None = None
    closed: str = "[]"
    choices: tuple[Any, ...] = ()
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    choice_help: Mapping[str, str] = dataclasses.field(default_factory=dict)
    prefixed: str = ""
    none: str = ""
    label: str = ""
    unit: str = ""
    group: str = ""
    help: str = ""
    advanced: bool = False
    hidden: bool = False
    ui: tuple[float, float] | None = None
    step: float | None = None
    fmt: str | None = None
    widget: str = ""
    constraint: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"Param kind must be one of {KINDS}. Got {self.kind!r}.")
        if self.kind == "choice" and not self.choices:
            raise ConfigError("A 'choice' Param needs its choices.")
        if self.closed not in ("[]", "[)", "(]", "()"):
            raise ConfigError(f"Param closed must be '[]', '[)', '(]' or '()'. Got {self.closed!r}.")

    # the constraint in words

    def words(self) -> str:
        """The constraint as a phrase: ``"a positive int"``, ``"a float in (0, 1)"``, ``"one of ('can', 'concat')"``."""
        text = self.constraint or self._range_words()
        if self.none:
            text += f", or None ({self.none})"
        return text

    def _range_words(self) -> str:
        lo, hi, (left, right) = self.low, self.high, self.closed
        if self.kind == "bool":
            return "true or false"
        if self.kind == "str":
            return "a string"
        if self.kind == "choice":
            extra = f" (or {self.prefixed}:N)" if self.prefixed else ""
            return f"one of {tuple(self.choices)}{extra}"
        if self.kind == "int":
            lo_i, hi_i = self._int_ends()
            if hi_i is None:
                if lo_i is None:
                    return "an int"
                return "a positive int" if lo_i == 1 else f"an int >= {lo_i:,}"
            return f"an int <= {hi_i:,}" if lo_i is None else f"an int in [{lo_i:,}, {hi_i:,}]"
        if hi is None:
            if lo is None:
                return "a finite float"
            return f"a finite float {'>' if left == '(' else '>='} {_g(lo)}"
        return f"a float in {left}{_g(lo)}, {_g(hi)}{right}"

    # the one validator

    def check(self, owner: str, name: str, value: Any) -> Any:
        """The value, cleaned (``numpy`` numbers to ``int`` / ``float``, an int to a float where a float is taken).

        Raises:
            ConfigError: "The 'lr' parameter of TrainConfig must be a finite float > 0. Got nan instead."
        """
        if value is None and self.none:
            return None
        clean, ok = self._clean(value)
        if not ok:
            raise ConfigError(self.sentence(owner, name, value))
        return clean

    def sentence(self, owner: str, name: str, value: Any) -> str:
        """The sentence refusing ``value``: parameter, constraint and value (with its type when that is wrong)."""
        wrong_type = not self._type_ok(value)
        hint = NUMBER_HINT.get(self.kind, "") if wrong_type and not self.constraint else ""
        got = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        kind = _type_words(value) if wrong_type and value is not None else ""
        return f"The '{name}' parameter of {owner} must be {self.words()}{hint}. Got {got}{kind} instead."

    def _type_ok(self, v: Any) -> bool:
        if self.kind == "bool":
            return _is_bool(v)
        if self.kind == "int":
            return _is_int(v)
        if self.kind == "float":
            return is_number(v)
        return isinstance(v, str)

    def _clean(self, v: Any) -> tuple[Any, bool]:
        if not self._type_ok(v):
            return v, False
        if self.kind == "bool":
            return bool(v), True
        if self.kind == "str":
            return v, self.low is None or len(v.strip()) >= self.low
        if self.kind == "choice":
            base, _, index = v.partition(":")
            ok = v in self.choices or bool(self.prefixed and base == self.prefixed and index.isdigit())
            return v, ok
        x = int(v) if self.kind == "int" else float(v)
        if self.kind == "float" and not math.isfinite(x):
            return x, False
        return x, self.contains(x)

    def contains(self, x: float) -> bool:
        """``x`` is inside the valid range."""
        left, right = self.closed
        if self.low is not None and (x < self.low or (left == "(" and x == self.low)):
            return False
        return not (self.high is not None and (x > self.high or (right == ")" and x == self.high)))

    # the control's range, and parsing typed text

    def bounds(self) -> tuple[float | None, float | None]:
        """(min, max) of the control: ``ui`` when set, else the valid range (open ends nudged inside)."""
        if self.ui is not None:
            return self.ui
        return self._int_ends() if self.kind == "int" else (self.low, self.high)

    def _int_ends(self) -> tuple[int | None, int | None]:
        """The least and the most int inside the valid range (None = unbounded)."""
        lo = None if self.low is None else int(self.low) + (self.closed[0] == "(")
        hi = None if self.high is None else int(self.high) - (self.closed[1] == ")")
        return lo, hi

    def fit(self, value: Any) -> Any:
        """A number brought into the control's range (anything else unchanged)."""
        if self.kind not in ("int", "float") or not is_number(value):
            return value
        lo, hi = self.bounds()
        x = value
        if lo is not None:
            x = max(x, lo)
        if hi is not None:
            x = min(x, hi)
        return self.cast(x)

    def cast(self, v: Any) -> Any:
        """A number as this parameter's kind (``int`` or ``float``), for a control's bounds and value."""
        return int(v) if self.kind == "int" else float(v)

    def shows(self, v: Any) -> bool:
        """Whether a control of this parameter can show ``v``: a valid value, any number for a number parameter
        (fitted to its range with a note), or None where None is allowed."""
        if v is None:
            return bool(self.none) or self.default is None
        try:
            self.check("", "", v)
            return True
        except ConfigError:
            return self.kind in ("int", "float") and is_number(v)

    def parse(self, text: str) -> Any:
        """Typed text (a CLI flag or ``--param``) as this parameter's type; the validator judges the value."""
        t = text.strip()
        if self.none and t.lower() in ("none", "null", ""):
            return None
        try:
            if self.kind == "int":
                return int(t)
            if self.kind == "float":
                return float(t)
        except ValueError:
            return t  # the validator's sentence names it
        if self.kind == "bool":
            low = t.lower()
            return True if low in ("true", "1", "yes", "on") else False if low in ("false", "0", "no", "off") else t
        return t


def param(default: Any, kind: str | None = None, **kw: Any) -> Any:
    """A dataclass field with its ``Param``: ``epochs: int = param(50, low=1, ui=(1, 2000), help=...)``."""
    kind = kind or _kind_of(default)
    return dataclasses.field(default=default, metadata={"param": Param(kind, default, **kw)})


def declare(default: Any) -> Param:
    """A ``Param`` for a bare default: its kind from the value's type (None: an optional string)."""
    if default is None:
        return Param("str", None, none="not set")
    return Param(_kind_of(default), default)


def _kind_of(default: Any) -> str:
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    if isinstance(default, str):
        return "str"
    raise ConfigError(f"param() cannot tell the kind of default {default!r}; pass kind=.")


def schema(cls: Any) -> dict[str, Param]:
    """``{field name: Param}`` of a config dataclass, in declaration order."""
    return {f.name: f.metadata["param"] for f in dataclasses.fields(cls) if "param" in f.metadata}


def validate(owner: str, params: Mapping[str, Param], values: Mapping[str, Any]) -> dict[str, Any]:
    """Every value checked by its ``Param`` (unknown names refused, listing the valid ones); the cleaned values."""
    unknown = sorted(set(values) - set(params))
    if unknown:
        valid = ", ".join(params) or "none"
        raise ConfigError(f"{owner[:1].upper()}{owner[1:]} has no parameter(s) {unknown}. Valid parameters: {valid}.")
    return {name: params[name].check(owner, name, v) for name, v in values.items()}


def check_fields(obj: Any, owner: str | None = None) -> None:
    """Check every declared field of a frozen config dataclass in place (its ``__post_init__`` calls this)."""
    owner = owner or type(obj).__name__
    for name, spec in schema(type(obj)).items():
        object.__setattr__(obj, name, spec.check(owner, name, getattr(obj, name)))


# generated: the controls' fitting, CLI flags, the docs table


def fit_to_controls(params: Mapping[str, Param], values: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Values with each number brought into its control's range, and one phrase per change (``"Main epochs 5,000
    → 2,000 (the most this page allows)"``): a link never changes a value silently."""
    out, notes = dict(values), []
    for name, v in values.items():
        spec = params.get(name)
        if spec is None or not is_number(v):
            continue
        fitted = spec.fit(v)
        if fitted != v:
            out[name] = fitted
            side = "most" if fitted < v else "least"
            notes.append(f"{spec.label or name} {_shown(v)} → {_shown(fitted)} (the {side} this page allows)")
    return out, notes


def groups(params: Mapping[str, Param], names: Iterable[str] | None = None) -> list[tuple[str, list[str]]]:
    """``[(group, names)]`` in the order the groups first appear (no group: "Other settings", last)."""
    out: dict[str, list[str]] = {}
    for name in names if names is not None else list(params):
        out.setdefault(params[name].group or "Other settings", []).append(name)
    other = out.pop("Other settings", None)
    return list(out.items()) + ([("Other settings", other)] if other else [])


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_flags(parser: argparse.ArgumentParser, params: Mapping[str, Param], names: Iterable[str], dest: str) -> None:
    """One flag per parameter, typed and helped by its ``Param`` (``dest``: the prefix of the parsed attribute)."""
    for name in names:
        spec = params[name]
        text = (spec.help or spec.label or name).replace("%", "%%") + f" (default {spec.default!r})"
        kw: dict[str, Any] = {"dest": f"{dest}{name}", "default": None, "help": text}
        if spec.kind == "bool":
            parser.add_argument(flag(name), action=argparse.BooleanOptionalAction, **kw)
        else:
            parser.add_argument(flag(name), type=str, metavar=_metavar(spec), **kw)


def from_flags(args: argparse.Namespace, params: Mapping[str, Param], dest: str) -> dict[str, Any]:
    """The values the user gave as flags (``add_flags``), parsed by their ``Param`` (the validator judges them)."""
    out = {}
    for name, spec in params.items():
        v = getattr(args, f"{dest}{name}", None)
        if v is not None:
            out[name] = v if isinstance(v, bool) else spec.parse(v)
    return out


def parse_assignments(items: Iterable[str], params: Mapping[str, Param], owner: str) -> dict[str, Any]:
    """``["n_samples=5000", "noise=0.3"]`` -> typed values by each parameter's ``Param``.

    Raises:
        ConfigError: an item is not ``key=value`` or names no parameter (the sentence lists the valid ones).
    """
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--param expects key=value, got {item!r}; e.g. --param n_samples=5000")
        k, v = (s.strip() for s in item.split("=", 1))
        if k not in params:
            valid = ", ".join(params) or "none"
            raise ConfigError(f"{owner} has no parameter {k!r}. Valid parameters: {valid}.")
        out[k] = params[k].parse(v)
    return out


def markdown_table(params: Mapping[str, Param], section: str) -> str:
    """The docs table of one section's parameters."""
    rows = [
        "| parameter | default | takes | unit | group | advanced | what it does |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, p in params.items():
        default = "None" if p.default is None else repr(p.default) if p.kind in ("str", "choice") else str(p.default)
        cells = (f"`{section}{name}`", f"`{default}`", p.words(), p.unit, p.group, "yes" if p.advanced else "", p.help)
        rows.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)


# helpers


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool) or (type(v).__module__ == "numpy" and type(v).__name__ in ("bool", "bool_"))


def _is_int(v: Any) -> bool:
    return not _is_bool(v) and (isinstance(v, int) or type(v).__module__ == "numpy" and "int" in type(v).__name__)


def is_number(v: Any) -> bool:
    """A real number (numpy's included), not a bool: the one test of "a number but not a bool"."""
    if _is_bool(v):
        return False
    numpy_scalar = type(v).__module__ == "numpy" and getattr(v, "shape", None) == () and hasattr(v, "__float__")
    return isinstance(v, (int, float)) or (numpy_scalar and "complex" not in type(v).__name__)


def is_finite(v: Any) -> bool:
    """A number (``is_number``) that is neither NaN nor infinite."""
    return is_number(v) and math.isfinite(float(v))


def _type_words(v: Any) -> str:
    if isinstance(v, str):
        return " (a string)"
    if _is_bool(v):
        return " (a bool)"
    if isinstance(v, float):
        return " (a float)"
    if isinstance(v, (list, tuple, dict)):
        return f" (a {type(v).__name__})"
    return ""


def _g(x: float) -> str:
    if x == math.inf:
        return "inf"
    return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def _shown(v: Any) -> str:
    return f"{v:,}" if isinstance(v, int) else f"{v:g}" if isinstance(v, float) else repr(v)


def _metavar(spec: Param) -> str:
    if spec.kind == "choice":
        return "{" + ",".join([*map(str, spec.choices), *([f"{spec.prefixed}:N"] if spec.prefixed else [])]) + "}"
    return {"int": "N", "float": "X", "str": "TEXT"}[spec.kind]
