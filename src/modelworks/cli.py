"""The ``modelworks`` command line (Typer).

A :class:`~modelworks.errors.ModelworksError` becomes one line on stderr and exit code 2, never a
traceback; every artefact is written to a temporary path and renamed when complete.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from modelworks.cli_track import Track, TrackCommand, log_bundle, open_store
from modelworks.errors import ModelworksError
from modelworks.settings import RunSettings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="From a raw table to a compared, tested, saved model.",
)
out = Console(highlight=False)
if not out.is_terminal:  # files and pipes get full-width tables instead of 80 columns
    out = Console(highlight=False, width=160)
err = Console(stderr=True, highlight=False, soft_wrap=True)
F = TypeVar("F", bound=Callable)


#: OS errors that mean the user's paths or disk, not a bug: exit 2 with the path named.
_USER_OS_ERRORS = (PermissionError, FileExistsError, NotADirectoryError, IsADirectoryError)


def user_errors(fn: F) -> F:
    """One line on stderr for every way a command can end badly, never a traceback.

    A :class:`ModelworksError` (or a file-system refusal) exits 2; Ctrl-C exits 130; anything else is
    a bug in modelworks: one line, the traceback in a log file whose path is printed, exit 1.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, click.exceptions.ClickException, click.exceptions.Abort):
            raise
        except ModelworksError as exc:
            _fail(str(exc), 2)
        except KeyboardInterrupt:
            _fail("interrupted; no partial output was left (outputs are renamed in when complete)", 130)
        except OSError as exc:
            if isinstance(exc, _USER_OS_ERRORS) or exc.errno in (errno.ENOSPC, errno.EROFS, errno.EDQUOT):
                where = f" {exc.filename}" if exc.filename else ""
                _fail(f"cannot write{where}: {exc.strerror or exc}; choose another path or free it", 2)
            _internal(exc)
        except Exception as exc:
            _internal(exc)

    return wrapper  # type: ignore[return-value]


#: Whether a command already said why it ended (see ``modelworks.__main__``).
reported = False


def _fail(message: str, code: int) -> NoReturn:
    global reported
    reported = True
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True)
    raise typer.Exit(code) from None


def _internal(exc: BaseException) -> NoReturn:
    """A bug: one line naming the log file that holds the traceback."""
    import traceback

    text = "".join(traceback.format_exception(exc))
    try:
        folder = Path(tempfile.gettempdir()) / "modelworks-logs"
        folder.mkdir(parents=True, exist_ok=True)
        fd, log = tempfile.mkstemp(prefix=time.strftime("crash-%Y%m%d-%H%M%S-"), suffix=".log", dir=folder)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"modelworks {' '.join(sys.argv[1:])}\n\n{text}")
        where = f"the traceback is in {log}"
    except OSError:
        where = "the traceback could not be saved"
    message = str(exc).splitlines()[0] if str(exc) else ""
    _fail(f"internal error ({type(exc).__name__}: {message[:200]}); {where}; please report it", 1)


def check_writable(path: Path, *, file: bool = False) -> None:
    """Refuse an output path that cannot be written, before any work is done.

    The nearest existing folder above ``path`` must be a folder in which a file can be created (a real
    probe: permission bits do not tell for root or read-only mounts); a file ``--out`` must not name a
    folder.
    """
    from modelworks.errors import ConfigError

    path = Path(path)
    if file and path.is_dir():
        raise ConfigError(f"--out {path} is a folder; name a file, for example {path / 'predictions.csv'}")
    parent = path.parent if file or not path.exists() else path
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"--out {path}: {parent} is a file, not a folder; choose another --out")
    try:
        with tempfile.TemporaryFile(dir=parent, prefix=".modelworks-probe-"):
            pass
    except OSError as exc:
        raise ConfigError(
            f"--out {path}: cannot write in {parent} ({exc.strerror or exc}); choose another --out"
        ) from None


def check_bundle_out(path: Path) -> None:
    """Refuse a bundle ``--out`` before any work: unwritable, or a folder modelworks may not replace
    (another tool's, a modified bundle, a file), so that no fit is wasted on a refusal at the end."""
    from modelworks.bundle._write import existing_bundle

    check_writable(path)
    existing_bundle(Path(path))


def _key(env: str | None, *, sign: bool) -> bytes | None:
    """The signing or verifying key held in environment variable ``env`` (read before any work)."""
    if env is None:
        return None
    from modelworks.bundle import sign_key_env, verify_key_env

    return (sign_key_env if sign else verify_key_env)(env)


