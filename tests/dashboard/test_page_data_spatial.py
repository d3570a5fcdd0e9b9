"""The Data page with the 10x spatial breast dataset: a sentence (no traceback) while the server's dataset directory
is not configured, then the preview of a small Space Ranger folder once it is."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.core.test_spatial import N, tissue, write_outs

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def test_data_page_10x_breast_needs_the_dataset_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("OMIB_DATASETS_DIR", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("app_pages/data.py")
    at.run()
    at.selectbox(key="data_dataset").set_value("10x-breast")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("OMIB_DATASETS_DIR" in e.value and "not configured" in e.value for e in at.error)
    assert at.text_input(key="data_10x_breast_path").value == "10x-breast/outs"
    assert at.number_input(key="data_10x_breast_patch_px").max == 1024
    write_outs(tmp_path / "10x-breast" / "outs", tissue())
    monkeypatch.setenv("OMIB_DATASETS_DIR", str(tmp_path))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert str(N - 2) in [m.value for m in at.metric]  # the Samples card: in-tissue, labelled spots
