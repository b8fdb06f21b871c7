"""The table run: :class:`Experiment` and its stages (split plan, budget plan, comparison,
combination, decision, test, finish), each a private module of this package; :func:`run_table` is
the whole run from a path to a bundle, as ``modelworks run`` does it."""

from modelworks.workflows.tabular._experiment import Experiment
from modelworks.workflows.tabular._models import build_pipeline
from modelworks.workflows.tabular._run import RunView, TableRun, run_table
from modelworks.workflows.tabular._split import Cleaning, Split

__all__ = ["Cleaning", "Experiment", "RunView", "Split", "TableRun", "build_pipeline", "run_table"]
