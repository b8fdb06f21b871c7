"""Turn an experiment or a profile into the template context, and render it with Jinja2."""

from __future__ import annotations

import json
import math
import os
import shlex
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2

from modelworks.report._figures import (
    DATA_FIGURES,
    MODEL_FIGURES,
    TEST_FIGURES,
    Figure,
    NotDrawn,
    draw,
    draw_sections,
)
from modelworks.report._format import _table, fmt

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("modelworks.report", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=False,
    lstrip_blocks=False,
)
#: Rows of the column table before it is cut (the full table is in profile.json).
MAX_COLUMN_ROWS = 60
#: Rows of the association table.
MAX_ASSOCIATIONS = 15


def _version() -> str:
    try:
        return metadata.version("modelworks")
    except metadata.PackageNotFoundError:
        return "unknown"


def _base(title: str, toc: list[dict]) -> dict:
    return {
        "title": title,
        "toc": toc,
        "version": _version(),
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# ------------------------------------------------------------------------------------ data
def data_context(prof, drawn: tuple[list[Figure], list[NotDrawn]] | None = None) -> dict:
    """The Data section of a profile: cards, warnings, columns, associations and figures (``drawn``
    already, with those not drawn, or all drawn here)."""
    cols = prof.columns
    shown = cols.head(MAX_COLUMN_ROWS)
    rows = []
    for r in shown.itertuples(index=False):
        d = r._asdict()
        name = d["name"] + (" (target)" if d.get("is_target") else "")
        summary = (
            f"mean {fmt(d['mean'])}, median {fmt(d['median'])}, range {fmt(d['min'])} – {fmt(d['max'])}"
            if d["kind"] == "numeric" and d.get("mean") is not None and not _nan(d.get("mean"))
            else (d.get("top") or "")
        )
        rows.append([name, d["kind"], f"{100 * d['missing_share']:.1f}%", d["n_unique"], summary])
    columns = _table(["column", "kind", "missing", "distinct", "summary"], rows)
    if len(cols) > MAX_COLUMN_ROWS:
        columns["rows"].append(
            {"cells": [f"… {len(cols) - MAX_COLUMN_ROWS} more in profile.json", "", "", "", ""], "css": ""}
        )
    assoc = prof.associations.head(MAX_ASSOCIATIONS)
    associations = (
        _table(
            ["feature", "kind", "method", "strength"],
            [[a.feature, a.kind, a.method, a.strength] for a in assoc.itertuples(index=False)],
        )
        if len(assoc)
        else None
    )
    if drawn is None:
        drawn = draw(DATA_FIGURES, prof.plot) if prof.frame is not None else ([], [])
    figures, not_drawn = drawn
    target = prof.target or {}
    return {
        "n_rows": fmt(prof.n_rows),
        "n_columns": fmt(prof.n_columns),
        "n_duplicates": fmt(prof.n_duplicate_rows),
        "n_profiled": fmt(prof.n_rows_profiled),
        "sampled": prof.sampled,
        "target": target.get("name"),
        "task": target.get("task"),
        "warnings": [w.to_dict() for w in prof.warnings]
        + [
            {**f, "column": ", ".join(f["columns"]), "message": f"{f['code']}: {f['message']}"}
            for f in getattr(prof, "checks", [])
        ],
        "columns": columns,
        "columns_numeric": ("missing", "distinct"),
        "associations": associations,
        "associations_numeric": ("strength",),
        "figures": figures,
        "not_drawn": not_drawn,
    }


def _saved_model_sentence(exp, ev) -> str:
    """What the bundle holds relative to the tested model, and why (bagging's evidence)."""
    bagging = getattr(exp, "bagging", None)
    if bagging is not None and bagging.chosen:
        return (
            f"The tested model is the average of the {exp.cv} models its cross-validation fitted, and it "
            f"is saved as tested (no refit). Why: {bagging.reason}."
        )
    said = (
        "The saved model was then refitted on all rows."
        if ev.refit
        else "The saved model is the one trained on the training rows (--no-refit)."
    )
    large = getattr(exp, "large_table", None)
    if large is not None:  # a table of many files: the experiment held its sample
        full = large.full
        said = (
            f"The saved model was then refitted on all {full.rows:,} rows of the table (--full-data, see "
            "All rows)."
            if full is not None and full.done
            else said.replace("all rows", f"all {large.sample_info.rows:,} rows of the sample")
        )
    stacking = getattr(exp, "stacking", None)
    if stacking is not None and ev.model == "ensemble":
        said += f" Its members are combined by {stacking.reason}."
    return said + (f" Bagging: {bagging.reason}." if bagging is not None else "")


def _nan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _data_toc() -> dict:
    return {
        "id": "data",
        "title": "Data",
        "children": [
            {"id": "data-warnings", "title": "Warnings"},
            {"id": "data-columns", "title": "Columns"},
            {"id": "data-figures", "title": "Figures"},
        ],
    }


def profile_context(prof, source: str | None = None) -> dict:
    """Everything ``profile.html`` shows."""
    target = (prof.target or {}).get("name")
    title = f"Profile of {Path(source).name}" if source else "Data profile"
    subtitle = f"{prof.n_rows:,} rows × {prof.n_columns} columns" + (
        f"; target {target!r} ({prof.target['task']})" if target else "; no target named"
    )
    return {
        **_base(title, [_data_toc(), {"id": "usage", "title": "Next step", "children": []}]),
        "subtitle": subtitle,
        "data": data_context(prof),
        "source_q": shlex.quote(source or "data.csv"),
        "target_q": shlex.quote(target or ""),
    }


# ------------------------------------------------------------------------------- experiment
def _cleaning_lines(exp) -> list[str]:
    c = exp.cleaning
    lines = [f"{c.rows_in:,} rows read; target {exp.target!r}, task {exp.task} ({exp.task_reason})."]
    if c.missing_target_rows:
        lines.append(
            f"Dropped {c.missing_target_rows:,} row(s) whose target is missing: they cannot be learned from."
        )
    if c.duplicate_rows:
        lines.append(
            f"Dropped {c.duplicate_rows:,} exact duplicate row(s), so no row can sit in both a training "
            "fold and its validation fold."
        )
    for d in c.dropped_columns:
        lines.append(f"Dropped column {d['name']!r}: {d['reason']}.")
    for p in c.parsed_columns:
        lines.append(f"Parsed column {p['name']!r} as {p['as']}s.")
    lines.append(
        f"Held out {len(exp.X_test):,} rows ({exp.test_size:.0%}) as the test set before anything was "
        f"fitted; {len(exp.X_train):,} rows remain for comparing models."
    )
    if exp.rows.note:
        lines.append(exp.rows.note[0].upper() + exp.rows.note[1:] + ".")
    return lines


_PIPELINE_STEPS = [
    "Cleaning without learned state: numbers written as text are parsed, dates split into parts and "
    'elapsed days, category spellings (1, 1.0, "1") unified.',
    "Linear models, SVM and KNN: median imputation with missing-value indicators, standard scaling, "
    "one-hot encoding with levels under 1% grouped as rare.",
    "Tree models: numbers as they are (missing values handled natively), ordinal codes for categories.",
    "Every family: cross-fitted target encoding for high-cardinality categories, TF-IDF for free text.",
]


def _leaderboard(exp) -> tuple[dict, tuple[str, ...]]:
    board = exp.leaderboard
    frame = board.to_frame()
    metrics = [board.metric, *board.metrics[1:4]]
    columns = ["#", "model", *metrics, "p vs best", "tie", "fit s", "predict ms/1k"]
    rows, css = [], []
    for r in frame.to_dict(orient="records"):
        cells = [r["rank"], r["model"]]
        for m in metrics:
            mean = fmt(r[f"{m}_mean"])
            cells.append(f"{mean} ± {fmt(r[f'{m}_std'], 2)}" if m == board.metric else mean)
        cells += [
            "" if r["p_vs_best"] is None or _nan(r["p_vs_best"]) else fmt(r["p_vs_best"], 2),
            r["tie_group"],
            r["fit_seconds"],
            r["predict_ms_per_1000"],
        ]
        rows.append(cells)
        css.append(
            " ".join(
                c
                for c in ("best" if r["rank"] == 1 else "", "chosen" if r["model"] == board.chosen else "")
                if c
            )
        )
    return _table(columns, rows, css), (*metrics, "p vs best", "tie", "fit s", "predict ms/1k")


def _test_tables(ev) -> dict:
    out: dict[str, Any] = {}
    rows = []
    for k, v in ev.metrics.items():
        low, high = ev.intervals.get(k, (None, None))
        rows.append([k, v, low, high])
    out["test_metrics"] = _table(["metric", "value", "95% CI low", "95% CI high"], rows)
    out["test_metrics_numeric"] = ("value", "95% CI low", "95% CI high")
    out["confusion"] = out["per_class"] = out["residuals"] = None
    out["confusion_numeric"] = out["per_class_numeric"] = out["residuals_numeric"] = ()
    if ev.confusion_matrix is not None:
        cm = ev.confusion_matrix
        labels = [str(c) for c in cm.columns]
        out["confusion"] = _table(
            ["true \\ predicted", *labels],
            [[str(i), *row] for i, row in zip(cm.index, cm.to_numpy().tolist(), strict=True)],
        )
        out["confusion_numeric"] = tuple(labels)
    if ev.classification_report is not None:
        rep = ev.classification_report
        names = [k for k in rep if isinstance(rep[k], dict)]
        out["per_class"] = _table(
            ["class", "precision", "recall", "F1", "support"],
            [
                [n, rep[n]["precision"], rep[n]["recall"], rep[n]["f1-score"], int(rep[n]["support"])]
                for n in names
            ],
        )
        out["per_class_numeric"] = ("precision", "recall", "F1", "support")
    if ev.residuals is not None:
        out["residuals"] = _table(list(ev.residuals), [list(ev.residuals.values())])
        out["residuals_numeric"] = tuple(ev.residuals)
    return out


def report_context(exp, bundle_path: Path | None = None) -> dict:
    """Everything ``report.html`` shows about an evaluated experiment."""
    board = exp.compare()
    ev = exp.evaluate()
    prof = exp.profile()
    chosen = next(r for r in board.results if r.name == board.chosen)
    low, high = ev.intervals.get(exp.metric, (None, None))
    ci = f" ({fmt(low, 3)} – {fmt(high, 3)})" if low is not None else ""
    cards = [
        {"k": "chosen model", "v": board.chosen},
        {"k": f"test {exp.metric}", "v": f"{fmt(ev.metrics[exp.metric])}{ci}"},
        {"k": f"CV {exp.metric}", "v": f"{fmt(chosen.mean(exp.metric))}"},
        {"k": "models compared", "v": str(len(board.results))},
        {"k": "run time", "v": f"{exp.budget.elapsed():.0f} s"},
    ]
    bundle = str(bundle_path) if bundle_path is not None else "BUNDLE"
    # a time budget reserves the report at most a share of it (search/budget.py): the figures that
    # fit in the time left are drawn, most useful first, and the rest listed as not drawn
    clock = exp.figure_clock()
    sections = [(TEST_FIGURES, ev.plot), (MODEL_FIGURES, exp.plot)]
    if prof.frame is not None:
        sections.append((DATA_FIGURES, prof.plot))
    (test_figures, test_not_drawn), (model_figures, model_not_drawn), *data_drawn = draw_sections(
        sections, clock
    )
    figures_note = None
    if clock.left_out:
        figures_note = (
            f"The time budget left the report too little time for {len(clock.left_out)} figure(s) "
            f"({', '.join(clock.left_out)}): each section lists them as not drawn. A larger "
            "--time-budget draws them."
        )
    ensemble = next((r.label for r in board.results if r.name == "ensemble"), None)
    threshold = exp.threshold_choice.reading if exp.threshold_choice is not None else None
    leaderboard, leaderboard_numeric = _leaderboard(exp)
    schema = exp.schema()
    repeats = f" × {exp.cv_repeats} repeats" if exp.cv_repeats > 1 else ""
    from modelworks.report._checks import checks_context
    from modelworks.report._large import large_context

    large = large_context(exp)
    toc = [
        *([{"id": "all-rows", "title": "All rows", "children": []}] if large else []),
        {"id": "checks", "title": "Checks", "children": []},
        _data_toc(),
        {"id": "cleaning", "title": "Cleaning", "children": []},
        {
            "id": "models",
            "title": "Models",
            "children": [
                {"id": "models-leaderboard", "title": "Leaderboard"},
                {"id": "models-figures", "title": "Figures"},
            ],
        },
        {
            "id": "test",
            "title": "Best model on test",
            "children": [{"id": "test-figures", "title": "Figures"}],
        },
        {"id": "usage", "title": "How to use", "children": []},
    ]
    return {
        **_base(f"modelworks report: {exp.target}", toc),
        **_test_tables(ev),
        "target": exp.target,
        "task": exp.task,
        "seed": exp.seed,
        "n_rows": fmt(exp.cleaning.rows_in),
        "large": large,
        "n_test": fmt(ev.n_test),
        "cv_text": f"{exp.cv}-fold cross-validation{repeats}",
        "data_hash": exp.data_sha256,
        "chosen_label": chosen.label,
        "cards": cards,
        "top_warnings": [w.to_dict() for w in prof.warnings if w.severity == "error"],
        "data": data_context(prof, data_drawn[0] if data_drawn else ([], [])),
        "figures_note": figures_note,
        "cleaning": _cleaning_lines(exp),
        "checks": checks_context(exp),
        "pipeline_steps": _PIPELINE_STEPS,
        "board_intro": (
            f"{len(board.results)} model(s) compared on the same {exp.cv}-fold split{repeats} of "
            f"{exp.rows.compare_rows:,} training rows, ranked by {board.metric}, cheapest first within the "
            "time budget."
        ),
        "leaderboard": leaderboard,
        "leaderboard_numeric": leaderboard_numeric,
        "verdict": board.verdict(),
        "alpha": exp.alpha,
        "prefer": board.prefer,
        "ensemble": ensemble,
        "skipped": [{"model": n, "reason": r} for n, r in board.skipped],
        "model_figures": model_figures,
        "model_not_drawn": model_not_drawn,
        "test_intro": (
            f"{chosen.label}, fitted on {exp.rows.fit_rows:,} training rows and scored once on "
            f"{ev.n_test:,} held-out rows; intervals are 95% bootstrap intervals over test rows "
            f"({exp.interval_plan.resamples} resamples). "
            + (f"Note: {exp.interval_plan.note}. " if exp.interval_plan.note else "")
            + _saved_model_sentence(exp, ev)
        ),
        "threshold": threshold,
        "test_figures": test_figures,
        "test_not_drawn": test_not_drawn,
        "bundle": bundle,
        "bundle_q": shlex.quote(bundle),
        "bundle_py": repr(bundle),
        "example_json": json.dumps(schema.get("example", {}), ensure_ascii=False).replace("'", "'\\''"),
        "input_columns": [c["name"] for c in schema["columns"]],
    }


# ------------------------------------------------------------------------------------ render
def render(template: str, context: dict) -> str:
    """Render one of the package's templates."""
    return _ENV.get_template(template).render(**context)


def write_html(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
