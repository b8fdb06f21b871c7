"""Fit cross-validation folds in worker processes: both cores busy, and a fit that can be stopped.

On the 2-core development machine two worker processes of one thread each fit five folds 1.3 to 2
times faster than one process with two threads (``docs/benchmarks.md``, "Both cores"): most fits are
too short for threads to pay, and linear models, trees and the preprocessing have none. A worker is
also the one place a fit can be ended from outside: at the run's deadline the workers are killed, so a
fold far past its estimate (a forest, a kernel SVM) does not overrun the budget. Boosters end their
own fits at the deadline (:mod:`modelworks.models.boosting`).

The workers are loky's reusable executor (joblib's process pool, as scikit-learn uses): started at
set-up, kept from model to model, each limited to one thread (environment and ``threadpoolctl``),
replaced after a kill, and ended when the comparison ends (normally or not).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import os
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from modelworks.errors import ModelworksError

#: Environment of the workers: one thread for every numerical library.
ONE_THREAD = {
    name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")
}
#: Seconds an idle worker waits for work before it exits.
IDLE_SECONDS = 120
#: Warning filter for loky's resource tracker process (see :meth:`FoldWorkers._executor`).
TRACKER_WARNINGS = "ignore::UserWarning:joblib.externals.loky.backend.resource_tracker"


class WorkersLost(ModelworksError):
    """The workers fitting the folds are gone (a Dask cluster lost every worker, or its scheduler)."""


class FoldPool(Protocol):
    """What cross-validation needs of a pool of fold fitters: :class:`FoldWorkers` here, or
    :class:`~modelworks.distributed.DaskWorkers` on a cluster."""

    size: int

    def warm(self) -> None: ...

    def submit(self, args: tuple) -> Any: ...

    def stop(self, running: list, *, wait: bool = False) -> None: ...

    def close(self) -> None: ...


def pool_size(n_jobs: int | None, cv: int) -> int:
    """Worker processes for ``n_jobs`` (``None``: every core) and ``cv`` folds; 0 for none (folds
    are then fitted in the process itself)."""
    jobs = n_jobs or os.cpu_count() or 1
    return min(jobs, cv) if jobs > 1 else 0


def _fit_in_worker(*args: Any):
    from threadpoolctl import threadpool_limits

    from modelworks.search.fold import fit_fold

    with threadpool_limits(1):
        return fit_fold(*args)


def _ready() -> int:
    """Import what a fold needs (run in each worker while the main process sets up)."""
    import modelworks.models.registry  # noqa: F401  (the zoo's wrappers, unpickled with each fit)
    import modelworks.search.fold  # noqa: F401  (scikit-learn, pandas)

    return 0


@dataclass
class Running:
    """One fold being fitted in a worker."""

    future: concurrent.futures.Future

    def result(self, deadline: float | None):
        """The fold's :class:`~modelworks.search.fold.FoldFit`; one marked ``late`` when
        ``deadline`` (``time.perf_counter()``) passes first."""
        from modelworks.search.fold import FoldFit

        timeout = None if deadline is None else max(deadline - time.perf_counter(), 0.0)
        try:
            return self.future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            return FoldFit(np.empty(0), 0.0, 0.0, 0.0, 0.0, late=True)


class FoldWorkers:
    """A pool of ``size`` single-threaded worker processes for fold fits.

    Parameters
    ----------
    size : int
        Worker processes (folds fitted at a time).
    """

    def __init__(self, size: int):
        self.size = size
        self._pool: Any = None

    def _executor(self):
        from joblib.externals.loky import get_reusable_executor

        # loky's resource tracker (a process it starts with this environment) warns on stderr when an
        # interrupt lands while the pool starts; it cleans up all the same, and the run has already
        # said, in one line, that it was interrupted
        filters = os.environ.get("PYTHONWARNINGS", "")
        if TRACKER_WARNINGS not in filters:
            os.environ["PYTHONWARNINGS"] = ",".join(f for f in (filters, TRACKER_WARNINGS) if f)
        self._pool = get_reusable_executor(max_workers=self.size, timeout=IDLE_SECONDS, env=ONE_THREAD)
        return self._pool

    def warm(self) -> None:
        """Start the workers and their imports now, in the background. A later pool of the same
        size reuses them (loky's executor is one per process): ``modelworks run`` starts them
        before it reads the data, so they are ready when the comparison begins."""
        atexit.register(self.close)  # before multiprocessing's own handler waits for the workers
        executor = self._executor()
        for _ in range(self.size):
            executor.submit(_ready)

    def submit(self, args: tuple) -> Running:
        """Start a fit with the arguments of :func:`~modelworks.search.fold.fit_fold`."""
        return Running(self._executor().submit(_fit_in_worker, *args))

    def close(self) -> None:
        """End the workers now (the comparison is over, or was interrupted): an idle worker would
        otherwise keep the process from exiting until it times out."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, kill_workers=True)
            self._pool = None

    def stop(self, running: list[Running], *, wait: bool = False) -> None:
        """End the fits of ``running``: let them finish (``wait``; cheaper than new workers when
        they are short), or kill the workers if any is still fitting (the next fit starts new ones).

        Nothing is ever queued behind the workers (the caller keeps at most :attr:`size` fits
        running), so nothing is cancelled: loky fails on cancelled futures when it shuts down.
        """
        if wait:
            concurrent.futures.wait([fold.future for fold in running])
        elif not all(fold.future.done() for fold in running):
            self.close()
