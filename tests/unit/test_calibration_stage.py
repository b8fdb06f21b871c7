"""The calibration stage of a table run (MW601): measured on the chosen classifier's out-of-fold
predictions, applied when a map chosen in folds lowers the log loss, saved in the bundle, recorded."""

from __future__ import annotations

import json

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score

from modelworks import Experiment, load_model
from modelworks.models.wrappers import CalibratedClassifier, unwrap

SMALL = {"tune": False, "n_jobs": 1, "seed": 0, "bag": False, "ensemble": False}


def test_an_over_confident_classifier_is_calibrated_saved_and_recorded(churn_df, tmp_path):
    # naive Bayes on correlated columns is over-confident: its probabilities crowd 0 and 1
    exp = Experiment(churn_df, "will_churn", models=["gaussian_nb"], **SMALL)
    exp.compare()
    ev = exp.evaluate()
    cal = exp.calibration
    assert cal is not None and cal.applied and cal.chosen["method"] == "sigmoid"
    # ROC AUC leads a binary run: isotonic steps would tie scores, so it is not considered
    assert set(cal.chosen["log_loss"]) == {"none", "sigmoid"}
    assert cal.chosen["log_loss"]["sigmoid"] < cal.chosen["log_loss"]["none"]
    assert cal.finding.code == "MW601" and "sigmoid" in cal.finding.message
    assert isinstance(unwrap(exp.best_model.steps[-1][1]), CalibratedClassifier)
    # once on the test set: the calibrated probabilities beat the same model's raw ones
    raw = exp.pipeline("gaussian_nb").fit(exp.X_train, exp.y_train)
    raw_loss = log_loss(exp.y_test, raw.predict_proba(exp.X_test), labels=raw.classes_)
    assert ev.metrics["log_loss"] < raw_loss
    # a strictly increasing map keeps the ranking
    pos = list(raw.classes_).index("yes")
    calibrated = exp._train_model.predict_proba(exp.X_test)[:, pos]
    assert roc_auc_score(exp.y_test == "yes", calibrated) == roc_auc_score(
        exp.y_test == "yes", raw.predict_proba(exp.X_test)[:, pos]
    )
    path = exp.save(tmp_path / "nb", report=False)
    loaded = load_model(path)
    np.testing.assert_allclose(loaded.predict_proba(exp.X_test), exp.best_model.predict_proba(exp.X_test))
    metrics = json.loads((path / "metrics.json").read_text())
    assert metrics["calibration"]["method"] == "sigmoid" and len(metrics["calibration"]["reliability"]) == 10
    assert "MW601" in [f["code"] for f in metrics["checks"]]
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["runtime"]["default"] == "sklearn" and "calibration" in manifest["runtime"]["reason"]


def test_multiclass_may_use_isotonic_and_regression_has_no_calibration(regression_df):
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True).frame
    exp = Experiment(iris, "target", task="multiclass", models=["gaussian_nb"], **SMALL)
    exp.compare()
    exp.evaluate()
    assert exp.calibration is not None and set(exp.calibration.chosen["log_loss"]) == {
        "none",
        "sigmoid",
        "isotonic",
    }
    reg = Experiment(regression_df, regression_df.columns[-1], models=["linear"], **SMALL)
    reg.compare()
    reg.evaluate()
    assert reg.calibration is None and "calibration" not in reg.summary()
