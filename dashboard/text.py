"""Text helpers the pages share, with no Streamlit in them: escaping user text for markdown, links, labels and
the short sentences and numbers the widgets show."""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import urlsplit

from dashboard.demo import MEASURED_BY, MeasuredSweep
from omib_core.config import RunConfig
from omib_core.presets import TEACHING_REGIMES

URL_PATHS = ("data", "bound", "train", "sweep", "embeddings", "runs")

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")

WORD_JOINER = "\u2060"

_AUTOLINK = re.compile(r"(?i)(?:https?|ftp|mailto|xmpp)(?=:)|www(?=\.)|@")  # what GFM autolinks start with


# user text in markdown, links


def escape_md(text: object) -> str:
    """User text (a run name, an owner) made safe to put inside markdown: shown as typed, never formatted or linked.

    Backslash escapes stop markdown syntax, but not GitHub-flavoured autolinks: Streamlit's renderer turns a bare
    ``http://...``, ``www.`` or ``name@host.org`` in the *text* into a link after parsing (a run name
    ``http://evil.example`` became a link on another user's Runs page, issue 20). An invisible WORD JOINER (U+2060)
    after the scheme, the ``www`` or the ``@`` breaks each pattern; the text reads the same.
    """
    text = _AUTOLINK.sub(lambda m: m.group(0) + WORD_JOINER, str(text))
    return _MD_SPECIAL.sub(r"\\\1", text)


def app_root(url: str | None) -> str:
    """Scheme, host and base path of the app from the current page's URL ('' when unknown)."""
    if not url:
        return ""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return ""
    path = parts.path.rstrip("/")
    if path.rsplit("/", 1)[-1] in URL_PATHS:
        path = path.rsplit("/", 1)[0]
    return f"{parts.scheme}://{parts.netloc}{path}"


# labels and short sentences


def run_label(run: dict) -> str:
    return f"{run['name']} · {run['owner']} · {run['status']} · {run['id']}"


def epoch_label(a: dict) -> str:
    return f"epoch {a['epoch'] + 1}" if a.get("epoch") is not None else os.path.basename(a["path"])


def sweep_label(sid: str, runs: list[dict]) -> str:
    mine = [r for r in runs if r.get("sweep_id") == sid]
    first = mine[-1] if mine else {}
    name = str(first.get("name") or sid).split(" · ")[0]
    return f"{name} · {first.get('owner', '?')} · {len(mine)} runs · {sid}"


def dataset_title(dataset: str) -> str:
    try:
        from omib_core.data import get_info

        return get_info(dataset).title
    except Exception:  # noqa: BLE001 - an unknown id or a folder path: show it as it is
        return dataset


def default_name(cfg: RunConfig) -> str:
    t, m = cfg.train, cfg.model
    if not m.bottleneck:
        variant = "no bottleneck"
    elif t.beta is not None:
        variant = f"β={t.beta:.2g}"
    else:
        variant = f"β/M_u={t.beta_scale:g}"
    extras = [x for x, on in (("concat", m.fusion == "concat"), ("r=1", not t.dynamic_r)) if on]
    return " · ".join([dataset_title(cfg.data.dataset), variant, *extras])


