"""The commands that use a saved bundle or a table without training: ``profile``, ``compare``,
``predict``, ``report`` and ``serve``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from modelworks.cli._app import VerifyKey, app, check_writable, err, key_of, out, user_errors

if TYPE_CHECKING:
    from modelworks.data.load import Chunks


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
    if target is not None:
        from modelworks.checks import check_table

        prof.checks = [f.to_dict() for f in check_table(df, target)]
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


class _PredictPrinter:
    """Prints a batch prediction's image notices, and a progress bar on a terminal (its
    :class:`~modelworks.predict.BatchEvents`)."""

    def __init__(self, to_stdout: bool):
        self.to_stdout = to_stdout

    def image_notices(self, notices: list[str]) -> None:
        for notice in notices:
            err.print(f"notice: {escape(notice)}")

    @contextmanager
    def reading(self, chunks: Chunks) -> Iterator[None]:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        amount = DownloadColumn() if chunks.unit == "bytes" else MofNCompleteColumn()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            amount,
            TimeRemainingColumn(),
            console=err,
            # no bar over predictions scrolling on the same terminal
            disable=not err.is_terminal or (self.to_stdout and sys.stdout.isatty()),
            transient=True,
        ) as bar:
            task = bar.add_task("predicting", total=chunks.size)
            chunks.on_progress = lambda c: bar.update(
                task,
                completed=c.done,
                description="checking column types" if c.phase == "scanning" else "predicting",
            )
            yield


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
    from modelworks.predict import check_batch_options, predict_batch

    check_batch_options(runtime, chunk_rows)
    if out_file is not None:
        check_writable(out_file, file=True)
    done = predict_batch(
        bundle,
        data,
        proba=proba,
        out_file=out_file,
        runtime=runtime,
        chunk_rows=chunk_rows,
        key=key_of(verify_key_env, sign=False),
        events=_PredictPrinter(to_stdout=out_file is None),
    )
    for notice in done.notices:
        err.print(f"notice: {notice}")
    if out_file is not None:
        used = "" if done.runtime is None else f" ({done.runtime} runtime)"
        err.print(f"wrote {done.rows:,} predictions to {out_file}{used}")


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

    manifest = verify(bundle, key=key_of(verify_key_env, sign=False))
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
