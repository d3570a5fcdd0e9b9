"""The Data page: renders, regenerates SIM-I when a generator parameter changes, shows the ground truth, stores
the choice in the session's experiment, and turns a bad parameter into a sentence."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.auth_helpers import sign_in

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


def test_data_page_lists_bundled_real_data_with_its_credit():
    at = app()
    at.run()
    options = " ".join(at.selectbox(key="data_dataset").options)  # "Title (id)"
    assert all(f"({i})" in options for i in ("uci-mfeat-fac-mor", "nutrimouse", "breast-cancer", "digits"))
    at.selectbox(key="data_dataset").set_value("nutrimouse")
    at.run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    credit = " ".join(c.value for c in at.caption)
    assert "source" in credit and "licence" in credit and "Hepatology" in credit
    assert "40" in [m.value for m in at.metric]
    assert at.selectbox(key="data_nutrimouse_label").options == ["genotype", "diet"]


def _upload_files(bad: bool = False) -> list[tuple[str, bytes, str]]:
    import io

    import numpy as np

    rng = np.random.default_rng(0)
    v1 = "\n".join(",".join(f"{v:.4f}" for v in row) for row in rng.normal(size=(30, 3)))
    buf = io.BytesIO()
    np.save(buf, rng.normal(size=(29 if bad else 30, 4)))
    labels = "label\n" + "\n".join(str(i % 2) for i in range(30))
    return [
        ("first view.csv", v1.encode(), "text/csv"),
        ("second.npy", buf.getvalue(), "application/octet-stream"),
        ("labels.csv", labels.encode(), "text/csv"),
    ]


def test_data_page_upload_is_checked_stored_and_used():
    at = app()
    at.run()
    at.file_uploader(key="data_upload_files_0").set_value(_upload_files())
    at.run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    table = next(d.value for d in at.dataframe if "constant columns" in d.value.columns)
    assert list(table["name"]) == ["first_view", "second"] and list(table["rows"]) == [30, 30]
    assert not at.button(key="data_upload_store").disabled
    at.button(key="data_upload_store").click()
    at.run()
    no_exception(at)
    dataset = at.session_state["omib_config"]["data"]["dataset"]
    assert dataset.startswith("upload:")
    assert at.selectbox(key="data_dataset").value == dataset  # the picker shows the stored upload, previewed
    assert not at.error, [e.value for e in at.error]
    assert "30" in [m.value for m in at.metric]


def test_data_page_refuses_a_bad_upload_with_a_sentence():
    at = app()
    at.run()
    at.file_uploader(key="data_upload_files_0").set_value(_upload_files(bad=True))
    at.run()
    no_exception(at)
    assert any("different numbers of rows" in e.value for e in at.error)
    assert at.button(key="data_upload_store").disabled


def test_data_page_delete_button_only_for_own_uploads():
    from omib_core.config import DataConfig, RunConfig
    from omib_core.data.uploads import store_upload, upload_records

    files = {name: raw for name, raw, _ in _upload_files()}
    ana = store_upload(files, owner="ana", name="Ana's data")
    bob = store_upload(files, owner="bob", name="Bob's data")
    at = sign_in(app(), "bob")  # a signed-in, non-admin user
    at.session_state["omib_config"] = RunConfig(data=DataConfig(dataset=f"upload:{bob}")).to_dict()
    at.run()
    no_exception(at)
    keys = {b.key for b in at.button}
    assert f"data_upload_delete_{bob}" in keys and f"data_upload_delete_{ana}" not in keys
    assert any("Your uploads (1)" in e.label for e in at.expander)
    at.button(key=f"data_upload_delete_{bob}").click()
    at.run()
    no_exception(at)
    assert {r["id"] for r in upload_records()} >= {ana} and bob not in {r["id"] for r in upload_records()}
    assert at.session_state["omib_config"]["data"]["dataset"] == "sim-i"  # the experiment left the deleted upload
    assert f"data_upload_delete_{bob}" not in {b.key for b in at.button}


def test_data_page_counts_the_modalities_of_the_chosen_views():
    at = app()
    at.session_state["omib_config"] = {"data": {"dataset": "uci-mfeat"}}
    at.run()
    at.text_input(key="data_uci_mfeat_views").set_value("fac,mor")
    at.run()
    no_exception(at)
    credit = " ".join(c.value for c in at.caption)
    assert "classification · 2 modalities" in credit and "classification · 6 modalities" not in credit
    assert "2" in [m.value for m in at.metric]  # the Modalities card


def test_two_files_with_one_name_are_refused_with_a_sentence():
    """Issue 22: an upload with two files named labels.csv was accepted silently, the later one used."""
    files = _upload_files()
    at = app()
    at.run()
    at.file_uploader(key="data_upload_files_0").set_value(
        [*files, ("labels.csv", b"label\n" + b"1\n" * 30, "text/csv")]
    )
    at.run()
    no_exception(at)
    errors = [e.value for e in at.error]
    assert any("Two files in this upload are named labels\\.csv" in e for e in errors), errors
    assert not [b for b in at.button if b.key == "data_upload_store"]  # nothing to store until one is removed


def test_an_upload_with_class_names_shows_the_mapping_and_stores():
    files = _upload_files()
    names = "label\n" + "\n".join(("Gentoo", "Adelie", "Chinstrap")[i % 3] for i in range(30))
    at = app()
    at.run()
    at.file_uploader(key="data_upload_files_0").set_value([*files[:2], ("labels.csv", names.encode(), "text/csv")])
    at.run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    line = next(m.value for m in at.markdown if "numbered in sorted order of their names" in m.value)
    assert "0 = Adelie (10 rows), 1 = Chinstrap (10 rows), 2 = Gentoo (10 rows)" in line, line
    at.button(key="data_upload_store").click()
    at.run()
    no_exception(at)
    assert at.session_state["omib_config"]["data"]["dataset"].startswith("upload:")
    assert not at.error, [e.value for e in at.error]