SignKey = Annotated[
    str | None,
    typer.Option(help="Environment variable holding a secret: sign the bundle (HMAC-SHA256)."),
]
VerifyKey = Annotated[
    str | None,
    typer.Option(
        help="Environment variable holding the secret: refuse an unsigned or wrongly signed bundle."
    ),
]


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def print_leaderboard(exp) -> None:
    board = exp.leaderboard
    frame = board.to_frame()
    # secondary metrics only as far as the screen allows; all of them are in metrics.json
    room = max(out.width - 70, 0) // 11
    shown = [board.metric, *board.metrics[1:][:room]]
    table = Table(
        title=f"Leaderboard ({exp.cv}-fold CV on {exp.rows.compare_rows:,} rows, ranked by {board.metric})",
        title_justify="left",
    )
    table.add_column("#", justify="right")
    table.add_column("model", no_wrap=True)
    for m in shown:
        table.add_column(m, justify="right", no_wrap=True)
    table.add_column("p vs best", justify="right")
    table.add_column("tie", justify="right")
    table.add_column("fit s", justify="right")
    table.add_column("pred ms/1k", justify="right")
    for row in frame.itertuples(index=False):
        r = row._asdict()
        cells = [
            f"{r[f'{m}_mean']:.4f} ± {r[f'{m}_std']:.4f}" if m == board.metric else f"{r[f'{m}_mean']:.4f}"
            for m in shown
        ]
        table.add_row(
            str(r["rank"]),
            r["model"],
            *cells,
            "" if r["p_vs_best"] is None else f"{r['p_vs_best']:.2g}",
            str(r["tie_group"]),
            f"{r['fit_seconds']:.2f}",
            f"{r['predict_ms_per_1000']:.1f}",
        )
    out.print(table)
    out.print(board.verdict() + ".")
    stacked = exp.stacking is not None and exp.stacking.chosen
    for r in board.results:
        if r.name == "ensemble" and stacked:
            out.print(f"ensemble = {r.label[0].lower()}{r.label[1:]}")
        elif r.name == "ensemble":
            members = r.label.removeprefix("Ensemble of ")
            out.print(f"ensemble = {members} (weights chosen on out-of-fold predictions)")
    if exp.stacking is not None:
        out.print(f"Stacking: {exp.stacking.reason}")
    for name, reason in board.skipped:
        out.print(f"skipped {name}: {reason}")


def print_evaluation(exp) -> None:
    ev = exp.evaluation
    bagging = exp.bagging
    if bagging is not None and bagging.chosen:
        refit = f"the average of its {exp.cv} fold models, saved as tested (no refit)"
    elif ev.refit:
        refit = f"refitted on all {len(exp.X_train) + ev.n_test:,} rows (training and test) for the bundle"
    else:
        refit = "kept as trained on the training part (--no-refit)"
    out.print(f"\nTest set ({ev.n_test:,} rows, used once): {ev.model}; model {refit}")
    if bagging is not None:
        out.print(f"Bagging: {bagging.reason}")
    for k, v in ev.metrics.items():
        low, high = ev.intervals.get(k, (None, None))
        interval = f"  (95% CI {_fmt(low)} – {_fmt(high)})" if low is not None else ""
        out.print(f"  {k:<10} {_fmt(v)}{interval}")
    if ev.extra.get("intervals_note"):
        err.print(f"notice: {ev.extra['intervals_note']}")
    if exp.threshold_choice is not None:
        out.print(f"Decision threshold: {exp.threshold_choice.reading}")
    if ev.confusion_matrix is not None:
        out.print("Confusion matrix (rows: true, columns: predicted):")
        out.print(ev.confusion_matrix.to_string())
    if ev.residuals is not None:
        out.print(
            "Residuals (actual - predicted): " + ", ".join(f"{k} {_fmt(v)}" for k, v in ev.residuals.items())
        )


