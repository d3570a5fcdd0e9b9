"""Issue 18, section 3: the words about beta, M_u and r agree with what the app measures.

On the teaching preset the measured sweep (bench/results/teach_sweep.json) has test accuracy rising from 0.1 to
30 x M_u and falling at 300 x M_u: M_u is a sufficient, conservative bound, and the best beta lies right of it. No
text may say that any beta above M_u costs accuracy or squeezes out task information.
"""

from __future__ import annotations

from pathlib import Path

from dashboard.charts import bound as cb
from dashboard.demo import MeasuredSweep, measured_sweep
from dashboard.text import beta_look_for

ROOT = Path(__file__).resolve().parents[2]
CONTRADICTIONS = ("starts to cost accuracy", "squeeze out task information", "largest safe beta", "largest β for which")


def sources() -> list[Path]:
    return sorted((ROOT / "dashboard").rglob("*.py"))


def test_the_measured_sweep_is_what_the_words_rest_on():
    m = measured_sweep()
    assert m is not None and m.best_scale is not None
    assert m.test[30.0] > m.test[0.1] and m.test[30.0] > m.test[300.0]  # rises, then falls
    assert m.best_scale > 1 and m.bounds["mine"] < m.best_beta  # both estimates of M_u left of the best beta


def test_no_dashboard_text_says_a_larger_beta_always_costs_accuracy():
    found = [(p.name, c) for p in sources() for c in CONTRADICTIONS if c in p.read_text(encoding="utf-8")]
    assert not found, found


def test_the_train_pages_beta_caption_agrees_too():
    from dashboard.charts.training import LOOK_FOR

    text = LOOK_FOR["beta"]
    assert not any(c in text for c in CONTRADICTIONS)
    assert "sufficient, conservative bound" in text and "rising well past M_u" in text


def test_the_bound_pages_words_say_sufficient_not_harmful():
    above = cb.beta_verdict(0.03, 0.001, 0.0005)
    assert "above the bound" in above and "not the best β" in above and "squeeze" not in above
    text = beta_look_for(measured_sweep())
    assert "sufficient, conservative bound" in text and "Measured" not in text  # cited by name below
    m = measured_sweep()
    assert (
        f"bench/teach_sweep.py measured test accuracy {m.test[0.1]:.3f} at 0.1 × M_u, {m.test[30.0]:.3f} at 30 × M_u"
        in text
    )


def test_without_the_benchmark_no_number_is_made_up():
    empty = MeasuredSweep(date="", seeds=0, M_u=None, best_scale=None)
    text = beta_look_for(empty)
    assert "0." not in text.replace("0.1", "") and "measured" not in text
    assert beta_look_for(None) == text
