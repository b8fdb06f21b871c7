"""``modelworks run`` (tables and images) and ``modelworks demo``: parse, call the run's workflow
(:mod:`modelworks.workflows`), print."""

from __future__ import annotations

import tempfile
import time
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from modelworks.cli._app import (
    Budget,
    DaskCluster,
    Seed,
    SignKey,
    app,
    check_bundle_out,
    connect_cluster,
    default_out,
    err,
    key_of,
    names_of,
    out,
    user_errors,
)
from modelworks.cli._print import print_checks, print_cleaning, print_evaluation, print_leaderboard
from modelworks.cli._run_options import (
    Augment,
    Backend,
    Bag,
    Costs,
    Data,
    Device,
    DropDuplicates,
    Ensemble,
    Epochs,
    Folds,
    FullData,
    Groups,
    KeepColumn,
    Metric,
    Models,
    Out,
    Prefer,
    Refit,
    Repeats,
    Report,
    SampleRows,
    Target,
    Task,
    TestSize,
    Threshold,
    TimeColumn,
    TimeGap,
    Tune,
    Unseen,
)
from modelworks.cli._track import Track, TrackCommand, log_bundle, open_store
from modelworks.settings import RunSettings


class _Printed:
    """What ``modelworks run`` prints of a table run as it goes (see
    :class:`modelworks.workflows.tabular.RunView`)."""

    out, err = out, err

    def connect(self, cluster: str) -> Any:
        return connect_cluster(cluster, out, err)

    def cleaned(self, exp, profile) -> None:
        print_cleaning(exp)
        print_checks(exp.checks)
        for w in profile.warnings:
            # the checks' leakage rules (MW101-MW103) supersede the profile's
            if w.severity != "info" and w.code != "leakage":
                out.print(f"[yellow]profile {w.severity}:[/] {w.message}")

    def compared(self, exp) -> None:
        print_leaderboard(exp)

    def evaluated(self, exp) -> None:
        print_evaluation(exp)


def run_workflow(
    data: str,
    target: str,
    out_dir: Path,
    settings: RunSettings,
    *,
    sign_key_env: str | None = None,
    full_data: bool = False,
    sample_rows: int | None = None,
) -> Path:
    """Run a table (:func:`modelworks.workflows.tabular.run_table`), printing what happens; return the
    bundle path."""
    started = time.perf_counter()
    check_bundle_out(out_dir)
    key = key_of(sign_key_env, sign=True)
    budget_note = f" within {settings.time_budget:g}s" if settings.time_budget is not None else ""
    # the first line comes before the heavy imports: the user sees at once that the run started
    out.print(f"Reading {escape(str(data))}, then comparing models{budget_note}")
    from modelworks.workflows.tabular import run_table

    done = run_table(
        data,
        target,
        out_dir,
        settings,
        key=key,
        full_data=full_data,
        sample_rows=sample_rows,
        view=_Printed(),
        started=started,
    )
    if done.curve_skipped:
        out.print(f"Learning curve skipped: {done.curve_skipped}")
    signed = f", signed with ${sign_key_env}" if key is not None else ""
    out.print(f"\nBundle: {done.path}  ({time.perf_counter() - started:.1f}s{signed})")
    if settings.report:
        out.print(f"Report: {done.path / 'report.html'}")
    return done.path


@app.command(cls=TrackCommand)
@user_errors
def run(
    data: Data,
    target: Target = None,
    task: Task = "auto",
    metric: Metric = None,
    time_budget: Budget = 300.0,
    cv: Folds = 5,
    test_size: TestSize = None,
    models: Models = None,
    seed: Seed = 0,
    out_dir: Out = None,
    refit: Refit = True,
    ensemble: Ensemble = True,
    cv_repeats: Repeats = 1,
    prefer: Prefer = "best",
    costs: Costs = None,
    threshold: Threshold = True,
    unseen_categories: Unseen = "reject",
    report: Report = True,
    drop_duplicates: DropDuplicates = False,
    tune: Tune = True,
    bag: Bag = True,
    cluster: DaskCluster = None,
    groups: Groups = None,
    time_column: TimeColumn = None,
    time_gap: TimeGap = 0,
    keep_column: KeepColumn = None,
    full_data: FullData = False,
    sample_rows: SampleRows = None,
    device: Device = "auto",
    backend: Backend = "torch",
    augment: Augment = "shift",
    max_epochs: Epochs = 30,
    track: Track = None,
    sign_key_env: SignKey = None,
) -> None:
    """Compare models on DATA, evaluate the best on held-out rows, save a bundle.

    DATA is a table (give --target) or images (a folder with one subfolder per class, or a .npz file).
    """
    from modelworks.workflows._kind import kind_of_run

    options = dict(locals())
    out_path = default_out(data, out_dir)
    kind = kind_of_run(data, target=target, full_data=full_data, sample_rows=sample_rows, cluster=cluster)
    if kind == "images":
        return _run_images(options, out_path)
    _run_table(options, out_path, large=kind == "large")


