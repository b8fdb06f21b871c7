"""The finishing stage's pieces: the learning curve (when the budget leaves room for it), the clock of
the report's figures, and the record of the run that ``metrics.json`` holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelworks.evaluate.metrics import METRICS
from modelworks.evaluate.resampling import BCA_MAX_ROWS
from modelworks.search.budget import RESERVE, Budget, FinishCost
from modelworks.search.leaderboard import ModelResult
from modelworks.search.learning import (
    CURVE_FOLDS,
    FEWEST_CURVE_FOLDS,
    LearningCurve,
    curve_seconds,
    learning_curve,
)
from modelworks.workflows.tabular._models import Models

if TYPE_CHECKING:
    from modelworks.report._figures import FigureClock
    from modelworks.workflows.tabular._experiment import Experiment


def curve_of(
    models: Models, name: str, result: ModelResult, budget: Budget, finish: FinishCost
) -> LearningCurve:
    """Scores of ``name``'s pipeline against training rows on the first folds of the comparison, or
    a curve that says why it was skipped: the report and the bundle come after it, so their time
    stays reserved; a curve that does not fit on all its folds is drawn on fewer."""
    split = models.split
    needed = finish.seconds(result)
    fits = [
        (folds, curve_seconds(result, len(split.folds[0][0]), folds))
        for folds in range(CURVE_FOLDS, FEWEST_CURVE_FOLDS - 1, -1)
    ]
    folds = next((f for f, seconds in fits if budget.remaining() >= seconds + needed + RESERVE), None)
    if folds is None:
        return LearningCurve(
            name,
            split.metric,
            METRICS[split.metric].greater_is_better,
            skipped=f"would take about {fits[-1][1]:.0f}s; of the "
            f"{max(budget.remaining(), 0):.0f}s left in the time budget, {needed:.0f}s are kept "
            "for the report and the bundle",
        )
    return learning_curve(
        name,
        models.pipeline(name),
        split.X_train,
        split.y_train,
        split.folds[: split.cv][:folds],
        split.metric,
        split.classes,
        split.positive_label,
        seed=split.seed,
    )


def figure_clock(models: Models, result: ModelResult, budget: Budget, finish: FinishCost) -> FigureClock:
    """When the report's figures must end and what each is expected to take: the budget's end less
    the saving of the bundle, the drawing speed measured at set-up, the chosen model's prediction
    costs ``result`` (see :func:`modelworks.report._figures.draw_sections`)."""
    from modelworks.plots.accessors import figure_predictions
    from modelworks.report._figures import FigureClock

    calls = figure_predictions(len(models.split.X_test), len(models.split.columns))
    return FigureClock(
        budget.figures_deadline(),
        finish.figure_seconds,
        finish.n_rows,
        finish.save_units(result),
        {figure: result.prediction_seconds(rows, n) for figure, (rows, n) in calls.items()},
    )


def record(exp: Experiment) -> dict:
    """Everything ``metrics.json`` records about a compared and tested experiment."""
    board, evaluation, split = exp.compare(), exp.evaluate(), exp.split
    settings = exp.settings
    optional = {
        "tuning": exp.tuning,
        "bagging": exp.bagging,
        "stacking": exp.stacking,
    }
    return {
        "task": split.task,
        "task_reason": split.task_reason,
        "metric": split.metric,
        "metrics": split.metrics,
        "seed": settings.seed,
        "cv_folds": settings.cv,
        "test_size": settings.test_size,
        "rows": {"train": len(split.X_train), "test": len(split.X_test)},
        "split": split.split_record,
        "checks": [finding.to_dict() for finding in split.checks],
        "row_plan": exp.rows.to_dict(),
        "best_model": board.best.name,
        "chosen_model": board.chosen,
        "prefer": board.prefer,
        "cv_repeats": settings.cv_repeats,
        "verdict": board.verdict(),
        "test_intervals": {
            "method": "bootstrap over test rows (scipy.stats.bootstrap, metrics vectorised over "
            f"resamples): BCa up to {BCA_MAX_ROWS} rows, percentile beyond",
            "confidence": 0.95,
            "seed": settings.seed,
            **exp.interval_plan.to_dict(),
        },
        "significance": {
            "test": "corrected resampled t-test (Nadeau & Bengio 2003), Holm-adjusted across models",
            "alpha": settings.alpha,
            "metric": split.metric,
            "vs_best": {n: t.to_dict() for n, t in board.significance.items()},
            "tie_groups": board.groups,
        },
        "test": evaluation.to_dict(),
        "leaderboard": board.to_frame().to_dict(orient="records"),
        "fold_scores": board.fold_scores(),
        "skipped": [{"model": n, "reason": r} for n, r in board.skipped],
        "cleaning": split.cleaning.to_dict(),
        **{key: value.to_dict() for key, value in optional.items() if value is not None},
        **({"calibration": exp.calibration.to_dict()} if exp.calibration is not None else {}),
        "time_budget": exp.budget.seconds,
        "elapsed_seconds": round(exp.budget.elapsed(), 3),
        "data_sha256": exp.data_sha256,
        **({"learning_curve": exp._curve.to_dict()} if exp._curve is not None else {}),
        **({"large_table": exp.large_table.to_dict()} if exp.large_table is not None else {}),
    }
