"""Significance in the leaderboard: tie groups, the verdict in words, --prefer, degraded cases."""

from __future__ import annotations

import numpy as np
import pytest

from modelworks.experiment import Experiment
from modelworks.search.leaderboard import Leaderboard, ModelResult


def _result(name: str, scores: list[float], simplicity: int = 5, fit: float = 1.0) -> ModelResult:
    k = len(scores)
    return ModelResult(name, name, {"roc_auc": scores}, [fit] * k, [1.0] * k, simplicity)


def _board(*results: ModelResult, prefer: str = "best") -> Leaderboard:
    board = Leaderboard("roc_auc", ["roc_auc"], list(results))
    board.test_significance(test_fraction=1 / 4, prefer=prefer)
    return board


def test_close_models_are_tied_and_a_clearly_worse_one_is_not() -> None:
    best = [0.90, 0.91, 0.89, 0.92, 0.90]
    close = [0.905, 0.905, 0.895, 0.915, 0.895]
    bad = [0.70, 0.73, 0.68, 0.72, 0.69]
    board = _board(_result("a", best), _result("b", close), _result("c", bad))
    assert board.significance["b"].extra["tied"]
    assert not board.significance["c"].extra["tied"]
    assert board.groups == {"a": 1, "b": 1, "c": 2}
    text = board.verdict()
    assert text.startswith("a is best; b (p = ")
    assert "not significantly worse" in text and "c is significantly worse" in text
    frame = board.to_frame().set_index("model")
    assert frame.loc["a", "tied_with_best"] and frame.loc["b", "tied_with_best"]
    assert not frame.loc["c", "tied_with_best"]
    assert frame.loc["c", "p_vs_best"] < 0.05 <= frame.loc["b", "p_vs_best"]


def test_identical_scores_are_tied_with_a_clear_reading() -> None:
    scores = [0.8, 0.82, 0.81, 0.79, 0.8]
    board = _board(_result("a", scores), _result("b", list(scores)))
    assert board.significance["b"].extra["tied"]
    assert not board.significance["b"].applicable
    assert "identical" in board.significance["b"].reading


def test_prefer_simple_and_fast_choose_within_the_tie_group() -> None:
    best = [0.90, 0.91, 0.89, 0.92, 0.90]
    results = [
        _result("boosted", best, simplicity=4, fit=5.0),
        _result("linear", [0.905, 0.905, 0.895, 0.915, 0.895], simplicity=0, fit=0.1),
        _result("tree", [0.70, 0.71, 0.69, 0.72, 0.70], simplicity=0, fit=0.01),
    ]
    assert _board(*results).chosen == "boosted"
    assert _board(*results, prefer="simple").chosen == "linear"  # tree is simpler but worse
    assert _board(*results, prefer="fast").chosen == "linear"
    assert "Chosen with --prefer simple: linear" in _board(*results, prefer="simple").verdict()


@pytest.mark.parametrize("task_target", ["binary", "multiclass", "regression"])
def test_every_task_gets_significance_with_two_folds(task_target, churn_df, regression_df) -> None:
    if task_target == "regression":
        df, target = regression_df, regression_df.columns[-1]
    elif task_target == "multiclass":
        df, target = churn_df.drop(columns=["will_churn"]), "plan"
    else:
        df, target = churn_df, "will_churn"
    exp = Experiment(df, target, models=["linear", "decision_tree"], cv=2, n_jobs=1, ensemble=False)
    board = exp.compare()
    assert exp.task == task_target
    other = board.results[1].name
    test = board.significance[other]
    assert test.inputs and np.isfinite(test.extra["p_holm"])
    summary = exp.summary()
    assert summary["significance"]["vs_best"][other]["p_value"] == pytest.approx(test.p_value)
    assert summary["verdict"] == board.verdict()
    assert set(summary["test"]["intervals"]) == set(exp.metrics)
    for metric, (low, high) in summary["test"]["intervals"].items():
        assert low <= summary["test"]["metrics"][metric] <= high


def test_binary_threshold_is_tuned_out_of_fold_and_applied(churn_df) -> None:
    exp = Experiment(churn_df, "will_churn", models=["linear"], cv=3, n_jobs=1)
    exp.evaluate()
    choice = exp.threshold_choice
    assert choice is not None and choice.objective == "f1"
    proba = exp.best_model.predict_proba(exp.X_test)[:, 1]
    expected = np.where(proba >= choice.threshold, "yes", "no")
    np.testing.assert_array_equal(exp.best_model.predict(exp.X_test), expected)
    assert exp.summary()["test"]["threshold"]["threshold"] == pytest.approx(choice.threshold)

    costly = Experiment(churn_df, "will_churn", models=["linear"], cv=3, n_jobs=1, costs=(1.0, 10.0))
    costly.evaluate()
    assert costly.threshold_choice.objective == "cost"
    assert costly.threshold_choice.threshold < choice.threshold  # missed churners cost more

    plain = Experiment(churn_df, "will_churn", models=["linear"], cv=3, n_jobs=1, threshold=False)
    plain.evaluate()
    assert plain.threshold_choice is None
    np.testing.assert_array_equal(
        plain.best_model.predict(plain.X_test),
        np.where(plain.best_model.predict_proba(plain.X_test)[:, 1] >= 0.5, "yes", "no"),
    )


def test_repeated_cv_multiplies_the_folds(churn_df) -> None:
    exp = Experiment(churn_df, "will_churn", models=["linear", "decision_tree"], cv=3, cv_repeats=2, n_jobs=1)
    board = exp.compare()
    assert len(exp.folds) == 6
    assert all(len(r.fold_scores["roc_auc"]) == 6 for r in board.results)
    assert board.significance[board.results[1].name].inputs
