"""The one place the compute device is decided.

Order for ``"auto"``: CUDA, then Apple MPS, then CPU. The result is passed down; nothing else in the
package picks a device.
"""

from __future__ import annotations

import torch

from omib_core.config import DEVICES
from omib_core.errors import ConfigError


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def available_devices() -> tuple[str, ...]:
    """The device names that can run here, in ``resolve_device``'s terms: ``"auto"``, ``"cpu"``, then ``"cuda"``
    (and ``"cuda:N"`` for each GPU when there are several) and ``"mps"`` where available."""
    out = ["auto", "cpu"]
    if torch.cuda.is_available():
        n = torch.cuda.device_count()
        out += ["cuda"] + ([f"cuda:{i}" for i in range(n)] if n > 1 else [])
    if _mps_available():
        out.append("mps")
    return tuple(out)


def resolve_device(name: str = "auto") -> torch.device:
    """Resolve a device name to a ``torch.device``.

    Args:
        name: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    Raises:
        ConfigError: the name is unknown, or the requested accelerator is not available here.
    """
    base = name.split(":")[0]
    if base not in DEVICES:
        raise ConfigError(f"The 'device' parameter must be one of {DEVICES}. Got {name!r} instead.")
    if base == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if base == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"device={name!r} was requested but CUDA is not available on this machine; use 'auto' or 'cpu'."
        )
    if base == "mps" and not _mps_available():
        raise ConfigError(
            f"device={name!r} was requested but MPS is not available on this machine; use 'auto' or 'cpu'."
        )
    return torch.device(name)


def apply_thread_policy(device: torch.device, num_threads: int | None) -> int:
    """Cap torch's intra-op threads for small CPU models and return the number set.

    Small MLPs gain nothing from many threads, and several jobs on few cores thrash: measured on a
    2-core machine, one training job with 1 thread ran faster under load than the default (see
    bench/results/threads.json). ``None`` means 1 thread on CPU and torch's default on accelerators.
    """
    if num_threads is None:
        num_threads = 1 if device.type == "cpu" else torch.get_num_threads()
    torch.set_num_threads(max(1, int(num_threads)))
    return torch.get_num_threads()
