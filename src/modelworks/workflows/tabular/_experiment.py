"""``Experiment``: the public face of a table run, and the one place that says the order of its stages.

split plan (checks, test set, columns, folds) → budget plan (test intervals, report and bundle kept
out, rows sampled when the table is large) → comparison (schedule, cross-validation, tuning) →
combination (ensemble, stacking) → decision (threshold, bagging) → the test set once → finish (refit,
learning curve, report, bundle). Each stage is a module of this package, testable alone.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from modelworks.data._frames import data_hash
from modelworks.data.load import load
from modelworks.data.profile import MAX_DETAILED_COLUMNS, Profile, profile
from modelworks.data.schema import build_schema
from modelworks.evaluate.evaluation import Evaluation
from modelworks.evaluate.threshold import ThresholdChoice
from modelworks.search.budget import Budget, profile_columns
from modelworks.search.leaderboard import Leaderboard, ModelResult
from modelworks.search.learning import LearningCurve
from modelworks.settings import RunSettings
from modelworks.workflows.tabular._calibrate import Calibration, decide_calibration
from modelworks.workflows.tabular._compare import Comparison, fold_pool
from modelworks.workflows.tabular._decide import Bagging, decide_threshold
from modelworks.workflows.tabular._finish import curve_of, figure_clock, record
from modelworks.workflows.tabular._holdout import evaluate_once
from modelworks.workflows.tabular._models import Models
from modelworks.workflows.tabular._plan import fit_data, plan_finish, plan_row_sample
from modelworks.workflows.tabular._split import split_table

if TYPE_CHECKING:
    from modelworks.distributed._large import LargeTable
    from modelworks.plots.accessors import ExperimentPlots
    from modelworks.report._figures import FigureClock


class _Of:
    """An attribute read from one of the experiment's parts (``split``, ``models``, ``settings``…)."""

    def __init__(self, part: str, name: str | None = None):
        self.part, self.name = part, name

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = self.name or name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return self if obj is None else getattr(getattr(obj, self.part), str(self.name))


