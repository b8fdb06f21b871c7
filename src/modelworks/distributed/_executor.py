"""Cross-validation fold fits as Dask tasks: the drop-in for :class:`~modelworks.search.workers.FoldWorkers`.

Each fold fit (of a compared configuration or of a tuner trial) is one task on the cluster, running the
same :func:`~modelworks.search.fold.fit_fold` as a local worker, on one thread, so that its scores
equal a local run's. The table is scattered once, to every worker, and each task receives a reference.

The deadline travels as wall-clock time (workers on other machines do not share this process's
``perf_counter``) and is turned back into a local deadline when the task starts: boosters stop at it
themselves. At the run's deadline, outstanding tasks are cancelled; a task Dask cannot interrupt
(a fit already running) finishes on its worker without anyone waiting for it.

Faults are Dask's to mend first: a task on a worker that dies is run again on another
(``distributed.scheduler.allowed-failures`` times); a fit whose scattered table was lost with workers
is sent again with the table (:data:`RESENDS` times). When every worker has gone for
:data:`LOST_SECONDS`, or the scheduler itself, the run ends with
:class:`~modelworks.search.workers.WorkersLost`.
"""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelworks.distributed._connect import Connection
from modelworks.search.workers import WorkersLost

#: Seconds the cluster may be without a worker before a run waiting on it gives up.
LOST_SECONDS = 20.0
#: Seconds between looks at the cluster while a fold's result is awaited.
POLL_SECONDS = 1.0
#: Times a fit is sent again after its data were lost with a worker.
RESENDS = 2


def _fit_task(args: tuple, wall_deadline: float | None):
    """Run in a worker: :func:`~modelworks.search.fold.fit_fold` on one thread, to a local deadline."""
    from threadpoolctl import threadpool_limits

    from modelworks.search.fold import fit_fold

    local = list(args)
    local[7] = None if wall_deadline is None else time.perf_counter() + (wall_deadline - time.time())
    with threadpool_limits(1):
        return fit_fold(*local)


def _ready() -> int:
    """Import what a fold needs, in a worker, while the driver sets up."""
    import modelworks.search.crossval  # noqa: F401

    return 0


@dataclass
class DaskRunning:
    """One fold fit running as a Dask task."""

    future: Any
    workers: DaskWorkers
    args: tuple
    resent: int = 0

    def result(self, deadline: float | None):
        """The fold's :class:`~modelworks.search.fold.FoldFit`; one marked ``late`` when
        ``deadline`` (``time.perf_counter()``) passes first.

        Raises
        ------
        WorkersLost
            If the cluster has had no worker for :data:`LOST_SECONDS`, or its scheduler is gone.
        """
        from modelworks.search.fold import FoldFit

        lost_since: float | None = None
        while True:
            now = time.perf_counter()
            wait = POLL_SECONDS if deadline is None else min(POLL_SECONDS, max(deadline - now, 0.0))
            try:
                return self.future.result(timeout=wait)
            except TimeoutError:
                pass
            except CancelledError:  # the scheduler gone, or every copy of the data with its workers
                gone = self.workers.gone()
                if gone is not None:
                    raise gone from None
                if self.resent >= RESENDS:
                    raise
                # the scattered table went with a worker: send it again, then the fit
                self.workers.connection.forget_data()
                self.future = self.workers.send(self.args)
                self.resent += 1
                continue
            if deadline is not None and time.perf_counter() >= deadline:
                return FoldFit(np.empty(0), 0.0, 0.0, 0.0, 0.0, late=True)
            if not self.workers.threads():
                lost_since = lost_since or time.perf_counter()
                if time.perf_counter() - lost_since > LOST_SECONDS:
                    raise self.workers.lost()
            else:
                lost_since = None

    def done(self) -> bool:
        return bool(self.future.done())


class DaskWorkers:
    """Fold fits on a Dask cluster, with the interface of :class:`~modelworks.search.workers.FoldWorkers`.

    Parameters
    ----------
    connection : Connection
        The cluster (see :func:`~modelworks.distributed.connect`).
    folds : int
        Folds per model: more tasks than that are never in flight at once.
    close_connection : bool
        Close the connection (and a ``local:N`` cluster) when the comparison ends.
    """

    def __init__(self, connection: Connection, folds: int, *, close_connection: bool = True):
        self.connection = connection
        self.address = connection.address
        self.close_connection = close_connection
        self.size = max(1, min(connection.threads(), folds))
        #: Tasks submitted, and seconds spent submitting them and gathering their results.
        self.tasks = 0

    def threads(self) -> int | None:
        """Worker threads now; ``None`` when the scheduler does not answer."""
        try:
            return self.connection.threads()
        except Exception:
            return None

    def lost(self) -> WorkersLost:
        """The error of a run whose cluster has no worker left."""
        return WorkersLost(
            f"every Dask worker of {self.address} was lost during the comparison; restart the workers "
            "(dask worker ADDRESS) and run again"
        )

    def gone(self) -> WorkersLost | None:
        """The error to end the run with when the scheduler or every worker is gone; else ``None``."""
        threads = self.threads()
        if threads is None:
            return WorkersLost(
                f"the Dask scheduler at {self.address} went away during the comparison; "
                "start it again (dask scheduler) and run again"
            )
        return self.lost() if threads == 0 else None

    def warm(self) -> None:
        """Import the fitting code on every worker now, in the background."""
        client = self.connection.client
        for worker in client.nthreads():
            client.submit(_ready, workers=[worker], pure=False, allow_other_workers=False)

    def submit(self, args: tuple) -> DaskRunning:
        """Start a fit with the arguments of :func:`~modelworks.search.fold.fit_fold`; the table
        (``args[1]``, ``args[2]``) is sent to the cluster once."""
        return DaskRunning(self.send(args), self, args)

    def send(self, args: tuple) -> Any:
        """The future of one fit task (the table scattered on first use)."""
        pipeline, X, y, *rest = args
        deadline = rest[4]
        wall = None if deadline is None else time.time() + (deadline - time.perf_counter())
        try:
            sent = (
                pipeline,
                self.connection.scatter(X, timeout=LOST_SECONDS),
                self.connection.scatter(y, timeout=LOST_SECONDS),
                *rest,
            )
        except Exception:
            # Dask's scatter waits for a worker, then raises TimeoutError("No valid workers found"):
            # a cluster without workers, not a failure of the model being fitted
            gone = self.gone()
            if gone is not None:
                raise gone from None
            raise
        self.tasks += 1
        return self.connection.client.submit(_fit_task, sent, wall, pure=False)

    def stop(self, running: list, *, wait: bool = False) -> None:
        """End the fits of ``running``: let them finish (``wait``), or cancel the ones not done."""
        if wait:
            for fold in running:
                # a pruned trial's other folds: their outcome no longer matters
                with contextlib.suppress(Exception):
                    fold.future.result()
            return
        pending = [fold.future for fold in running if not fold.future.done()]
        if pending:
            with contextlib.suppress(Exception):  # the scheduler is gone: nothing left to cancel
                self.connection.client.cancel(pending, force=True)

    def close(self) -> None:
        """Close the connection when this pool owns it (the comparison is over)."""
        if self.close_connection:
            self.connection.close()
