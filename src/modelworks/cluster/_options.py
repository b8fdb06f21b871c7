"""The options of ``cluster`` and ``anomalies``, checked before any row is read (no heavy import).

:class:`~modelworks.cluster.Clustering` and :class:`~modelworks.cluster.Anomalies` call the same
checks, so a command line and a Python call are refused in the same words
(:mod:`modelworks.options`).
"""

from __future__ import annotations

from modelworks.errors import ConfigError
from modelworks.options import check_at_least, check_budget, check_choice, check_seed, check_share

#: The clustering methods that are given k, and those that find their own number of clusters.
PARTITIONING = ("kmeans", "gmm", "agglomerative")
DENSITY = ("dbscan", "hdbscan")
METHODS = PARTITIONING + DENSITY
#: Scalings of numbers before distances are computed.
SCALINGS = ("standard", "robust")
#: The largest expected share of anomalies: beyond half, "anomaly" and "normal" change places.
MAX_CONTAMINATION = 0.5


def check_k(k: int | str, method: str = "auto") -> int | str:
    """``"auto"``, or a whole number of clusters of at least 2 for a method that is given k."""
    if k == "auto":
        return k
    try:
        number = int(k)
    except (TypeError, ValueError):
        raise ConfigError(f"--k must be 'auto' or a whole number of clusters (got {k!r})") from None
    if isinstance(k, float) and number != k:
        raise ConfigError(f"--k must be 'auto' or a whole number of clusters (got {k!r})")
    check_at_least(number, 2, "--k", 3)
    if method in DENSITY:
        raise ConfigError(f"--method {method} finds its own number of clusters; leave --k as auto")
    return number


def check_cluster_options(
    *, method: str, k: int | str, time_budget: float | None, seed: int, scaling: str
) -> int | str:
    """Refuse ``cluster`` options no run could honour; return ``k`` as a number or ``"auto"``."""
    check_choice(method, ("auto", "all", *METHODS), "--method")
    number = check_k(k, method)
    check_budget(time_budget)
    check_seed(seed)
    check_choice(scaling, SCALINGS, "--scaling")
    return number


def check_anomaly_options(*, contamination: float | None, seed: int, scaling: str) -> None:
    """Refuse ``anomalies`` options no run could honour."""
    if contamination is not None:
        check_share(
            contamination, "--contamination", high=MAX_CONTAMINATION, high_included=True, example=0.05
        )
    check_seed(seed)
    check_choice(scaling, SCALINGS, "--scaling")
