"""Small scikit-learn meta-estimators the zoo needs."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted


class LabelEncodedClassifier(ClassifierMixin, BaseEstimator):
    """Fit a classifier on labels encoded as 0..K-1 and answer in the original labels.

    XGBoost accepts only encoded labels; wrapping it keeps the pipeline's input and output in the
    user's own labels (``"yes"``/``"no"``, ``">50K"``...).

    Parameters
    ----------
    estimator : classifier
        The classifier to fit on encoded labels.
    """

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y, **fit_params):
        self.encoder_ = LabelEncoder().fit(y)
        self.classes_ = self.encoder_.classes_
        if "eval_set" in fit_params:  # validation parts for early stopping, labels encoded alike
            fit_params["eval_set"] = [(Xv, self.encoder_.transform(yv)) for Xv, yv in fit_params["eval_set"]]
        self.estimator_ = clone(self.estimator).fit(X, self.encoder_.transform(y), **fit_params)
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def unwrap(estimator):
    """The model inside the decision-threshold wrapper (``FixedThresholdClassifier`` around a
    ``FrozenEstimator``) that a tuned binary pipeline ends with; other estimators unchanged."""
    inner = getattr(estimator, "estimator_", None) or getattr(estimator, "estimator", None)
    if type(estimator).__name__ == "FixedThresholdClassifier" and inner is not None:
        return unwrap(inner)
    if type(estimator).__name__ == "FrozenEstimator":
        return estimator.estimator
    return estimator


class CalibratedClassifier(ClassifierMixin, BaseEstimator):
    """A fitted classifier whose probabilities pass through a calibration map.

    The map is fitted beforehand on the classifier's out-of-fold probabilities (see
    :mod:`modelworks.checks._calibration`), so nothing is learned here: ``fit`` only records the
    classes. ``predict`` is the most probable class of the calibrated probabilities (a binary decision
    threshold, when tuned, wraps this estimator and reads the same probabilities).

    Parameters
    ----------
    estimator : classifier
        Fitted; its ``predict_proba`` columns follow its ``classes_``.
    calibrator : object
        With ``transform(proba) -> proba`` (an ``n × k`` array in the same column order).
    """

    def __init__(self, estimator=None, calibrator=None):
        self.estimator = estimator
        self.calibrator = calibrator

    def fit(self, X=None, y=None):
        self.classes_ = np.asarray(self.estimator.classes_)
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "classes_")
        return self.calibrator.transform(np.asarray(self.estimator.predict_proba(X), dtype="float64"))

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
