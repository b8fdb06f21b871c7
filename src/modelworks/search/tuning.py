"""Hyperparameter tuning of the most promising booster family, in what is left of the budget.

Optuna's TPE sampler (seeded) proposes configurations; each trial is cross-validated on the same folds
as every other candidate, with early stopping on each fold's validation part, and is pruned after a
fold when Optuna's median rule says it cannot win (``MedianPruner``: its running mean is worse than the
median of earlier trials at the same fold). The family's portfolio configurations, already measured,
enter the study as its first trials, so TPE starts from them rather than from random points. Only the
best trial reaches the leaderboard (with the count of trials); every completed trial's out-of-fold
predictions are kept. The best of many trials scores flatteringly on the folds it was chosen on: the
comparison re-scores it on a fresh split (:func:`paired_fold_scores` pairs those predictions with the
other models' folds), and :class:`Tuning` records both figures.

The search spaces follow AutoGluon's for its boosters (``autogluon.tabular.models.*.hyperparameters.
searchspaces``), widened to contain the tuned defaults of Holzmüller et al. 2024 that the portfolio
starts from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from modelworks._lazy import import_detached
from modelworks.evaluate.metrics import score_all
from modelworks.models.boosting import booster_of
from modelworks.models.registry import BuildContext, ModelSpec
from modelworks.search.crossval import Pruned, Stopped
from modelworks.search.leaderboard import ModelResult
from modelworks.search.workers import WorkersLost

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

#: Per family: parameter → (low, high, log scale, integer).
SPACES: dict[str, dict[str, tuple[float, float, bool, bool]]] = {
    "lightgbm": {
        "learning_rate": (5e-3, 0.2, True, False),
        "num_leaves": (16, 128, True, True),
        "min_child_samples": (2, 60, True, True),
        "colsample_bytree": (0.5, 1.0, False, False),
        "subsample": (0.5, 1.0, False, False),
    },
    "xgboost": {
        "learning_rate": (5e-3, 0.2, True, False),
        "max_depth": (3, 10, False, True),
        "min_child_weight": (1e-6, 10.0, True, False),
        "colsample_bytree": (0.5, 1.0, False, False),
        "subsample": (0.5, 1.0, False, False),
    },
    "catboost": {
        "learning_rate": (5e-3, 0.2, True, False),
        "depth": (4, 10, False, True),
        "l2_leaf_reg": (1e-5, 10.0, True, False),
    },
}
#: Trials when the run has no time budget, and the most with one (beyond a few dozen trials the
#: gains are within the folds' noise, and the choice starts to fit them).
TRIALS_WITHOUT_BUDGET, MOST_TRIALS = 12, 40
#: Trials of the family measured before the pruner may prune, and folds before it looks.
STARTUP_TRIALS, WARMUP_FOLDS = 3, 1


@dataclass
class Tuning:
    """What the tuner did, for the leaderboard and metrics.json."""

    family: str
    trials: int = 0
    pruned: int = 0
    failed: int = 0
    best_params: dict = field(default_factory=dict)
    #: Out-of-fold predictions of every completed trial, by trial number.
    oof: dict[int, np.ndarray] = field(default_factory=dict)
    #: The tuned model in words before what the tuning adds (e.g. ``"LightGBM, tuned"``).
    base_label: str = ""
    #: The best trial's mean ranking metric on the folds it was selected on.
    selected_score: float | None = None
    #: Its mean on the same folds' rows, predicted by models of a fresh split (``None`` if not re-scored).
    honest_score: float | None = None
    rescored: bool = False
    #: How it was re-scored, or why not.
    rescore_note: str = ""

    def label(self) -> str:
        """The tuned entry's label: the trials, and on which folds its score was measured."""
        how = "re-scored on a fresh split" if self.rescored else "scored on the folds it was selected on"
        return f"{self.base_label} (best of {self.trials} trials, {self.pruned} pruned; {how})"

    def to_dict(self) -> dict:
        return {
            "family": self.family,
            "method": "Optuna TPE (seeded), MedianPruner after each fold",
            "trials": self.trials,
            "pruned": self.pruned,
            "failed": self.failed,
            "best_params": self.best_params,
            "selected_score": _number(self.selected_score),
            "honest_score": _number(self.honest_score),
            "rescored": self.rescored,
            "rescore_note": self.rescore_note,
        }


