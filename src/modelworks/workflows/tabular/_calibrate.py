"""The calibration stage: are the chosen classifier's probabilities frequencies? Measured on its
out-of-fold predictions (expected calibration error, reliability curve), and a calibration map
(sigmoid or isotonic) applied when, chosen in folds, it measurably lowers the log loss (MW601)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.pipeline import Pipeline

from modelworks.checks import Finding
from modelworks.checks._calibration import (
    Calibrator,
    calibration_finding,
    choose_calibration,
    class_codes,
    fit_calibrator,
    reliability_curve,
)
from modelworks.models.wrappers import CalibratedClassifier
from modelworks.workflows.tabular._models import Models

#: Ranking metrics a calibration map must not change.
RANKING_METRICS = frozenset({"roc_auc", "average_precision"})


@dataclass
class Calibration:
    """What the calibration stage measured and decided for one classifier.

    Attributes
    ----------
    model : str
        The classifier it is about.
    chosen : dict
        :func:`~modelworks.checks._calibration.choose_calibration`'s figures: the method, the held-out
        log loss of each method, the calibration error before and after.
    calibrator : Calibrator or None
        The map fitted on every out-of-fold prediction, when one is applied.
    finding : Finding
        The MW601 finding.
    curve : list of dict
        The reliability curve of the out-of-fold probabilities (bins, mean predicted, observed, rows).
    oof : ndarray
        Out-of-fold probabilities of the compared rows as the saved model would give them: cross-fitted
        through the map when one is applied (each fold's rows mapped by a map fitted on the other
        folds), else the raw ones. The decision threshold is chosen on these.
    """

    model: str
    chosen: dict
    calibrator: Calibrator | None
    finding: Finding
    curve: list[dict]
    oof: np.ndarray

    @property
    def applied(self) -> bool:
        return self.calibrator is not None

    def wrap(self, model: Pipeline) -> Pipeline:
        """``model`` (fitted) with its last step's probabilities through the map, when one applies."""
        if self.calibrator is None:
            return model
        name, last = model.steps[-1]
        model.steps[-1] = (name, CalibratedClassifier(last, self.calibrator).fit())
        return model

    def to_dict(self) -> dict:
        """The ``"calibration"`` entry of ``metrics.json``."""
        return {
            "model": self.model,
            "method": self.chosen["method"],
            "chosen_by": "log loss of each map fitted on the other folds' out-of-fold predictions, applied "
            "only when at least 1% lower and significantly so (one-sided paired t-test, p < 0.05)",
            "log_loss": self.chosen["log_loss"],
            "ece_before": self.chosen["ece_before"],
            "ece_after": self.chosen["ece_after"],
            "reliability": self.curve,
        }


def decide_calibration(models: Models, name: str) -> Calibration | None:
    """Measure ``name``'s calibration on its out-of-fold predictions and choose a map (classification
    only; ``None`` for regression)."""
    split = models.split
    if not split.classification or split.classes is None:
        return None
    rows = split.compared()
    proba = models.oof_of(name)[rows]
    y = split.y_train.to_numpy()[rows]
    position = np.full(len(split.y_train), -1)
    position[rows] = np.arange(len(rows))
    fold = np.full(len(rows), -1)
    for i, (_, val) in enumerate(split.folds[: split.cv]):
        fold[position[val]] = i
    # the sigmoid map is strictly increasing, so a binary classifier's ranking (its ROC AUC) is kept;
    # isotonic steps tie scores, so it is considered only where no ranking metric leads the run
    methods = ("none", "sigmoid") if split.metric in RANKING_METRICS else ("none", "sigmoid", "isotonic")
    chosen = choose_calibration(y, proba, fold, split.classes, methods)
    finding = calibration_finding(y, proba, split.classes, chosen)
    curve = reliability_curve(class_codes(y, split.classes), proba).to_dict(orient="records")
    if chosen["method"] == "none":
        return Calibration(name, chosen, None, finding, curve, proba)
    cross_fitted = np.empty_like(proba)
    for f in np.unique(fold[fold >= 0]):
        held = fold == f
        mapping = fit_calibrator(chosen["method"], y[~held], proba[~held], split.classes)
        cross_fitted[held] = mapping.transform(proba[held])
    calibrator = fit_calibrator(chosen["method"], y, proba, split.classes)
    return Calibration(name, chosen, calibrator, finding, curve, cross_fitted)