def print_cleaning(exp) -> None:
    c = exp.cleaning
    out.print(
        f"Task: {exp.task} ({exp.task_reason}); target {exp.target!r}; "
        f"{c.rows_in:,} rows, {len(exp.X_train):,} train / {len(exp.X_test):,} test"
    )
    if c.missing_target_rows:
        out.print(f"dropped {c.missing_target_rows:,} row(s) with a missing target")
    if c.duplicate_rows and c.duplicates_dropped:
        out.print(f"dropped {c.duplicate_rows:,} exact duplicate row(s) (--drop-duplicates)")
    elif c.duplicate_rows:
        out.print(
            f"kept {c.duplicate_rows:,} repeated row(s), grouped: no repeat sits on both sides of the test "
            "split or of a fold (--drop-duplicates drops them)"
        )
    if c.rare_classes:
        shown = ", ".join(repr(r) for r in c.rare_classes[:5]) + (" …" if len(c.rare_classes) > 5 else "")
        out.print(f"class(es) {shown} have a single row: trained on, not in the test set")
    for d in c.dropped_columns:
        out.print(f"dropped column {d['name']!r}: {d['reason']}")
    for p in c.parsed_columns:
        out.print(f"parsed column {p['name']!r} as {p['as']}s")
    if exp.rows.note:
        err.print(f"notice: {exp.rows.note}")


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
    key = _key(sign_key_env, sign=True)
    budget_note = f" within {time_budget:g}s" if time_budget is not None else ""
    # the first line comes before the heavy imports: the user sees at once that the run started
    out.print(f"Reading {escape(str(data))}, then comparing models{budget_note}")
    from modelworks.data.load import load
    from modelworks.data.profile import MAX_DETAILED_COLUMNS, MAX_ROWS, profile
    from modelworks.experiment import Experiment
    from modelworks.search.budget import profile_columns
    from modelworks.search.workers import FoldWorkers, pool_size

    if settings.cluster is not None:  # before reading: an unreachable scheduler costs seconds, not the budget
        from modelworks.distributed import cluster_warning, connect

        note = cluster_warning(settings.cluster)
        if note is not None:
            err.print(f"warning: {escape(note)}")
        cluster = connect(settings.cluster, warn=False)
        out.print(f"Dask cluster at {cluster.address}: {cluster.threads()} worker thread(s)")
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


def _columns(text: str | None) -> tuple[str, ...]:
    """The names of a comma-separated option (``--exclude a,b``, ``--models x,y``)."""
    return tuple(c.strip() for c in text.split(",") if c.strip()) if text else ()


def _default_out(data: str, out_dir: Path | None, suffix: str = "") -> Path:
    path = Path(data)
    if "://" not in data and any(c in path.name for c in "*?["):  # a glob: named after its folder
        path = path.parent
    stem = path.name.split(".")[0] if "://" not in data else "sql"
    return out_dir or Path("modelworks-out") / f"{stem}{suffix}"


Budget = Annotated[float | None, typer.Option("--time-budget", help="Seconds for the whole run.")]
DaskCluster = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Fit on a Dask cluster: local:N (N worker processes here), tcp://HOST:PORT or "
        "tls://HOST:PORT (a running dask scheduler, which must be trusted; tls:// takes certificates "
        "from MODELWORKS_TLS_CA_FILE, MODELWORKS_TLS_CERT, MODELWORKS_TLS_KEY); run: folds and tuning "
        "trials, cluster: the stability resamples. Needs modelworks\\[dask].",
    ),
]


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

    out_path = _default_out(data, out_dir)
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
        from modelworks.cli_images import run_images

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
            models=_columns(models) or None,
            test_size=0.25 if test_size is None else test_size,
            seed=seed,
            device=device,
            augment=augment,
            max_epochs=max_epochs,
            report=report,
            key=_key(sign_key_env, sign=True),
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
        models=_columns(models) or None,
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
        from modelworks.cli_images import run_images
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
                key=_key(sign_key_env, sign=True),
                started=started,
            )
        return
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "churn.csv"
        make_churn(seed=seed).to_csv(csv, index=False)
        out.print(f"Demo: generated churn table with {sum(1 for _ in csv.open()) - 1:,} customers")
        settings = RunSettings(time_budget=time_budget, seed=seed)
        run_workflow(str(csv), "will_churn", out_dir, settings, sign_key_env=sign_key_env)


Exclude = Annotated[str | None, typer.Option(help="Comma-separated columns to leave out.")]
Seed = Annotated[int, typer.Option(help="Seed of every random choice.")]
NoReport = Annotated[bool, typer.Option(help="Write report.html with every figure and table.")]


