"""modelworks: from a raw table to a compared, tested, saved model.

>>> import modelworks as mw
>>> df = mw.load("customers.csv")                        # doctest: +SKIP
>>> prof = mw.profile(df, target="churn")                # doctest: +SKIP
>>> exp = mw.Experiment(df, target="churn", time_budget=60)  # doctest: +SKIP
>>> board = exp.compare(); ev = exp.evaluate(); exp.save("out/churn")  # doctest: +SKIP
>>> model = mw.load_model("out/churn")                   # doctest: +SKIP
"""

from modelworks.bundle import load_model
from modelworks.data.load import load
from modelworks.data.profile import profile
from modelworks.errors import ModelworksError
from modelworks.experiment import Experiment

__all__ = ["Experiment", "ModelworksError", "load", "load_model", "profile"]
__version__ = "0.1.0"
