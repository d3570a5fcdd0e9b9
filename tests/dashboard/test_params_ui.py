"""The Data and Train pages draw every control from the parameter's declaration (issue 21): the range, the choices
and the label a control shows are the declared ones, and a link's value a control cannot hold is changed aloud."""

from __future__ import annotations

from dashboard.state import encode_config
from dashboard.widgets import data as data_widgets
from dashboard.widgets import train as train_widgets
from omib_core.config import DataConfig, RunConfig
from omib_core.data import get_info
from tests.dashboard.test_page_data import app as data_app
from tests.dashboard.test_page_train import app as train_app
from tests.dashboard.test_page_train import no_exception


def test_no_hand_kept_ranges_groups_or_choices_remain() -> None:
    for gone in ("LIMITS", "GROUPS", "CHOICES", "param_limits"):
        assert not hasattr(data_widgets, gone), gone
    for gone in ("RANGES", "R_FORM_LABELS", "FUSION_LABELS", "SCHEDULE_LABELS", "DEVICE_LABELS"):
        assert not hasattr(train_widgets, gone), gone


def test_every_train_control_shows_its_declared_range_label_and_choices() -> None:
    at = train_app("train")
    at.run()
    no_exception(at)
    at.toggle(key="train_dynamic_r").set_value(True).run()
    seen = 0
    for widget in at.number_input:
        name = widget.key.removeprefix("train_")
        if name not in train_widgets.PARAMS:
            continue
        p = train_widgets.PARAMS[name]
        lo, hi = p.bounds()
        assert (widget.min, widget.max) == (lo, hi), name
        assert widget.label.startswith(p.label), name
        seen += 1
    for widget in at.selectbox:
        name = widget.key.removeprefix("train_")
        if name in train_widgets.PARAMS and name != "device":
            assert list(widget.options) == [
                train_widgets.PARAMS[name].labels[c] for c in train_widgets.PARAMS[name].choices
            ]
            seen += 1
    advanced = [n for n, p in train_widgets.PARAMS.items() if p.advanced]
    assert seen >= 20 and all(f"train_{n}" in at.session_state for n in advanced)


def test_every_data_control_of_a_sim_dataset_shows_its_declared_range() -> None:
    at = data_app()
    at.run()
    no_exception(at)
    info = get_info("sim-i")
    seen = 0
    for widget in at.number_input:
        prefix = "data_sim_i_"
        if not widget.key.startswith(prefix) or widget.key.removeprefix(prefix) not in info.params:
            continue
        p = info.params[widget.key.removeprefix(prefix)]
        lo, hi = p.bounds()
        assert (widget.min, widget.max) == (lo, hi), widget.key
        seen += 1
    assert seen == sum(p.kind in ("int", "float") for p in info.params.values())
    assert at.selectbox(key="data_sim_i_label_model").options == ["softmax", "uniform"]  # declared, not scraped


def test_a_data_link_value_of_the_wrong_type_is_replaced_by_its_default_aloud() -> None:
    cfg = RunConfig(data=DataConfig(dataset="sim-i", params={"noise": "loud", "n_samples": 3000}))
    at = data_app()
    at.query_params["cfg"] = encode_config(cfg)
    at.run()
    no_exception(at)
    warnings = " ".join(str(w.value) for w in at.warning)
    assert "noise 'loud' → 0.1 (it must be a finite float > 0)" in warnings, warnings
    assert at.number_input(key="data_sim_i_noise").value == 0.1
    assert at.number_input(key="data_sim_i_n_samples").value == 3000
