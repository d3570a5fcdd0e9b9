"""OMIB Studio: page config and navigation only. Start with `streamlit run dashboard/app.py`."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run dashboard/app.py` from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import services  # noqa: E402

st.set_page_config(page_title="OMIB Studio", page_icon=str(ROOT / "assets" / "logo.svg"), layout="wide")
services.boot()

PAGES = Path(__file__).parent / "app_pages"
pages = {
    "Learn": [st.Page(PAGES / "home.py", title="Home", icon=":material/school:", default=True)],
    "Experiment": [
        st.Page(PAGES / "data.py", title="Data", icon=":material/dataset:", url_path="data"),
        st.Page(PAGES / "bound.py", title="Bound", icon=":material/straighten:", url_path="bound"),
        st.Page(PAGES / "train.py", title="Train", icon=":material/model_training:", url_path="train"),
        st.Page(PAGES / "sweep.py", title="Sweep", icon=":material/stacked_line_chart:", url_path="sweep"),
    ],
    "Inspect": [
        st.Page(PAGES / "embeddings.py", title="Embeddings", icon=":material/scatter_plot:", url_path="embeddings"),
        st.Page(PAGES / "runs.py", title="Runs", icon=":material/table_view:", url_path="runs"),
    ],
}
nav = st.navigation(pages)
services.sidebar_identity()
nav.run()
