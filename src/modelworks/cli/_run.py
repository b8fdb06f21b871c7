"""``modelworks run`` (tables and images) and ``modelworks demo``; the order of a table run
(:func:`run_workflow`)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from modelworks.cli._app import (
    Budget,
    DaskCluster,
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
from modelworks.cli._print import print_cleaning, print_evaluation, print_leaderboard
from modelworks.cli._track import Track, TrackCommand, log_bundle, open_store
from modelworks.settings import RunSettings


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
    """Load, profile, compare, evaluate and save; print what happened; return the bundle path.

    A folder or glob of Parquet/CSV files is read with Dask: profiled over all rows, compared on a
    sample, and with ``full_data`` its chosen booster refitted on all rows
    (:mod:`modelworks.distributed._large`).
    """
    started = time.perf_counter()
    time_budget = settings.time_budget
    check_bundle_out(out_dir)
    key = key_of(sign_key_env, sign=True)
    budget_note = f" within {time_budget:g}s" if time_budget is not None else ""
    # the first line comes before the heavy imports: the user sees at once that the run started
    out.print(f"Reading {escape(str(data))}, then comparing models{budget_note}")
    from modelworks.data.load import load
    from modelworks.data.profile import MAX_DETAILED_COLUMNS, MAX_ROWS, profile
    from modelworks.experiment import Experiment
    from modelworks.search.budget import profile_columns
    from modelworks.search.workers import FoldWorkers, pool_size

    if settings.cluster is not None:  # before reading: an unreachable scheduler costs seconds, not the budget
        connect_cluster(settings.cluster, out, err)
    from modelworks.distributed._frame import is_large_source

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
    detailed = profile_columns(time_budget, MAX_DETAILED_COLUMNS)
    rows = MAX_ROWS
    if large is not None and len(df) <= large.default_cap:  # profiled whole: its rows are the experiment's
        rows = len(df)
    prof = profile(df, target, task=settings.task, seed=settings.seed, max_detailed=detailed, max_rows=rows)
    if time_budget is not None:  # the promise covers loading and profiling too
        settings = settings.replace(time_budget=max(time_budget - (time.perf_counter() - started), 1.0))
    if large is not None:  # the fit on all rows (--full-data) keeps its time out of the comparison
        settings = large.keep_time(settings)
    exp = Experiment(df, target, settings, progress=True, console=err)
    if prof.n_rows_profiled == len(df) and prof.frame is not None and prof.frame.equals(exp.data):
        prof.frame = exp.data  # the same rows (the profile's shallow copy holds df's): one copy, not two
    del df  # the experiment holds its own copy
    if large is not None:
        large.sample = None  # the same rows: a table's sample is wide, and the fit on all rows needs room
        large.reserve(exp)
    print_cleaning(exp)
    for w in prof.warnings:
        if w.severity != "info":
            out.print(f"[yellow]profile {w.severity}:[/] {w.message}")
    exp.compare()
    print_leaderboard(exp)
    exp.evaluate()
    print_evaluation(exp)
    if large is not None:
        large.finish(exp, rows_of=[prof])  # --full-data: the chosen booster refitted on all rows
    report = settings.report
    extra = large.files() if large is not None else None
    path = exp.save(out_dir, extra, profile=prof, key=key)
    skipped = exp.learning_curve().skipped if report else None
    if skipped:
        out.print(f"Learning curve skipped: {skipped}")
    signed = f", signed with ${sign_key_env}" if key is not None else ""
    out.print(f"\nBundle: {path}  ({time.perf_counter() - started:.1f}s{signed})")
    if report:
        out.print(f"Report: {path / 'report.html'}")
    return path


@app.command(cls=TrackCommand)
@user_errors
def run(
    data: Annotated[
        str,
        typer.Argument(
            help="Table (CSV, Parquet, Excel, JSON, SQL URL), or images: a folder of class subfolders "
            "or a .npz file with arrays X and y."
        ),
    ],
    target: Annotated[str | None, typer.Option("--target", "-t", help="Column to predict (tables).")] = None,
    task: Annotated[str, typer.Option(help="auto, binary, multiclass or regression.")] = "auto",
    metric: Annotated[str | None, typer.Option(help="Ranking metric.")] = None,
    time_budget: Budget = 300.0,
    cv: Annotated[int, typer.Option(help="Cross-validation folds.")] = 5,
    test_size: Annotated[
        float | None, typer.Option(help="Share held out for testing (tables 0.2, images 0.25).")
    ] = None,
    models: Annotated[str | None, typer.Option(help="Comma-separated model names.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of every random choice.")] = 0,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Bundle directory.")] = None,
    refit: Annotated[bool, typer.Option(help="Refit the best model on all rows.")] = True,
    ensemble: Annotated[bool, typer.Option(help="Consider an ensemble of the best models.")] = True,
    cv_repeats: Annotated[int, typer.Option(help="Repeat the K-fold split N times (more power).")] = 1,
    prefer: Annotated[
        str, typer.Option(help="Among models tied with the best: best, simple or fast.")
    ] = "best",
    costs: Annotated[
        str | None, typer.Option(help="Binary: costs 'FP,FN'; the threshold minimises their total.")
    ] = None,
    threshold: Annotated[
        bool, typer.Option(help="Binary: tune the decision threshold (F1, or --costs) out of fold.")
    ] = True,
    unseen_categories: Annotated[
        str, typer.Option(help="Server policy for categories unseen in training: reject (422) or allow.")
    ] = "reject",
    report: Annotated[
        bool, typer.Option(help="Write report.html (figures, learning curve); --no-report is faster.")
    ] = True,
    drop_duplicates: Annotated[
        bool,
        typer.Option(
            "--drop-duplicates", help="Drop exact repeated rows (kept by default, grouped across splits)."
        ),
    ] = False,
    tune: Annotated[
        bool, typer.Option(help="Tune the best booster family with Optuna in the budget left.")
    ] = True,
    bag: Annotated[
        bool,
        typer.Option(
            help="Save the average of the fold models when a check on held-out rows finds it better."
        ),
    ] = True,
    cluster: DaskCluster = None,
    full_data: Annotated[
        bool,
        typer.Option(
            "--full-data",
            help="A folder or glob of Parquet/CSV files: refit the chosen LightGBM or XGBoost model on "
            "all rows, streamed file by file (with --cluster: their Dask estimators); compared and "
            "tested on a sample.",
        ),
    ] = False,
    sample_rows: Annotated[
        int | None,
        typer.Option(
            help="A folder or glob of Parquet/CSV files: rows of the comparison sample at most "
            "(default 250,000, less when memory is short)."
        ),
    ] = None,
    device: Annotated[
        str, typer.Option(help="Images: auto (a CUDA GPU when present), cpu or cuda.")
    ] = "auto",
    backend: Annotated[
        str, typer.Option(help="Images: torch, or keras (the article's network in Keras 3 on PyTorch).")
    ] = "torch",
    augment: Annotated[
        str, typer.Option(help="Images: none, shift, or shift+flip (only where mirroring keeps the class).")
    ] = "shift",
    max_epochs: Annotated[int, typer.Option(help="Images: epochs at most per network.")] = 30,
    track: Track = None,
    sign_key_env: SignKey = None,
) -> None:
    """Compare models on DATA, evaluate the best on held-out rows, save a bundle.

    DATA is a table (give --target) or images (a folder with one subfolder per class, or a .npz file).
    """
    from modelworks.distributed._frame import is_large_source
    from modelworks.errors import ConfigError
    from modelworks.neural._image_data import is_image_source

    out_path = default_out(data, out_dir)
    # a folder of Parquet/CSV files (or, with --target, any folder without subfolders), or a glob
    large = is_large_source(data, table=target is not None)
    if not large and (full_data or sample_rows is not None):
        raise ConfigError(
            "--full-data and --sample-rows apply to a folder or a quoted glob of Parquet/CSV files; "
            f"{data} is neither"
        )
    if sample_rows is not None and sample_rows < 1:
        raise ConfigError(f"--sample-rows must be at least 1 (got {sample_rows})")
    if is_image_source(data) and not large:
        from modelworks.cli._images import run_images

        if target is not None:
            raise ConfigError("--target applies to tables; images take their labels from the subfolders or y")
        if cluster is not None:
            raise ConfigError("--cluster applies to tables; images train one network at a time, here")
        from modelworks.workflows.images import check_image_options

        check_image_options(time_budget, seed, test_size, max_epochs, backend, device, augment)
        check_bundle_out(out_path)
        tracker = open_store(track, data, out)  # before reading: a wrong URI costs seconds, not the budget
        path = run_images(
            data,
            out_path,
            out,
            err,
            time_budget=time_budget if tracker is None else tracker.budget(time_budget),
            models=names_of(models) or None,
            test_size=0.25 if test_size is None else test_size,
            seed=seed,
            device=device,
            augment=augment,
            max_epochs=max_epochs,
            report=report,
            key=key_of(sign_key_env, sign=True),
            backend=backend,
        )
        options = dict(data=data, time_budget=time_budget, models=models, test_size=test_size or 0.25)
        options.update(seed=seed, device=device, backend=backend, augment=augment, max_epochs=max_epochs)
        log_bundle(tracker, path, options, out)
        return
    if target is None:
        raise ConfigError(f"--target is required for a table: name the column of {data} to predict")
    test_size = 0.2 if test_size is None else test_size
    # before anything is read or fitted: a mistake costs a second, not the budget
    settings = RunSettings(
        task=task,
        metric=metric,
        time_budget=time_budget,
        cv=cv,
        test_size=test_size,
        models=names_of(models) or None,
        seed=seed,
        refit=refit,
        ensemble=ensemble,
        cv_repeats=cv_repeats,
        prefer=prefer,
        costs=_parse_costs(costs),
        threshold=threshold,
        unseen_categories=unseen_categories,
        drop_duplicates=drop_duplicates,
        tune=tune,
        bag=bag,
        report=report,
        cluster=cluster,
    )
    tracker = open_store(track, data, out)  # before reading: a wrong URI costs seconds, not the budget
    given = settings
    if tracker is not None:
        settings = settings.replace(time_budget=tracker.budget(time_budget))
    path = run_workflow(
        data,
        target,
        out_path,
        settings,
        sign_key_env=sign_key_env,
        full_data=full_data,
        sample_rows=sample_rows,
    )
    if tracker is not None:
        from modelworks.track import run_options

        log_bundle(tracker, path, {**run_options(given, data), "full_data": full_data}, out)


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
