"""Home: OMIB in one minute, one button that runs the teaching demo's three regimes side by side (``?demo=<sweep id>``,
``dashboard.widgets.regimes``), and a slider for one run at a chosen beta/M_u."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.demo import measured_sweep
from dashboard.widgets.regimes import demo_from_url, demo_section, regimes_button, single_run_ui
from omib_core.presets import PRESET_TEXT, TEACHING_REGIMES

ASSETS = Path(__file__).resolve().parents[2] / "assets"

st.title("OMIB Studio")
st.markdown(
    "Train, watch and teach **Optimal Multimodal Information Bottleneck** models "
    "(Wu et al., ICML 2025). One fused representation **xi** learned from several modalities keeps all the "
    "information about the target *y* and drops the rest."
)
demo = demo_from_url()
if demo:
    demo_section(demo)
    st.divider()

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
    lo, best, hi = TEACHING_REGIMES.values()
    st.write(
        f"{PRESET_TEXT['teaching']} One click trains it at three strengths of the bottleneck, as multiples of the "
        f"bound M_u: {lo:g} × M_u (too little β), {best:g} × M_u (about right) and {hi:g} × M_u (too much), side by "
        "side. Too little β overfits: train accuracy runs away from test (a train-test gap). Too much underfits: the "
        "KL terms collapse, the bottleneck's noise drowns the task information that the predictor learns from, and "
        "it learns y slowly: test accuracy drops with train and is still climbing when the run ends. In between, accuracy rises well past M_u: M_u is a "
        "sufficient, conservative bound (any β up to it keeps the task information, in theory), not the best β."
    )
    regimes_button()
    single_run_ui()
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
        "Too small a beta keeps b0, b1, b2; far too large a beta also squeezes out a1 or a2. The paper proves that "
        "any beta up to **M_u** keeps all of {a0, a1, a2}: M_u is sufficient, a safe choice, but not the best one, "
        "and beta a little above it may still keep the task information while dropping more of b0, b1, b2. "
        "M_u comes from the data's entropies, estimated on the **Bound** page. OMIB Studio always shows beta as a "
        "multiple of M_u."
    )
    measured = measured_sweep()
    if measured and measured.best_scale and all(s in measured.test for s in TEACHING_REGIMES.values()):
        lo, best, hi = TEACHING_REGIMES.values()
        st.caption(
            f":material/science: Measured by bench/teach_sweep.py on the teaching preset ({measured.seeds} seeds, "
            f"last epoch): test accuracy {measured.test[lo]:.3f} at {lo:g} × M_u, {measured.test[best]:.3f} at "
            f"{best:g} × M_u and {measured.test[hi]:.3f} at {hi:g} × M_u; the empirical best is "
            f"{measured.best_scale:g} × M_u, right of the bound."
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
    "teaching sweep shows the inverted U, with M_u left of the best (a short in-class sweep sits beside it). *Embeddings*: watch xi take shape. "
    "*Runs*: every run on this server, shareable by link."
)
