"""Only the pages (and the widgets themselves) import ``dashboard.widgets``; every function in ``dashboard/widgets/``
draws with Streamlit (pure helpers live in ``dashboard/text.py``, ``run_logic.py``, ``sweep_logic.py``,
``datasets.py`` or ``dashboard/charts/``); the text helpers need no Streamlit."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.core.test_import_isolation import imports_of

ROOT = Path(__file__).resolve().parents[2]
MAY_IMPORT_WIDGETS = ("dashboard/widgets/", "dashboard/app_pages/")
# Names that mean Streamlit inside a widget module: ``st`` itself, and ``services`` (its store and job manager are
# ``st.cache_resource`` objects: a function that reads them needs a Streamlit server, so it is no pure helper).
STREAMLIT_NAMES = {"st", "services"}
# Pure helpers still in the widget modules that were being rewritten when this test was written (issue 21): move
# them out (and drop them here) when those modules are next touched. Nothing else may be added.
PURE_PENDING: dict[str, set[str]] = {}  # pure functions still waiting to leave widgets/: none


def test_only_pages_and_widgets_import_the_widgets():
    bad, checked = [], set()
    for p in sorted((ROOT / "dashboard").rglob("*.py")):
        rel = p.relative_to(ROOT).as_posix()
        if rel.startswith(MAY_IMPORT_WIDGETS):
            continue
        checked.add(rel)
        parts = p.relative_to(ROOT).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        names = imports_of(p.read_text(encoding="utf-8"), module, is_package)
        bad += [
            f"{rel} -> {n}" for n in sorted(names) if n == "dashboard.widgets" or n.startswith("dashboard.widgets.")
        ]
    assert "dashboard/services.py" in checked and len(checked) >= 10
    assert bad == [], "move the helper out of dashboard/widgets/ (dashboard/text.py) instead"


def test_text_helpers_load_no_streamlit():
    code = "import sys, dashboard.text, dashboard.run_logic, dashboard.sweep_logic; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def _widget_imports(tree: ast.Module) -> set[str]:
    """The names a module binds from ``dashboard.widgets`` (at any depth): widgets themselves, so Streamlit."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dashboard.widgets"):
            out.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.asname or a.name.split(".")[0] for a in node.names if a.name.startswith("dashboard.widgets"))
    return out


def _streamlit_decorated(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """``@st.cache_data(...)``, ``@st.fragment(...)``, ``@st.dialog(...)``: the decorator makes it Streamlit."""
    for d in fn.decorator_list:
        node = d.func if isinstance(d, ast.Call) else d
        while isinstance(node, ast.Attribute):
            node = node.value
        if isinstance(node, ast.Name) and node.id == "st":
            return True
    return False


def pure_functions(source: str) -> list[str]:
    """The top-level functions of ``source`` that never touch Streamlit: neither use ``st`` (or ``services``, or a
    widget imported from ``dashboard.widgets``), nor carry a Streamlit decorator, nor call (by bare name) another
    top-level function of the module that does, however indirectly."""
    tree = ast.parse(source)
    fns = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    streamlit_names = STREAMLIT_NAMES | _widget_imports(tree)
    uses, calls = set(), {}
    for name, fn in fns.items():
        names = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)}
        if names & streamlit_names or _streamlit_decorated(fn):
            uses.add(name)
        calls[name] = {
            n.func.id for n in ast.walk(fn) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
        } & set(fns)
    grew = True
    while grew:
        new = {n for n in fns if n not in uses and calls[n] & uses}
        uses |= new
        grew = bool(new)
    return [n for n in fns if n not in uses]


def test_pure_functions_are_seen():
    src = (
        "import streamlit as st\n"
        "from dashboard import services\n"
        "from dashboard.widgets.controls import control\n"
        "def pure(x):\n    return x + 1\n"
        "def draws():\n    st.write(pure(1))\n"
        "def via_helper():\n    return draws()\n"
        "def via_two():\n    return via_helper()\n"
        "def reads_store():\n    return services.store()\n"
        "def via_widget(p):\n    return control(p, 'n', 'k')\n"
        "@st.cache_data\ndef cached(x):\n    return x\n"
        "@st.fragment(run_every=2)\ndef watched():\n    return None\n"
        "def also_pure(x):\n    return pure(x) * 2\n"
    )
    assert pure_functions(src) == ["pure", "also_pure"]


def test_every_widget_function_draws_with_streamlit():
    bad, pending, files = [], [], sorted((ROOT / "dashboard" / "widgets").glob("*.py"))
    for p in files:
        rel = p.relative_to(ROOT).as_posix()
        pure = pure_functions(p.read_text(encoding="utf-8"))
        allowed = PURE_PENDING.get(rel, set())
        bad += [f"{rel}: {n}" for n in pure if n not in allowed]
        pending += [f"{rel}: {n}" for n in sorted(allowed - set(pure))]
    assert len(files) >= 10 and ROOT / "dashboard" / "widgets" / "sweep.py" in files
    assert bad == [], (
        "these functions never touch Streamlit: move them out of dashboard/widgets/ (text -> dashboard/text.py, run "
        "facts -> dashboard/run_logic.py, sweep logic -> dashboard/sweep_logic.py, tables -> dashboard/charts/)"
    )
    assert pending == [], (
        "these are no longer pure helpers of their widget module (or are gone): drop them from PURE_PENDING"
    )