class Experiment:
    """Compare models on a table, evaluate the best once on held-out rows, and save it.

    Parameters
    ----------
    data : DataFrame or path-like
        The table (anything :func:`modelworks.load` reads).
    target : str
        Name of the column to predict.
    settings : RunSettings, optional
        Every option of the run (:class:`~modelworks.settings.RunSettings`); defaults apply
        where not given.
    **options
        Any field of :class:`~modelworks.settings.RunSettings` (``task``, ``metric``,
        ``time_budget``, ``cv``, ``test_size``, ``models``, ``seed``, ``n_jobs``, ``refit``,
        ``ensemble``, ``cv_repeats``, ``prefer``, ``threshold``, ``costs``, ``alpha``,
        ``unseen_categories``, ``drop_duplicates``, ``tune``, ``cluster``, ``groups``,
        ``time_column``, ``time_gap``, ``keep_columns``), overriding ``settings``.
    progress : bool
        Show a Rich progress bar (only on a terminal).

    Attributes
    ----------
    split : Split
        The rows, columns and folds (its fields are also the experiment's: ``X_train``, ``folds``…).
    models : Models
        The candidates, their out-of-fold predictions, the ensemble's members.
    comparison : Comparison
        The comparison stage (``tuning``, and ``stacking`` through its combination stage).
    rows : RowPlan
        On how many rows the models are compared and fitted.

    Examples
    --------
    >>> exp = Experiment(df, target="churn", time_budget=60)   # doctest: +SKIP
    >>> board = exp.compare()                                    # doctest: +SKIP
    >>> exp.evaluate().metrics                                   # doctest: +SKIP
    """

    #: Set by ``modelworks run`` on a folder or glob of files (the experiment then holds its sample):
    #: the profile over all rows, how the sample was drawn, the fit on all rows (``--full-data``).
    large_table: LargeTable | None = None

    task, task_reason, metric, metrics, columns, classes = (_Of("split") for _ in range(6))
    positive_label, X_train, X_test, y_train, y_test, cleaning = (_Of("split") for _ in range(6))
    #: What the methodology checks found (:mod:`modelworks.checks`), a list of ``Finding``.
    checks = _Of("split")
    cv, test_size, seed, cv_repeats, prefer, alpha = (_Of("settings") for _ in range(6))
    refit, ensemble, tune, bag, costs, drop_duplicates = (_Of("settings") for _ in range(6))
    tune_threshold = _Of("settings", "threshold")
    specs, tuning, stacking = _Of("models"), _Of("comparison"), _Of("_combination")

    def __init__(
        self,
        data,
        target: str,
        settings: RunSettings | None = None,
        *,
        progress: bool = False,
        console: Console | None = None,
        **options: Any,
    ):
        # keywords override the settings; both are checked before any data is read
        settings = (settings or RunSettings()).replace(**options) if options else (settings or RunSettings())
        self.settings, self.target, self.progress = settings, target, progress
        self.console = console or Console(stderr=True)
        self.budget = Budget(settings.time_budget)
        self.data = load(data)
        self.n_jobs = settings.n_jobs or os.cpu_count() or 1
        self._workers = fold_pool(settings)
        if self._workers is not None:
            self.budget.parallel = self._workers.size
        self.unseen_categories = settings.unseen_categories
        self.split = split_table(self.data, target, settings)
        self.models = Models(self.split, list(self.split.specs), self.n_jobs)
        self.interval_plan, self._finish = plan_finish(self.split, self.budget, settings)
        self.rows = plan_row_sample(self.split, self.models, self.budget, settings)
        if self._workers is not None:  # after the timings above: their imports would slow them
            self._workers.warm()
        self.comparison = Comparison(
            self.models, self.budget, self._finish, settings, self._workers, self.rows.model
        )
        self._combination = self.comparison.combination
        self._bagging = Bagging(self.models, self.budget, self._finish, self.rows, settings, self._result)
        self.leaderboard: Leaderboard | None = None
        self.evaluation: Evaluation | None = None
        self.threshold_choice: ThresholdChoice | None = None
        #: The chosen classifier's calibration, measured and applied when it helps (set by :meth:`evaluate`).
        self.calibration: Calibration | None = None
        self._train_model: Pipeline | None = None
        self._final_model: Pipeline | None = None
        self._curve: LearningCurve | None = None
        self._schema: tuple[str, dict] | None = None
        self._profile: Profile | None = None

    @property
    def folds(self) -> list:
        """The cross-validation folds (over the compared sample when the table is large)."""
        return self.split.folds

    @property
    def bagging(self):
        """Whether the saved model is the average of its fold models, and the evidence (see
        :mod:`modelworks.search.bagging`); set by :meth:`evaluate`."""
        return self._bagging.outcome

    def pipeline(self, name: str, n_jobs: int | None = None) -> Pipeline:
        """An unfitted pipeline for model ``name`` with this experiment's columns and seed, using
        ``n_jobs`` threads (the experiment's by default)."""
        return self.models.pipeline(name, n_jobs)

    def compare(self) -> Leaderboard:
        """Cross-validate every candidate on the same folds, within the budget, in the order of
        :func:`~modelworks.search.budget.schedule` (cheapest, leading booster, then cheapest first);
        tune the best booster family in the time left; add the ensemble."""
        if self.leaderboard is None:
            self.leaderboard = self.comparison.run(self.progress, self.console)
        return self.leaderboard

    @property
    def best_name(self) -> str:
        """The model to evaluate and save: the best mean, or per ``prefer`` the simplest or fastest
        of the models not significantly worse than the best."""
        return self.compare().chosen

    def evaluate(self) -> Evaluation:
        """Fit the chosen pipeline on the training part, score it once on the test set (with 95%
        bootstrap intervals), then refit on all rows (unless ``refit=False``)."""
        if self.evaluation is None:
            name = self.best_name
            self.calibration = decide_calibration(self.models, name)
            if self.calibration is not None:
                self.split.checks.append(self.calibration.finding)
            oof = self.calibration.oof if self.calibration is not None and self.calibration.applied else None
            self.threshold_choice = decide_threshold(self.models, name, self.settings, oof)
            tested = evaluate_once(
                self.models,
                name,
                self.threshold_choice,
                self._bagging,
                self.rows,
                self.refit,
                self.interval_plan,
                self.calibration,
            )
            self._train_model, self._final_model = tested.train_model, tested.final_model
            self.test_predictions = tested.predictions
            self.evaluation = tested.evaluation
        return self.evaluation

    def _result(self, name: str) -> ModelResult:
        return next(r for r in self.compare().results if r.name == name)

    @property
    def best_model(self) -> Pipeline:
        """The chosen pipeline, fitted (refitted on all rows after :meth:`evaluate`)."""
        if self._final_model is not None:
            return self._final_model
        if self._train_model is None:
            model = clone(self.pipeline(self.best_name))
            self._train_model = model.fit(*fit_data(self.split, self.rows, all_rows=False))
        return self._train_model

    def schema(self) -> dict:
        """The input schema of the saved model (built once per unseen-category policy: the report
        and the bundle share it)."""
        if self._schema is None or self._schema[0] != self.unseen_categories:
            split = self.split
            schema = build_schema(
                split.X_train,
                split.columns,
                split.cleaning.dropped_columns,
                self.target,
                split.task,
                split.classes,
                split.positive_label,
                unseen_categories=self.unseen_categories,
            )
            self._schema = (self.unseen_categories, schema)
        return self._schema[1]

    def summary(self) -> dict:
        """Everything metrics.json records about this experiment."""
        return record(self)

    @functools.cached_property
    def data_sha256(self) -> str:
        """sha256 of the table (computed once: metrics.json and the report both show it)."""
        return data_hash(self.data)

    def profile(self) -> Profile:
        """The profile of the whole table (computed once; :meth:`save` puts it in the bundle)."""
        if self._profile is None:
            detailed = profile_columns(self.budget.seconds, MAX_DETAILED_COLUMNS)
            self._profile = profile(
                self.data, self.target, task=self.task, seed=self.seed, max_detailed=detailed
            )
        return self._profile

    def learning_curve(self) -> LearningCurve:
        """Scores of the chosen pipeline against training rows, on the first folds of the comparison.

        Computed once, after :meth:`evaluate`, when the time budget leaves room for it; otherwise
        the returned curve says why it was skipped.
        """
        if self._curve is None:
            name = self.best_name
            self._curve = curve_of(self.models, name, self._result(name), self.budget, self._finish)
        return self._curve

    def figure_clock(self) -> FigureClock:
        """When the report's figures must end and what each is expected to take (see
        :func:`modelworks.workflows.tabular._finish.figure_clock`)."""
        name = self.best_name
        bagged = self.bagging is not None and self.bagging.chosen
        return figure_clock(
            self.models,
            self._bagging.as_bag(name) if bagged else self._result(name),
            self.budget,
            self._finish,
        )

    def training_histories(self) -> dict[str, dict]:
        """Per-epoch losses on the first fold of each neural network the chosen model is (or an
        ensemble holds): model name → ``history_`` (see :class:`~modelworks.models.neural.MLPClassifier`)."""
        results = {r.name: r for r in self.compare().results}
        return {
            n: h for n in self.models.members(self.best_name) if n in results and (h := results[n].history)
        }

    @property
    def plot(self) -> ExperimentPlots:
        """Figures of the comparison: ``comparison()``, ``learning_curve()``, ``training_curve()``,
        ``fit_time()``."""
        from modelworks.plots.accessors import ExperimentPlots

        return ExperimentPlots(self)

    def save(
        self,
        path: str | os.PathLike,
        extra_files: dict[str, str] | None = None,
        *,
        profile: Profile | None = None,
        report: bool | None = None,
        key: bytes | str | None = None,
    ) -> Path:
        """Write the bundle directory (see :mod:`modelworks.bundle`) and return its path.

        ``extra_files`` (name → text) join it; ``profile`` is the table's, if already computed;
        ``report`` writes ``report.html`` (with the learning curve if the budget allows; default: the
        ``report`` setting); ``key`` signs the manifest (HMAC-SHA256), checked by
        ``load_model(path, key=...)``.
        """
        from modelworks.bundle import save_bundle

        report = self.settings.report if report is None else report
        if profile is not None:
            self._profile = profile
        files = {"profile.json": json.dumps(self.profile().to_dict(), indent=2), **(extra_files or {})}
        if report:
            self.learning_curve()
        summary = self.summary()
        if report:
            from modelworks.report import render_report

            files["report.html"] = render_report(self, bundle_path=Path(path))
        return save_bundle(
            path, self.best_model, self.schema(), summary, files, onnx_sample=self.X_train, key=key
        )
