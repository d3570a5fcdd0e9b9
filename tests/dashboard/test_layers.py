"""Only the pages (and the widgets themselves) import ``dashboard.widgets``; the text helpers need no Streamlit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.core.test_import_isolation import imports_of

ROOT = Path(__file__).resolve().parents[2]
MAY_IMPORT_WIDGETS = ("dashboard/widgets/", "dashboard/app_pages/")


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
    code = "import sys, dashboard.text; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
