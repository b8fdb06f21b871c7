"""A whole table run, as ``modelworks run`` does it: read (a folder or glob of files through Dask,
profiled over all rows and compared on a sample), profile, then the :class:`Experiment`'s stages, then
the bundle. The time budget covers all of it: reading and profiling are taken out of what the models
get."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console
from rich.markup import escape

from modelworks.data.profile import Profile
from modelworks.settings import RunSettings
from modelworks.workflows.tabular._experiment import Experiment


class RunView(Protocol):
    """What a table run shows as it goes (``modelworks run`` prints it; :func:`run_table` is silent
    without one)."""

    out: Console
    err: Console

    def connect(self, cluster: str) -> Any:
        """Connect to the Dask cluster before any data is read, and say what it offers."""

    def cleaned(self, exp: Experiment, profile: Profile) -> None:
        """The split is planned: what was dropped or changed, the profile's warnings."""

    def compared(self, exp: Experiment) -> None:
        """The leaderboard is known."""

    def evaluated(self, exp: Experiment) -> None:
        """The chosen model was tested once."""


@dataclass
class TableRun:
    """What a table run made: the bundle's path, the experiment, the table's profile, the seconds the
    whole run took, and why the learning curve was skipped (if it was)."""

    path: Path
    experiment: Experiment
    profile: Profile
    seconds: float
    curve_skipped: str | None = None


def run_table(
    data: str,
    target: str,
    out_dir: Path,
    settings: RunSettings,
    *,
    key: bytes | None = None,
    full_data: bool = False,
    sample_rows: int | None = None,
    view: RunView | None = None,
    started: float | None = None,
) -> TableRun:
    """Read, profile, compare, test and save a table; return what was made.

    A folder or glob of Parquet/CSV files is read with Dask: profiled over all rows, compared on a
    sample, and with ``full_data`` its chosen booster refitted on all rows
    (:mod:`modelworks.distributed._large`). ``key`` signs the bundle; ``started`` is when the run
    began (:func:`time.perf_counter`; now by default): the budget counts from it.
    """
    started = time.perf_counter() if started is None else started
    from modelworks.data.load import load
    from modelworks.data.profile import MAX_DETAILED_COLUMNS, MAX_ROWS, profile
    from modelworks.distributed._frame import is_large_source
    from modelworks.search.budget import profile_columns
    from modelworks.search.workers import FoldWorkers, pool_size

    quiet = Console(quiet=True)
    out, err = (view.out, view.err) if view is not None else (quiet, quiet)
    if settings.cluster is not None and view is not None:  # an unreachable scheduler: seconds, not the budget
        view.connect(settings.cluster)
    large_source = is_large_source(data)
    if settings.cluster is None:
        size = pool_size(settings.n_jobs, settings.cv)
        in_process = large_source and full_data and settings.models is None  # see LargeTable.settings
        if size and not in_process:  # their imports (2 to 3 s) overlap reading and profiling
            FoldWorkers(size).warm()
    large = None
    if large_source:  # many files: profiled over all rows with Dask, compared on a sample
        from modelworks.distributed._large import LargeTable

        large = LargeTable.open(
            data, target, settings, full_data=full_data, sample_rows=sample_rows, out=out, err=err
        )
        df, settings = large.sample, large.settings(settings)
    else:
        notes: list[str] = []
        df = load(data, notices=notes)
        for note in notes:
            err.print(f"notice: {escape(note)}")
    rows = MAX_ROWS
    if large is not None and len(df) <= large.default_cap:  # profiled whole: its rows are the experiment's
        rows = len(df)
    detailed = profile_columns(settings.time_budget, MAX_DETAILED_COLUMNS)
    prof = profile(df, target, task=settings.task, seed=settings.seed, max_detailed=detailed, max_rows=rows)
    if settings.time_budget is not None:  # the promise covers loading and profiling too
        left = settings.time_budget - (time.perf_counter() - started)
        settings = settings.replace(time_budget=max(left, 1.0))
    if large is not None:  # the fit on all rows (--full-data) keeps its time out of the comparison
        settings = large.keep_time(settings)
    exp = Experiment(df, target, settings, progress=view is not None, console=err)
    if prof.n_rows_profiled == len(df) and prof.frame is not None and prof.frame.equals(exp.data):
        prof.frame = exp.data  # the same rows (the profile's shallow copy holds df's): one copy, not two
    del df  # the experiment holds its own copy
    if large is not None:
        large.sample = None  # the same rows: a table's sample is wide, and the fit on all rows needs room
        large.reserve(exp)
    if view is not None:
        view.cleaned(exp, prof)
    exp.compare()
    if view is not None:
        view.compared(exp)
    exp.evaluate()
    if view is not None:
        view.evaluated(exp)
    if large is not None:
        large.finish(exp, rows_of=[prof])  # --full-data: the chosen booster refitted on all rows
    path = exp.save(out_dir, large.files() if large is not None else None, profile=prof, key=key)
    skipped = exp.learning_curve().skipped if settings.report else None
    return TableRun(path, exp, prof, time.perf_counter() - started, skipped)
