"""Structure without a target: clustering (:class:`Clustering`) and anomaly detection (:class:`Anomalies`).

Both read a table as ``modelworks run`` does, encode it for distances (:mod:`._table`), and save a bundle
that assigns new rows (``modelworks predict``, ``modelworks serve``).
"""

from typing import TYPE_CHECKING

from modelworks._lazy import lazy_getattr

if TYPE_CHECKING:
    from modelworks.cluster.anomalies import Anomalies
    from modelworks.cluster.clustering import Clustering

__all__ = ["Anomalies", "Clustering"]

_PUBLIC = {"Anomalies": "modelworks.cluster.anomalies", "Clustering": "modelworks.cluster.clustering"}


__getattr__ = lazy_getattr(globals(), _PUBLIC)
