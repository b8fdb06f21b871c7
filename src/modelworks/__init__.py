"""modelworks: from a raw table to a compared, tested, saved model.

>>> import modelworks as mw
>>> df = mw.load("customers.csv")                        # doctest: +SKIP
>>> prof = mw.profile(df, target="churn")                # doctest: +SKIP
>>> exp = mw.Experiment(df, target="churn", time_budget=60)  # doctest: +SKIP
>>> board = exp.compare(); ev = exp.evaluate(); exp.save("out/churn")  # doctest: +SKIP
>>> model = mw.load_model("out/churn")                   # doctest: +SKIP
>>> mw.Client("http://127.0.0.1:8000").predict(df)       # doctest: +SKIP
"""

import os

from modelworks._lazy import lazy_getattr
from modelworks._wiring import provide

# Arrow's allocator (mimalloc) returns freed pages to the system at once instead of keeping them for
# a while: a pass over a table of many files (the profile, the sample, the fit on all rows) otherwise
# leaves a third of its peak held; 842 -> 568 MiB for the profile of a 5-million-row, 44-column table
# (docs/benchmarks.md). Read when pyarrow loads, so it has no effect once it has; a value the user
# set is kept.
os.environ.setdefault("MIMALLOC_PURGE_DELAY", "0")

TYPE_CHECKING = False  # typing is not imported: it is most of ``modelworks``'s start-up time
if TYPE_CHECKING:
    from modelworks.bundle import load_model
    from modelworks.client import Client
    from modelworks.cluster import Anomalies, Clustering
    from modelworks.data.load import load
    from modelworks.data.profile import profile
    from modelworks.errors import ModelworksError
    from modelworks.workflows.tabular import Experiment

__all__ = [
    "Anomalies",
    "Client",
    "Clustering",
    "Experiment",
    "ModelworksError",
    "load",
    "load_model",
    "profile",
]

#: Where each public name lives: imported on first use, so that ``modelworks serve`` or
#: ``modelworks --help`` do not pay for the training stack.
_PUBLIC = {
    "Anomalies": "modelworks.cluster.anomalies",
    "Client": "modelworks.client",
    "Clustering": "modelworks.cluster.clustering",
    "Experiment": "modelworks.workflows.tabular",
    "ModelworksError": "modelworks.errors",
    "load": "modelworks.data.load",
    "load_model": "modelworks.bundle",
    "profile": "modelworks.data.profile",
}


__getattr__ = lazy_getattr(globals(), _PUBLIC)

# What lower layers offer and upper ones provide (modelworks._wiring): figures of a profile, an
# evaluation and an experiment are drawn by plots/, a tracked run's bundle is fetched by track/.
provide("plot:profile", "modelworks.plots.accessors:ProfilePlots")
provide("plot:evaluation", "modelworks.plots.accessors:EvaluationPlots")
provide("bundle:runs", "modelworks.track._download:download")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


__version__ = "0.1.0"
