"""The run's options as one object, and their checks, shared by the command line and the Python API.

:class:`RunSettings` is built once (by ``modelworks run`` from its flags, or by
:class:`~modelworks.experiment.Experiment` from its keywords) and travels whole. Each check raises
:class:`~modelworks.errors.ConfigError` with one sentence naming the option, the value and what to use
instead, before any data is read.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from modelworks.errors import ConfigError
from modelworks.options import (
    MAX_SEED,
    PREFER_CHOICES,
    UNSEEN_CHOICES,
    check_at_least,
    check_budget,
    check_choice,
    check_cluster,
    check_seed,
    check_share,
)


def check_options(
    *,
    time_budget: float | None = None,
    seed: int = 0,
    cv: int = 5,
    cv_repeats: int = 1,
    test_size: float = 0.2,
) -> None:
    """Refuse option values no run could honour (the checks of :mod:`modelworks.options`).

    Raises
    ------
    ConfigError
        If the budget is not a positive finite number of seconds, the seed is outside
        ``0..MAX_SEED``, ``cv < 2``, ``cv_repeats < 1`` or ``test_size`` is not strictly between 0 and 1.
    """
    check_budget(time_budget)
    check_seed(seed)
    check_at_least(cv, 2, "--cv", 5)
    check_at_least(cv_repeats, 1, "--cv-repeats", 3)
    check_share(test_size, "--test-size", example=0.2)


def check_folds(cv: int, n_train: int, largest_class: int | None) -> None:
    """Refuse more folds than the training rows (or, for classification, the largest class) allow."""
    limit = n_train if largest_class is None else min(n_train, largest_class)
    if cv > limit:
        what = f"{n_train} training rows" if largest_class is None else f"largest class's {limit} rows"
        raise ConfigError(f"--cv {cv} is more than the {what} allow; use --cv {max(2, min(limit, 5))}")


def check_split_options(groups: str | None, time_column: str | None, time_gap: int, cv_repeats: int) -> None:
    """Refuse combinations of ``--groups``, ``--time-column``, ``--time-gap`` and ``--cv-repeats``
    that no split could honour."""
    if groups is not None and time_column is not None:
        raise ConfigError(
            f"--groups {groups} and --time-column {time_column} cannot be combined: a time split already "
            "puts every later row in the test set; give one of them"
        )
    if time_gap and time_column is None:
        raise ConfigError(f"--time-gap {time_gap} needs --time-column; add it or drop --time-gap")
    check_at_least(time_gap, 0, "--time-gap", 0)
    if time_column is not None and cv_repeats > 1:
        raise ConfigError(
            f"--cv-repeats {cv_repeats} with --time-column: forward-chaining folds are the same at each "
            "repetition; drop --cv-repeats"
        )


@dataclass(frozen=True)
class RunSettings:
    """Every option of a run.

    Attributes
    ----------
    task : {"auto", "binary", "multiclass", "regression"}
        Detected from the target when ``"auto"``.
    metric : str, optional
        Ranking metric; defaults to ROC AUC (binary), log loss (multiclass), RMSE (regression).
    time_budget : float, optional
        Seconds for the whole run (comparison, evaluation, report and bundle); ``None``: no limit.
    cv : int
        Cross-validation folds.
    test_size : float
        Share of rows held out for the test set.
    models : tuple of str, optional
        Restrict the zoo to these model names.
    seed : int
        Seed of every random choice.
    n_jobs : int, optional
        Threads for models that use them; defaults to the number of CPUs.
    refit : bool
        Refit the chosen pipeline on all rows (train and test) before saving.
    ensemble : bool
        Also consider a weighted ensemble of the best models.
    cv_repeats : int
        Repeat the K-fold split this many times (more power for the significance tests).
    prefer : {"best", "simple", "fast"}
        Among the models tied with the best, which one to choose.
    threshold : bool
        Binary: tune the decision threshold out of fold (F1, or ``costs``).
    costs : tuple of float, optional
        Binary: costs of a false positive and a false negative.
    alpha : float
        Significance level of the comparisons.
    unseen_categories : {"reject", "allow"}
        Schema policy of the prediction server for categories never seen in training.
    drop_duplicates : bool
        Drop exact repeated rows. By default they are kept and grouped, so that no repeat sits on
        both sides of the test split or of a fold.
    tune : bool
        Tune the best booster family with Optuna in what is left of the time budget (a few trials
        without one).
    bag : bool
        Consider saving the chosen model as the average of its cross-validation fold models (chosen
        when a check on held-out rows finds it better than one refit; see
        :mod:`modelworks.search.bagging`).
    report : bool
        Whether the saved bundle gets ``report.html``; without it the budget keeps no time for the
        report's figures.
    cluster : str, optional
        Fit the cross-validation folds (and the tuner's trials) as tasks on a Dask cluster:
        ``"local:N"`` (N worker processes here) or a scheduler's address ``"tcp://HOST:PORT"``
        (:mod:`modelworks.distributed`). ``None``: worker processes of this machine.
    fold_workers : bool
        Without a cluster, fit the folds in single-threaded worker processes (with several cores;
        the default), or (``False``) in this process, each fit on ``n_jobs`` threads: no worker
        processes and their memory, what a large table's ``--full-data`` run does, whose boosters
        use threads well and end their own fits at the deadline.
    """

    task: str = "auto"
    metric: str | None = None
    time_budget: float | None = None
    cv: int = 5
    test_size: float = 0.2
    models: tuple[str, ...] | None = None
    seed: int = 0
    n_jobs: int | None = None
    refit: bool = True
    ensemble: bool = True
    cv_repeats: int = 1
    prefer: str = "best"
    threshold: bool = True
    costs: tuple[float, float] | None = None
    alpha: float = 0.05
    unseen_categories: str = "reject"
    drop_duplicates: bool = False
    tune: bool = True
    bag: bool = True
    report: bool = True
    cluster: str | None = None
    fold_workers: bool = True
    groups: str | None = None
    time_column: str | None = None
    time_gap: int = 0
    keep_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.models is not None and not isinstance(self.models, tuple):
            object.__setattr__(self, "models", tuple(self.models))
        if not isinstance(self.keep_columns, tuple):
            object.__setattr__(self, "keep_columns", tuple(self.keep_columns))
        check_split_options(self.groups, self.time_column, self.time_gap, self.cv_repeats)
        check_options(
            time_budget=self.time_budget,
            seed=self.seed,
            cv=self.cv,
            cv_repeats=self.cv_repeats,
            test_size=self.test_size,
        )
        if self.cluster is not None:
            object.__setattr__(self, "cluster", check_cluster(self.cluster))
        check_choice(self.prefer, PREFER_CHOICES, "--prefer")
        check_choice(self.unseen_categories, UNSEEN_CHOICES, "--unseen-categories")
        check_share(self.alpha, "--alpha", example=0.05)

    def replace(self, **changes: object) -> RunSettings:
        """These settings with ``changes`` (checked again); an unknown option name is refused."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"unknown run option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


__all__ = [
    "MAX_SEED",
    "PREFER_CHOICES",
    "UNSEEN_CHOICES",
    "RunSettings",
    "check_folds",
    "check_options",
    "check_split_options",
]