@app.command(cls=TrackCommand)
@user_errors
def cluster(
    data: Annotated[str, typer.Argument(help="Table to cluster (CSV, Parquet, Excel, JSON, SQL URL).")],
    method: Annotated[
        str,
        typer.Option(
            help="auto, kmeans, gmm, agglomerative, dbscan, hdbscan, or all (adds the density methods)."
        ),
    ] = "auto",
    k: Annotated[
        str, typer.Option("--k", help="Number of clusters, or auto (chosen from the evidence).")
    ] = "auto",
    exclude: Exclude = None,
    label: Annotated[
        str | None,
        typer.Option(help="Column of known classes: only scores the clusters (ARI, NMI), never fitted."),
    ] = None,
    time_budget: Annotated[
        float | None, typer.Option("--time-budget", help="Seconds for the whole run.")
    ] = 60.0,
    seed: Seed = 0,
    scaling: Annotated[str, typer.Option(help="Scaling of numbers: standard or robust.")] = "standard",
    tsne: Annotated[bool, typer.Option("--tsne", help="Add a t-SNE view to the report.")] = False,
    cluster: DaskCluster = None,
    report: NoReport = True,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Bundle directory.")] = None,
    track: Track = None,
    sign_key_env: SignKey = None,
) -> None:
    """Find clusters in DATA: compare methods and k with evidence, explain each cluster, save a bundle
    whose predict assigns new rows."""
    from modelworks.cli_cluster import run_cluster
    from modelworks.cluster._options import check_cluster_options

    check_cluster_options(method=method, k=k, time_budget=time_budget, seed=seed, scaling=scaling)
    if cluster is not None:
        from modelworks.options import check_cluster

        cluster = check_cluster(cluster)
    path = _default_out(data, out_dir, "-clusters")
    check_bundle_out(path)
    tracker = open_store(track, data, out, "-clusters")
    path = run_cluster(
        data,
        path,
        out,
        err,
        method=method,
        k=k,
        exclude=_columns(exclude),
        label=label,
        time_budget=time_budget if tracker is None else tracker.budget(time_budget),
        seed=seed,
        scaling=scaling,
        tsne=tsne,
        report=report,
        key=_key(sign_key_env, sign=True),
        cluster=cluster,
    )
    options = dict(data=data, method=method, k=k, exclude=exclude, label=label, time_budget=time_budget)
    log_bundle(tracker, path, {**options, "seed": seed, "scaling": scaling, "tsne": tsne}, out)


@app.command(cls=TrackCommand)
@user_errors
def anomalies(
    data: Annotated[str, typer.Argument(help="Table to score (CSV, Parquet, Excel, JSON, SQL URL).")],
    contamination: Annotated[
        float | None,
        typer.Option(help="Expected share of anomalies; by default the threshold is chosen from the scores."),
    ] = None,
    exclude: Exclude = None,
    label: Annotated[
        str | None, typer.Option(help="Column of known anomaly flags: only scores the flags, never fitted.")
    ] = None,
    seed: Seed = 0,
    scaling: Annotated[str, typer.Option(help="Scaling of numbers: robust or standard.")] = "robust",
    report: NoReport = True,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Bundle directory.")] = None,
    track: Track = None,
    sign_key_env: SignKey = None,
) -> None:
    """Score every row of DATA for how unusual it is, flag those above a threshold and say why."""
    from modelworks.cli_cluster import run_anomalies
    from modelworks.cluster._options import check_anomaly_options

    check_anomaly_options(contamination=contamination, seed=seed, scaling=scaling)
    path = _default_out(data, out_dir, "-anomalies")
    check_bundle_out(path)
    tracker = open_store(track, data, out, "-anomalies")
    path = run_anomalies(
        data,
        path,
        out,
        err,
        contamination=contamination,
        exclude=_columns(exclude),
        label=label,
        seed=seed,
        scaling=scaling,
        report=report,
        key=_key(sign_key_env, sign=True),
    )
    options = dict(data=data, contamination=contamination, exclude=exclude, label=label, seed=seed)
    log_bundle(tracker, path, {**options, "scaling": scaling}, out)


