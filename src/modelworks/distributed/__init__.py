"""Outgrow one machine: fold fits on a Dask cluster (``--cluster``) and tables larger than memory.

>>> from modelworks.distributed import connect, DaskWorkers   # doctest: +SKIP
>>> exp = mw.Experiment(df, target="y", cluster="tls://10.0.0.5:8786")   # doctest: +SKIP

A scheduler runs code in this process (tasks travel pickled): ``tls://`` authenticates it with the
certificates named by ``MODELWORKS_TLS_CA_FILE``, ``MODELWORKS_TLS_CERT`` and ``MODELWORKS_TLS_KEY``
(:func:`tls_security`); a plain ``tcp://`` address off this machine is warned about
(:func:`cluster_warning`).

A folder or glob of Parquet/CSV files, profiled over all rows and sampled for the comparison:

>>> files = find_files("data/*.parquet"); frame = read_frame(files)   # doctest: +SKIP
>>> prof = profile_full(frame, files, "churn")   # exact counts, approximate quantiles  # doctest: +SKIP
"""

from typing import TYPE_CHECKING

from modelworks._lazy import lazy_getattr

if TYPE_CHECKING:
    from modelworks.distributed._connect import (
        ClusterWarning,
        Connection,
        check_cluster,
        cluster_warning,
        connect,
        tls_security,
    )
    from modelworks.distributed._executor import DaskWorkers
    from modelworks.distributed._frame import TableFiles, find_files, is_large_source, read_frame
    from modelworks.distributed._large import LargeTable
    from modelworks.distributed._profile import FullProfile, profile_full
    from modelworks.distributed._sample import draw_sample, plan_sample

__all__ = [
    "ClusterWarning",
    "Connection",
    "DaskWorkers",
    "FullProfile",
    "LargeTable",
    "TableFiles",
    "check_cluster",
    "cluster_warning",
    "connect",
    "draw_sample",
    "find_files",
    "is_large_source",
    "plan_sample",
    "profile_full",
    "read_frame",
    "tls_security",
]

_PUBLIC = {
    "ClusterWarning": "modelworks.distributed._connect",
    "Connection": "modelworks.distributed._connect",
    "DaskWorkers": "modelworks.distributed._executor",
    "FullProfile": "modelworks.distributed._profile",
    "LargeTable": "modelworks.distributed._large",
    "TableFiles": "modelworks.distributed._frame",
    "check_cluster": "modelworks.distributed._connect",
    "cluster_warning": "modelworks.distributed._connect",
    "connect": "modelworks.distributed._connect",
    "draw_sample": "modelworks.distributed._sample",
    "find_files": "modelworks.distributed._frame",
    "is_large_source": "modelworks.distributed._frame",
    "plan_sample": "modelworks.distributed._sample",
    "profile_full": "modelworks.distributed._profile",
    "read_frame": "modelworks.distributed._frame",
    "tls_security": "modelworks.distributed._connect",
}

__getattr__ = lazy_getattr(globals(), _PUBLIC)
