"""modelworks: from a raw table to a compared, tested, saved model.

>>> import modelworks as mw
>>> df = mw.load("customers.csv")                        # doctest: +SKIP
>>> prof = mw.profile(df, target="churn")                # doctest: +SKIP
>>> exp = mw.Experiment(df, target="churn", time_budget=60)  # doctest: +SKIP
>>> board = exp.compare(); ev = exp.evaluate(); exp.save("out/churn")  # doctest: +SKIP
>>> model = mw.load_model("out/churn")                   # doctest: +SKIP
>>> mw.Client("http://127.0.0.1:8000").predict(df)       # doctest: +SKIP
"""

from modelworks.bundle import load_model
from modelworks.data.load import load
from modelworks.data.profile import profile
from modelworks.errors import ModelworksError
from modelworks.experiment import Experiment

__all__ = ["Client", "Experiment", "ModelworksError", "load", "load_model", "profile"]


def __getattr__(name: str):
    if name == "Client":  # imported on first use: the HTTP client is not needed to train
        from modelworks.client import Client

        return Client
    raise AttributeError(f"module 'modelworks' has no attribute {name!r}")


__version__ = "0.1.0"