@app.command("profile")
@user_errors
def profile_cmd(
    data: Annotated[str, typer.Argument(help="Table to profile.")],
    target: Annotated[str | None, typer.Option("--target", "-t")] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Directory for profile.json and profile.html.")
    ] = None,
) -> None:
    """Describe every column, the target and the warnings; optionally save profile.json and
    profile.html (a self-contained page with figures)."""
    if out_dir is not None:
        check_writable(out_dir)
    from modelworks.distributed._frame import is_large_source

    if is_large_source(data):  # a folder or glob of Parquet/CSV files: every row, with Dask
        from modelworks.distributed._large import profile_folder

        profile_folder(data, target, out_dir, out)
        return
    from modelworks.data.load import load
    from modelworks.data.profile import profile

    notes: list[str] = []
    df = load(data, notices=notes)
    for note in notes:
        err.print(f"notice: {escape(note)}")
    prof = profile(df, target)
    prof.render(out)
    if out_dir is not None:
        from modelworks.report import render_profile, write_html

        html = render_profile(prof, source=data)
        out_dir.mkdir(parents=True, exist_ok=True)
        prof.to_json(out_dir / "profile.json")
        write_html(out_dir / "profile.html", html)
        out.print(f"\nSaved {out_dir / 'profile.json'} and {out_dir / 'profile.html'}")


