"""Structure without a target: clustering (:class:`Clustering`) and anomaly detection (:class:`Anomalies`).

Both read a table as ``modelworks run`` does, encode it for distances (:mod:`._table`), and save a bundle
that assigns new rows (``modelworks predict``, ``modelworks serve``).
"""

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelworks.cluster.anomalies import Anomalies
    from modelworks.cluster.clustering import Clustering

__all__ = ["Anomalies", "Clustering"]

_PUBLIC = {"Anomalies": "modelworks.cluster.anomalies", "Clustering": "modelworks.cluster.clustering"}


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'modelworks.cluster' has no attribute {name!r}")
