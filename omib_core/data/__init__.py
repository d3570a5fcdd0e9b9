"""Datasets: the one dataset type, the synthetic generators and the registry of dataset ids."""

from omib_core.data.dataset import TEST, TRAIN, VAL, MultimodalDataset, make_split
from omib_core.data.registry import DatasetInfo, get_info, list_datasets, load_dataset, register
from omib_core.data.sim import make_sim
from omib_core.data.synthetic import make_sim_anomaly, make_sim_multi, make_sim_regression

__all__ = [
    "TEST",
    "TRAIN",
    "VAL",
    "DatasetInfo",
    "MultimodalDataset",
    "get_info",
    "list_datasets",
    "load_dataset",
    "make_sim",
    "make_sim_anomaly",
    "make_sim_multi",
    "make_sim_regression",
    "make_split",
    "register",
]
