"""The Data page with the paper's datasets (read from the admin's directory): without the directory it shows the
loader's sentence, not a traceback; with it, the preview with each modality's shape."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from omib_core.data.admin_dir import ENV_VAR
from tests.core.paper_fixtures import SIZES, cremad_arrays, write_cremad, write_mosi

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture
def at() -> AppTest:
    st.cache_data.clear()  # the preview is cached by config: a file found in one test must not leak into another
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("app_pages/data.py")
    at.run()
    return at


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def choose(at: AppTest, dataset_id: str) -> None:
    at.selectbox(key="data_dataset").set_value(dataset_id)
    at.run()
    no_exception(at)


def test_cmu_mosi_without_the_directory_shows_the_sentence(at, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    choose(at, "cmu-mosi")
    assert at.text_input(key="data_cmu_mosi_file").value == "mosi/aligned_50.pkl"
    errors = " ".join(e.value for e in at.error)
    assert "not configured" in errors and ENV_VAR in errors and "Traceback" not in errors
    at.text_input(key="data_cmu_mosi_file").set_value("../etc/passwd.pkl")
    at.run()
    no_exception(at)
    # the error was there before the input: what the input must not change is that nothing is read or previewed
    after = " ".join(e.value for e in at.error)
    assert "not configured" in after and ENV_VAR in after and "passwd" not in after, after
    assert not at.get("plotly_chart"), "a preview was drawn from a file outside a configured directory"


def test_cmu_mosi_missing_file_and_escape_are_sentences(at, monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    choose(at, "cmu-mosi")
    assert any("no file 'mosi/aligned_50.pkl'" in e.value for e in at.error)
    at.text_input(key="data_cmu_mosi_file").set_value("../outside.pkl")
    at.run()
    no_exception(at)
    assert any("without '..'" in e.value for e in at.error)


def test_cmu_mosi_preview_from_the_directory(at, monkeypatch, tmp_path):
    write_mosi(tmp_path, "mmsa")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    choose(at, "cmu-mosi")
    assert not at.error, [e.value for e in at.error]
    n = sum(SIZES.values())
    table = next(d.value for d in at.dataframe if "modality" in d.value.columns)
    assert list(table["modality"]) == ["text", "audio", "vision"]
    assert list(table["shape"]) == [f"({n} x 6)", f"({n} x 4)", f"({n} x 5)"]
    assert str(n) in [m.value for m in at.metric]
    credit = " ".join(c.value for c in at.caption)
    assert "Zadeh" in credit and "server" in credit


def test_crema_d_preview_from_the_directory(at, monkeypatch, tmp_path):
    write_cremad(tmp_path, **cremad_arrays(time=True))
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    choose(at, "crema-d")
    assert not at.error, [e.value for e in at.error]
    table = next(d.value for d in at.dataframe if "modality" in d.value.columns)
    assert list(table["shape"]) == ["(60 x 8)", "(60 x 6)"]
