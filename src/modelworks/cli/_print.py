"""What a tabular run prints: the cleaning, the leaderboard and the test evaluation."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from modelworks.cli._app import err, out


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
    if exp.calibration is not None:
        print_checks([exp.calibration.finding])
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
    split = exp.split.split_record
    if split["kind"] == "group":
        out.print(
            f"split by group {split['column']!r}: {split['train_groups']:,} groups trained on, "
            f"{split['test_groups']:,} others tested on; folds keep groups whole"
        )
    elif split["kind"] == "time":
        out.print(
            f"split by time {split['column']!r}: trained on rows until {split['train_until']}, tested on "
            f"rows from {split['test_from']}; folds chain forward"
        )
    if exp.rows.note:
        err.print(f"notice: {exp.rows.note}")


_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}


def print_checks(findings) -> None:
    """One line per methodology check's finding (docs/checks.md explains each code)."""
    for f in findings:
        out.print(f"[{_SEVERITY_STYLE[f.severity]}]{escape(f.line())}[/]", soft_wrap=True)


def print_saved(out, path, started: float, report: bool) -> None:
    """The closing lines of a run: where its bundle (and report) are, and how long it took."""
    import time

    out.print(f"\nBundle: {path}  ({time.perf_counter() - started:.1f}s)")
    if report:
        out.print(f"Report: {path / 'report.html'}")
