"""``modelworks.experiment``: where :class:`Experiment` was first published; it lives in
:mod:`modelworks.workflows.tabular` (the table run as stages) and is importable from here too."""

from modelworks.data._frames import data_hash
from modelworks.workflows.tabular import Cleaning, Experiment, build_pipeline

__all__ = ["Cleaning", "Experiment", "build_pipeline", "data_hash"]
