"""Home: OMIB in one minute, and one button that runs the teaching demo (SIM-TEACH at a chosen beta/M_u)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import services
from dashboard.auth import current_user
from dashboard.demo import demo_config
from omib_core.presets import PRESET_TEXT, TEACHING_SCALES

ASSETS = Path(__file__).resolve().parents[2] / "assets"

st.title("OMIB Studio")
st.markdown(
    "Train, watch and teach **Optimal Multimodal Information Bottleneck** models "
    "(Wu et al., ICML 2025). One fused representation **xi** learned from several modalities keeps all the "
    "information about the target *y* and drops the rest."
)

left, right = st.columns([3, 2], gap="large")
with left:
    st.image(str(ASSETS / "information_split.svg"), width="stretch")
    st.caption(
        "Two modalities v1 and v2 share some information (the overlap) and each has its own. The amber half "
        "is task-relevant: **a0** shared, **a1** only in v1, **a2** only in v2. The grey half (**b0, b1, b2**) "
        "is superfluous: it does not help predict y. A model that keeps it overfits."
    )
with right:
    st.subheader("Run the demo")
    st.write(
        f"{PRESET_TEXT['teaching']} Pick how hard the bottleneck squeezes, as a multiple of the bound M_u, and watch "
        "the accuracy chart. Too little β overfits: train accuracy runs away from test (a train-test gap). Too much "
        "underfits: the KL terms collapse and test accuracy drops with train. M_u itself is a safe, conservative "
        "bound: it loses nothing, but sits well below the empirically best β."
    )
    scale = st.select_slider(
        "β / M_u of the demo",
        options=list(TEACHING_SCALES),
        value=1.0,
        key="home_demo_scale",
        format_func=lambda v: f"{v:g}",
    )
    if st.button("Run the teaching demo", type="primary", key="home_demo", width="stretch"):
        rid = services.jobs().submit(
            demo_config(scale).to_dict(), owner=current_user().name, name=f"Teaching demo · β/M_u={scale:g}"
        )
        st.switch_page("app_pages/train.py", query_params={"run": rid})
    st.page_link("app_pages/sweep.py", label="The whole inverted U: the Sweep page", icon=":material/ssid_chart:")
    st.page_link("app_pages/data.py", label="Or choose your own data", icon=":material/dataset:")

st.divider()
c1 = c2 = c3 = st.container()  # one section per row: the formulas need the full width
with c1:
    st.subheader("1. The loss")
    st.latex(
        r"L = \underbrace{-\log q(y\mid\xi)}_{\text{predict } y} + \beta\,\big(\mathrm{KL}_1 + r\,\mathrm{KL}_2\big)"
    )
    st.write(
        "Each modality's encoding zeta_i is pushed towards pure noise by its **KL_i** term: whatever survives "
        "must be worth it for predicting y. **beta** sets how hard that push is."
    )
with c2:
    st.subheader("2. The bound M_u")
    st.latex(r"\beta \le M_u = \frac{1}{3\,\big(H(v_1) + H(v_2) - I(v_1; v_2)\big)}")
    st.write(
        "Too small a beta keeps b0, b1, b2; too large a beta also squeezes out a1 or a2. The paper proves that "
        "any beta up to **M_u** keeps exactly {a0, a1, a2}. M_u comes from the data's entropies, estimated on the "
        "**Bound** page. OMIB Studio always shows beta as a multiple of M_u."
    )
with c3:
    st.subheader("3. The dynamic weight r")
    st.latex(
        r"r = 1 - \tanh\!\Big(\ln \frac{\mathrm{KL}(\hat y_2 \,\|\, \hat y)}{\mathrm{KL}(\hat y_1 \,\|\, \hat y)}\Big)"
    )
    st.write(
        "r compares how much each modality's own head still disagrees with the fused prediction. If v2 holds "
        "task information that xi has not yet taken in, r drops below 1 and v2 is squeezed less; if v2 adds less "
        "than v1, or only noise, r rises above 1 and v2 is squeezed more. r stays in (0, 2). OMIB Studio measures "
        "the disagreement on held-out rows, as each head's gain in log-likelihood over the fused prediction: the KL "
        "itself is largest for a head that fitted noise, which would squeeze a useless modality less."
    )

st.divider()
st.markdown(
    "**Where to go next.** *Data*: pick SIM-I/II/III or a real dataset and see its ground truth. "
    "*Bound*: estimate M_u. *Train*: start a run and watch r and the KL terms move. *Sweep*: vary beta/M_u; the default "
    "teaching sweep shows the inverted U, with M_u left of the best. *Embeddings*: watch xi take shape. "
    "*Runs*: every run on this server, shareable by link."
)
