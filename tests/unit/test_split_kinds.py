"""Splits by group (``--groups``) and by time (``--time-column``): no entity on both sides of any split,
every test row later than every training row, forward-chaining folds, and the record of the split."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from modelworks import Experiment
from modelworks.errors import ConfigError, DataError
from modelworks.search.splits import merge_groups, time_folds, time_holdout
from modelworks.settings import RunSettings
from modelworks.workflows.tabular._split import split_table


def _patients(n_patients: int = 120, visits: int = 4, seed: int = 0) -> pd.DataFrame:
    """Visits of patients whose outcome is mostly their own (an entity effect) plus a visit-level signal."""
    rng = np.random.default_rng(seed)
    patient = np.repeat(np.arange(n_patients), visits)
    effect = rng.normal(size=n_patients)
    x = rng.normal(size=len(patient))
    return pd.DataFrame(
        {
            "patient_id": [f"p{p:04d}" for p in patient],
            "x": x,
            "marker": effect[patient] + rng.normal(scale=0.3, size=len(patient)),
            "outcome": np.where(effect[patient] + 0.5 * x > 0, "ill", "well"),
        }
    )


def _daily(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """A daily series (two rows a day) whose level drifts upward, shuffled on disk."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2021-01-01", periods=n // 2, freq="D").repeat(2)
    a = rng.normal(size=n)
    df = pd.DataFrame({"day": days.strftime("%Y-%m-%d"), "a": a, "y": 2 * a + np.arange(n) / 50})
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


SMALL = {"models": ("linear", "decision_tree"), "cv": 3, "n_jobs": 1, "seed": 0}


def test_no_group_sits_on_both_sides_of_the_test_split_or_of_any_fold():
    df = _patients()
    split = split_table(df, "outcome", RunSettings(groups="patient_id", **SMALL))
    train_ids = set(df["patient_id"])
    assert split.split_record["kind"] == "group" and split.split_record["column"] == "patient_id"
    assert split.split_record["groups"] == len(train_ids) == 120
    groups = split.scheme.groups
    assert groups is not None and len(groups) == len(split.X_train)
    for train, val in split.folds:
        assert not set(groups[train]) & set(groups[val])
    # the group column is not a feature, and says why
    assert "patient_id" not in {c["name"] for c in split.columns}
    assert any(
        d["name"] == "patient_id" and "--groups" in d["reason"] for d in split.cleaning.dropped_columns
    )
    # the test set's patients are none of the training part's
    assert not set(split.X_test["patient_id"]) & set(split.X_train["patient_id"])
    assert split.split_record["train_groups"] + split.split_record["test_groups"] == 120


def test_groups_join_identical_rows_across_entities():
    joined = merge_groups(np.array([0, 0, 1, 2, 3]), np.array([5, 6, 6, 7, 8]))
    # rows 0-1 share a group, rows 1-2 are identical rows: 0, 1 and 2 are one component
    assert joined[0] == joined[1] == joined[2] and len(set(joined)) == 3


def test_a_group_run_keeps_groups_in_bagging_and_records_the_split(tmp_path):
    df = _patients()
    exp = Experiment(df, "outcome", groups="patient_id", bag=True, tune=False, **SMALL)
    exp.compare()
    exp.evaluate()
    path = exp.save(tmp_path / "b", report=False)
    metrics = json.loads((path / "metrics.json").read_text())
    assert metrics["split"]["kind"] == "group"
    assert isinstance(metrics["checks"], list)
    schema = json.loads((path / "schema.json").read_text())
    assert "patient_id" not in [c["name"] for c in schema["columns"]]


def test_time_holdout_puts_every_test_row_after_every_training_row_and_keeps_ties_together():
    times = np.array([5, 1, 3, 3, 2, 4, 4, 4, 5, 1], dtype=float)
    train, test = time_holdout(times, 0.3)
    assert times[train].max() < times[test].min()
    assert len(train) + len(test) == len(times)
    train, test = time_holdout(times, 0.3, gap=1)
    assert times[test].min() - times[train].max() >= 2  # one distinct time (4) left out between them


def test_time_folds_chain_forward_and_respect_the_gap():
    times = np.repeat(np.arange(30, dtype=float), 3)
    folds = time_folds(times, 4)
    assert len(folds) == 4
    sizes = [len(tr) for tr, _ in folds]
    assert sizes == sorted(sizes) and sizes[0] > 0
    for train, val in folds:
        assert times[train].max() < times[val].min()
    gapped = time_folds(times, 4, gap=2)
    for train, val in gapped:
        assert times[val].min() - times[train].max() >= 3
    with pytest.raises(DataError, match="--cv 2"):
        time_folds(np.array([1.0, 1.0, 2.0, 2.0, 3.0]), 4)


def test_a_time_run_tests_on_the_latest_rows_with_forward_folds_and_scores_each_period(tmp_path):
    df = _daily()
    exp = Experiment(df, "y", time_column="day", tune=False, **SMALL)
    split = exp.split
    record = split.split_record
    assert record["kind"] == "time" and record["column"] == "day"
    assert pd.Timestamp(record["train_until"]) < pd.Timestamp(record["test_from"])
    train_days = pd.to_datetime(split.X_train["day"])
    test_days = pd.to_datetime(split.X_test["day"])
    assert train_days.max() < test_days.min()
    times = split.scheme.times
    for train, val in split.folds:
        assert times[train].max() < times[val].min()
    assert "day" in {c["name"] for c in split.columns}  # still a feature
    exp.compare()
    ev = exp.evaluate()
    periods = ev.extra["periods"]
    assert periods["metric"] == "rmse" and len(periods["scores"]) == 5
    assert sum(p["rows"] for p in periods["scores"]) == len(split.X_test)
    path = exp.save(tmp_path / "t")
    metrics = json.loads((path / "metrics.json").read_text())
    assert metrics["split"]["kind"] == "time" and metrics["test"]["periods"]["scores"]
    html = (path / "report.html").read_text()
    assert 'id="checks"' in html and "Test score per period" in html and "Split by time" in html


def test_without_options_the_split_kind_is_recorded():
    df = _patients()
    assert split_table(df, "outcome", RunSettings(**SMALL)).split_record["kind"] == "stratified"
    reg = _daily()
    assert split_table(reg, "y", RunSettings(**SMALL)).split_record["kind"] == "random"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"groups": "patient_id", "time_column": "day"}, "cannot be combined"),
        ({"time_gap": 2}, "needs --time-column"),
        ({"time_column": "day", "cv_repeats": 3}, "drop --cv-repeats"),
    ],
)
def test_split_options_that_no_split_could_honour_are_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        RunSettings(**options)


def test_unknown_or_unusable_split_columns_are_refused_naming_them():
    df = _patients()
    with pytest.raises(ConfigError, match="--groups patient: no such column"):
        split_table(df, "outcome", RunSettings(groups="patient", **SMALL))
    with pytest.raises(ConfigError, match="is the target"):
        split_table(df, "outcome", RunSettings(groups="outcome", **SMALL))
    with pytest.raises(ConfigError, match="--keep-column nope: no such column"):
        split_table(df, "outcome", RunSettings(keep_columns=("nope",), **SMALL))
    daily = _daily()
    daily.loc[3, "day"] = None
    with pytest.raises(DataError, match="missing on 1 row"):
        split_table(daily, "y", RunSettings(time_column="day", **SMALL))
    with pytest.raises(DataError, match="neither a date nor a number"):
        split_table(
            daily.assign(day=["x"] + ["2021-01-01"] * (len(daily) - 1)),
            "y",
            RunSettings(time_column="day", **SMALL),
        )
