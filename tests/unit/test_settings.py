"""The run's options travel as one checked object, from the command line or the Python API."""

from __future__ import annotations

import dataclasses

import pytest

from modelworks.errors import ConfigError
from modelworks.experiment import Experiment
from modelworks.settings import RunSettings


def test_defaults_and_a_checked_copy() -> None:
    s = RunSettings()
    assert (s.cv, s.test_size, s.time_budget, s.prefer) == (5, 0.2, None, "best")
    t = s.replace(cv=3, models=["ridge", "linear"])
    assert t.cv == 3 and t.models == ("ridge", "linear") and s.cv == 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.cv = 4  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"cv": 1}, "--cv"),
        ({"time_budget": -5}, "--time-budget"),
        ({"prefer": "quickest"}, "--prefer"),
        ({"unseen_categories": "ignore"}, "--unseen-categories"),
        ({"test_size": 1.0}, "--test-size"),
    ],
)
def test_bad_values_are_refused_with_the_option_named(changes: dict, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        RunSettings(**changes)
    with pytest.raises(ConfigError, match=words):
        RunSettings().replace(**changes)


def test_an_unknown_option_is_a_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match="time_budgt"):
        RunSettings().replace(time_budgt=10)


def test_experiment_takes_settings_and_keywords_override_them(churn_df) -> None:
    base = RunSettings(cv=3, seed=4, models=("linear", "ridge"), time_budget=30)
    exp = Experiment(churn_df, "will_churn", base, seed=7)
    assert exp.settings == base.replace(seed=7)
    assert (exp.cv, exp.seed, [s.name for s in exp.specs]) == (3, 7, ["linear", "ridge"])
    assert Experiment(churn_df, "will_churn", cv=3, models=["linear"]).settings.models == ("linear",)
    with pytest.raises(ConfigError, match="--cv"):
        Experiment(churn_df, "will_churn", base, cv=1)


@pytest.mark.slow
def test_folds_fitted_in_this_process_on_every_thread_when_asked(churn_df) -> None:
    """``fold_workers=False`` (a large table's ``--full-data`` run): no worker processes, and each
    fit gets the run's threads instead of one."""
    inside = Experiment(churn_df, "will_churn", cv=3, n_jobs=2, models=["lightgbm"], fold_workers=False)
    assert inside._workers is None
    assert inside.pipeline("lightgbm")[-1].get_params()["n_jobs"] == 2
    default = Experiment(churn_df, "will_churn", cv=3, n_jobs=2, models=["lightgbm"])
    assert default._workers is not None and default._workers.size == 2