def failure_sentence(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return escape_md(text if text.endswith((".", "!", "?")) else text + ".")


def labels_line(labels: dict[str, Any]) -> str:
    parts = [
        f"**Labels** ({escape_md(labels['file'])}): {labels['rows']:,} rows, {labels['kind']} values, "
        f"task **{labels['task']}**, split {labels['split']}"
    ]
    if "classes" in labels and labels.get("kind") == "names":
        parts.append(
            "classes numbered in sorted order of their names: "
            + ", ".join(f"{i} = {escape_md(k)} ({v:,} rows)" for i, (k, v) in enumerate(labels["classes"].items()))
        )
    elif "classes" in labels:
        parts.append("classes " + ", ".join(f"{escape_md(k)}: {v:,}" for k, v in labels["classes"].items()))
    if "range" in labels:
        parts.append(f"range {labels['range'][0]:.3g} to {labels['range'][1]:.3g}")
    return "; ".join(parts) + "."


def beta_look_for(measured: MeasuredSweep | None) -> str:
    """What to look for on the number line, with the teaching sweep's measured accuracies when the benchmark has run."""
    text = (
        ":material/visibility: **What to look for:** β left of M_u keeps all task information (the paper's "
        "guarantee: a sufficient, conservative bound). Right of M_u the guarantee ends, not necessarily the accuracy: "
        "far enough right the bottleneck squeezes out a1 or a2 too, and only a sweep shows where."
    )
    lo, best, hi = TEACHING_REGIMES.values()
    if measured and all(s in measured.test for s in (lo, best, hi)):
        text += (
            f" On the teaching preset, {MEASURED_BY} measured test accuracy {measured.test[lo]:.3f} at {lo:g} × M_u, "
            f"{measured.test[best]:.3f} at {best:g} × M_u and {measured.test[hi]:.3f} at {hi:g} × M_u."
        )
    return text + " The scale is logarithmic."


# numbers


def nats(v: float | None) -> str:
    return f"{v:.3f}" if v is not None else "–"


def size_text(n: int) -> str:
    return f"{n / 2**30:.2f} GB" if n >= 2**30 else f"{n / 2**20:.1f} MB"


def chip_color(hex_color: str) -> str:
    """Nearest of Streamlit's markdown colours for a legend dot (markdown has no arbitrary colours)."""
    return {"#0072B2": "blue", "#E69F00": "orange", "#009E73": "green", "#CC79A7": "violet"}.get(hex_color, "gray")


# a config in words


def base_summary(cfg: RunConfig) -> str:
    """One line on the experiment a sweep trains at every β: data, schedule, optimiser, fusion, r and bound."""
    t, m = cfg.train, cfg.model
    r = f"dynamic r ({t.r_form.replace('_', ' ')}, per {t.r_update})" if t.dynamic_r else "r fixed at 1"
    epochs = "auto schedule" if t.schedule == "auto" else f"{t.warmup_epochs} warm-up + {t.epochs} main epochs"
    return (
        f"{escape_md(cfg.data.dataset)} · {epochs} · lr {t.lr:g} · "
        f"batch {t.batch_size} · {'CAN' if m.fusion == 'can' else 'concat'} fusion · {r} · bound {t.bound}"
    )


def base_epochs(cfg: RunConfig) -> str:
    """How many epochs each run of ``cfg`` trains, in words."""
    t = cfg.train
    if t.schedule == "auto":
        return "epochs fitted to the data size by the auto schedule"
    return f"{t.warmup_epochs + t.epochs} epochs"


# the teaching regimes


def tick_strip(options: tuple[float, ...], value: float) -> str:
    """Every stop of the slider, the chosen one bold and the demo's regimes named: the ticks a slider lacks."""
    named = {s: r for r, s in TEACHING_REGIMES.items()}
    parts = []
    for s in options:
        text = f"{s:g}" + (f" ({named[s]})" if s in named else "")
        parts.append(f"**{text}**" if s == value else text)
    return "β / M_u stops: " + " · ".join(parts)


def regime_of(scale: float | None) -> str:
    """'Too little β' (the regime's name) for a β/M_u of ``TEACHING_REGIMES``; plain 'β' for any other."""
    for regime, s in TEACHING_REGIMES.items():
        if scale is not None and abs(s - scale) <= 1e-9 * s:
            return f"{regime.capitalize()} β"
    return "β"


def widget_key(*parts: str) -> str:
    """A widget key from its parts, anything but letters, digits and ``_`` replaced: ``data_sim_i_noise``."""
    return "_".join(re.sub(r"[^0-9A-Za-z_]", "_", p) for p in parts)