def _number(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def paired_fold_scores(
    oof: np.ndarray, y, folds: list[tuple[np.ndarray, np.ndarray]], metrics: list[str], classes, pos_label
) -> dict[str, list[float]]:
    """Scores of one set of out-of-fold predictions on the validation rows of each of ``folds``.

    Parameters
    ----------
    oof : ndarray
        Out-of-fold predictions ``(1, rows[, classes])`` of another split of the same rows (a fresh
        split, so that the model chosen on ``folds`` is scored on predictions ``folds`` did not choose).
    y : Series
        The training rows' targets.
    folds : list of (train, validation) index arrays
        The folds every other model was scored on: slicing by their validation rows keeps the scores
        paired with theirs, fold by fold, for the significance tests.
    metrics : list of str
        The metrics to compute.
    classes, pos_label
        The classes and the positive one (binary), or ``None`` for regression.

    Returns
    -------
    dict
        Metric name to one score per fold of ``folds``.
    """
    scores: dict[str, list[float]] = {m: [] for m in metrics}
    for _, val in folds:
        for m, v in score_all(metrics, y.iloc[val], oof[0, val], classes, pos_label).items():
            scores[m].append(v)
    return scores


def tuned_spec(base: ModelSpec, params: dict, label: str) -> ModelSpec:
    """``base`` with ``params`` set on its booster."""

    def build(ctx):
        model = base.build(ctx)
        booster_of(model).set_params(**params)
        return model

    return dataclasses.replace(
        base, name=f"{base.family_name}_tuned", label=label, build=build, group=base.family_name
    )


def tune(
    bases: list[tuple[ModelSpec, ModelResult]],
    run: Callable[[ModelSpec, Callable[[int, dict[str, list[float]]], None]], tuple[ModelResult, np.ndarray]],
    can_start: Callable[[ModelSpec], bool],
    metric: str,
    greater_is_better: bool,
    seed: int,
    has_budget: bool,
    context: BuildContext,
) -> tuple[ModelSpec, ModelResult, np.ndarray, Tuning] | None:
    """Tune the family of ``bases`` (its portfolio configurations with their measured results).

    ``run(spec, after_fold)`` cross-validates a spec (raising :class:`Stopped` when the budget stops
    it, and calling ``after_fold(i, scores)`` after each fold); ``can_start(spec)`` says whether a trial
    would still fit in the budget; ``context`` builds the portfolio's configurations to read their
    parameters. Returns the best trial's spec, result and out-of-fold predictions,
    and the tuning record; ``None`` when no trial completed.
    """
    optuna = import_detached("optuna")  # see there: optuna keeps an import error's frames

    base_spec = bases[0][0]
    family = base_spec.family_name
    space = SPACES[family]
    sign = -1.0 if greater_is_better else 1.0  # the study minimises
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=STARTUP_TRIALS, n_warmup_steps=WARMUP_FOLDS),
    )
    distributions: dict[str, BaseDistribution] = {
        name: (
            optuna.distributions.IntDistribution(int(lo), int(hi), log=log)
            if integer
            else optuna.distributions.FloatDistribution(lo, hi, log=log)
        )
        for name, (lo, hi, log, integer) in space.items()
    }
    for spec, result in bases:  # the portfolio's measured configurations seed the sampler
        defaults = booster_of(spec.build(context)).get_params()
        params = {n: defaults.get(n) for n in space}
        if all(params[n] is not None and lo <= params[n] <= hi for n, (lo, hi, _, _) in space.items()):
            folds = np.asarray(result.fold_scores[metric], dtype=float)
            running = np.cumsum(folds) / np.arange(1, len(folds) + 1)
            study.add_trial(
                optuna.trial.create_trial(
                    params=params,
                    distributions=distributions,
                    value=sign * result.mean(metric),
                    intermediate_values={i: sign * float(v) for i, v in enumerate(running)},
                )
            )
    record = Tuning(family, base_label=f"{base_spec.label.split(',')[0]}, tuned")
    best: tuple[ModelSpec, ModelResult, np.ndarray] | None = None
    while record.trials < (MOST_TRIALS if has_budget else TRIALS_WITHOUT_BUDGET):
        trial = study.ask()
        params = {
            name: (
                trial.suggest_int(name, int(lo), int(hi), log=log)
                if integer
                else trial.suggest_float(name, lo, hi, log=log)
            )
            for name, (lo, hi, log, integer) in space.items()
        }
        spec = tuned_spec(base_spec, params, record.base_label)
        if not can_start(spec):
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            break
        record.trials += 1

        def after_fold(i: int, scores: dict[str, list[float]], trial=trial) -> None:
            trial.report(sign * float(np.mean(scores[metric])), i)
            if trial.should_prune():
                raise Pruned(f"pruned after fold {i + 1}")

        try:
            result, oof = run(spec, after_fold)
        except Stopped as stop:
            pruned = isinstance(stop, Pruned)
            state = optuna.trial.TrialState.PRUNED if pruned else optuna.trial.TrialState.FAIL
            study.tell(trial, state=state)
            if not pruned:  # the budget stopped it: no time for another
                record.failed += 1
                break
            record.pruned += 1
            continue
        except WorkersLost:  # no trial could be fitted any more
            raise
        except Exception:  # a configuration the library refuses is one failed trial
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            record.failed += 1
            continue
        value = sign * result.mean(metric)
        study.tell(trial, value)
        record.oof[trial.number] = oof
        if best is None or value < sign * best[1].mean(metric):
            best = (spec, result, oof)
            record.best_params = params
    if best is None:
        return None
    spec, result, oof = best
    record.selected_score = result.mean(metric)
    spec = dataclasses.replace(spec, label=record.label())
    result.label = spec.label
    return spec, result, oof, record