def _run_table(options: dict[str, Any], out_path: Path, *, large: bool) -> None:
    """``run`` on a table: checked, tracked if asked, run and saved (:mod:`modelworks.workflows.tabular`)."""
    o = options
    given = _table_settings(o, large)  # before anything is read: a mistake costs a second, not the budget
    tracker = open_store(o["track"], o["data"], out)  # before reading: a wrong URI costs seconds
    settings = given if tracker is None else given.replace(time_budget=tracker.budget(o["time_budget"]))
    path = run_workflow(
        o["data"],
        str(o["target"]),
        out_path,
        settings,
        sign_key_env=o["sign_key_env"],
        full_data=o["full_data"],
        sample_rows=o["sample_rows"],
    )
    if tracker is not None:
        from modelworks.track import run_options

        log_bundle(tracker, path, {**run_options(given, o["data"]), "full_data": o["full_data"]}, out)


def _table_settings(options: dict[str, Any], large: bool = False) -> RunSettings:
    """The table run's settings from ``run``'s options (checked here, before anything is read)."""
    from modelworks.errors import ConfigError

    if large and (options["groups"] or options["time_column"]):
        option = "--groups" if options["groups"] else "--time-column"
        raise ConfigError(
            f"{option} is not available for a folder or glob of files (compared on a sample); "
            "join the files into one table first"
        )
    given = {f.name: options[f.name] for f in fields(RunSettings) if f.name in options}
    given["keep_columns"] = tuple(options["keep_column"] or ())
    given["test_size"] = 0.2 if options["test_size"] is None else options["test_size"]
    given["models"] = names_of(options["models"]) or None
    given["costs"] = _parse_costs(options["costs"])
    return RunSettings(**given)


def _run_images(options: dict[str, Any], out_path: Path) -> None:
    """``run`` on images: checked, tracked if asked, trained and saved
    (:mod:`modelworks.workflows.images`)."""
    from modelworks.cli._images import run_images
    from modelworks.workflows.images import check_image_options

    o = options
    test_size = 0.25 if o["test_size"] is None else o["test_size"]
    check_image_options(
        o["time_budget"], o["seed"], o["test_size"], o["max_epochs"], o["backend"], o["device"], o["augment"]
    )
    check_bundle_out(out_path)
    tracker = open_store(
        o["track"], o["data"], out
    )  # before reading: a wrong URI costs seconds, not the budget
    path = run_images(
        o["data"],
        out_path,
        out,
        err,
        time_budget=o["time_budget"] if tracker is None else tracker.budget(o["time_budget"]),
        models=names_of(o["models"]) or None,
        test_size=test_size,
        seed=o["seed"],
        device=o["device"],
        augment=o["augment"],
        max_epochs=o["max_epochs"],
        report=o["report"],
        key=key_of(o["sign_key_env"], sign=True),
        backend=o["backend"],
    )
    logged = {k: o[k] for k in ("data", "time_budget", "models")} | {"test_size": test_size}
    logged |= {k: o[k] for k in ("seed", "device", "backend", "augment", "max_epochs")}
    log_bundle(tracker, path, logged, out)


def _parse_costs(costs: str | None) -> tuple[float, float] | None:
    if not costs:
        return None
    from modelworks.evaluate.threshold import parse_costs

    return parse_costs(costs)


@app.command()
@user_errors
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Bundle directory.")] = Path("modelworks-out/demo"),
    time_budget: Budget = 60.0,
    seed: Annotated[int, typer.Option(help="Seed of the data and of the models.")] = 0,
    images: Annotated[
        bool, typer.Option("--images", help="Classify scikit-learn's digits (PNG files) instead.")
    ] = False,
    sign_key_env: SignKey = None,
) -> None:
    """Run the whole workflow on a generated churn table (about 5,000 customers), or with --images on
    scikit-learn's 1,797 digits written as PNG files in class subfolders."""
    from modelworks.data.demo import make_churn

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    if images:
        from modelworks.cli._images import run_images
        from modelworks.data.demo import write_digits
        from modelworks.workflows.images import check_image_options

        check_image_options(time_budget, seed, None, 30, "torch", "auto", "shift")
        check_bundle_out(out_dir)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            folder = write_digits(Path(tmp) / "digits")
            out.print("Demo: scikit-learn's digits written as 1,797 PNG files in 10 class subfolders")
            run_images(
                str(folder),
                out_dir,
                out,
                err,
                time_budget=time_budget,
                models=None,
                test_size=0.25,
                seed=seed,
                device="auto",
                augment="shift",
                max_epochs=30,
                report=True,
                key=key_of(sign_key_env, sign=True),
                started=started,
            )
        return
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "churn.csv"
        make_churn(seed=seed).to_csv(csv, index=False)
        out.print(f"Demo: generated churn table with {sum(1 for _ in csv.open()) - 1:,} customers")
        settings = RunSettings(time_budget=time_budget, seed=seed)
        run_workflow(str(csv), "will_churn", out_dir, settings, sign_key_env=sign_key_env)
