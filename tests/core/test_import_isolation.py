import subprocess
import sys


def test_core_imports_no_ui_or_umap():
    code = (
        "import sys, omib_core, omib_core.train, omib_core.bound, omib_core.data, omib_core.runs.store, omib_core.cli;"
        "bad=[m for m in ('streamlit','plotly','altair','umap') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"omib_core imported UI/umap modules: {out.stdout}"


def _import_graph() -> dict[str, set[str]]:
    """``{module: omib_core modules it imports}``, imports inside functions included."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "omib_core"
    files = {}
    for p in root.rglob("*.py"):
        parts = p.relative_to(root.parent).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    graph: dict[str, set[str]] = {m: set() for m in files}
    for m, p in files.items():
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("omib_core"):
                for a in node.names:
                    sub = f"{node.module}.{a.name}"
                    graph[m].add(sub if sub in files else node.module)
            elif isinstance(node, ast.Import):
                graph[m].update(a.name for a in node.names if a.name in files)
    return graph


def test_import_graph_has_no_cycles_and_no_upward_imports():
    graph = _import_graph()
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph.get(m, ())):
            if n == m or n not in graph:
                continue
            assert state.get(n) != 1, f"import cycle: {' -> '.join([*path[path.index(n) :], n])}"
            if n not in state:
                visit(n, [*path, n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    upward = {
        m: sorted(n for n in graph[m] if n.startswith(("omib_core.runs", "omib_core.train")))
        for m in graph
        if m.startswith(("omib_core.data", "omib_core.analysis"))
    }
    assert not {m: n for m, n in upward.items() if n}, "the data and analysis layers import runs/train"
