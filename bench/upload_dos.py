"""Upload denial of service, before and after (issue #10 item 1): one CSV line of N commas, with a second modality
and labels, checked as the Data page checks an upload.

* **before**: ``validate_files`` of the code at ``--before-rev`` (default 0d9456f, where the issue measured it), in
  a child process (a ``git worktree`` of that revision) capped at ``--before-cap-gb`` of address space and
  ``--before-timeout`` seconds, so the bench itself survives. Wall time and the child's peak RSS are recorded.
* **after**: ``store_upload`` of this checkout, as the Data page calls it (the check in a sandboxed child process),
  in this process; wall time and this process's RSS before and after are recorded (the server's memory).

Run: ``.venv/bin/python bench/upload_dos.py`` (about 3 minutes; writes bench/results/upload_dos.json and .md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ROWS = 64
SIZES = (500_000, 1_000_000, 3_800_000)
CHILD = """
import sys, time, pathlib
from omib_core.data.uploads import validate_files
files = {p.name: p.read_bytes() for p in sorted(pathlib.Path(sys.argv[1]).iterdir())}
t = time.perf_counter()
try:
    r = validate_files(files)
    print("OK" if r.ok else "REFUSED", (r.errors or [""])[0][:200])
except Exception as e:
    print("ERROR", type(e).__name__, str(e)[:200])
print("seconds", time.perf_counter() - t)
"""


def probe(n: int) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    other = "\n".join(",".join(f"{v:.3f}" for v in row) for row in rng.normal(size=(ROWS, 3))).encode()
    labels = ("label\n" + "\n".join(str(i % 2) for i in range(ROWS))).encode()
    return {"wide.csv": b"," * n + b"\n", "other.csv": other, "labels.csv": labels}


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def before(rev: str, n: int, cap_gb: float, timeout: float, tree: Path) -> dict:
    with tempfile.TemporaryDirectory() as d:
        for name, raw in probe(n).items():
            Path(d, name).write_bytes(raw)
        cap = int(cap_gb * 2**30)
        t = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, d],
            cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (cap, cap)),
        )
        try:
            out, err = proc.communicate(timeout=timeout)
            outcome = out.strip().splitlines()[0] if out.strip() else f"died (rc {proc.returncode}): {err[-200:]}"
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            outcome = f"still parsing after {timeout:.0f} s (killed)"
        wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child so far, MB
    return {"rev": rev, "bytes": n, "wall_s": round(wall, 2), "peak_child_rss_mb": round(peak), "outcome": outcome}


def after(n: int) -> dict:
    from omib_core.data.uploads import store_upload
    from omib_core.errors import DataError

    files = probe(n)
    with tempfile.TemporaryDirectory() as d:
        rss0 = rss_mb()
        t = time.perf_counter()
        try:
            store_upload(files, owner="bench", base=d)
            outcome = "STORED"
        except DataError as e:
            outcome = f"REFUSED {str(e)[:200]}"
        wall = time.perf_counter() - t
        rss1 = rss_mb()
    return {
        "bytes": n,
        "wall_s": round(wall, 2),
        "server_rss_before_mb": round(rss0),
        "server_rss_after_mb": round(rss1),
        "server_rss_growth_mb": round(rss1 - rss0, 1),
        "outcome": outcome,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before-rev", default="0d9456f")
    ap.add_argument("--before-cap-gb", type=float, default=6.0)
    ap.add_argument("--before-timeout", type=float, default=150.0)
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "upload_dos"))
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    import omib_core.data  # noqa: F401 - the server has the data package imported before any upload

    rows_after = [after(n) for n in sizes]
    for r in rows_after:
        print("after ", r, flush=True)
    rows_before = []
    with tempfile.TemporaryDirectory() as d:
        tree = Path(d) / "before"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), args.before_rev],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            for n in sizes:
                rows_before.append(before(args.before_rev, n, args.before_cap_gb, args.before_timeout, tree))
                print("before", rows_before[-1], flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    result = {
        "commit": commit.strip(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "load_avg": os.getloadavg(),
        "before": rows_before,
        "after": rows_after,
    }
    Path(args.out).with_suffix(".json").write_text(json.dumps(result, indent=2))
    lines = [
        "# Upload denial of service: one CSV line of commas (+ a normal modality and labels)",
        "",
        f"`.venv/bin/python bench/upload_dos.py` at {result['commit']}; {result['machine']}, load average "
        f"{result['load_avg'][0]:.1f}.",
        "",
        f"| file | before ({args.before_rev}, child capped at {args.before_cap_gb:g} GB / {args.before_timeout:.0f} s) "
        "| | | after (this checkout) | | |",
        "|---|---:|---:|---|---:|---:|---|",
        "| | wall s | peak MB | outcome | wall s | server RSS growth MB | outcome |",
    ]
    for b, a in zip(rows_before, rows_after):
        lines.append(
            f"| {b['bytes'] / 1e6:g} MB | {b['wall_s']} | {b['peak_child_rss_mb']:,} | {b['outcome'][:60]} | "
            f"{a['wall_s']} | {a['server_rss_growth_mb']} | {a['outcome'][:90]} |"
        )
    Path(args.out).with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
