"""A tracking store opened before the run (so that a wrong URI costs seconds, not the run) and the
logging of a finished bundle into it."""

from __future__ import annotations

import os
import re
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelworks.errors import ConfigError
from modelworks.track import _content, _mlflow, _uri

#: Logging a finished run: a fixed part (verifying and copying a bundle of a few MB to a local store
#: took 0.1 to 0.3 s on this project's 2-core machine; kept with a margin) plus the store's calls
#: (create the run, one batch of parameters/metrics/tags, three artefact uploads, close), each timed
#: when the store is opened (3 ms for a local sqlite file, a round trip for a server).
LOG_FIXED_SECONDS = 1.0
LOG_CALLS = 8


@dataclass
class LoggedRun:
    """A run written to a tracking store.

    Attributes
    ----------
    run_id : str
        MLflow's id of the run; ``runs:/RUN_ID/bundle`` loads its bundle.
    uri : str
        The tracking URI (absolute for a local store).
    experiment : str
        The experiment's name.
    seconds : float
        What logging took.
    """

    run_id: str
    uri: str
    experiment: str
    seconds: float

    @property
    def bundle_uri(self) -> str:
        """``runs:/RUN_ID/bundle``, for :func:`modelworks.load_model` and ``modelworks predict``."""
        return f"runs:/{self.run_id}/{_uri.BUNDLE_FOLDER}"

    @property
    def ui_command(self) -> str:
        """The command that shows the run in MLflow's web interface."""
        return f"mlflow ui --backend-store-uri {self.uri}"


class Tracker:
    """An open tracking store and experiment, ready to log a finished run.

    Parameters
    ----------
    uri : str, optional
        MLflow tracking URI; ``None``: ``$MLFLOW_TRACKING_URI``, else :data:`DEFAULT_URI`.
    experiment : str, optional
        Experiment name, created when absent; ``None``: ``$MLFLOW_EXPERIMENT_NAME``, else
        ``"modelworks"``.

    Attributes
    ----------
    uri, experiment, experiment_id : str
        Where runs go.
    seconds : float
        What opening took (importing MLflow, creating or upgrading the store, finding the experiment).
    reserve : float
        Seconds to keep in a time budget for :meth:`log` (see :data:`LOG_FIXED_SECONDS`).

    Raises
    ------
    ConfigError
        When MLflow is not installed, or the store cannot be opened or reached.
    """

    def __init__(self, uri: str | None = None, experiment: str | None = None):
        started = time.perf_counter()
        self.uri = _uri.resolve(uri)  # a malformed URI is refused before MLflow's import (2 s)
        self.experiment = experiment or _uri.experiment_name(None)
        store = _uri.local_store(self.uri)
        mlflow = _mlflow.require()
        if store is not None and self.uri.startswith("sqlite:"):
            try:
                store.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"--track {self.uri}: cannot create {store.parent} ({exc.strerror or exc}); "
                    "choose another path"
                ) from None
        with _mlflow.quiet(), self._errors("cannot open"), _mlflow.fail_fast():
            self._client: Any = mlflow.tracking.MlflowClient(tracking_uri=self.uri)
            self.experiment_id = self._experiment(store)
            probe = time.perf_counter()
            self._client.get_experiment(self.experiment_id)
            self.call_seconds = time.perf_counter() - probe
        self.reserve = LOG_FIXED_SECONDS + LOG_CALLS * self.call_seconds
        self.seconds = time.perf_counter() - started

    @contextmanager
    def _errors(self, doing: str, fix: str = "check the tracking URI"):
        try:
            yield
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(
                f"{doing} the MLflow tracking store {self.uri}: {_mlflow.reason(exc)}; {fix}"
            ) from None

    def _experiment(self, store: Path | None) -> str:
        found = self._client.get_experiment_by_name(self.experiment)
        if found is not None and found.lifecycle_stage != "active":
            raise ConfigError(
                f"experiment {self.experiment!r} in {self.uri} is deleted; restore it "
                f"(mlflow experiments restore --experiment-id {found.experiment_id}) or set "
                "MLFLOW_EXPERIMENT_NAME to another name"
            )
        if found is not None:
            return found.experiment_id
        location = None
        if store is not None and self.uri.startswith("sqlite:"):  # artefacts beside the database
            slug = re.sub(r"[^\w.-]+", "_", self.experiment).strip("._") or "experiment"
            location = (store.parent / "mlruns" / slug).as_uri()
        return self._client.create_experiment(self.experiment, artifact_location=location)

    def budget(self, time_budget: float | None) -> float | None:
        """What is left of ``time_budget`` for the run once opening is paid and logging kept."""
        if time_budget is None:
            return None
        return round(max(time_budget - self.seconds - self.reserve, 1.0), 1)

    def log(
        self,
        bundle: str | os.PathLike,
        options: dict[str, object] | None = None,
        *,
        run_name: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> LoggedRun:
        """Log a saved bundle as one run (see :func:`modelworks.track.log_run`).

        The bundle is verified first; a failure half-way deletes the run, so the store never holds a
        half-logged one.
        """
        from modelworks import __version__
        from modelworks.bundle import verify

        started = time.perf_counter()
        root = Path(bundle).resolve()
        manifest = verify(root)
        content = _content.read(root, dict(options or {}))
        content.tags.update(
            {
                "modelworks.version": __version__,
                "modelworks.manifest_sha256": str(manifest.get("manifest_sha256", "")),
                "modelworks.signed": str((root / "manifest.sig").is_file()).lower(),
                **(tags or {}),
            }
        )
        _mlflow.require()
        from mlflow.entities import Metric, Param, RunTag

        now = int(time.time() * 1000)
        run_id = None
        again = f"the bundle is saved in {root}: log it again with modelworks.track.log_run"
        with _mlflow.quiet(), self._errors("cannot log the run to", again):
            try:
                run = self._client.create_run(self.experiment_id, run_name=run_name or content.run_name)
                run_id = run.info.run_id
                self._client.log_batch(
                    run_id,
                    metrics=[Metric(k, v, now, 0) for k, v in content.metrics.items()],
                    params=[Param(k, v) for k, v in content.params.items()],
                    tags=[RunTag(k, v) for k, v in content.tags.items()],
                )
                with tempfile.TemporaryDirectory(prefix="modelworks-track-") as tmp:
                    for name, text in content.files.items():
                        (Path(tmp) / name).write_text(text)
                    self._client.log_artifacts(run_id, tmp)
                if (root / "report.html").is_file():
                    self._client.log_artifact(run_id, str(root / "report.html"))
                self._client.log_artifacts(run_id, str(root), _uri.BUNDLE_FOLDER)
                self._client.set_terminated(run_id, "FINISHED")
            except BaseException:
                if run_id is not None:
                    self._discard(run_id)
                raise
        return LoggedRun(run_id, self.uri, self.experiment, time.perf_counter() - started)

    def _discard(self, run_id: str) -> None:
        try:
            self._client.set_terminated(run_id, "FAILED")
            self._client.delete_run(run_id)
        except Exception:  # the store is what failed: the run stays marked as it could be
            pass
