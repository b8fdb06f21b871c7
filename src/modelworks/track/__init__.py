"""Log finished runs to MLflow, and load their bundles back (``pip install 'modelworks[track]'``).

>>> from modelworks import track
>>> run_id = track.log_run(exp, "out/churn", data="churn.csv")          # doctest: +SKIP
>>> model = mw.load_model(f"runs:/{run_id}/bundle")                     # doctest: +SKIP

A run records the settings as parameters, the cross-validated and test metrics with their intervals,
``leaderboard.csv``, ``verdict.json``, ``report.html`` and the whole bundle under ``bundle/`` (its
``manifest.json`` included): never a pickled model. Loading ``runs:/RUN_ID/bundle`` downloads that
folder and checks it as any local bundle (hashes, trusted types, optional signature).

Importing this package does not import MLflow; opening a store does.
"""

from __future__ import annotations

import os
from typing import Any

from modelworks.track._store import LoggedRun, Tracker
from modelworks.track._uri import DEFAULT_URI, experiment_name, is_run_uri

__all__ = ["DEFAULT_URI", "LoggedRun", "Tracker", "is_run_uri", "log_run", "run_options"]


def run_options(settings: Any = None, data: str | None = None) -> dict[str, object]:
    """The parameters of a run: every field of ``settings`` (a
    :class:`~modelworks.settings.RunSettings`, or any dataclass) and the data source, a
    database URL without its password. MLflow stores them as text: ``None`` as ``"None"``,
    sequences comma-joined."""
    import dataclasses

    from modelworks.track._uri import shown_data

    options: dict[str, object] = {}
    if dataclasses.is_dataclass(settings):
        options = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
    if data is not None:
        options["data"] = shown_data(str(data))
    return options


def log_run(
    exp: Any,
    bundle_path: str | os.PathLike,
    uri: str | None = None,
    *,
    data: str | os.PathLike | None = None,
    experiment: str | None = None,
    run_name: str | None = None,
    tags: dict[str, str] | None = None,
) -> str:
    """Log a finished run and its saved bundle to MLflow as one run.

    Parameters
    ----------
    exp : Experiment or None
        The experiment that saved the bundle: its settings are logged as parameters. Another kind
        (image, clustering or anomaly experiment) or ``None`` logs what the bundle records.
    bundle_path : path-like
        The bundle directory written by ``exp.save`` (verified before anything is logged).
    uri : str, optional
        MLflow tracking URI (``sqlite:///mlruns.db``, ``http://host:5000``, ``file:/path``...);
        ``None``: ``$MLFLOW_TRACKING_URI``, else :data:`DEFAULT_URI`. A new sqlite store is created
        with its parent folder; the artefacts of a new experiment there go to ``mlruns/`` beside it.
    data : path-like or str, optional
        The data source, logged as the ``data`` parameter (a database URL without its password).
    experiment : str, optional
        Experiment name, created when absent; ``None``: ``$MLFLOW_EXPERIMENT_NAME``, else the name of
        ``data`` (``churn`` for ``churn.csv``), else ``"modelworks"``.
    run_name : str, optional
        Defaults to the chosen model's name.
    tags : dict, optional
        More run tags.

    Returns
    -------
    str
        The run id: ``mw.load_model(f"runs:/{run_id}/bundle")`` loads the bundle back.

    Raises
    ------
    ConfigError
        When MLflow is not installed (``pip install 'modelworks[track]'``), or the store cannot be
        opened or written (the run is then deleted, never left half-logged).
    BundleError
        When ``bundle_path`` is not an intact bundle.

    Notes
    -----
    Logged, for a table run: parameters (the run settings, ``data``, ``target``, ``task``,
    ``metric``, ``chosen_model``, ``best_model``, ``rows_train``, ``rows_test``, ``rows_compared``,
    ``rows_fitted``, ``data_sha256``); metrics ``cv_<m>_mean`` and ``cv_<m>_std`` of the chosen
    model, ``test_<m>`` with ``test_<m>_ci_low`` and ``test_<m>_ci_high`` (95% bootstrap) for every
    metric ``m``; artefacts ``leaderboard.csv``, ``verdict.json`` (the significance verdict and its
    tests), ``report.html`` and ``bundle/``. The run's description is the verdict.
    """
    from modelworks.bundle import verify

    verify(bundle_path)  # a wrong path fails before MLflow is imported and the store opened
    options = run_options(getattr(exp, "settings", None), None if data is None else str(data))
    name = experiment or experiment_name(None if data is None else str(data))
    tracker = Tracker(uri, name)
    return tracker.log(bundle_path, options, run_name=run_name, tags=tags).run_id
