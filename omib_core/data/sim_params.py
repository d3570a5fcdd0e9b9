"""The synthetic generators' parameters, declared once (type, range, control, group, help).

Every generator (``sim.py``, ``synthetic.py``) shares these names; a generator's default for each comes from its
signature (where the value has its effect) and the registry pairs the two into the dataset's ``DatasetInfo.params``.
``sim_check`` is the one validator the generators call.
"""

from __future__ import annotations

from typing import Any

from omib_core.params import Param

SAMPLES = "Samples and labels"
BLOCKS = "Information blocks"
WEIGHTS = "Task weights"
VIEWS = ("v1", "v2", "v3")
GROUP_HELP = {
    BLOCKS: "Sizes of the latent blocks: a = task-relevant, b = superfluous; 0 = shared by all modalities, "
    "1 = only in v1, 2 = only in v2. Larger b blocks make a too-small β overfit.",
    WEIGHTS: "Each a block's share of the label's signal: the larger w1, the more v1 alone can tell.",
}


def _blocks() -> dict[str, Param]:
    out: dict[str, Param] = {}
    for i in range(4):
        where = "shared by every view" if i == 0 else f"only in v{i}"
        for letter, what in (("a", "task-relevant"), ("b", "superfluous")):
            out[f"{letter}{i}"] = Param(
                "int",
                low=0,
                ui=(0, 512),
                step=1,
                group=BLOCKS,
                unit="dims",
                help=f"size of {letter}{i}, {what} information {where}",
            )
    for i in range(4):
        out[f"w{i}"] = Param(
            "float",
            low=0.0,
            closed="[)",
            ui=(0.0, 1.0),
            step=0.05,
            group=WEIGHTS,
            help=f"relative share of a{i} in the task score's variance",
        )
    for i, view in enumerate(VIEWS, start=1):
        out[f"dim_{view}"] = Param(
            "int",
            low=1,
            none="its blocks + 4",
            ui=(1, 4096),
            step=1,
            unit="columns",
            advanced=True,
            help=f"columns of {view} (>= a0+a{i}+b0+b{i}); None = that sum + 4",
        )
    return out


SIM_PARAMS: dict[str, Param] = {
    "n_samples": Param(
        "int",
        low=50,
        ui=(200, 200_000),
        step=500,
        group=SAMPLES,
        unit="rows",
        help="rows drawn (train / val / test split by val_fraction, test_fraction)",
    ),
    "n_classes": Param("int", low=2, ui=(2, 20), step=1, group=SAMPLES, help="number of classes K"),
    "noise": Param(
        "float",
        low=0.0,
        closed="()",
        ui=(0.01, 5.0),
        step=0.01,
        group=SAMPLES,
        help="standard deviation of the Gaussian noise added to every view column",
    ),
    "bayes_accuracy": Param(
        "float",
        low=0.0,
        high=1.0,
        closed="(]",
        ui=(0.3, 0.999),
        step=0.01,
        group=SAMPLES,
        help="accuracy of the Bayes classifier given the optimal features [a0; a1; a2]; above 1 / n_classes",
    ),
    "label_model": Param(
        "choice",
        choices=("softmax", "uniform"),
        group=SAMPLES,
        advanced=True,
        help="'softmax' (y drawn from softmax(tau * logits)) or 'uniform' (argmax, then random flips)",
    ),
    "anomaly_fraction": Param(
        "float",
        low=0.0,
        high=1.0,
        closed="()",
        ui=(0.01, 0.99),
        step=0.01,
        group=SAMPLES,
        help="probability that a validation / test row is an anomaly",
    ),
    **_blocks(),
    "gain": Param(
        "float",
        low=0.0,
        closed="()",
        ui=(0.01, 15.0),
        step=0.1,
        help="scale of the task score in the target, y = clip(gain * f + target_noise * eps, -3, 3)",
    ),
    "target_noise": Param(
        "float",
        low=0.0,
        ui=(0.0, 5.0),
        step=0.01,
        help="standard deviation of the noise added to the regression target",
    ),
    "shift": Param(
        "float",
        low=0.0,
        closed="()",
        ui=(0.01, 35.0),
        step=0.1,
        help="distance an anomaly is moved in the task-relevant blocks (in units of their standard deviation)",
    ),
    "train_contamination": Param(
        "float",
        low=0.0,
        high=1.0,
        closed="[)",
        ui=(0.0, 0.99),
        step=0.01,
        help="probability that a training row is an anomaly (0 = clean training data)",
    ),
    "reference": Param(
        "bool",
        True,
        advanced=True,
        help="train the reference MLP on the optimal features (ground-truth optimal-MIB accuracy), beside the "
        "data, not as part of it",
    ),
}


def sim_check(owner: str, name: str, value: Any) -> Any:
    """``value`` checked by the declaration of ``name`` (the one validator; ConfigError naming the parameter)."""
    return SIM_PARAMS[name].check(owner, name, value)
