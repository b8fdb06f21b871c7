"""The options of ``modelworks run``, one type each (Typer reads the help from the annotation)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Data = Annotated[
    str,
    typer.Argument(
        help="Table (CSV, Parquet, Excel, JSON, SQL URL), or images: a folder of class subfolders "
        "or a .npz file with arrays X and y."
    ),
]
Target = Annotated[str | None, typer.Option("--target", "-t", help="Column to predict (tables).")]
Task = Annotated[str, typer.Option(help="auto, binary, multiclass or regression.")]
Metric = Annotated[str | None, typer.Option(help="Ranking metric.")]
Folds = Annotated[int, typer.Option(help="Cross-validation folds.")]
TestSize = Annotated[float | None, typer.Option(help="Share held out for testing (tables 0.2, images 0.25).")]
Models = Annotated[str | None, typer.Option(help="Comma-separated model names.")]
Out = Annotated[Path | None, typer.Option("--out", help="Bundle directory.")]
Refit = Annotated[bool, typer.Option(help="Refit the best model on all rows.")]
Ensemble = Annotated[bool, typer.Option(help="Consider an ensemble of the best models.")]
Repeats = Annotated[int, typer.Option(help="Repeat the K-fold split N times (more power).")]
Prefer = Annotated[str, typer.Option(help="Among models tied with the best: best, simple or fast.")]
Costs = Annotated[
    str | None, typer.Option(help="Binary: costs 'FP,FN'; the threshold minimises their total.")
]
Threshold = Annotated[
    bool, typer.Option(help="Binary: tune the decision threshold (F1, or --costs) out of fold.")
]
Unseen = Annotated[
    str, typer.Option(help="Server policy for categories unseen in training: reject (422) or allow.")
]
Report = Annotated[
    bool, typer.Option(help="Write report.html (figures, learning curve); --no-report is faster.")
]
DropDuplicates = Annotated[
    bool,
    typer.Option(
        "--drop-duplicates", help="Drop exact repeated rows (kept by default, grouped across splits)."
    ),
]
Tune = Annotated[bool, typer.Option(help="Tune the best booster family with Optuna in the budget left.")]
Bag = Annotated[
    bool,
    typer.Option(help="Save the average of the fold models when a check on held-out rows finds it better."),
]
FullData = Annotated[
    bool,
    typer.Option(
        "--full-data",
        help="A folder or glob of Parquet/CSV files: refit the chosen LightGBM or XGBoost model on "
        "all rows, streamed file by file (with --cluster: their Dask estimators); compared and "
        "tested on a sample.",
    ),
]
SampleRows = Annotated[
    int | None,
    typer.Option(
        help="A folder or glob of Parquet/CSV files: rows of the comparison sample at most "
        "(default 250,000, less when memory is short)."
    ),
]
Device = Annotated[str, typer.Option(help="Images: auto (a CUDA GPU when present), cpu or cuda.")]
Backend = Annotated[
    str, typer.Option(help="Images: torch, or keras (the article's network in Keras 3 on PyTorch).")
]
Augment = Annotated[
    str, typer.Option(help="Images: none, shift, or shift+flip (only where mirroring keeps the class).")
]
Epochs = Annotated[int, typer.Option(help="Images: epochs at most per network.")]
Groups = Annotated[
    str | None,
    typer.Option(
        help="Column naming each row's entity (patient, customer): no entity on both sides of any split "
        "(test set, folds, tuning, bagging, stacking); the column is not a feature."
    ),
]
TimeColumn = Annotated[
    str | None,
    typer.Option(
        help="Date or number column: the latest rows are the test set and the folds chain forward in "
        "time; the column stays a feature."
    ),
]
TimeGap = Annotated[
    int, typer.Option(help="With --time-column: distinct times left out between past and validation.")
]
KeepColumn = Annotated[
    list[str] | None,
    typer.Option(
        "--keep-column",
        help="Keep this column as a feature even when a check finds it leaking the target (repeatable).",
    ),
]
