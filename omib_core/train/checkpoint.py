"""Checkpoints loadable with ``torch.load(..., weights_only=True)``: no pickled objects.

Layout: ``{"format": 1, "state_dict": ..., "config": RunConfig.to_dict() (plain JSON types),
"model_args": {"input_dims", "out_dim", "task"}, "extra": {...}}``. ``extra`` holds metadata
(plain types and tensors only), e.g. the final r, beta, metrics and the standardisation statistics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from omib_core.config import RunConfig
from omib_core.errors import OmibError
from omib_core.fileio import atomic_write
from omib_core.model import OMIB

FORMAT = 1

# main functions


def save_checkpoint(path: str | Path, model: OMIB, config: RunConfig, extra: dict[str, Any] | None = None) -> Path:
    """Write the model, its config and ``extra`` atomically to ``path`` (a ``.pt`` file); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "config": config.to_dict(),
        "model_args": {
            "input_dims": dict(model.input_dims),
            "out_dim": int(model.out_dim),
            "task": model.task,
        },
        "extra": dict(extra or {}),
    }
    atomic_write(path, lambda f: torch.save(payload, f))
    return path


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> tuple[OMIB, RunConfig, dict[str, Any]]:
    """Load a checkpoint written by ``save_checkpoint`` (``weights_only=True``: no code is unpickled).

    Returns:
        ``(model in eval mode on device, RunConfig, extra)``.

    Raises:
        OmibError: the file is missing or is not an OMIB checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise OmibError(f"No checkpoint at {path}; train a run with an output folder first.")
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means "not a safe OMIB checkpoint"
        raise OmibError(f"{path} is not a loadable OMIB checkpoint ({e}).") from e
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "state_dict" not in payload:
        raise OmibError(f"{path} is not an OMIB checkpoint (format {FORMAT}); was it written by save_checkpoint?")
    config = RunConfig.from_dict(payload["config"])
    args = payload["model_args"]
    model = OMIB(args["input_dims"], args["out_dim"], config.model, task=args["task"])
    model.load_state_dict(payload["state_dict"])
    return model.to(device).eval(), config, payload.get("extra", {})
