"""The hostile set of the second hardening round (issue 20), before and after, on real servers.

Each attack runs against this checkout ("after") and against ``--before-rev`` (default dda1df2, where the issue
measured them; checked out in a ``git worktree`` and run with this venv):

* **npz 12.5 M rows**: three small .npz files declaring 12.5 M rows (zeros but for one random row in every 4 MB, so
  no column is constant; labels 0, 1, 0, 1, ...), stored through the library
  (``store_upload``, as the Data page's Store button calls it), in a fresh process: wall time, that process's peak
  RSS growth (the server's memory);
* **npz 200 MB accepted**: four 50 MB modality files (0/1 values, about 20:1 compressed) stored, then the Data
  page's preview data (after: ``sample_dataset``; before: ``load_dataset``): peak RSS growth;
* **1 GB file**: ``store_upload`` of a 1 GB modality file (over the 50 MB limit): wall time, peak RSS growth;
* **uploads before sign-in**: a server with ``[users]`` (``python -m dashboard.serve``); a live session that has not
  signed in sends 30 PUTs of 49 MB with a valid XSRF token: status codes, the server's RSS growth and peak;
* **/_stcore/metrics before sign-in**: its HTTP status;
* **link previews**: a server with ``OMIB_MAX_SAMPLES=100000``; a session opens the Train page from a ``?cfg=`` link
  with ``n_samples=600000``, then one with ``b1=1e6``: time to the page's end, the server's peak RSS growth, and
  whether the page shows the limit's sentence.

Run: ``.venv/bin/python bench/hostile_round2.py`` (about 5 minutes; writes bench/results/hostile_round2.json and .md).
Nothing else should run on the machine meanwhile (the load is recorded).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MB = 2**20
XSRF_COOKIE = "_streamlit_xsrf"

# the library attacks run in a fresh interpreter on the checkout under test (PYTHONPATH), measuring itself
LIBRARY = r"""
import io, json, os, sys, threading, time, zipfile
import numpy as np
MB = 2**20

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

class Peak:
    def __enter__(self):
        self.before = self.peak = rss(); self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True); self.t.start(); return self
    def run(self):
        while not self.stop.wait(0.005): self.peak = max(self.peak, rss())
    def __exit__(self, *a):
        self.stop.set(); self.t.join(); self.peak = max(self.peak, rss())

def npz(shape, fill=None, dtype="<f4"):
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": tuple(shape)})
    row = int(np.prod(shape[1:], dtype=np.int64)) * np.dtype(dtype).itemsize
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("arr_0.npy", "w", force_zip64=True) as f:
            f.write(head.getvalue()); left, block = shape[0], max(1, 4 * MB // max(row, 1))
            while left:
                n = min(left, block); f.write(fill(n) if fill else bytes(n * row)); left -= n
    return out.getvalue()

def good():
    rng = np.random.default_rng(0)
    b = lambda x: (buf := io.BytesIO(), np.save(buf, x, allow_pickle=False), buf.getvalue())[2]
    return {"a.npy": b(rng.normal(size=(40, 3)).astype("<f4")), "b.npy": b(rng.normal(size=(40, 2)).astype("<f4")),
            "labels.csv": ("label\n" + "\n".join(str(i % 2) for i in range(40))).encode()}

from omib_core.data import store_upload
from omib_core.errors import DataError
store_upload(good(), owner="warm")  # imports and the checker's first start are not what is measured
which = sys.argv[1]
def sparse(cols, seed):
    rng = np.random.default_rng(seed)
    def fill(n):  # zeros but for one random row a block: no column is constant, about 1000:1 compressed
        a = np.zeros((n, cols), "<f4"); a[0] = rng.normal(size=cols); return a.tobytes()
    return fill

if which == "bomb":
    rows = 12_500_000
    alternate = lambda n: (np.arange(n) % 2).astype("<i1").tobytes()
    files = {"a.npz": npz((rows, 8), fill=sparse(8, 0)), "b.npz": npz((rows, 1), fill=sparse(1, 1)),
             "labels.npz": npz((rows,), fill=alternate, dtype="<i1")}
elif which == "accepted":
    rng = np.random.default_rng(0)
    files = {f"m{i}.npz": npz((1_250_000, 10), fill=lambda n: rng.integers(0, 2, size=(n, 10)).astype("<f4").tobytes()) for i in range(4)}
    buf = io.BytesIO(); np.save(buf, rng.integers(0, 2, size=1_250_000).astype(np.int64), allow_pickle=False)
    files["labels.npy"] = buf.getvalue()
else:
    files = {**good(), "b.npy": bytearray(2**30)}
sent = sum(len(v) for v in files.values())
with Peak() as p:
    t0 = time.perf_counter()
    try:
        uid = store_upload(files, owner="mallory")
        outcome = "accepted"
        if which == "accepted":
            from omib_core.config import DataConfig
            try:
                from omib_core.data import sample_dataset
                sample_dataset(DataConfig(dataset=f"upload:{uid}"), 1500)
                outcome += " (preview: 1,500 rows read)"
            except ImportError:
                from omib_core.data import load_dataset
                load_dataset(f"upload:{uid}")
                outcome += " (preview: whole dataset loaded)"
    except DataError as e:
        outcome = "refused: " + str(e)[:160]
    seconds = time.perf_counter() - t0
print(json.dumps({"sent_mb": sent / MB, "seconds": seconds, "peak_growth_mb": (p.peak - p.before) / MB, "outcome": outcome}))
"""


# helpers


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class ServerPeak:
    """The server's peak RSS while the block runs, sampled every 20 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def __enter__(self) -> ServerPeak:
        self.before = self.peak = rss_mb(self.pid)
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb(self.pid))

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self.after = rss_mb(self.pid)
        self.peak = max(self.peak, self.after)


