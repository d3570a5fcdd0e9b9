"""One table of primary metrics and their direction: the name rule agrees with the table, and every copy is gone."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

from omib_core.analysis.metrics import HIGHER_IS_BETTER, LOWER_IS_BETTER, PRIMARY_METRIC, higher_is_better, is_better
from omib_core.config import TASKS

ROOT = Path(__file__).resolve().parents[2]


def test_the_name_rule_agrees_with_the_table():
    assert set(PRIMARY_METRIC) == set(TASKS)
    for name, higher in HIGHER_IS_BETTER.items():
        assert higher_is_better(name) is higher, name
        assert higher_is_better(f"val/{name}") is higher and higher_is_better(f"trb/v1/test/{name}") is higher
    assert not higher_is_better("task_loss") and not higher_is_better("linear_test_MAE")
    assert all(not higher_is_better(s) for s in LOWER_IS_BETTER) and higher_is_better("auc")


def test_no_module_keeps_its_own_copy_of_the_tables():
    copies = {
        "TASK_METRIC = {": "PRIMARY_METRIC in omib_core.analysis.metrics",
        "LOWER_IS_BETTER = (": "LOWER_IS_BETTER in omib_core.analysis.metrics",
        'TERMINAL = ("finished"': "TERMINAL in omib_core.run_states",
        "HIGHER_IS_BETTER = {": "higher_is_better in omib_core.analysis.metrics",
        "sign = 1.0 if": "is_better in omib_core.analysis.metrics",
        "def _better(": "is_better in omib_core.analysis.metrics",
    }
    homes = {"omib_core/analysis/metrics.py", "omib_core/run_states.py"}
    for pattern, home in copies.items():
        out = subprocess.run(
            ["grep", "-rlF", "--include=*.py", pattern, "omib_core", "dashboard", "bench"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        assert set(out) <= homes, f"{out} copy {pattern!r}; import {home} instead."


def test_one_rule_decides_which_value_is_better():
    """Accuracy, AUC and F1 are better higher; loss, MAE and MSE lower; a tie is not better; NaN never is."""
    assert is_better("accuracy", 0.9, 0.8) and is_better("val/auc", 0.7, 0.6) and is_better("f1_macro", 0.5, 0.4)
    assert is_better("mae", 0.1, 0.2) and is_better("task_loss", 1.0, 2.0) and is_better("val/mse", 0.1, 0.3)
    assert not is_better("accuracy", 0.8, 0.8) and not is_better("mae", 0.3, 0.2)
    assert not is_better("accuracy", math.nan, 0.1) and is_better("mae", 5.0, math.nan)
    assert HIGHER_IS_BETTER == {m: higher_is_better(m) for m in HIGHER_IS_BETTER}
    assert all(m in HIGHER_IS_BETTER for m in PRIMARY_METRIC.values())
