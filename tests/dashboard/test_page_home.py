"""Home page: renders, explains the method, and its demo button queues the teaching demo (SIM-TEACH) run."""

from __future__ import annotations

from dashboard import services
from tests.dashboard.test_page_train import app, no_exception


def test_home_renders_the_one_minute_introduction():
    at = app("home")
    at.run()
    no_exception(at)
    assert at.title[0].value == "OMIB Studio"
    headers = [h.value for h in at.subheader]
    assert any("loss" in h for h in headers) and any("M_u" in h for h in headers) and any("r" in h for h in headers)
    assert len(at.latex) == 3


def test_demo_button_queues_the_teaching_demo_at_the_chosen_beta_for_this_user():
    jobs, store = services.jobs(), services.store()
    saved = jobs.max_concurrent
    jobs.max_concurrent = 0  # queue only: nothing starts during this test
    try:
        before = {r["id"] for r in store.list_runs()}
        at = app("home")
        at.run()
        text = " ".join(m.value for m in at.markdown)
        assert "overfits" in text and "underfits" in text and "conservative" in text
        assert at.select_slider(key="home_demo_scale").value == 1.0
        at.select_slider(key="home_demo_scale").set_value(300.0).run()
        at.button(key="home_demo").click().run()
        no_exception(at)
        new = [r for r in store.list_runs() if r["id"] not in before]
        assert len(new) == 1 and new[0]["name"] == "Teaching demo · β/M_u=300" and new[0]["owner"] == "local"
        assert new[0]["config"]["data"]["dataset"] == "sim-teach"
        assert new[0]["config"]["train"]["beta_scale"] == 300.0 and new[0]["config"]["train"]["beta"] is None
        for r in new:
            jobs.control(r["id"], "stop", "local", True)
    finally:
        jobs.max_concurrent = saved
