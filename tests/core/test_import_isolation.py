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
