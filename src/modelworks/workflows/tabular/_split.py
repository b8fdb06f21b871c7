"""The split plan: the first stage of a table run, before any model is fitted.

The target found and the task named, rows without a target dropped, repeated rows grouped (or dropped),
the input checks, the held-out test set, the columns kept (and why the others were left out), the
cross-validation folds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelworks.checks import CheckInput, Finding, dropped_columns, run_checks
from modelworks.data.checks import check_classes, check_features, check_not_only_copies, target_copies
from modelworks.data.kinds import ColumnInfo, infer_kinds
from modelworks.data.load import consolidated
from modelworks.data.target import detect_task, find_target, positive_label
from modelworks.errors import ModelworksError
from modelworks.evaluate.metrics import metric_names
from modelworks.models.registry import ModelSpec, candidates
from modelworks.search.splits import rare_labels, row_groups
from modelworks.settings import RunSettings, check_folds
from modelworks.workflows.tabular._scheme import Scheme, describe, named_column, scheme_of


@dataclass
class Cleaning:
    """What was dropped or changed before modelling, and why."""

    rows_in: int = 0
    missing_target_rows: int = 0
    duplicate_rows: int = 0
    #: Whether the repeated rows were dropped (``drop_duplicates=True``) or kept, grouped.
    duplicates_dropped: bool = False
    #: Classes with a single row (or one group of identical rows): trained on, never in the test set.
    rare_classes: list[str] = field(default_factory=list)
    dropped_columns: list[dict] = field(default_factory=list)
    parsed_columns: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Split:
    """The rows and columns a table run works on, fixed before any model is fitted.

    Attributes
    ----------
    task, task_reason : str
        ``binary``, ``multiclass`` or ``regression``, and why.
    metrics : list of str
        The ranking metric first, then the others reported.
    specs : list of ModelSpec
        The candidate models for this task.
    X_train, X_test, y_train, y_test
        The training part and the test set (touched once, by the test stage).
    groups : ndarray or None
        Group of each training row (identical rows share one), kept together by every split.
    columns : list of dict
        The feature columns kept, with their kinds (:func:`~modelworks.data.kinds.infer_kinds`).
    classes, positive_label
        The sorted classes and the positive one (binary), or ``None`` for regression.
    folds : list of (train, validation) index arrays
        The cross-validation folds over the training part, ``cv`` per repetition; the row plan may
        replace them with folds over a sample.
    cv, seed : int
        Folds per repetition and the seed of every split.
    n_rows : int
        Rows kept (training part and test set).
    cleaning : Cleaning
        What was dropped or changed, and why.
    scheme : Scheme
        The rule of every split (random, stratified, by group, by time); its ``groups`` and
        ``times`` are of the training rows.
    checks : list of Finding
        What the methodology checks (:mod:`modelworks.checks`) found.
    split_record : dict
        The ``"split"`` entry of ``metrics.json``.
    """

    task: str
    task_reason: str
    metrics: list[str]
    specs: list[ModelSpec]
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series
    columns: list[dict]
    classes: list | None
    positive_label: Any
    folds: list[tuple[np.ndarray, np.ndarray]]
    cv: int
    seed: int
    n_rows: int
    cleaning: Cleaning
    scheme: Scheme
    checks: list[Finding]
    split_record: dict

    @property
    def groups(self) -> np.ndarray | None:
        """Group of each training row (:attr:`scheme`'s), kept together by every split."""
        return self.scheme.groups

    @property
    def metric(self) -> str:
        """The ranking metric."""
        return self.metrics[0]

    @property
    def classification(self) -> bool:
        return self.task != "regression"

    def compared(self) -> np.ndarray:
        """Indices of the training rows the models are compared on (all, unless sampled)."""
        return np.unique(np.concatenate([val for _, val in self.folds[: self.cv]]))


def split_table(df: pd.DataFrame, target: str, settings: RunSettings) -> Split:
    """Check the table and plan its split (see the module's docstring).

    Raises
    ------
    ModelworksError
        With one sentence naming the fix, for a table no model can be honestly fitted and tested on.
    """
    cleaning = Cleaning(rows_in=len(df))
    y = find_target(df, target)
    task, task_reason = detect_task(y, settings.task)
    # the options that depend on the task are checked before the data
    metrics = metric_names(task, settings.metric)
    specs = candidates(task, list(settings.models) if settings.models else None)
    keep = y.notna()
    cleaning.missing_target_rows = int((~keep).sum())
    df = consolidated(df.loc[keep].reset_index(drop=True))
    for name in settings.keep_columns:
        named_column(df, name, "--keep-column", target)
    check_not_only_copies(df.drop(columns=[target]), df[target])
    groups = row_groups(df)
    cleaning.duplicates_dropped = settings.drop_duplicates
    if groups is not None:
        repeated = pd.Series(groups).duplicated().to_numpy()
        cleaning.duplicate_rows = int(repeated.sum())
        if settings.drop_duplicates:
            df, groups = df.loc[~repeated].reset_index(drop=True), None
    classification = task != "regression"
    scheme = scheme_of(df, target, groups, settings, classification)
    X, y = df.drop(columns=[target]), df[target]
    check_features(X)
    if classification:
        check_classes(y, settings.test_size, settings.cv)
        cleaning.rare_classes = [str(c) for c in rare_labels(y, scheme.groups)]
    stratified = classification and scheme.kind != "time"
    train, test = scheme.holdout(y, settings.test_size, settings.seed, stratified)
    X_train, X_test, y_train, y_test = (
        part.iloc[rows].reset_index(drop=True)
        for part, rows in ((X, train), (X, test), (y, train), (y, test))
    )
    split_record = describe(scheme, train, test, stratified)
    scheme.groups = None if scheme.groups is None else scheme.groups[train]
    if scheme.times is not None:
        scheme.times, scheme.test_times = scheme.times[train], scheme.times[test]
    check_folds(settings.cv, len(X_train), int(y_train.value_counts().max()) if classification else None)
    kinds = _features(X_train, y_train, scheme, cleaning)
    features = [c for c in X_train.columns if str(c) in kinds]
    # the rows keep their place in the file: the order checks (MW103, MW301) read it from the index
    findings = run_checks(
        CheckInput(
            X_train[features].set_axis(pd.Index(train)),
            y_train.set_axis(pd.Index(train)),
            task,
            kinds,
            X_test=X_test[features].set_axis(pd.Index(test)),
            split_kind=split_record["kind"],
            cv=settings.cv,
            seed=settings.seed,
            groups=settings.groups,
            time_column=settings.time_column,
            keep=settings.keep_columns,
        )
    )
    columns = _kept_columns(kinds, findings, settings.keep_columns, cleaning)
    classes = sorted(y.unique().tolist(), key=_sort_key) if classification else None
    folds = scheme.folds(
        y_train, np.arange(len(y_train)), settings.cv, settings.cv_repeats, settings.seed, stratified
    )
    return Split(
        task=task,
        task_reason=task_reason,
        metrics=metrics,
        specs=specs,
        X_train=X_train,
        X_test=X_test,
        y_train=y_train,
        y_test=y_test,
        columns=columns,
        classes=classes,
        positive_label=positive_label(classes) if classes and task == "binary" else None,
        folds=folds,
        cv=settings.cv,
        seed=settings.seed,
        n_rows=len(df),
        cleaning=cleaning,
        scheme=scheme,
        checks=findings,
        split_record=split_record,
    )


def _features(
    X_train: pd.DataFrame, y_train: pd.Series, scheme: Scheme, cleaning: Cleaning
) -> dict[str, ColumnInfo]:
    """The kind of every candidate feature column, judged on the training part only: the target's
    copies and the ``--groups`` column are not features (listed in ``cleaning`` with the reason)."""
    copies = set(target_copies(X_train, y_train))
    for name in sorted(copies):
        cleaning.dropped_columns.append(
            {"name": name, "reason": "copies the target (one-to-one with it): leakage"}
        )
    if scheme.kind == "group":
        cleaning.dropped_columns.append(
            {
                "name": scheme.column,
                "reason": "the --groups column: keeps each group's rows together, not a feature",
            }
        )
        copies.add(str(scheme.column))
    return infer_kinds(X_train.drop(columns=[c for c in X_train.columns if str(c) in copies]))


def _kept_columns(
    kinds: dict[str, ColumnInfo], findings: list[Finding], keep: tuple[str, ...], cleaning: Cleaning
) -> list[dict]:
    """The feature columns worth modelling; the others (identifiers, constants, the columns the checks
    found leaking the target unless kept) are listed in ``cleaning`` with the reason."""
    leaking = {d["name"]: d for d in dropped_columns(findings, keep)}
    columns = []
    for info in kinds.values():
        if info.name in leaking:
            cleaning.dropped_columns.append(leaking[info.name])
            continue
        if info.kind in ("identifier", "constant"):
            reason = (
                "identifier-like: unique per row, carries no pattern"
                if info.kind == "identifier"
                else "constant: a single value"
            )
            cleaning.dropped_columns.append({"name": info.name, "reason": reason})
            continue
        if info.parse:
            cleaning.parsed_columns.append({"name": info.name, "as": info.parse})
        columns.append(info.to_dict())
    if not columns:
        raise ModelworksError(
            "no usable feature columns remain after leaving out identifier, constant and leaking columns; "
            "add informative columns (or keep one with --keep-column)"
        )
    return columns


def _sort_key(v: object) -> tuple:
    return (0, v, "") if isinstance(v, (int, float, np.number)) else (1, 0, str(v))
