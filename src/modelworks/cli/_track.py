"""``--track [URI]`` on the command line: the optional value, opening the store, logging the run.

Typer 0.29 parses options itself and has no option whose value may be left out (its ``flag_value``
is deprecated and does nothing), so :class:`TrackCommand` gives a bare ``--track`` its value before
parsing: ``--track`` followed by nothing, by another option or by something that is not a URI (the
data file) becomes ``--track=default``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand

from modelworks.track._uri import BARE, looks_like_uri

TRACK = "--track"

Track = Annotated[
    str | None,
    typer.Option(
        TRACK,
        metavar="[URI]",
        help="Log the run to MLflow: the settings, CV and test metrics with intervals, leaderboard, "
        "verdict, report and bundle. Bare: $MLFLOW_TRACKING_URI, else sqlite:///mlruns.db here; or any "
        "tracking URI (sqlite:///PATH, http://HOST:PORT). Needs modelworks\\[track].",
    ),
]


def expand_bare(args: list[str]) -> list[str]:
    """The arguments with every bare ``--track`` given :data:`~modelworks.track._uri.BARE`."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":  # what follows is not an option
            return out + args[i:]
        following = args[i + 1] if i + 1 < len(args) else None
        if arg == TRACK and (following is None or not looks_like_uri(following)):
            out.append(f"{TRACK}={BARE}")
        else:
            out.append(arg)
    return out


class TrackCommand(TyperCommand):
    """A command whose ``--track`` option may be given without a value."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        return super().parse_args(ctx, expand_bare(list(args)))


def open_store(track: str | None, data: str, out: Console, suffix: str = ""):
    """The opened store for ``--track`` (``None`` without it); prints where runs go and what opening
    cost. The experiment is ``$MLFLOW_EXPERIMENT_NAME``, else named after the data."""
    if track is None:
        return None
    from modelworks.track import Tracker, experiment_name

    tracker = Tracker(None if track == BARE else track, experiment_name(data, suffix))
    out.print(
        f"Tracking to MLflow at {escape(tracker.uri)}, experiment {escape(tracker.experiment)!r} "
        f"(opened in {tracker.seconds:.1f}s; {tracker.reserve:.1f}s of the budget kept for logging)",
        soft_wrap=True,
    )
    return tracker


def log_bundle(tracker, path: Path, options: Mapping[str, object], out: Console) -> None:
    """Log the saved bundle at ``path`` as one run; print its id and how to look at and load it."""
    if tracker is None:
        return
    from modelworks.track._uri import shown_data

    params = dict(options)
    if params.get("data") is not None:
        params["data"] = shown_data(str(params["data"]))
    started = time.perf_counter()
    logged = tracker.log(path, params)
    out.print(
        f"\nMLflow run: {logged.run_id}  (experiment {escape(logged.experiment)!r}, "
        f"{time.perf_counter() - started:.1f}s)\n"
        f"Tracking URI: {escape(logged.uri)}\n"
        f"Look at it: {escape(logged.ui_command)}\n"
        f"Load it: MLFLOW_TRACKING_URI={escape(logged.uri)} modelworks predict {logged.bundle_uri} DATA",
        soft_wrap=True,
    )
