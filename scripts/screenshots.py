"""Screenshots of every page, for the README and for looking at the app as a user does.

Starts the app on a fresh data directory, trains a short run of each named dataset from its share link (Start
clicked in the browser), then photographs Home, Data, Bound, Train (a live view while training and the finished
run), Embeddings and Runs. PNGs go to ``--out`` (default ``test-artifacts/screens``; ``docs/screenshots`` to
refresh the README's).

    .venv/bin/python scripts/screenshots.py --datasets sim-i sim-reg --out test-artifacts/screens
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, missing_browser, start_app, stop_app  # noqa: E402

VIEWPORT = {"width": 1400, "height": 1800}
PARAMS = {
    "sim-i": {"n_samples": 3000},
    "sim-reg": {"n_samples": 3000},
    "sim-anomaly": {"n_samples": 3000},
    "sim-3m": {"n_samples": 3000},
}


def settle(page, timeout: float = 60_000) -> None:
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    try:
        page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout)
    except Exception:  # noqa: BLE001 - a polling fragment may keep it busy; take the picture anyway
        pass
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=timeout)
    page.wait_for_timeout(2500)


def main() -> int:
    from dashboard.state import encode_config
    from omib_core.config import DataConfig, RunConfig, TrainConfig

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=["sim-i"], help="datasets to train and photograph")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--out", default=str(ROOT / "test-artifacts" / "screens"))
    args = p.parse_args()
    reason = missing_browser()
    if reason:
        print(f"screenshots: {reason}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="omib_screens_") as tmp:
        proc, url = start_app(Path(tmp), out / "streamlit.log")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_context(viewport=VIEWPORT).new_page()
                page.set_default_timeout(120_000)
                page.goto(url)
                settle(page, 300_000)
                page.screenshot(path=str(out / "home.png"))
                for ds in args.datasets:
                    cfg = RunConfig(
                        data=DataConfig(dataset=ds, params=PARAMS.get(ds, {})),
                        train=TrainConfig(epochs=args.epochs, warmup_epochs=3, snapshot_every=5),
                    )
                    code = encode_config(cfg)
                    page.goto(f"{url}/data?cfg={code}")
                    settle(page)
                    page.screenshot(path=str(out / f"data_{ds}.png"), full_page=True)
                    page.goto(f"{url}/train?cfg={code}")
                    settle(page)
                    page.get_by_role("button", name="Start").click()
                    page.wait_for_url(re.compile(r"[?&]run=[0-9a-f]{6,32}"))
                    rid = re.search(r"[?&]run=([0-9a-f]{6,32})", page.url).group(1)
                    page.wait_for_timeout(25_000)
                    page.screenshot(path=str(out / f"train_live_{ds}.png"))
                    deadline = time.monotonic() + 900
                    while time.monotonic() < deadline and not page.get_by_role("heading", name="Results").count():
                        page.wait_for_timeout(2000)
                    settle(page)
                    page.screenshot(path=str(out / f"train_done_{ds}.png"))
                    page.goto(f"{url}/embeddings?run={rid}")
                    settle(page)
                    page.wait_for_timeout(3000)
                    page.screenshot(path=str(out / f"embeddings_{ds}.png"))
                page.goto(f"{url}/runs")
                settle(page)
                page.screenshot(path=str(out / "runs.png"))
                browser.close()
        finally:
            stop_app(proc)
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