@app.command()
@user_errors
def compare(
    bundles: Annotated[list[Path], typer.Argument(help="Bundle directories of several runs.")],
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
) -> None:
    """Rank models across several runs (datasets or seeds): Friedman test, Nemenyi post-hoc."""
    from modelworks.options import check_share

    check_share(alpha, "--alpha", example=0.05)
    from modelworks.evaluate.metrics import METRICS
    from modelworks.evaluate.runs import run_scores
    from modelworks.evaluate.stats import friedman_nemenyi

    scores, metric, dropped = run_scores(list(bundles))
    if dropped:
        err.print(f"notice: left out {', '.join(dropped)}: not compared in every run")
    result = friedman_nemenyi(scores, greater_is_better=METRICS[metric].greater_is_better, alpha=alpha)
    ranks = sorted(result.average_ranks.items(), key=lambda kv: kv[1])
    best = ranks[0][0]
    table = Table(
        title=f"Ranking over {len(scores)} runs by mean CV {metric} (rank 1 = best)", title_justify="left"
    )
    for column in ("model", "average rank", f"mean {metric}", "vs best"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, rank in ranks:
        p = result.pairwise_p.get(best, {}).get(name) if result.applicable else None
        verdict = (
            ""
            if name == best or p is None
            else (f"worse (p = {p:.2g})" if p < alpha else f"tied (p = {p:.2g})")
        )
        table.add_row(name, f"{rank:.2f}", f"{scores[name].mean():.4f}", verdict)
    out.print(table)
    if result.critical_difference is not None:
        out.print(f"Nemenyi critical difference at alpha {alpha}: {result.critical_difference:.2f}")
    out.print(result.reading)


@app.command()
@user_errors
def predict(
    bundle: Annotated[
        Path, typer.Argument(help="Bundle directory, or runs:/RUN_ID/bundle of a run logged with --track.")
    ],
    data: Annotated[
        str, typer.Argument(help="Rows to predict; for an image bundle, a folder, an image or a .npz.")
    ],
    proba: Annotated[bool, typer.Option(help="One probability column per class.")] = False,
    out_file: Annotated[Path | None, typer.Option("--out", help="CSV file (default: stdout).")] = None,
    runtime: Annotated[
        str, typer.Option(help="auto (ONNX when the bundle has model.onnx), onnx or sklearn.")
    ] = "auto",
    chunk_rows: Annotated[
        int, typer.Option(help="Rows read and predicted at a time (CSV/TSV files stream from disk).")
    ] = 50_000,
    verify_key_env: VerifyKey = None,
) -> None:
    """Predict DATA with a saved BUNDLE (verified against its manifest), a chunk of rows at a time."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from modelworks.bundle import load_bundle
    from modelworks.data.load import iter_chunks
    from modelworks.options import RUNTIMES, check_at_least, check_choice
    from modelworks.predict import merge_notices, predict_rows

    check_at_least(chunk_rows, 1, "--chunk-rows", 50_000)
    check_choice(runtime, RUNTIMES, "--runtime")
    if out_file is not None:
        check_writable(out_file, file=True)
    loaded = load_bundle(bundle, runtime=runtime, key=_key(verify_key_env, sign=False))
    from modelworks.neural.predict_images import is_image_bundle

    if is_image_bundle(loaded.schema):
        _predict_images(loaded, data, proba, out_file)
        return
    chunks = iter_chunks(data, chunk_rows)
    amount = DownloadColumn() if chunks.unit == "bytes" else MofNCompleteColumn()
    tmp: str | None = None
    fh = sys.stdout
    rows, notices, runtimes = 0, [], set()
    try:
        if out_file is not None:  # written beside the destination, renamed when complete
            out_file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{out_file.name}.", dir=out_file.parent)
            fh = os.fdopen(fd, "w", newline="")
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            amount,
            TimeRemainingColumn(),
            console=err,
            # no bar over predictions scrolling on the same terminal
            disable=not err.is_terminal or (out_file is None and sys.stdout.isatty()),
            transient=True,
        ) as bar:
            task = bar.add_task("predicting", total=chunks.size)
            chunks.on_progress = lambda c: bar.update(
                task,
                completed=c.done,
                description="checking column types" if c.phase == "scanning" else "predicting",
            )
            for chunk in chunks:
                result = predict_rows(loaded, chunk, proba=proba)
                result.frame.to_csv(fh, index=False, header=rows == 0)
                fh.flush()
                rows += len(result.frame)
                notices.append(result.notices)
                runtimes.add(result.runtime)
        if tmp is not None:
            fh.close()
            os.replace(tmp, out_file)  # type: ignore[arg-type]
    except BaseException:
        if tmp is not None:
            if fh is not sys.stdout and not fh.closed:
                fh.close()
            Path(tmp).unlink(missing_ok=True)
        raise
    for notice in merge_notices(notices):
        err.print(f"notice: {notice}")
    if out_file is not None:
        used = " and ".join(sorted(runtimes)) or loaded.runtime
        err.print(f"wrote {rows:,} predictions to {out_file} ({used} runtime)")


def _predict_images(loaded, data: str, proba: bool, out_file: Path | None) -> None:
    """An image bundle's predictions for a folder, an image file or a .npz file, as CSV."""
    from modelworks.neural.predict_images import predict_images

    frame, notices = predict_images(loaded.model, loaded.schema, data, proba=proba)
    for notice in notices:
        err.print(f"notice: {escape(notice)}")
    if out_file is None:
        frame.to_csv(sys.stdout, index=False)
        return
    out_file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out_file.name}.", dir=out_file.parent)
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            frame.to_csv(fh, index=False)
        os.replace(tmp, out_file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    err.print(f"wrote {len(frame):,} predictions to {out_file}")


@app.command()
@user_errors
def report(
    bundle: Annotated[Path, typer.Argument(help="Bundle directory.")],
    open_: Annotated[
        bool, typer.Option("--open", help="Open it in a web browser, where one exists.")
    ] = False,
    verify_key_env: VerifyKey = None,
) -> None:
    """Print the path of BUNDLE's report.html (verified against the manifest)."""
    from modelworks.bundle import verify
    from modelworks.errors import BundleError

    manifest = verify(bundle, key=_key(verify_key_env, sign=False))
    if "report.html" not in manifest.get("files", {}):
        raise BundleError(f"bundle {bundle} has no report.html (run with --no-report); run it again")
    path = (bundle / "report.html").resolve()
    out.print(str(path), soft_wrap=True)
    if open_:
        import webbrowser

        if not webbrowser.open(path.as_uri()):
            err.print("notice: no web browser found here; open the file above on a machine with one")


@app.command()
@user_errors
def serve(
    bundle: Annotated[Path, typer.Argument(help="Bundle directory.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    api_key_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the API key clients must send.")
    ] = None,
    runtime: Annotated[
        str, typer.Option(help="auto (ONNX when the bundle has it), onnx or sklearn.")
    ] = "auto",
    max_rows: Annotated[int, typer.Option(help="Most rows per request (413 beyond).")] = 10_000,
    max_body_mb: Annotated[float, typer.Option(help="Largest request body in MB (413 beyond).")] = 10.0,
    verify_key_env: VerifyKey = None,
) -> None:
    """Serve BUNDLE over HTTP: POST /predict and /predict_proba, GET /schema, /health, /metadata."""
    from modelworks.options import RUNTIMES, check_at_least, check_choice, check_port, check_positive

    check_port(port)
    check_at_least(workers, 1, "--workers", 2)
    check_choice(runtime, RUNTIMES, "--runtime")
    check_at_least(max_rows, 1, "--max-rows", 10_000)
    check_positive(max_body_mb, "--max-body-mb", 10)
    from modelworks.serve.server import serve_bundle

    serve_bundle(
        bundle,
        host=host,
        port=port,
        workers=workers,
        api_key_env=api_key_env,
        runtime=runtime,
        max_rows=max_rows,
        max_body_bytes=int(max_body_mb * 1_000_000),
        verify_key_env=verify_key_env,
    )


def main() -> None:
    app()
