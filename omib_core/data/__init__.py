"""Datasets: the one dataset type, the synthetic generators, the bundled real datasets, dataset folders, uploads
and the registry of dataset ids."""

from omib_core.data import real  # noqa: F401 - registers the bundled real datasets (after the synthetic ones)

# isort: split
from omib_core.data import paper  # noqa: F401 - registers CMU-MOSI and CREMA-D (listed after the bundled ones)

# isort: split
from omib_core.data import spatial  # noqa: F401 - registers 10x-breast (the 10x Visium anomaly task)
from omib_core.data.checks import ValidationReport, validate_files
from omib_core.data.dataset import TEST, TRAIN, VAL, MultimodalDataset, make_split
from omib_core.data.folder import load_folder
from omib_core.data.info import DatasetInfo
from omib_core.data.registry import (
    get_info,
    list_datasets,
    load_dataset,
    reference_requested,
    register,
    sample_dataset,
)
from omib_core.data.sim import make_sim
from omib_core.data.synthetic import make_sim_anomaly, make_sim_multi, make_sim_regression
from omib_core.data.uploads import list_uploads, store_upload

__all__ = [
    "TEST",
    "TRAIN",
    "VAL",
    "DatasetInfo",
    "MultimodalDataset",
    "ValidationReport",
    "get_info",
    "list_datasets",
    "list_uploads",
    "load_dataset",
    "load_folder",
    "make_sim",
    "make_sim_anomaly",
    "make_sim_multi",
    "make_sim_regression",
    "reference_requested",
    "make_split",
    "register",
    "sample_dataset",
    "store_upload",
    "validate_files",
]
