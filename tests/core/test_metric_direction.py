"""One table of primary metrics and their direction: the name rule agrees with the table, and every copy is gone."""

from __future__ import annotations

import subprocess
from pathlib import Path

from omib_core.analysis.metrics import HIGHER_IS_BETTER, LOWER_IS_BETTER, PRIMARY_METRIC, higher_is_better
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
        'TERMINAL = ("finished"': "TERMINAL in omib_core.runs.store",
    }
    homes = {"omib_core/analysis/metrics.py", "omib_core/runs/store.py"}
    for pattern, home in copies.items():
        out = subprocess.run(
            ["grep", "-rlF", "--include=*.py", pattern, "omib_core", "dashboard", "bench"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        assert set(out) <= homes, f"{out} copy {pattern!r}; import {home} instead."
