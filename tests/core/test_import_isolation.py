"""Layering that the tests can see: every omib_core module imports without a UI or umap, drawing SIM data imports no
analysis and trains nothing, and every import statement (inside functions too) respects the layers."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MIN_MODULES = 69  # omib_core had 69 modules when this test was written: fewer means the walk broke

# (layer prefix, imports it must not make); a prefix matches the module itself and everything below it
FORBIDDEN = {
    "omib_core.data": (
        "omib_core.analysis",
        "omib_core.train",
        "omib_core.runs",
        "omib_core.bound",
        "omib_core.model",
        "omib_core.baselines",
        "omib_core.sweeps",
        "omib_core.cli",
    ),
    "omib_core.analysis": ("omib_core.train", "omib_core.runs"),
    "omib_core": ("dashboard", "streamlit"),
}
# the model layer sits at the bottom with the data: torch, and of omib_core only these
MODEL_MAY_IMPORT = ("omib_core.model", "omib_core.config", "omib_core.errors")


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _statements(source: str, module: str, is_package: bool) -> list[tuple[str, list[str]]]:
    """``(module named, names imported from it)`` for every import statement at any depth (functions included);
    relative imports are resolved against ``module``; ``import x`` gives ``(x, [])``."""
    package = module if is_package else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                target = f"{base}.{node.module}" if node.module else base
            out.append((target, [a.name for a in node.names if a.name != "*"]))
    return out


def imports_of(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module name an import of ``source`` may load; ``from x import y`` gives both ``x`` and ``x.y`` (y may
    be a module)."""
    out = set()
    for target, names in _statements(source, module, is_package):
        out.add(target)
        out.update(f"{target}.{n}" for n in names)
    return out


def layer_violations(sources: dict[str, tuple[str, bool]]) -> list[str]:
    """``"module -> import"`` for each import that breaks a layer rule; ``sources`` is ``{module: (source,
    is_package)}``."""
    bad = []
    for module, (source, is_package) in sorted(sources.items()):
        names = imports_of(source, module, is_package)
        for layer, forbidden in FORBIDDEN.items():
            if _under(module, layer):
                bad += [f"{module} -> {n}" for n in sorted(names) if any(_under(n, f) for f in forbidden)]
        if _under(module, "omib_core.model"):
            bad += [
                f"{module} -> {n}"
                for n in sorted(names)
                if _under(n, "omib_core") and n != "omib_core" and not any(_under(n, a) for a in MODEL_MAY_IMPORT)
            ]
    return sorted(set(bad))


def _sources() -> dict[str, tuple[str, bool]]:
    out = {}
    for p in (ROOT / "omib_core").rglob("*.py"):
        parts = p.relative_to(ROOT).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_package else parts)] = (p.read_text(encoding="utf-8"), is_package)
    return out


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


# what the running code loads


def test_every_core_module_imports_without_ui_or_umap():
    code = (
        "import importlib, json, pkgutil, sys, omib_core\n"
        "names = [m.name for m in pkgutil.walk_packages(omib_core.__path__, 'omib_core.')"
        " if not m.name.endswith('__main__')]\n"
        "for n in names: importlib.import_module(n)\n"
        "bad = [m for m in ('streamlit', 'plotly', 'altair', 'umap', 'dashboard') if m in sys.modules]\n"
        "print(json.dumps({'n': len(names), 'bad': bad}))"
    )
    result = json.loads(_run(code))
    assert result["n"] >= MIN_MODULES, f"the walk found only {result['n']} omib_core modules"
    assert result["bad"] == [], f"omib_core imported UI/umap modules: {result['bad']}"


def test_drawing_sim_data_imports_no_analysis_and_trains_nothing():
    code = (
        "import json, sys\n"
        "from omib_core.data import list_datasets, load_dataset\n"
        "ids = [i.id for i in list_datasets() if i.id.startswith('sim-')]\n"
        "for d in ids: load_dataset(d, n_samples=300)\n"
        "above = ('omib_core.analysis', 'omib_core.train', 'omib_core.runs', 'omib_core.bound', 'torch')\n"
        "print(json.dumps({'ids': ids, 'loaded': sorted(m for m in sys.modules if m.split('.')[0] == 'torch'"
        " or m.startswith(above[:4]))}))"
    )
    result = json.loads(_run(code))
    assert len(result["ids"]) >= 7
    assert result["loaded"] == [], f"drawing SIM data loaded {result['loaded']}"


# what the source says


def test_every_import_respects_the_layers():
    sources = _sources()
    assert len(sources) >= MIN_MODULES
    assert layer_violations(sources) == []


def test_the_layer_check_catches_a_planted_violation():
    planted = (
        "import numpy as np\n"
        "from omib_core.data.dataset import TRAIN\n"
        "def f():\n"
        "    from omib_core.analysis import reference\n"
        "    return reference\n"
        "class C:\n"
        "    def g(self):\n"
        "        import omib_core.train.loop\n"
        "        from .. import runs\n"
        "        from ..bound.cache import x\n"
    )
    bad = layer_violations({"omib_core.data.fake": (planted, False)})
    assert bad == [
        "omib_core.data.fake -> omib_core.analysis",
        "omib_core.data.fake -> omib_core.analysis.reference",
        "omib_core.data.fake -> omib_core.bound.cache",
        "omib_core.data.fake -> omib_core.bound.cache.x",
        "omib_core.data.fake -> omib_core.runs",
        "omib_core.data.fake -> omib_core.train.loop",
    ]
    model = "def f():\n    from omib_core.data import load_dataset\nfrom omib_core.config import ModelConfig\n"
    assert layer_violations({"omib_core.model.fake": (model, False)}) == [
        "omib_core.model.fake -> omib_core.data",
        "omib_core.model.fake -> omib_core.data.load_dataset",
    ]
    ui = "def f():\n    import streamlit as st\n    from dashboard.widgets import escape_md\n"
    assert layer_violations({"omib_core.runs.fake": (ui, False)}) == [
        "omib_core.runs.fake -> dashboard.widgets",
        "omib_core.runs.fake -> dashboard.widgets.escape_md",
        "omib_core.runs.fake -> streamlit",
    ]
    assert layer_violations({"omib_core.data.fake": ("from omib_core.errors import DataError\n", False)}) == []


def test_relative_imports_resolve_against_the_module():
    src = "from . import a\nfrom .b import c\nfrom .. import d\n"
    assert imports_of(src, "omib_core.data.sim") == {
        "omib_core.data",
        "omib_core.data.a",
        "omib_core.data.b",
        "omib_core.data.b.c",
        "omib_core",
        "omib_core.d",
    }
    assert "omib_core.data.x" in imports_of("from .x import y\n", "omib_core.data", is_package=True)


def test_import_graph_has_no_cycles():
    sources = _sources()
    graph: dict[str, set[str]] = {m: set() for m in sources}
    for m, (src, is_package) in sources.items():
        for target, names in _statements(src, m, is_package):
            subs = {f"{target}.{n}" for n in names} & set(sources)  # ``from pkg import module``: that module only
            graph[m].update((subs or {target}) & set(sources) - {m})
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            assert state.get(n) != 1, f"import cycle: {' -> '.join([*path[path.index(n) :], n])}"
            if n not in state:
                visit(n, [*path, n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
