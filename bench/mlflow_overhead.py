"""What MLflow tracking costs a run (issue 22): a default SIM-I run (``python -m omib_core train``, 1 torch thread)
without MLflow, logged to a local ``mlflow server`` (sqlite store, loopback), and pointed at an unreachable address
(a closed loopback port). The three are interleaved, ``--repeats`` times each, so load drifts hit them alike; the
table gives each condition's median wall time and its ratio to the untracked median.

Targets: tracked within 3 % of untracked; unreachable within 5 %.

Run: ``.venv/bin/python bench/mlflow_overhead.py [--repeats 3]`` (about 10 minutes; writes
bench/results/mlflow_overhead.json and .md). Nothing else should run meanwhile (the load average is recorded).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(root: Path) -> tuple[subprocess.Popen, str]:
    import requests

    port = free_port()
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{root / 'db.sqlite'}",
           "--default-artifact-root", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
           "--workers", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url
        except requests.RequestException:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("mlflow server did not start")


def one_run(out: Path, uri: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(OMP_NUM_THREADS="1", OMIB_DATA_DIR=str(out / "data"))
    if uri:
        env["MLFLOW_TRACKING_URI"] = uri
    cmd = [
        sys.executable,
        "-m",
        "omib_core",
        "train",
        "--dataset",
        "sim-i",
        "--device",
        "cpu",
        "--quiet",
        "--out",
        str(out),
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, timeout=1800, capture_output=True)
    wall = time.perf_counter() - t0
    result = json.loads((out / "result.json").read_text())
    return {"wall_s": wall, "status": result["status"], "mlflow": result.get("mlflow")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "mlflow_overhead"))
    args = ap.parse_args()
    load_start = os.getloadavg()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as d:
        proc, url = start_server(Path(d) / "server")
        try:
            dead = f"http://127.0.0.1:{free_port()}"
            conditions = {"untracked": None, "tracked (local mlflow server)": url, "unreachable server": dead}
            for rep in range(args.repeats):
                for label, uri in conditions.items():
                    r = one_run(Path(d) / f"{rep}-{len(rows)}", uri)
                    rows.append({"condition": label, "repeat": rep, **r})
                    print(label, rep, f"{r['wall_s']:.1f} s", (r["mlflow"] or {}).get("error"), flush=True)
        finally:
            proc.terminate()
    med = {
        c: statistics.median(r["wall_s"] for r in rows if r["condition"] == c)
        for c in dict.fromkeys(r["condition"] for r in rows)
    }
    base = med["untracked"]
    lines = [
        "# MLflow tracking overhead (issue 22)",
        "",
        f"A default SIM-I run (`python -m omib_core train --dataset sim-i --device cpu`, 1 torch thread), {args.repeats} "
        f"interleaved repeats per condition, {os.cpu_count()} cores; load average {load_start[0]:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end. Command: `python bench/mlflow_overhead.py --repeats {args.repeats}`.",
        "",
        "| condition | median wall (s) | vs untracked | runs (s) |",
        "|---|---|---|---|",
    ]
    for c, m in med.items():
        each = ", ".join(f"{r['wall_s']:.1f}" for r in rows if r["condition"] == c)
        lines.append(f"| {c} | {m:.1f} | {100 * (m / base - 1):+.1f} % | {each} |")
    errors = {r["condition"]: (r["mlflow"] or {}).get("error") for r in rows if r["mlflow"]}
    lines += ["", "Targets: tracked within +3 %, unreachable within +5 % of untracked.", ""]
    lines += [f"- {c}: {e or 'logged, no error'}" for c, e in errors.items()]
    Path(args.out + ".json").write_text(json.dumps({"rows": rows, "median": med}, indent=1, default=str))
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
