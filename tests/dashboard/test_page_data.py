"""The Data page: renders, regenerates SIM-I when a generator parameter changes, shows the ground truth, stores
the choice in the session's experiment, and turns a bad parameter into a sentence."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("app_pages/data.py")
    return at


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def ground_truth(at: AppTest) -> dict[str, str]:
    for table in at.table:
        v = table.value
        if "Quantity" in v.columns:
            return dict(zip(v["Quantity"], v["Value"]))
    return {}


def test_data_page_sim_i_params_preview_and_use():
    at = app()
    at.run()
    no_exception(at)
    assert at.selectbox(key="data_dataset").value == "sim-i"
    at.number_input(key="data_sim_i_n_samples").set_value(1200)
    at.number_input(key="data_sim_i_noise").set_value(0.2)
    at.number_input(key="data_sim_i_b1").set_value(8)
    at.run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    assert "Ground truth" in [s.value for s in at.subheader]
    gt = ground_truth(at)
    assert gt["Bayes accuracy"].endswith("%")
    assert "Optimal-MIB accuracy" in gt and any(k.startswith("I(") for k in gt)
    assert "1,200" in [m.value for m in at.metric]  # the Samples card shows the new size
    assert len(at.get("plotly_chart")) >= 3  # class balance + one PCA per modality
    at.button(key="data_use").click()
    at.run()
    no_exception(at)
    data = at.session_state["omib_config"]["data"]
    assert data["dataset"] == "sim-i" and data["params"]["noise"] == 0.2 and data["params"]["n_samples"] == 1200
    assert at.button(key="data_use").disabled  # already in use


def test_data_page_turns_a_bad_parameter_into_a_sentence():
    at = app()
    at.run()
    at.number_input(key="data_sim_i_n_samples").set_value(200)
    for b in ("a0", "a1", "a2"):
        at.number_input(key=f"data_sim_i_{b}").set_value(0)
    at.run()
    no_exception(at)
    assert at.error and "cannot be generated" in at.error[0].value


def test_data_page_lists_other_datasets():
    at = app()
    at.run()
    options = at.selectbox(key="data_dataset").options
    assert len(options) >= 3
    at.selectbox(key="data_dataset").set_value("sim-iii")
    at.run()
    no_exception(at)
