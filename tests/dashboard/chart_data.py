"""What a Plotly chart drawn under ``AppTest`` holds: its traces' numbers, plain lists or Plotly's typed arrays."""

from __future__ import annotations

import base64
import json

import numpy as np


def plotly_values(values) -> list[float]:
    """A Plotly trace's numbers, whether a plain list or Plotly's typed array (``{"dtype", "bdata"}``)."""
    if values is None:
        return []
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).astype(float).tolist()
    return [float(v) for v in values if isinstance(v, (int, float))]


def plotly_traces(chart) -> list[dict]:
    """The traces of an ``AppTest`` plotly_chart element: ``name``, ``x`` and ``y`` (numbers), ``showlegend``."""
    spec = json.loads(chart.proto.spec)
    return [
        {
            "name": t.get("name"),
            "x": plotly_values(t.get("x")),
            "y": plotly_values(t.get("y")),
            "showlegend": t.get("showlegend", True),
        }
        for t in spec["data"]
    ]
