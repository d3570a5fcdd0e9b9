"""The teaching sweep as a lecturer runs it: open the Sweep page in Debian's chromium, click Queue, wait until the
page shows every run finished, photograph it at 1280 x 800 and 1920 x 1080, and report the wall time from the click
to the page showing the last point (the page's own poll included).

    .venv/bin/python scripts/sweep_in_browser.py [--short] [--out docs/screenshots]

Starts the app on a fresh data directory (``tests/e2e/conftest.start_app``) and warms the draw cache first, as a
server that has shown the demo once. Prints one JSON line with the timings.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, start_app, stop_app  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--short", action="store_true", help="the short in-class sweep (3 x 2) instead of the full one")
    p.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    p.add_argument("--timeout", type=float, default=600)
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    data = Path(tempfile.mkdtemp(prefix="omib_sweep_browser_"))
    import os

    os.environ["OMIB_DATA_DIR"] = str(data)
    from omib_core.data.draw_cache import load_cached
    from omib_core.paths import cache_dir
    from omib_core.sweeps import teaching_sweep

    base, _, seeds = teaching_sweep()
    for s in seeds:
        load_cached(base.data.replace(seed=s), cache_dir())
    proc, url = start_app(data, data / "server.log")
    result: dict = {"sweep": "short" if args.short else "full"}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{url}/sweep", wait_until="domcontentloaded")
            page.get_by_text("New sweep").first.wait_for(timeout=60_000)
            time.sleep(3)  # the form's estimate is timed on the server as the page renders
            if args.short:
                page.get_by_text("short, in class", exact=False).first.click()
                time.sleep(2)
            estimate = page.get_by_text("to train").first
            result["estimate_text"] = estimate.inner_text() if estimate.count() else None
            button = page.get_by_role("button", name="Queue sweep").first
            t0 = time.perf_counter()
            button.click()
            n = 6 if args.short else 30
            page.get_by_text(f"{n} of {n} runs finished").first.wait_for(timeout=args.timeout * 1000)
            result["click_to_page_all_finished_s"] = round(time.perf_counter() - t0, 1)
            time.sleep(2)
            name = "sweep_short" if args.short else "sweep_full"
            page.get_by_text(
                "30 of 30 runs finished" if not args.short else "6 of 6 runs finished"
            ).first.scroll_into_view_if_needed()
            page.mouse.wheel(0, 250)  # the chart under the progress bar
            time.sleep(1)
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out / f"{name}_1280.png"), full_page=False)
            page.set_viewport_size({"width": 1920, "height": 1080})
            time.sleep(3)
            page.screenshot(path=str(out / f"{name}_1920.png"), full_page=False)
            browser.close()
    finally:
        stop_app(proc)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