def worktree(rev: str) -> Path:
    path = Path(tempfile.gettempdir()) / f"omib-{rev}"
    if not path.exists():
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(path), rev], cwd=ROOT, check=True, capture_output=True
        )
    return path


def library(code_root: Path, which: str, data_dir: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code_root), "OMIB_DATA_DIR": str(data_dir)}
    out = subprocess.run(
        [sys.executable, "-c", LIBRARY, which], cwd=code_root, env=env, capture_output=True, text=True, timeout=600
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {"outcome": f"crashed (exit {out.returncode}): {out.stderr.strip().splitlines()[-1:]}"}
    return json.loads(lines[-1])


def start_server(code_root: Path, data_dir: Path, env: dict) -> tuple[subprocess.Popen, str]:
    from tests.e2e.conftest import free_port

    port = free_port()
    full = {
        **os.environ,
        "PYTHONPATH": str(code_root),
        "OMIB_DATA_DIR": str(data_dir),
        "OMIB_SKIP_UMAP_WARMUP": "1",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        **env,
    }
    cmd = [sys.executable, "-m", "dashboard.serve", "--server.port", str(port), "--server.address", "127.0.0.1"]
    cmd += ["--server.headless", "true", "--server.fileWatcherType", "none"]
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, cwd=code_root, env=full, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    import requests

    end = time.monotonic() + 180
    while time.monotonic() < end:
        try:
            if requests.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                return proc, url
        except requests.RequestException:
            time.sleep(0.5)
    raise RuntimeError((data_dir / "server.log").read_text()[-2000:])


def stop_server(proc: subprocess.Popen) -> None:
    from tests.e2e.conftest import stop_app

    stop_app(proc)


def uploads_before_sign_in(code_root: Path, data_dir: Path) -> dict:
    import requests

    from omib_core.identity import hash_password
    from tests.security.st_client import Session, upload_put

    users = data_dir / "users.toml"
    users.write_text(f'[users]\nalice = "{hash_password("a bench password")}"\n')
    proc, url = start_server(code_root, data_dir, {"OMIB_USERS_FILE": str(users)})
    try:
        token = requests.get(f"{url}/_stcore/health", timeout=30).cookies[XSRF_COOKIE]
        metrics = requests.get(f"{url}/_stcore/metrics", timeout=30).status_code

        async def scenario() -> dict:
            async with Session(url) as s:
                await s.rerun("")
                with ServerPeak(proc.pid) as mem:
                    t0 = time.perf_counter()
                    codes = [
                        await asyncio.to_thread(upload_put, url, s.session_id, token, 49 * MB, f"f{i}")
                        for i in range(30)
                    ]
                    seconds = time.perf_counter() - t0
            await asyncio.sleep(2)
            return {
                "codes": {str(c): codes.count(c) for c in sorted(set(codes))},
                "seconds": seconds,
                "growth_mb": mem.after - mem.before,
                "peak_growth_mb": mem.peak - mem.before,
                "held_after_close_mb": rss_mb(proc.pid) - mem.before,
            }

        out = asyncio.run(scenario())
        out["metrics_status"] = metrics
        return out
    finally:
        stop_server(proc)


def link_previews(code_root: Path, data_dir: Path) -> dict:
    from dashboard.state import encode_config
    from omib_core.config import DataConfig, RunConfig
    from tests.security.st_client import Session

    proc, url = start_server(code_root, data_dir, {"OMIB_MAX_SAMPLES": "100000", "OMIB_MAX_RUN_MEMORY_MB": "2000"})
    out = {}
    try:
        for label, params in (("n_samples=600000", {"n_samples": 600_000}), ("b1=1e6", {"b1": 1_000_000})):
            query = "cfg=" + encode_config(RunConfig(data=DataConfig(dataset="sim-i", params=params)))

            async def scenario(q: str = query) -> dict:
                async with Session(url) as s:
                    await s.rerun("")  # the session's first page, not measured
                    with ServerPeak(proc.pid) as mem:
                        reply = await s.rerun("train", query_string=q, timeout=240)
                    text = " ".join(reply.texts)
                    return {
                        "seconds": reply.seconds,
                        "status": reply.status,
                        "peak_growth_mb": mem.peak - mem.before,
                        "sentence": any(k in text for k in ("not generated here", "OMIB_MAX_SAMPLES", "memory")),
                        "exceptions": len(reply.exceptions),
                    }

            out[label] = asyncio.run(scenario())
        return out
    finally:
        stop_server(proc)


def run_side(code_root: Path, label: str) -> dict:
    res: dict = {"code": label}
    with tempfile.TemporaryDirectory() as d:
        for which in ("bomb", "accepted", "gigabyte"):
            sub = Path(d) / which
            sub.mkdir()
            res[which] = library(code_root, which, sub)
            print(label, which, res[which], flush=True)
        sub = Path(d) / "gate"
        sub.mkdir()
        res["before_sign_in"] = uploads_before_sign_in(code_root, sub)
        print(label, "before_sign_in", res["before_sign_in"], flush=True)
        sub = Path(d) / "links"
        sub.mkdir()
        res["links"] = link_previews(code_root, sub)
        print(label, "links", res["links"], flush=True)
    return res


def fmt_lib(r: dict) -> str:
    if "seconds" not in r:
        return r.get("outcome", "?")
    return f"{r['outcome'][:90]}; {r['seconds']:.1f} s, peak +{r['peak_growth_mb']:,.0f} MB"


def report(results: dict) -> str:
    b, a = results["before"], results["after"]
    rows = [
        ("3 small .npz declaring 12.5 M rows, stored through the library", fmt_lib(b["bomb"]), fmt_lib(a["bomb"])),
        ("4 x 50 MB .npz (0/1 values) stored, then the Data preview", fmt_lib(b["accepted"]), fmt_lib(a["accepted"])),
        ("a 1 GB modality file, `store_upload` as a library", fmt_lib(b["gigabyte"]), fmt_lib(a["gigabyte"])),
    ]
    for side in (b, a):
        g = side["before_sign_in"]
        side["_gate"] = (
            f"HTTP {g['codes']}; {g['seconds']:.1f} s; server +{g['growth_mb']:,.0f} MB (peak +{g['peak_growth_mb']:,.0f}),"
            f" +{g['held_after_close_mb']:,.0f} MB after the socket closed"
        )
        side["_metrics"] = f"HTTP {g['metrics_status']}"
        for k, v in side["links"].items():
            side[f"_link {k}"] = (
                f"{'sentence' if v['sentence'] else 'no sentence'}, {v['exceptions']} error boxes; "
                f"{(v['seconds'] or float('nan')):.1f} s, server peak +{v['peak_growth_mb']:,.0f} MB"
            )
    rows += [
        ("30 PUTs of 49 MB from a live session before sign-in", b["_gate"], a["_gate"]),
        ("`/_stcore/metrics` before sign-in", b["_metrics"], a["_metrics"]),
    ]
    rows += [
        (f"a `?cfg=` link with `{k}` on the Train page (limit 100,000 samples)", b[f"_link {k}"], a[f"_link {k}"])
        for k in b["links"]
    ]
    lines = [
        "# Hostile set, round two (issue 20)",
        "",
        f"Before: {results['before_rev']}; after: this checkout. {results['machine']}; load average at the start "
        f"{results['load_start']}, at the end {results['load_end']}.",
        f"Command: `{results['command']}`.",
        "",
        "| attack | before | after |",
        "|---|---|---|",
        *[f"| {w} | {x} | {y} |" for w, x, y in rows],
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before-rev", default="dda1df2")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "hostile_round2"))
    args = ap.parse_args()
    results = {
        "before_rev": args.before_rev,
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "load_start": load(),
        "command": "python bench/hostile_round2.py",
    }
    results["after"] = run_side(ROOT, "after")
    results["before"] = run_side(worktree(args.before_rev), "before")
    results["load_end"] = load()
    Path(args.out + ".json").write_text(json.dumps(results, indent=1, default=str))
    Path(args.out + ".md").write_text(report(results))
    print(report(results))


if __name__ == "__main__":
    main()
