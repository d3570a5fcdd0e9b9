"""A sweep's empirical best is announced only once two beta/M_u values have finished for every seed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from omib_core.analysis.sweep_rules import best_rule, complete_points
from omib_core.sweeps import POINT_COLUMNS, aggregate, empirical_best


def points(rows) -> pd.DataFrame:
    """rows: (beta/M_u, seed, status, value or None)."""
    return pd.DataFrame(
        [(f"r{i}", s, seed, st, np.nan if v is None else v) for i, (s, seed, st, v) in enumerate(rows)],
        columns=POINT_COLUMNS,
    )


def test_nothing_finished_is_not_earned():
    rule = best_rule(points([(0.1, 0, "running", None), (30.0, 0, "queued", None)]))
    assert not rule.earned and rule.complete == () and "0.1: 0 of 1" in rule.missing
    assert not best_rule(pd.DataFrame(columns=POINT_COLUMNS)).earned


def test_one_value_complete_is_not_enough_and_the_message_says_what_is_missing():
    p = points(
        [
            (0.1, 0, "finished", 0.75),
            (0.1, 1, "finished", 0.76),
            (30.0, 0, "finished", 0.78),
            (30.0, 1, "running", None),
            (300.0, 0, "queued", None),
            (300.0, 1, "queued", None),
        ]
    )
    rule = best_rule(p)
    assert not rule.earned and rule.complete == (0.1,)
    assert "(1 so far)" in rule.missing and "0.1: 2 of 2; 30: 1 of 2; 300: 0 of 2" in rule.missing
    # the old behaviour this rule replaces: a best from whatever had finished
    assert empirical_best(aggregate(p)) == 30.0


def test_two_values_complete_earn_the_best_among_them_only():
    p = points(
        [
            (0.1, 0, "finished", 0.75),
            (0.1, 1, "finished", 0.76),
            (30.0, 0, "finished", 0.78),
            (30.0, 1, "finished", 0.79),
            (300.0, 0, "finished", 0.90),  # one seed only: not complete, so not the best
            (300.0, 1, "running", None),
        ]
    )
    rule = best_rule(p)
    assert rule.earned and rule.complete == (0.1, 30.0) and rule.missing == ""
    assert empirical_best(aggregate(complete_points(p, rule))) == 30.0
    assert empirical_best(aggregate(p)) == 300.0


def test_float_noise_in_beta_over_mu_is_one_value():
    p = points(
        [
            (10.000000000000002, 0, "finished", 0.76),
            (9.999999999999998, 1, "finished", 0.77),
            (30.0, 0, "finished", 0.78),
            (30.0, 1, "finished", 0.79),
        ]
    )
    rule = best_rule(p)
    assert rule.earned and rule.complete == (10.0, 30.0)
    assert len(complete_points(p, rule)) == 4


def test_a_failed_run_is_named_as_the_reason_a_value_cannot_complete():
    p = points([(0.1, 0, "finished", 0.75), (0.1, 1, "failed", None), (30.0, 0, "finished", 0.78)])
    p = pd.concat([p, points([(30.0, 1, "finished", 0.77)])], ignore_index=True)
    rule = best_rule(p)
    assert not rule.earned and rule.complete == (30.0,)
    assert "β/M_u 0.1 cannot complete" in rule.missing
