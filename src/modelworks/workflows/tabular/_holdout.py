"""The test stage: the chosen model fitted on the training part and scored once on the test set,
with bootstrap intervals; then refitted on all rows (unless bagged, or ``refit=False``)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.pipeline import Pipeline

from modelworks.evaluate.evaluation import Evaluation, EvaluationContext, evaluate_predictions
from modelworks.evaluate.resampling import bootstrap_intervals, weighted_metric
from modelworks.evaluate.threshold import ThresholdChoice
from modelworks.models.threads import predict_on_one_thread
from modelworks.search.budget import IntervalPlan
from modelworks.search.fold import predict_scores
from modelworks.search.sampling import RowPlan
from modelworks.workflows.tabular._calibrate import Calibration
from modelworks.workflows.tabular._decide import Bagging, with_threshold
from modelworks.workflows.tabular._models import Models
from modelworks.workflows.tabular._plan import fit_data
from modelworks.workflows.tabular._scheme import period_scores


@dataclass
class Tested:
    """What the test stage leaves: the evaluation, the model it scored (fitted on the training
    part), the model to save, and the test set's predictions."""

    evaluation: Evaluation
    train_model: Pipeline
    final_model: Pipeline
    predictions: np.ndarray


def evaluate_once(
    models: Models,
    name: str,
    choice: ThresholdChoice | None,
    bagging: Bagging,
    rows: RowPlan,
    refit: bool,
    intervals: IntervalPlan,
    calibration: Calibration | None = None,
) -> Tested:
    """Score ``name`` once on the test set: as the average of its fold models when ``bagging``
    finds that better (the check and the bag's fits run here, with the test's warnings silenced),
    its probabilities through ``calibration``'s map when one is applied."""
    split = models.split
    threshold = None if choice is None else choice.threshold
    calibrated = calibration.wrap if calibration is not None else (lambda model: model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bagged = bagging.fit(name)
        model = calibrated(bagged or models.pipeline(name).fit(*fit_data(split, rows, all_rows=False)))
        pred = predict_scores(model, split.X_test, split.classes)
        train_model = with_threshold(
            predict_on_one_thread(model), threshold, split.classes, split.positive_label
        )
        evaluation = evaluate_predictions(
            name,
            split.task,
            split.metrics,
            split.y_test,
            pred,
            split.classes,
            split.positive_label,
            threshold=threshold,
        )
        y_test = split.y_test.to_numpy()
        evaluation.intervals = bootstrap_intervals(
            {
                m: weighted_metric(m, y_test, pred, split.classes, split.positive_label, threshold)
                for m in split.metrics
            },
            len(y_test),
            n_resamples=intervals.resamples,
            seed=split.seed,
        )
        if intervals.note:
            evaluation.extra["intervals_note"] = intervals.note
        periods = period_scores(
            split.scheme,
            weighted_metric(split.metric, y_test, pred, split.classes, split.positive_label, threshold),
            len(y_test),
        )
        if periods:
            evaluation.extra["periods"] = {"metric": split.metric, "scores": periods}
        final_model = train_model  # the fold models' average is saved as tested: nothing to refit
        if refit and bagged is None:
            final = calibrated(models.pipeline(name).fit(*fit_data(split, rows, all_rows=True)))
            final_model = with_threshold(
                predict_on_one_thread(final), threshold, split.classes, split.positive_label
            )
    evaluation.refit = refit and bagged is None
    if choice is not None:
        evaluation.extra["threshold"] = choice.to_dict()
    kinds = {c["name"]: c["kind"] for c in split.columns}
    evaluation.context = EvaluationContext(
        train_model,
        split.X_test[list(kinds)],  # the columns the model uses: dropped ones have no importance
        split.y_test,
        pred,
        split.classes,
        split.positive_label,
        threshold,
        kinds,
    )
    return Tested(evaluation, train_model, final_model, pred)
