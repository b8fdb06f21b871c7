"""``modelworks run FOLDER_OR_GLOB``: what a table of many files adds to a run.

1. :meth:`LargeTable.open`: find the files and check their schema, profile every row with Dask
   (:mod:`~modelworks.distributed._profile`), draw the comparison sample
   (:mod:`~modelworks.distributed._sample`); the run then compares, tests and saves on the sample as
   for an ordinary table.
2. :meth:`LargeTable.settings`: with ``--full-data``, the models
   that can train on all rows (LightGBM and XGBoost configurations, unless
   ``--models`` says otherwise), without an ensemble or bagging (neither is one booster).
3. :meth:`LargeTable.keep_time` and :meth:`LargeTable.reserve`, before the comparison: with
   ``--full-data`` and a time budget, the fit on all rows keeps its time out of the experiment's
   budget (:mod:`~modelworks.distributed._full`).
4. :meth:`LargeTable.finish`, after the evaluation: the time kept is given back, the fit on all rows
   runs (or is skipped, with the reason), and the experiment learns of the large table, so that
   metrics.json, report.html and the bundle's ``profile_full.json`` describe it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from modelworks.data.target import find_target
from modelworks.distributed._aside import set_aside
from modelworks.distributed._frame import (
    TableFiles,
    available_memory,
    cpu_count,
    find_files,
    first_rows,
    read_frame,
    release_memory,
)
from modelworks.distributed._full import (
    DASK_MODELS,
    FEWEST_ROUNDS,
    FULL_SHARE,
    MEMORY_SHARE,
    ROUNDS_GROWTH,
    FullFit,
    estimate_from_folds,
    fit_all_rows,
    library_of,
    memory_needed,
    open_cluster,
)
from modelworks.distributed._profile import FullProfile, profile_full
from modelworks.distributed._sample import SAMPLE_ROWS, SampleInfo, draw_sample, plan_sample
from modelworks.distributed._stream import fit_streamed
from modelworks.distributed._stream import memory_needed as streamed_memory
from modelworks.settings import RunSettings


def _say(console: Any, text: str) -> None:
    if console is not None:
        console.print(text, markup=False, highlight=False)


@dataclass
class LargeTable:
    """A run's table of many files: its profile over all rows, the sample compared, and the fit on
    all rows.

    Attributes
    ----------
    table : TableFiles
        The files.
    frame : dask.dataframe.DataFrame
        Every row, lazily.
    profile : FullProfile
        The profile over all rows.
    sample : pandas.DataFrame
        The rows the experiment compares and tests on.
    sample_info : SampleInfo
        How the sample was drawn, and its size's rule.
    full_data : bool
        Whether ``--full-data`` was asked for.
    cluster : str or None
        ``--cluster``.
    threads : int
        Threads of the full fit's cluster when it is started here.
    full : FullFit or None
        What ``--full-data`` did (after :meth:`finish`).
    """

    table: TableFiles
    frame: Any
    profile: FullProfile
    sample: Any
    sample_info: SampleInfo
    full_data: bool = False
    cluster: str | None = None
    threads: int = 1
    full: FullFit | None = None
    kept_seconds: float = 0.0
    out: Any = field(default=None, repr=False)
    err: Any = field(default=None, repr=False)

    @classmethod
    def open(
        cls,
        data: str,
        target: str,
        settings: RunSettings,
        *,
        full_data: bool = False,
        sample_rows: int | None = None,
        out: Any = None,
        err: Any = None,
    ) -> LargeTable:
        """Find, check, profile and sample the table ``data`` names (a folder or a glob).

        Parameters
        ----------
        data : str
            The folder or glob.
        target : str
            The column to predict.
        settings : RunSettings
            The run's options (its task, seed, cluster and threads are used).
        full_data : bool
            ``--full-data``.
        sample_rows : int, optional
            ``--sample-rows``: the sample's row cap.
        out, err : rich.console.Console, optional
            Where to print what was found, and notices.

        Raises
        ------
        ConfigError
            No table files, mixed formats or schemas, or Dask missing.
        TargetError
            The target is not a column, or not usable.
        DataError
            A file cannot be read.
        """
        table = find_files(data)
        frame = read_frame(table)
        find_target(frame._meta, target)
        compute = _computer(settings.cluster)
        first = first_rows(frame, table)
        profile = profile_full(frame, table, target, task=settings.task, compute=compute)
        for line in profile.lines():
            _say(out, line)
        assert profile.target is not None
        present = profile.n_rows - int(profile.target["missing"])
        bytes_per_row = float(first.memory_usage(deep=True).sum()) / max(len(first), 1)
        plan = plan_sample(present, bytes_per_row, available_memory(), sample_rows)
        sample, info = draw_sample(frame, table, profile, plan, target, seed=settings.seed, compute=compute)
        release_memory()
        _say(out, info.line())
        if sample_rows is not None and plan.memory_rows < sample_rows and plan.rows < sample_rows <= present:
            _say(
                err,
                f"notice: --sample-rows {sample_rows:,} would not fit in memory; the sample has "
                f"{plan.rows:,} rows",
            )
        threads = settings.n_jobs or cpu_count()
        return cls(
            table, frame, profile, sample, info, full_data, settings.cluster, threads, out=out, err=err
        )

    #: The sample's default row cap: a sample no larger is profiled whole by the run.
    default_cap = SAMPLE_ROWS

    # ------------------------------------------------------------------------------ the run
    def settings(self, settings: RunSettings) -> RunSettings:
        """The experiment's settings: with ``--full-data``, the boosters that can train on all rows, and
        neither an ensemble nor bagging; without a cluster, their folds fitted in this process, on all
        its threads (the worker processes' memory, some 0.25 GiB each, is kept for the fit on all
        rows)."""
        changes: dict[str, Any] = {}
        if self.full_data:
            where = ""
            if settings.models is None:
                changes["models"] = DASK_MODELS
                if self.cluster is None:  # the boosters thread well and end their own fits on time
                    changes["fold_workers"] = False
                    where = (
                        f", their folds in this process on {self.threads} thread"
                        f"{'s' if self.threads != 1 else ''} (no worker processes: their memory is kept "
                        "for the fit on all rows)"
                    )
            changes.update(ensemble=False, bag=False)
            which = "LightGBM and XGBoost" if settings.models is None else "the --models given"
            _say(
                self.out,
                f"--full-data: comparing {which} (the boosters that train on all rows){where}, "
                "without an ensemble or bagging",
            )
        return settings.replace(**changes)

    def _cluster_threads(self) -> int:
        if self.cluster is None:
            return self.threads
        from modelworks.distributed._connect import connect

        return max(connect(self.cluster).threads(), 1)

    def keep_time(self, settings: RunSettings) -> RunSettings:
        """Before the experiment (``--full-data`` with a time budget): keep
        :data:`~modelworks.distributed._full.FULL_SHARE` of the time left for the fit on all rows, so
        that the experiment plans its rows and models in the rest (:meth:`reserve` gives back what the
        fit will not need)."""
        if not self.full_data or settings.time_budget is None:
            return settings
        self.kept_seconds = FULL_SHARE * settings.time_budget
        return settings.replace(time_budget=settings.time_budget - self.kept_seconds)

    def reserve(self, exp: Any) -> None:
        """Once the experiment is set up: estimate the fit on all rows from the leading booster's
        timed cost per row (over all rows and the cluster's threads, twice for the rounds a larger
        table takes, plus the measured read) and give back to ``exp`` the time kept beyond it."""
        if not self.kept_seconds:
            return
        cost = exp.rows.cost or _time_booster(exp)
        left = exp.budget.remaining() + self.kept_seconds
        said = ""
        if cost is not None:
            rows = self.sample_info.plan.population
            estimate = ROUNDS_GROWTH * cost.seconds(rows) / self._cluster_threads() + self.profile.seconds
            said = f" (planned from the leading booster's timed fits: about {estimate:.0f}s)"
            if estimate < self.kept_seconds:
                exp.budget.seconds += self.kept_seconds - estimate
                self.kept_seconds = estimate
        _say(
            self.out,
            f"--full-data: {self.kept_seconds:.0f}s of the {left:.0f}s left are kept for the fit on all "
            f"{self.sample_info.plan.population:,} rows{said}",
        )

    def finish(self, exp: Any, rows_of: Sequence[Any] = ()) -> None:
        """After the evaluation: give the kept time back, fit the chosen booster on all rows
        (``--full-data``) when the estimate fits the budget, and attach this table to ``exp``.

        During the fit, the experiment's sample (its table, training and test parts) waits on disk,
        with the ``frame`` of each object of ``rows_of`` (the run's in-memory profile): the fit does not
        read them, and the report after it does (:func:`~modelworks.distributed._aside.set_aside`).
        """
        from modelworks.search.budget import RESERVE

        if self.kept_seconds:
            exp.budget.seconds += self.kept_seconds
            self.kept_seconds = 0.0
        exp.large_table = self
        if not self.full_data:
            return
        name = exp.best_name
        rows = self.sample_info.plan.population
        unfitted = exp.pipeline(name)[-1]
        if library_of(unfitted) is None:
            self._skip(
                name,
                f"the chosen model, {name}, is not a LightGBM or XGBoost model (the boosters that "
                "train on all rows); the bundle holds it as fitted on the sample",
            )
            return
        result = next(r for r in exp.leaderboard.results if r.name == name)
        spec = next(s for s in exp.specs if s.name == name)
        threads = self._cluster_threads()
        rounds = int(unfitted.get_params().get("n_estimators") or 0) if hasattr(unfitted, "get_params") else 0
        estimate = estimate_from_folds(
            result.fit_seconds,
            len(exp.folds[0][0]),
            result.rounds,
            spec.patience,
            rows,
            rounds or 1,
            threads,
            # streamed, the files are read twice (bin boundaries, then rows); on a cluster, once
            self.profile.seconds * (2 if self.cluster is None else 1),
        )
        deadline = None
        if exp.budget.seconds is not None:
            left = exp.budget.remaining() - exp.budget.finish_reserve - RESERVE
            if estimate > left:
                self._skip(
                    name,
                    f"fitting {name} on all {rows:,} rows would take about {estimate:.0f}s and "
                    f"{max(left, 0):.0f}s are left before the report and the bundle; the bundle holds the "
                    "model fitted on the sample (a larger --time-budget fits all rows)",
                    estimate_seconds=estimate,
                )
                return
            deadline = time.time() + left
        features = len(exp.best_model.steps[1][1].get_feature_names_out())
        target = self.profile.target["name"] if self.profile.target else ""
        if self.cluster is None:  # one machine: streamed from the files, the binned values only
            needed, room = streamed_memory(rows, features), available_memory()
            where = "this machine has"
            cluster = None
            description, threads = "this process, streamed file by file", self.threads
        else:  # the Dask estimators: every row's features held in the workers' memory
            needed = memory_needed(rows, features)
            cluster = open_cluster(self.cluster)
            room, where = cluster.memory(), "the cluster's workers have"
            description, threads = cluster.description, cluster.threads
        if room and needed > MEMORY_SHARE * room:
            self._skip(
                name,
                f"the fit would hold about {needed / 2**30:.1f} GiB for {rows:,} rows × {features} "
                f"features and {where} {room / 2**30:.1f} GiB available; the bundle holds the model "
                "fitted on the sample (--cluster with more memory fits all rows)",
                estimate_seconds=estimate,
            )
            return
        # the sample's rows wait on disk: the fit does not read them, the report does
        aside = [(exp, "data"), (exp, "X_train"), (exp, "X_test")]
        aside += [(owner, "frame") for owner in rows_of if getattr(owner, "frame", None) is not None]
        try:
            with set_aside(aside):
                if cluster is None:
                    model, facts = fit_streamed(
                        exp.best_model, unfitted, self.frame, self.table, target, threads, deadline=deadline
                    )
                else:
                    model, facts = fit_all_rows(
                        exp.best_model,
                        unfitted,
                        self.frame,
                        self.table,
                        target,
                        exp.classes,
                        cluster,
                        deadline=deadline,
                    )
        except Exception as exc:  # the tested model is still there to save
            release_memory()
            first = str(exc).splitlines()[0][:200] if str(exc) else ""
            self._skip(
                name,
                f"the fit on all rows failed ({type(exc).__name__}: {first}); the bundle holds the model "
                "fitted on the sample",
                estimate_seconds=estimate,
                cluster=description,
                threads=threads,
            )
            return
        release_memory()
        if facts["rounds_done"] < FEWEST_ROUNDS * facts["rounds"]:  # far from the tested configuration
            self._skip(
                name,
                f"the fit on all {facts['rows']:,} rows reached the time budget after "
                f"{facts['rounds_done']} of {facts['rounds']} rounds; the bundle holds the model fitted on "
                "the sample (a larger --time-budget fits all rows)",
                estimate_seconds=estimate,
                cluster=description,
                threads=threads,
            )
            return
        exp._final_model = model  # the tested configuration, refitted on every row
        stopped = (
            f"; stopped at the time budget after {facts['rounds_done']} of {facts['rounds']} rounds"
            if facts["rounds_done"] < facts["rounds"]
            else ""
        )
        self.full = FullFit(
            True,
            name,
            f"{name} refitted on all {facts['rows']:,} rows with {facts['estimator']} on "
            f"{description} ({threads} thread{'s' if threads != 1 else ''}), "
            f"{facts['rounds']} rounds (the folds' mean best round): read and prepared in "
            f"{facts['read_seconds']:.1f}s, trained in {facts['fit_seconds']:.1f}s (estimated "
            f"{estimate:.0f}s in all){stopped}; test metrics are those of the sample's held-out rows",
            facts["estimator"],
            facts["rows"],
            facts["rounds"],
            facts["rounds_done"],
            facts["read_seconds"],
            facts["fit_seconds"],
            estimate,
            description,
            threads,
        )
        _say(self.out, self.full.line())

    def _skip(self, name: str, reason: str, **facts: Any) -> None:
        """``--full-data`` not done, and why: recorded, and said as a notice."""
        self.full = FullFit(False, name, reason, **facts)
        _say(self.err, f"notice: {self.full.line()}")

    # ------------------------------------------------------------------------------ outputs
    def files(self) -> dict[str, str]:
        """Files the bundle gains: ``profile_full.json``."""
        return {"profile_full.json": json.dumps(self.profile.to_dict(), indent=2, allow_nan=False)}

    def to_dict(self) -> dict:
        """What metrics.json records under ``large_table``."""
        return {
            "source": self.profile.source,
            "files": len(self.table.files),
            "format": self.table.format,
            "rows": self.profile.n_rows,
            "columns": self.profile.n_columns,
            "profile": "profile_full.json",
            "profile_seconds": round(self.profile.seconds, 3),
            "sample": self.sample_info.to_dict(),
            "full_data": self.full.to_dict()
            if self.full is not None
            else {"done": False, "requested": False},
        }


def profile_folder(data: str, target: str | None, out_dir: Any = None, out: Any = None) -> FullProfile:
    """``modelworks profile FOLDER_OR_GLOB``: profile every row, print it, and save
    ``profile_full.json`` in ``out_dir`` when given.

    Raises
    ------
    ConfigError, TargetError, DataError
        As for :meth:`LargeTable.open`.
    """
    from pathlib import Path

    table = find_files(data)
    frame = read_frame(table)
    if target is not None:
        find_target(frame._meta, target)
    profile = profile_full(frame, table, target)
    for line in profile.lines():
        _say(out, line)
    if out_dir is not None:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "profile_full.json"
        tmp = folder / ".profile_full.json.tmp"
        tmp.write_text(json.dumps(profile.to_dict(), indent=2, allow_nan=False))
        tmp.replace(path)
        _say(out, f"\nSaved {path}")
    return profile


def _time_booster(exp: Any) -> Any:
    """The fit cost of the first LightGBM or XGBoost model compared, timed on the sample as the
    experiment times its leading booster on larger tables (:func:`~modelworks.search.sampling.time_fits`);
    ``None`` when none is compared."""
    from modelworks.search.sampling import time_fits

    spec = next((s for s in exp.specs if s.name in DASK_MODELS), None)
    if spec is None:
        return None
    return time_fits(
        exp.pipeline(spec.name, 1), spec.patience, exp.X_train, exp.y_train, None, exp.classes, exp.seed
    )


def _computer(cluster: str | None) -> Any:
    """How the profile and the sample are computed: on ``--cluster``'s workers (they must see the
    files), else with Dask's threads in this process."""
    import dask

    if cluster is None:
        return lambda *objs: dask.compute(*objs, scheduler="threads")
    from modelworks.distributed._connect import connect

    client = connect(cluster).client
    return lambda *objs: dask.compute(*objs, scheduler=client.get)
