"""Summary of scripts/gpu_check.sh: each step's status and wall seconds, the GPU targets met or missed.

Reads ``OUT/steps.tsv`` (name, status, wall seconds, the command or why it was skipped; one line per step, written by the shell script) and
the steps' own results (the pytest junit XML, the SIM-I ``result.json``, the grid's and the benchmark's JSON), and
writes ``OUT/summary.json`` and ``OUT/summary.md``. Standard library only: it runs on a host without the app's
packages.

    python scripts/gpu_check_summary.py OUT DEVICE QUICK
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

# GPU targets of issue 18, section 5: step name -> (what, most seconds)
TARGETS = {
    "sim_i": ("default SIM-I run (CLI, wall)", 5.0),
    "grid": ("30-member teaching grid", 10.0),
}
# keys a grid result may give its own timing under (seconds of the grid alone, without interpreter start)
GRID_SECONDS_KEYS = ("grid_seconds", "grid_wall_seconds", "wall_seconds")

# helpers


def read_steps(path: Path) -> list[dict]:
    """The steps the shell script recorded, in order."""
    steps = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        name, status, wall, text = (line.split("\t") + ["", "", ""])[:4]
        step = {"name": name, "status": status, "wall_seconds": float(wall) if wall else None}
        step["note" if status == "skipped" else "command"] = text
        steps.append(step)
    return steps


def load_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def pytest_note(xml: Path) -> str | None:
    """'3 tests: 0 passed, 3 skipped, 0 failed' from a junit XML file."""
    try:
        root = ET.parse(xml).getroot()
    except (OSError, ET.ParseError):
        return None
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    if suite is None:
        return None
    n = {k: int(suite.get(k, 0)) for k in ("tests", "skipped", "failures", "errors")}
    passed = n["tests"] - n["skipped"] - n["failures"] - n["errors"]
    return (
        f"{n['tests']} tests marked gpu: {passed} passed, {n['skipped']} skipped, {n['failures'] + n['errors']} failed"
    )


def grid_seconds(grid_dir: Path) -> tuple[float | None, str | None]:
    """The grid's own timing from the first JSON under ``grid_dir`` that gives one, and its file name."""
    for path in sorted(grid_dir.glob("**/*.json")):
        data = load_json(path)
        if isinstance(data, dict):
            for key in GRID_SECONDS_KEYS:
                if isinstance(data.get(key), int | float):
                    return float(data[key]), f"{path.name}:{key}"
    return None, None


def notes(out: Path, steps: dict[str, dict]) -> None:
    """Add what each step's own results say."""
    if steps.get("pytest_gpu", {}).get("wall_seconds") is not None:
        steps["pytest_gpu"]["note"] = pytest_note(out / "pytest_gpu.xml")
    result = load_json(out / "sim-i" / "result.json")
    if result and "sim_i" in steps:
        acc = result.get("test_metrics", {}).get("accuracy")
        steps["sim_i"]["note"] = f"test accuracy {acc:.3f}" if acc is not None else None
    seconds, source = grid_seconds(out / "grid")
    if seconds is not None and "grid" in steps:
        steps["grid"]["note"] = f"the grid itself: {seconds:.1f} s ({source})"
    speed = load_json(out / "speed" / "speed.json")
    if speed and "speed" in steps:
        rates = [f"{r['n_train']:,} rows: {r['samples_per_second_median']:,.0f} samples/s" for r in speed["runs"]]
        steps["speed"]["note"] = "; ".join(rates)


def judge(out: Path, steps: dict[str, dict], device: str, quick: bool) -> list[dict]:
    """Each target with its measured seconds and 'met' / 'missed' (judged only on a full run on CUDA)."""
    judged = device.startswith("cuda") and not quick
    rows = []
    for name, (what, limit) in TARGETS.items():
        step = steps.get(name, {})
        seconds, source = step.get("wall_seconds"), "step wall"
        if name == "grid":
            own, where = grid_seconds(out / "grid")
            if own is not None:
                seconds, source = own, where
        if step.get("status") != "passed" or seconds is None:
            verdict = "not measured"
        elif not judged:
            verdict = f"not judged (device {device}{', quick' if quick else ''}; the target is for a full run on cuda)"
        else:
            verdict = "met" if seconds <= limit else "missed"
        rows.append(
            {
                "target": what,
                "step": name,
                "limit_seconds": limit,
                "seconds": seconds,
                "source": source,
                "verdict": verdict,
            }
        )
    return rows


def markdown(summary: dict) -> str:
    lines = [
        f"# GPU check: device {summary['device']}{' (quick)' if summary['quick'] else ''}",
        "",
        f"Overall: **{summary['overall']}**. Python {summary['environment'].get('python', '?')}, "
        f"torch {summary['environment'].get('torch', '?')}, GPU {summary['environment'].get('gpu') or 'none'}.",
        "",
        "| step | status | wall s | note |",
        "|---|---|---:|---|",
    ]
    for s in summary["steps"]:
        wall = "" if s["wall_seconds"] is None else f"{s['wall_seconds']:.1f}"
        lines.append(f"| {s['name']} | {s['status']} | {wall} | {s.get('note') or ''} |")
    lines += ["", "| target | limit s | measured s | verdict |", "|---|---:|---:|---|"]
    for t in summary["targets"]:
        seconds = "" if t["seconds"] is None else f"{t['seconds']:.1f}"
        lines.append(f"| {t['target']} | {t['limit_seconds']:g} | {seconds} | {t['verdict']} |")
    return "\n".join(lines) + "\n"


def summarise(out: Path, device: str, quick: bool) -> dict:
    steps = read_steps(out / "steps.tsv")
    by_name = {s["name"]: s for s in steps}
    notes(out, by_name)
    failed = [s["name"] for s in steps if s["status"].startswith("failed")]
    return {
        "device": device,
        "quick": quick,
        "overall": f"failed: {', '.join(failed)}" if failed else "passed",
        "environment": load_json(out / "environment.json") or {},
        "steps": steps,
        "targets": judge(out, by_name, device, quick),
    }


# main


def main(argv: list[str]) -> int:
    out, device, quick = Path(argv[0]), argv[1], argv[2] not in ("", "0")
    summary = summarise(out, device, quick)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    text = markdown(summary)
    (out / "summary.md").write_text(text)
    print(text)
    return 0 if summary["overall"] == "passed" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
