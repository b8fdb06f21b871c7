"""Early stopping on a fold's validation part, and a deadline that ends a booster's fit (or the
tabular network's, :mod:`modelworks.models.neural`, whose ``fit_stopping`` applies the same rule to epochs).

LightGBM, XGBoost and CatBoost each stop early in their own way; :func:`fit_early_stopped` gives them
one rule. The patience grows with the best round so far, as AutoGluon's adaptive early stopping does
(``autogluon.core.utils.early_stopping.AdaptiveES``: 30% of the best round plus 10, between 20 and
300): a model that is best at round 40 is not fitted 300 rounds more, one still improving at round
800 is given room. The rounds each fold kept are what the final fits use (AutoGluon's ``refit_full``
does the same: the final model on all rows has no validation part left to stop on). The deadline is
checked after every round, so a fit far slower than estimated ends at the run's deadline instead of
overrunning it; the caller then drops the model. Libraries are imported only when their model is
fitted.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

from modelworks.models.wrappers import LabelEncodedClassifier

#: Adaptive patience: ``RATE * best round + OFFSET``, clipped to ``[LEAST, MOST]``.
RATE, OFFSET, LEAST, MOST = 0.3, 10, 20, 300


@dataclass
class Stopping:
    """Tracks the validation loss round by round and says when to stop.

    Parameters
    ----------
    most : int
        Upper bound of the patience (the spec's ``patience``).
    deadline : float or None
        ``time.perf_counter()`` at which the fit ends whatever the loss does.
    """

    most: int = MOST
    deadline: float | None = None
    best_loss: float = math.inf
    best_round: int = 0  # 0-based
    late: bool = False

    def patience(self) -> int:
        return int(min(self.most, max(LEAST, RATE * (self.best_round + 1) + OFFSET)))

    def stop(self, round_: int, loss: float) -> bool:
        """Record the validation ``loss`` after 0-based round ``round_``; whether to stop now."""
        if loss < self.best_loss:
            self.best_loss, self.best_round = loss, round_
        if self.deadline is not None and time.perf_counter() >= self.deadline:
            self.late = True
            return True
        return round_ - self.best_round >= self.patience()

    @property
    def rounds(self) -> int:
        """Rounds up to and including the best one."""
        return self.best_round + 1


def booster_of(model):
    """The booster itself, inside the zoo's wrapper where it has one (XGBoost classifiers are
    label-encoded)."""
    return model.estimator if isinstance(model, LabelEncodedClassifier) else model


def _library(estimator) -> str:
    return type(estimator).__module__.split(".")[0]


def fit_early_stopped(
    estimator, X, y, X_val, y_val, patience: int = MOST, deadline: float | None = None
) -> tuple[int, bool]:
    """Fit a LightGBM, XGBoost or CatBoost ``estimator`` (possibly inside
    :class:`~modelworks.models.wrappers.LabelEncodedClassifier`), stopping when its loss on
    ``(X_val, y_val)`` has not improved for the adaptive patience (at most ``patience`` rounds), or at
    ``deadline`` (``time.perf_counter()`` seconds). The fitted model predicts with its best round.

    Returns
    -------
    rounds : int
        Boosting rounds up to the best validation loss.
    stopped : bool
        Whether the deadline ended the fit.
    """
    inner = booster_of(estimator)
    if hasattr(inner, "fit_stopping"):  # the tabular network stops early itself, by the same rule
        return inner.fit_stopping(X, y, X_val, y_val, patience, deadline)
    library = _library(inner)
    tracker = Stopping(patience, deadline)
    if library == "lightgbm":
        import lightgbm

        def callback(env) -> None:
            name, metric, loss, higher_is_better = env.evaluation_result_list[0][:4]
            last = env.iteration == env.end_iteration - 1  # then too: predict with the best round
            if tracker.stop(env.iteration, -loss if higher_is_better else loss) or last:
                best = [(name, metric, tracker.best_loss, higher_is_better)]
                raise lightgbm.callback.EarlyStopException(tracker.best_round, best)

        with warnings.catch_warnings():
            # LightGBM 4.7 deprecates eval_set for eval_X / eval_y, whose labels it does not encode
            warnings.filterwarnings("ignore", message=".*eval_set.*deprecated", category=Warning)
            estimator.fit(X, y, eval_set=[(X_val, y_val)], callbacks=[callback])
    elif library == "xgboost":
        import xgboost

        class Callback(xgboost.callback.TrainingCallback):
            def after_iteration(self, model, epoch, evals_log) -> bool:
                losses = next(iter(next(iter(evals_log.values())).values()))
                stop = tracker.stop(epoch, float(losses[-1]))
                model.set_attr(best_iteration=str(tracker.best_round))  # what predict uses
                return stop

        inner.set_params(callbacks=[Callback()])
        try:
            estimator.fit(X, y, eval_set=[(X_val, y_val)], verbose=False)
        finally:  # the callback's class is local: the fitted model would not pickle with it
            inner.set_params(callbacks=None)
            getattr(estimator, "estimator_", estimator).set_params(callbacks=None)
    elif library == "catboost":

        class CatCallback:
            def after_iteration(self, info) -> bool:  # CatBoost goes on while this is True
                losses = next(iter(info.metrics["validation"].values()))
                return not tracker.stop(info.iteration - 1, float(losses[-1]))

        # use_best_model: the fitted model is cut back to its best round
        estimator.fit(X, y, eval_set=(X_val, y_val), use_best_model=True, callbacks=[CatCallback()])
    else:
        raise TypeError(f"no early stopping for {type(inner).__name__}")
    return tracker.rounds, tracker.late


def forget_validation(estimator):
    """Drop the validation scores a booster fitted by :func:`fit_early_stopped` keeps (LightGBM's
    ``best_score_`` and ``evals_result_`` are ``OrderedDict``s, which the bundle's trusted types
    refuse); what it predicts with, its best round, stays. Returns ``estimator``."""
    inner = booster_of(estimator)
    if _library(inner) == "lightgbm":
        booster = getattr(inner, "_Booster", None)
        for records in (
            getattr(inner, "_best_score", None),
            getattr(inner, "_evals_result", None),
            getattr(booster, "best_score", None),
        ):
            if isinstance(records, dict):  # OrderedDict and defaultdict are dicts
                records.clear()
    return estimator


def set_rounds(estimator, rounds: int):
    """Fix the number of boosting rounds of an unfitted booster (what its folds' early stopping
    found); returns ``estimator``."""
    inner = booster_of(estimator)
    if hasattr(inner, "fit_stopping"):  # the tabular network: epochs
        inner.set_params(epochs=int(rounds))
        return estimator
    inner.set_params(**{"iterations" if _library(inner) == "catboost" else "n_estimators": int(rounds)})
    return estimator
