"""Profile a table before modelling: column kinds and statistics, the target, how the target varies
with each feature, feature-target associations, and warnings about problems worth fixing first.

Everything is computed from the data alone with pandas, SciPy and scikit-learn; large tables are
summarised on a seeded random sample of rows (the profile says so).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from modelworks.data._frames import row_hashes
from modelworks.data.kinds import (
    ColumnInfo,
    infer_column,
    infer_kinds,
    parse_dates,
    parse_number_frame,
)
from modelworks.data.schema import json_safe
from modelworks.data.target import detect_task, find_target, positive_label
from modelworks.errors import DataError

if TYPE_CHECKING:
    from modelworks.plots.accessors import ProfilePlots

__all__ = ["Profile", "ProfileWarning", "profile", "WARNING_CODES"]

#: Codes a :class:`ProfileWarning` can carry.
WARNING_CODES: tuple[str, ...] = (
    "wide",
    "identifier",
    "constant",
    "all_missing",
    "missing",
    "high_cardinality",
    "imbalance",
    "duplicates",
    "leakage",
    "skew",
    "target_missing",
)
#: A column with at least this share of missing values is reported.
MISSING_SHARE = 0.4
#: Categorical columns with more levels than this are reported as high-cardinality.
HIGH_CARDINALITY = 30
#: Minority class share below which a classification target is reported as imbalanced.
IMBALANCE_SHARE = 0.10
#: Majority/minority ratio at or above which a classification target is reported as imbalanced.
IMBALANCE_RATIO = 10.0
#: Absolute skewness above which a numeric column is reported (informative only).
SKEW = 2.0
#: Single-feature scores at or above which a feature is reported as leaking the target.
LEAK_AUC = 0.98
LEAK_R2 = 0.98
LEAK_ACCURACY = 0.99
LEAK_PEARSON = 0.98
#: Rows used by the single-feature leakage check.
LEAK_ROWS = 20_000
#: Levels shown per categorical column in the target-rate tables (the rest are pooled as "other").
RATE_LEVELS = 20
#: Quantile bins per numeric column in the target-rate tables.
RATE_BINS = 5
TOP_VALUES = 5
#: Feature columns that get distribution fits, target rates, associations and leakage checks.
MAX_DETAILED_COLUMNS = 200
#: Rows profiled at most (a seeded sample of a larger table).
MAX_ROWS = 200_000
#: Finite values per numeric column (a seeded sample) used by the normality test and the fits.
FIT_SAMPLE = 5000
#: Fewer finite values than this: no normality test and no distribution fit.
FIT_MIN_VALUES = 20
#: Candidate distributions for ``best_fit`` (SciPy name); all but the normal need positive values.
FIT_DISTRIBUTIONS: dict[str, str] = {
    "normal": "norm",
    "lognormal": "lognorm",
    "exponential": "expon",
    "gamma": "gamma",
}

_STAT_COLUMNS = ("mean", "std", "min", "q25", "median", "q75", "max", "skew", "normality_p", "best_fit_ks")
_ASSOC_COLUMNS = (
    "feature",
    "kind",
    "method",
    "strength",
    "pearson_r",
    "pearson_p",
    "spearman_rho",
    "spearman_p",
    "cramers_v",
    "chi2",
    "eta",
    "p_value",
    "n",
)
_FIT_SHORT = {"normal": "normal", "lognormal": "lognorm", "exponential": "expon", "gamma": "gamma"}
_SEVERITY = {"leakage": "error", "all_missing": "error", "skew": "info", "wide": "info"}


@dataclass(frozen=True)
class ProfileWarning:
    """One problem found while profiling.

    Parameters
    ----------
    code : str
        One of :data:`WARNING_CODES`.
    column : str or None
        The column concerned, or None for table-wide warnings (duplicates).
    message : str
        A sentence a user can act on.
    """

    code: str
    column: str | None
    message: str

    @property
    def severity(self) -> str:
        """``"error"`` (likely to break a model), ``"warning"`` or ``"info"``."""
        return _SEVERITY.get(self.code, "warning")

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "column": self.column,
            "message": self.message,
            "severity": self.severity,
        }


class Profile:
    """What a table looks like, computed by :func:`profile`.

    Attributes
    ----------
    columns : DataFrame
        One row per column (target included, ``is_target`` True): ``name``, ``kind``, ``dtype``,
        ``is_target``, ``missing``, ``missing_share``, ``n_unique``, the numeric statistics
        ``mean``, ``std``, ``min``, ``q25``, ``median``, ``q75``, ``max``, ``skew`` (NaN for
        non-numeric columns), ``normality_p`` (D'Agostino-Pearson ``scipy.stats.normaltest``
        p-value), ``best_fit`` (the closest of ``"normal"``, ``"lognormal"``, ``"exponential"``,
        ``"gamma"`` by the Kolmogorov-Smirnov statistic of a maximum-likelihood fit; the last three
        only when every value is positive) with ``best_fit_ks`` (that statistic) and ``top`` (the
        most frequent values as ``"value (count)"`` joined by ``", "``; None for numeric columns).
        The normality test and the fits use a seeded sample of at most :data:`FIT_SAMPLE` finite
        values; they are NaN/None with fewer than :data:`FIT_MIN_VALUES` values or a constant
        column.
    n_rows : int
        Rows in the whole table.
    n_columns : int
        Columns in the table.
    n_duplicate_rows : int
        Rows that exactly repeat an earlier row (whole table).
    n_rows_profiled : int
        Rows the statistics were computed on (``n_rows`` unless the table was sampled).
    sampled : bool
        Whether the statistics come from a random sample of rows.
    target : dict or None
        ``name``, ``task``, ``reason``, ``missing``; for classification ``classes`` (label, count,
        share), ``majority``, ``minority``, ``minority_share``, ``imbalance_ratio`` and, for a
        binary task, ``positive_label``; for regression ``mean``, ``std``, ``min``, ``max``,
        ``skew``. None without a target.
    target_rates : dict
        Column name to a DataFrame with columns ``level``, ``count`` and the target summary per
        level: ``rate`` (share of the positive class, binary), ``share_<label>`` per class
        (multiclass) or ``mean`` (regression). Categorical and boolean columns show their
        :data:`RATE_LEVELS` most frequent levels plus ``"other"``; numeric columns are cut into
        :data:`RATE_BINS` quantile bins labelled by interval. Missing values form a
        ``"(missing)"`` level.
    associations : DataFrame
        One row per feature that could be related to the target, sorted by ``strength``:
        ``pearson`` (with Spearman) for numeric features against a numeric or binary target,
        ``cramers_v`` (with the Pearson ``chi2`` statistic of the contingency table, no continuity
        correction, and its ``p_value``) for categorical/boolean features against a class target, ``eta`` (the
        correlation ratio, ANOVA p-value) for categorical features against a numeric target and
        for numeric features against a multiclass target.
    warnings : list of ProfileWarning
        Problems found, most severe first.
    frame : DataFrame or None
        The profiled rows (the sample when sampled), behind :attr:`plot`; not saved.
    """

    def __init__(
        self,
        *,
        columns: pd.DataFrame,
        n_rows: int,
        n_columns: int,
        n_duplicate_rows: int,
        n_rows_profiled: int,
        sampled: bool,
        target: dict | None,
        target_rates: dict[str, pd.DataFrame],
        associations: pd.DataFrame,
        warnings: list[ProfileWarning],
        seed: int = 0,
        frame: pd.DataFrame | None = None,
    ) -> None:
        self.columns = columns
        self.n_rows = n_rows
        self.n_columns = n_columns
        self.n_duplicate_rows = n_duplicate_rows
        self.n_rows_profiled = n_rows_profiled
        self.sampled = sampled
        self.target = target
        self.target_rates = target_rates
        self.associations = associations
        self.warnings = warnings
        self.seed = seed
        self.frame = frame

    @property
    def plot(self) -> ProfilePlots:
        """Figures of the profiled rows: ``histograms()``, ``boxplots()``, ``scatter()``, ``pca()``,
        ``associations()``, ``missing()``, ``target_distribution()``, ``target_rate(column)``."""
        from modelworks._wiring import provided

        return provided("plot:profile")(self)

    def __repr__(self) -> str:
        task = f", target={self.target['name']!r} ({self.target['task']})" if self.target else ""
        return f"Profile({self.n_rows} rows × {self.n_columns} columns{task}, {len(self.warnings)} warnings)"

    def warning_codes(self, column: str | None = None) -> set[str]:
        """Codes of the warnings raised, optionally only those about ``column``."""
        return {w.code for w in self.warnings if column is None or w.column == column}

    # ------------------------------------------------------------------ export
    def to_dict(self) -> dict:
        """The profile as a JSON-serialisable dict (NaN becomes None)."""
        return json_safe(
            {
                "n_rows": self.n_rows,
                "n_columns": self.n_columns,
                "n_duplicate_rows": self.n_duplicate_rows,
                "n_rows_profiled": self.n_rows_profiled,
                "sampled": self.sampled,
                "seed": self.seed,
                "target": self.target,
                "columns": self.columns.to_dict(orient="records"),
                "target_rates": {
                    name: table.to_dict(orient="records") for name, table in self.target_rates.items()
                },
                "associations": self.associations.to_dict(orient="records"),
                "warnings": [w.to_dict() for w in self.warnings],
            }
        )

    def to_json(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_dict` as JSON to ``path`` atomically; return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False, ensure_ascii=False)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except BaseException:
            with _suppress():
                os.unlink(tmp)
            raise
        return path

    # ------------------------------------------------------------------ display
    def render(self, console: Any = None) -> None:
        """Print the profile with Rich: header, columns, target, associations and warnings.

        Parameters
        ----------
        console : rich.console.Console, optional
            Where to print; a new console on standard output by default.
        """
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        console = console or Console()
        header = Text()
        header.append("Profile ", style="bold")
        header.append(
            f"{self.n_rows:,} rows × {self.n_columns} columns · {self.n_duplicate_rows:,} duplicate rows"
        )
        if self.target:
            header.append(
                f" · target {self.target['name']!r}: {self.target['task']} ({self.target['reason']})"
            )
        console.print(header)
        if self.sampled:
            console.print(
                f"[dim]statistics on a random sample of {self.n_rows_profiled:,} rows "
                f"(seed {self.seed})[/dim]"
            )

        table = Table(title="Columns", title_justify="left", expand=False)
        table.add_column("column", overflow="fold", min_width=12, max_width=30)
        table.add_column("kind")
        table.add_column("missing", justify="right")
        table.add_column("unique", justify="right")
        table.add_column("mean / top values", overflow="ellipsis", no_wrap=True, max_width=26)
        table.add_column("skew", justify="right")
        table.add_column("fit", overflow="ellipsis", no_wrap=True)
        for row in self.columns.itertuples(index=False):
            name = f"{row.name} [bold cyan](target)[/bold cyan]" if row.is_target else row.name
            top = row.top if isinstance(row.top, str) else ""
            summary = _fmt(row.mean) if row.kind == "numeric" else top
            table.add_row(
                name,
                row.kind,
                f"{100 * row.missing_share:.1f}%",
                f"{row.n_unique:,}",
                summary,
                f"{row.skew:.2f}" if not math.isnan(row.skew) else "",
                _FIT_SHORT.get(row.best_fit, "") if isinstance(row.best_fit, str) else "",
            )
        console.print(table)
        if self.columns["best_fit"].notna().any():
            console.print(
                "[dim]fit: closest of normal/lognormal/exponential/gamma by the KS statistic of a "
                "maximum-likelihood fit[/dim]"
            )

        if self.target:
            t = self.target
            console.print(f"[bold]Target[/bold] {t['name']} — {t['task']}")
            if t["task"] == "regression":
                console.print(
                    "  " + "  ".join(f"{k} {_fmt(t[k])}" for k in ("mean", "std", "min", "max", "skew"))
                )
            else:
                parts = [f"{c['label']}: {c['count']:,} ({100 * c['share']:.1f}%)" for c in t["classes"][:10]]
                console.print("  " + " · ".join(parts))
                console.print(f"  majority/minority ratio {_fmt(t['imbalance_ratio'])}")

        if len(self.associations):
            assoc = Table(title="Strongest associations with the target", title_justify="left")
            assoc.add_column("feature", overflow="fold", max_width=30)
            assoc.add_column("measure")
            assoc.add_column("value", justify="right")
            assoc.add_column("p-value", justify="right")
            assoc.add_column("spearman", justify="right")
            for row in self.associations.head(10).itertuples(index=False):
                value = {"pearson": row.pearson_r, "cramers_v": row.cramers_v, "eta": row.eta}
                assoc.add_row(
                    row.feature,
                    row.method,
                    _fmt(value[row.method]),
                    _fmt_p(row.p_value),
                    _fmt(row.spearman_rho) if row.method == "pearson" else "",
                )
            console.print(assoc)

        if self.warnings:
            console.print("[bold]Warnings[/bold]")
            style = {"error": "bold red", "warning": "yellow", "info": "dim"}
            for w in self.warnings:
                line = Text("  ")
                line.append(f"[{w.code}] ", style=style[w.severity])
                line.append(w.message, style=style[w.severity] if w.severity == "error" else "")
                console.print(line)
        else:
            console.print("[green]No warnings.[/green]")


# ---------------------------------------------------------------------- entry point
@np.errstate(all="ignore")  # infinite or constant values must not print RuntimeWarnings
def profile(
    df: pd.DataFrame,
    target: str | None = None,
    *,
    task: str = "auto",
    kinds: dict[str, ColumnInfo] | None = None,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
    max_detailed: int = MAX_DETAILED_COLUMNS,
) -> Profile:
    """Profile a table: column statistics, the target, associations and warnings.

    Parameters
    ----------
    df : DataFrame
        The raw table.
    target : str, optional
        The column to predict. Without it only column statistics and column warnings are given.
    task : {"auto", "binary", "multiclass", "regression"}
        The learning task; detected from the target by default.
    kinds : dict, optional
        Column name to :class:`~modelworks.data.kinds.ColumnInfo`, as from
        :func:`~modelworks.data.kinds.infer_kinds`; inferred when not given.
    max_rows : int
        Statistics are computed on a seeded random sample of at most this many rows.
    seed : int
        Seed of the row sample and of the leakage check's folds.
    max_detailed : int
        Distribution fits, target rates, associations and leakage checks cover the first this many
        feature columns (milliseconds each); a warning says so when there are more. A run passes
        what its time budget affords (:func:`modelworks.search.budget.profile_columns`).

    Returns
    -------
    Profile

    Raises
    ------
    TargetError
        The target column is absent, entirely missing or has a single value.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"profile needs a pandas DataFrame, got {type(df).__name__}")
    if len(df.columns) == 0:
        raise DataError("the table has no columns; check the file was read correctly")
    df = df.copy(deep=False)
    df.columns = [str(c) for c in df.columns]
    if target is not None:
        find_target(df, target)
    if max_rows < 1:
        raise DataError(f"max_rows must be at least 1, got {max_rows}")
    if max_detailed < 0:
        raise DataError(f"max_detailed must be at least 0, got {max_detailed}")

    n_rows = len(df)
    sampled = n_rows > max_rows
    data = df.sample(n=max_rows, random_state=seed) if sampled else df
    n_dup = _count_duplicates(df)

    if kinds is None:
        kinds = infer_kinds(data, exclude=(target,) if target is not None else ())
    else:
        kinds = {k: v for k, v in kinds.items() if k != target and k in data.columns}
        missing_info = [c for c in data.columns if c not in kinds and c != target]
        kinds.update(infer_kinds(data[missing_info]) if missing_info else {})
    infos = dict(kinds)
    if target is not None:
        infos[target] = infer_column(data[target])

    numeric = parse_number_frame(data, [name for name, info in infos.items() if info.kind == "numeric"])
    # distribution fits, target rates, associations and leakage checks cost milliseconds per column:
    # on wide tables they cover the first max_detailed features (said in a warning)
    features_all = [c for c in data.columns if c != target]
    detailed = set(features_all[:max_detailed]) | ({target} if target is not None else set())
    columns = _column_table(data, infos, numeric, target, seed, detailed)
    out_warnings = _column_warnings(columns, len(data))
    if len(features_all) > max_detailed:
        out_warnings.append(
            ProfileWarning(
                "wide",
                None,
                f"{len(features_all):,} feature columns: distribution fits, target rates, associations "
                f"and leakage checks cover the first {max_detailed:,}",
            )
        )
    if n_dup:
        share = n_dup / max(n_rows, 1)
        out_warnings.append(
            ProfileWarning(
                "duplicates",
                None,
                f"{n_dup:,} rows ({100 * share:.1f}%) exactly repeat another row; drop them with "
                "df.drop_duplicates() unless repeats are real observations",
            )
        )

    target_info = None
    rates: dict[str, pd.DataFrame] = {}
    assoc = pd.DataFrame(columns=list(_ASSOC_COLUMNS))
    if target is not None:
        y = data[target]
        task_name, reason = detect_task(y, task)
        known = y.notna().to_numpy()
        target_info = _target_summary(y, task_name, reason)
        out_warnings += _target_warnings(target_info)
        features = {k: v for k, v in kinds.items() if k in data.columns and k in detailed}
        yk = y[known]
        dk = data.loc[known]
        numk = {k: numeric[k][known] for k in numeric.columns if k != target and k in detailed}
        encoded = _encode_target(yk, task_name, target_info)
        rates = _target_rates(dk, features, numk, yk, encoded, task_name, target_info)
        assoc = _associations(dk, features, numk, yk, encoded, task_name)
        out_warnings += _leakage_warnings(dk, features, numk, yk, task_name, assoc, seed)

    order = {"error": 0, "warning": 1, "info": 2}
    out_warnings.sort(key=lambda w: order[w.severity])
    return Profile(
        columns=columns,
        n_rows=n_rows,
        n_columns=len(df.columns),
        n_duplicate_rows=n_dup,
        n_rows_profiled=len(data),
        sampled=sampled,
        target=target_info,
        target_rates=rates,
        associations=assoc,
        warnings=out_warnings,
        seed=seed,
        frame=data,
    )


# ---------------------------------------------------------------------- columns
def _count_duplicates(df: pd.DataFrame) -> int:
    if len(df) < 2:
        return 0
    # one 64-bit hash per row: a third of the time of DataFrame.duplicated on a million rows
    return int(pd.Series(row_hashes(df)).duplicated().sum())


def _top_values(series: pd.Series) -> str | None:
    try:
        counts = series.value_counts(dropna=True).head(TOP_VALUES)
    except TypeError:
        counts = series.astype("string").value_counts(dropna=True).head(TOP_VALUES)
    if counts.empty:
        return None
    return ", ".join(f"{_short(v)} ({int(c):,})" for v, c in counts.items())


def _short(value: object, width: int = 30) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _column_table(
    data: pd.DataFrame,
    infos: dict[str, ColumnInfo],
    numeric: pd.DataFrame,
    target: str | None,
    seed: int = 0,
    detailed: set[str] | None = None,
) -> pd.DataFrame:
    n = len(data)
    dtypes = data.dtypes.to_dict()  # one lookup per column; data[name] costs far more on wide frames
    missing_counts = data.isna().sum().to_dict()
    stats = _number_stats(numeric)
    rows = []
    for name in data.columns:
        info = infos[name]
        missing = int(missing_counts[name])
        row: dict[str, Any] = {
            "name": name,
            "kind": info.kind,
            "dtype": str(dtypes[name]),
            "is_target": name == target,
            "missing": missing,
            "missing_share": missing / n if n else 0.0,
            "n_unique": int(info.n_unique),
        }
        row.update(dict.fromkeys(_STAT_COLUMNS, np.nan))
        row["top"] = None
        row["best_fit"] = None
        if info.kind == "numeric":
            if name in stats:
                row.update(stats[name])
                if detailed is None or name in detailed:
                    values = numeric[name].to_numpy(dtype="float64")
                    row.update(_distribution_stats(values[~np.isnan(values)], seed))
        elif info.kind == "datetime":
            d = parse_dates(data[name]).dropna()
            if len(d):
                row["top"] = f"{d.min()} … {d.max()}"
        elif info.kind in ("categorical", "boolean", "text", "constant", "identifier"):
            row["top"] = _top_values(data[name])
        rows.append(row)
    columns = pd.DataFrame(rows)
    for col in _STAT_COLUMNS:
        columns[col] = columns[col].astype("float64")
    # built by hand: pandas would turn None into NaN in an inferred string column
    columns["best_fit"] = pd.Series([r["best_fit"] for r in rows], index=columns.index, dtype=object)
    return columns


def _number_stats(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Mean, standard deviation, quartiles, extremes and skew of every column with a value, in one
    frame: the column-wise reductions of pandas (missing values skipped, as per column)."""
    if frame.shape[1] == 0:
        return {}
    counts = frame.notna().sum().to_numpy()
    quartiles = frame.quantile([0.25, 0.5, 0.75]).to_numpy()
    table = {
        "mean": frame.mean().to_numpy(),
        "std": frame.std().to_numpy(),
        "min": frame.min().to_numpy(),
        "q25": quartiles[0],
        "median": quartiles[1],
        "q75": quartiles[2],
        "max": frame.max().to_numpy(),
        "skew": frame.skew().to_numpy(),
    }
    out = {}
    for j, name in enumerate(frame.columns):
        if counts[j]:
            row = {key: float(values[j]) for key, values in table.items()}
            if counts[j] <= 2:
                row["skew"] = np.nan
            out[name] = row
    return out


def _fit_sample(values: np.ndarray, seed: int) -> np.ndarray:
    """The finite values, or a seeded random sample of :data:`FIT_SAMPLE` of them."""
    x = values[np.isfinite(values)]
    if len(x) > FIT_SAMPLE:
        x = np.random.default_rng(seed).choice(x, size=FIT_SAMPLE, replace=False)
    return x


def _distribution_stats(values: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """``normality_p``, ``best_fit`` and ``best_fit_ks`` of one numeric column.

    The normality p-value is :func:`scipy.stats.normaltest`. Each candidate of
    :data:`FIT_DISTRIBUTIONS` is fitted by maximum likelihood with ``scipy.stats.<dist>.fit`` (the
    lognormal, exponential and gamma with the location fixed at 0, and only when every value is
    positive) and scored by the one-sample Kolmogorov-Smirnov statistic of
    :func:`scipy.stats.kstest` against the fitted distribution; the smallest statistic wins. The KS
    statistic is used to rank, not as a test: its p-value would be optimistic because the
    parameters were estimated from the same sample.
    """
    out: dict[str, Any] = {"normality_p": np.nan, "best_fit": None, "best_fit_ks": np.nan}
    x = _fit_sample(values, seed)
    if len(x) < FIT_MIN_VALUES or np.ptp(x) <= 0:
        return out
    out["normality_p"] = float(stats.normaltest(x).pvalue)
    positive = bool(np.all(x > 0))
    best: tuple[float, str] | None = None
    for name, scipy_name in FIT_DISTRIBUTIONS.items():
        if name != "normal" and not positive:
            continue
        dist = getattr(stats, scipy_name)
        try:
            params = dist.fit(x) if name == "normal" else dist.fit(x, floc=0)
            ks = float(stats.kstest(x, scipy_name, args=params).statistic)
        except (ValueError, RuntimeError, FloatingPointError):  # a fit that does not converge
            continue
        if math.isfinite(ks) and (best is None or ks < best[0]):
            best = (ks, name)
    if best is not None:
        out["best_fit_ks"], out["best_fit"] = best
    return out


def _column_warnings(columns: pd.DataFrame, n_rows: int) -> list[ProfileWarning]:
    out = []
    for row in columns.itertuples(index=False):
        if row.is_target:
            continue
        name = row.name
        if n_rows and row.missing == n_rows:
            out.append(
                ProfileWarning(
                    "all_missing",
                    name,
                    f"column {name!r} is entirely missing; drop it",
                )
            )
            continue
        if row.kind == "identifier":
            out.append(
                ProfileWarning(
                    "identifier",
                    name,
                    f"column {name!r} looks like an identifier ({row.n_unique:,} distinct values); "
                    "it is excluded from modelling",
                )
            )
        if row.kind == "constant":
            out.append(
                ProfileWarning(
                    "constant",
                    name,
                    f"column {name!r} has a single value; it carries no information and is dropped",
                )
            )
        if row.missing_share >= MISSING_SHARE:
            out.append(
                ProfileWarning(
                    "missing",
                    name,
                    f"column {name!r} is {100 * row.missing_share:.0f}% missing "
                    f"({row.missing:,} values); consider dropping it or checking the source",
                )
            )
        if row.kind == "categorical":
            n_present = n_rows - row.missing
            too_many = row.n_unique > HIGH_CARDINALITY
            mostly_unique = n_present > 20 and row.n_unique / n_present > 0.5
            if too_many or mostly_unique:
                out.append(
                    ProfileWarning(
                        "high_cardinality",
                        name,
                        f"column {name!r} has {row.n_unique:,} distinct levels; it is "
                        "target-encoded rather than one-hot encoded",
                    )
                )
        if row.kind == "numeric" and not math.isnan(row.skew) and abs(row.skew) > SKEW:
            out.append(
                ProfileWarning(
                    "skew",
                    name,
                    f"column {name!r} is strongly skewed (skew {row.skew:.1f}); a log "
                    "transform may help linear models",
                )
            )
    return out


# ---------------------------------------------------------------------- target
def _target_summary(y: pd.Series, task: str, reason: str) -> dict:
    info: dict[str, Any] = {
        "name": str(y.name),
        "task": task,
        "reason": reason,
        "missing": int(y.isna().sum()),
    }
    if task == "regression":
        v = y.astype("float64").dropna()
        info.update(
            mean=float(v.mean()),
            std=float(v.std()),
            min=float(v.min()),
            max=float(v.max()),
            skew=float(v.skew()) if len(v) > 2 else float("nan"),
        )
        return info
    counts = y.value_counts(dropna=True)
    total = int(counts.sum())
    info["classes"] = [
        {"label": _native(label), "count": int(c), "share": float(c / total)} for label, c in counts.items()
    ]
    info["majority"] = _native(counts.index[0])
    info["minority"] = _native(counts.index[-1])
    info["minority_share"] = float(counts.iloc[-1] / total)
    info["imbalance_ratio"] = float(counts.iloc[0] / counts.iloc[-1])
    if task == "binary":
        info["positive_label"] = _native(positive_label(list(counts.index)))
    return info


def _target_warnings(info: dict) -> list[ProfileWarning]:
    out = []
    name = info["name"]
    if info["missing"]:
        out.append(
            ProfileWarning(
                "target_missing",
                name,
                f"target {name!r} is missing in {info['missing']:,} rows; they are left out of training",
            )
        )
    if info["task"] != "regression":
        share, ratio = info["minority_share"], info["imbalance_ratio"]
        if share < IMBALANCE_SHARE or ratio >= IMBALANCE_RATIO:
            out.append(
                ProfileWarning(
                    "imbalance",
                    name,
                    f"target {name!r} is imbalanced: class {info['minority']!r} is "
                    f"{100 * share:.1f}% of rows (majority/minority ratio {ratio:.1f}); prefer "
                    "balanced accuracy, ROC AUC or average precision over accuracy",
                )
            )
    return out


def _encode_target(y: pd.Series, task: str, info: dict) -> pd.Series | None:
    """Binary → 0/1 (positive class 1), regression → float, multiclass → None."""
    if task == "binary":
        positive = info["positive_label"]
        return pd.Series(
            (y.to_numpy(dtype=object) == _to_label(y, positive)).astype("float64"), index=y.index
        )
    if task == "regression":
        return y.astype("float64")
    return None


def _to_label(y: pd.Series, label: object) -> object:
    for value in pd.unique(y.dropna()):
        if _native(value) == label:
            return value
    return label


# ---------------------------------------------------------------------- target rates
def _rate_table(
    key: pd.Series, order: list[str], yk: pd.Series, encoded: pd.Series | None, task: str
) -> pd.DataFrame:
    if task == "multiclass":
        counts = pd.crosstab(key, yk)
        sizes = counts.sum(axis=1)
        shares = counts.div(sizes, axis=0)
        shares.columns = [f"share_{c}" for c in shares.columns]
        table = pd.concat([sizes.rename("count"), shares], axis=1)
    else:
        assert encoded is not None
        grouped = encoded.groupby(key, sort=False).agg(["size", "mean"])
        table = grouped.rename(
            columns={
                "size": "count",
                "mean": "rate" if task == "binary" else "mean",
            }
        )
    table = table.reindex([o for o in order if o in table.index])
    table.index.name = "level"
    table = table.reset_index()
    table["level"] = table["level"].astype(object)
    table["count"] = table["count"].astype("int64")
    return table


def _target_rates(
    dk: pd.DataFrame,
    features: dict[str, ColumnInfo],
    numk: dict[str, pd.Series],
    yk: pd.Series,
    encoded: pd.Series | None,
    task: str,
    info: dict,
) -> dict[str, pd.DataFrame]:
    rates: dict[str, pd.DataFrame] = {}
    for name, col in features.items():
        if col.kind in ("categorical", "boolean"):
            s = dk[name]
            counts = s.value_counts(dropna=True)
            top = list(counts.index[:RATE_LEVELS])
            text = s.astype(object).map(str)
            key = np.where(s.isna(), "(missing)", np.where(s.isin(top), text, "other"))
            order = [str(v) for v in top] + ["other", "(missing)"]
        elif col.kind == "numeric":
            v = numk[name]
            present = v[np.isfinite(v)]  # infinite values would make the bin edges NaN
            if present.empty:
                continue
            levels = np.sort(present.unique())
            if len(levels) <= RATE_BINS:
                labels = {lv: _fmt(lv) for lv in levels}
                key = np.where(v.isna(), "(missing)", v.map(labels).astype(object))
                order = list(labels.values()) + ["(missing)"]
            else:
                edges = np.unique(np.quantile(present.to_numpy(), np.linspace(0, 1, RATE_BINS + 1)))
                if len(edges) < 3:
                    continue
                codes = pd.cut(v, edges, include_lowest=True, labels=False)
                labels_list = [
                    f"{'[' if i == 0 else '('}{_fmt(lo)}, {_fmt(hi)}]"
                    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True))
                ]
                key = np.array(
                    ["(missing)" if math.isnan(c) else labels_list[int(c)] for c in codes],
                    dtype=object,
                )
                order = labels_list + ["(missing)"]
        else:
            continue
        rates[name] = _rate_table(pd.Series(key, index=dk.index, name="level"), order, yk, encoded, task)
    return rates


# ---------------------------------------------------------------------- associations
def _eta(groups: pd.Series, values: pd.Series) -> tuple[float, float, int]:
    """Correlation ratio of ``values`` by ``groups`` with the one-way ANOVA p-value."""
    mask = groups.notna() & values.notna()
    g, v = groups[mask], values[mask].astype("float64")
    n = len(v)
    if n < 3:
        return float("nan"), float("nan"), n
    by = v.groupby(g.astype(object), sort=False).agg(["size", "mean"])
    k = len(by)
    grand = v.mean()
    sst = float(((v - grand) ** 2).sum())
    if k < 2 or sst <= 0:
        return float("nan"), float("nan"), n
    ssb = float((by["size"] * (by["mean"] - grand) ** 2).sum())
    eta = math.sqrt(min(max(ssb / sst, 0.0), 1.0))
    df1, df2 = k - 1, n - k
    ssw = sst - ssb
    if df2 <= 0:
        p = float("nan")
    elif ssw <= 1e-12 * sst:
        p = 0.0
    else:
        p = float(stats.f.sf((ssb / df1) / (ssw / df2), df1, df2))
    return eta, p, n


def _cramers_v(x: pd.Series, y: pd.Series) -> tuple[float, float, float, int]:
    """Cramér's V with the chi-square statistic and p-value (no continuity correction) and n."""
    table = pd.crosstab(x.astype(object), y.astype(object))
    n = int(table.to_numpy().sum())
    if min(table.shape) < 2 or n == 0:
        return float("nan"), float("nan"), float("nan"), n
    chi2, p, _, _ = stats.chi2_contingency(table.to_numpy(), correction=False)
    v = math.sqrt(chi2 / (n * (min(table.shape) - 1)))
    return float(v), float(chi2), float(p), n


def _associations(
    dk: pd.DataFrame,
    features: dict[str, ColumnInfo],
    numk: dict[str, pd.Series],
    yk: pd.Series,
    encoded: pd.Series | None,
    task: str,
) -> pd.DataFrame:
    rows = []
    for name, col in features.items():
        row: dict[str, Any] = dict.fromkeys(_ASSOC_COLUMNS, np.nan)
        row.update(feature=name, kind=col.kind)
        if col.kind == "numeric":
            x = numk[name]
            if task == "multiclass":
                eta, p, n = _eta(yk, x)
                row.update(method="eta", eta=eta, p_value=p, n=n, strength=eta)
            else:
                assert encoded is not None
                mask = (x.notna() & encoded.notna()).to_numpy()
                xv, yv = x.to_numpy()[mask], encoded.to_numpy()[mask]
                n = int(mask.sum())
                row.update(method="pearson", n=n)
                if n >= 3 and np.ptp(xv) > 0 and np.ptp(yv) > 0:
                    r, p = stats.pearsonr(xv, yv)
                    rho, sp = stats.spearmanr(xv, yv)
                    row.update(
                        pearson_r=float(r),
                        pearson_p=float(p),
                        spearman_rho=float(rho),
                        spearman_p=float(sp),
                        p_value=float(p),
                        strength=abs(float(r)),
                    )
        elif col.kind in ("categorical", "boolean"):
            x = dk[name]
            if task == "regression":
                assert encoded is not None
                eta, p, n = _eta(x, encoded)
                row.update(method="eta", eta=eta, p_value=p, n=n, strength=eta)
            else:
                v, chi2, p, n = _cramers_v(x, yk)
                row.update(method="cramers_v", cramers_v=v, chi2=chi2, p_value=p, n=n, strength=v)
        else:
            continue
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(_ASSOC_COLUMNS))
    if table.empty:
        return table
    table = table.sort_values("strength", ascending=False, na_position="last", kind="stable")
    table["n"] = table["n"].astype("int64")
    for c in _ASSOC_COLUMNS[3:-1]:
        table[c] = table[c].astype("float64")
    return table.reset_index(drop=True)


# ---------------------------------------------------------------------- leakage
def _feature_matrix(s: pd.Series, kind: str, numeric: pd.Series | None) -> np.ndarray | None:
    """One feature as a float column for a tree: ordinal codes for categories, a sentinel below
    the observed range for missing values (so missingness itself can be used)."""
    if kind == "numeric":
        assert numeric is not None
        v = numeric.to_numpy(dtype="float64")
    elif kind == "datetime":
        d = parse_dates(s)
        v = np.where(d.isna(), np.nan, d.to_numpy(dtype="datetime64[ns]").astype("int64"))
        v = v.astype("float64")
    elif kind in ("categorical", "boolean"):
        counts = s.value_counts(dropna=True)
        codes = {level: float(i) for i, level in enumerate(counts.index[:255])}
        v = s.map(codes).astype("float64").to_numpy()
        v = np.where(s.notna().to_numpy() & np.isnan(v), float(len(codes)), v)
    else:
        return None
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        return None
    low, high = float(finite.min()), float(finite.max())
    v = np.where(np.isfinite(v), v, low - (high - low) - 1.0)
    return v.reshape(-1, 1)


def _leakage_warnings(
    dk: pd.DataFrame,
    features: dict[str, ColumnInfo],
    numk: dict[str, pd.Series],
    yk: pd.Series,
    task: str,
    assoc: pd.DataFrame,
    seed: int,
) -> list[ProfileWarning]:
    from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    found: dict[str, str] = {}
    if len(assoc):
        strong = assoc[(assoc["method"] == "pearson") & (assoc["pearson_r"].abs() >= LEAK_PEARSON)]
        for row in strong.itertuples(index=False):
            found[row.feature] = f"Pearson r {row.pearson_r:.3f}"

    if len(dk) > LEAK_ROWS:
        rows = dk.sample(n=LEAK_ROWS, random_state=seed).index
        dk, yk = dk.loc[rows], yk.loc[rows]
        numk = {k: v.loc[rows] for k, v in numk.items()}
    if task == "regression":
        y = yk.to_numpy(dtype="float64")
        folds = KFold(3, shuffle=True, random_state=seed)
        majority = 0.0
        min_count = len(y)
    else:
        y, _ = pd.factorize(yk.astype(object), sort=True)
        counts = np.bincount(y)
        min_count = int(counts.min())
        majority = float(counts.max() / counts.sum())
        folds = StratifiedKFold(3, shuffle=True, random_state=seed)
    if len(y) >= 30 and min_count >= 3:
        splits = list(folds.split(np.zeros((len(y), 1)), y))
        for name, col in features.items():
            if name in found:
                continue
            x = _feature_matrix(dk[name], col.kind, numk.get(name))
            if x is None:
                continue
            if task == "regression":
                model: Any = DecisionTreeRegressor(max_depth=8, min_samples_leaf=3, random_state=seed)
                pred = np.empty(len(y), dtype="float64")
            else:
                model = DecisionTreeClassifier(max_depth=8, min_samples_leaf=3, random_state=seed)
                pred = np.empty(len(y), dtype="float64")
            for train, test in splits:
                model.fit(x[train], y[train])
                if task == "binary":
                    proba = model.predict_proba(x[test])
                    pred[test] = proba[:, list(model.classes_).index(1)] if (1 in model.classes_) else 0.0
                else:
                    pred[test] = model.predict(x[test])
            if task == "binary":
                score = roc_auc_score(y, pred)
                if score >= LEAK_AUC:
                    found[name] = f"cross-validated ROC AUC {score:.3f}"
            elif task == "multiclass":
                score = accuracy_score(y, pred.astype(int))
                if score >= LEAK_ACCURACY and score > majority:
                    found[name] = f"cross-validated accuracy {score:.3f}"
            else:
                score = r2_score(y, pred)
                if score >= LEAK_R2:
                    found[name] = f"cross-validated R² {score:.3f}"
    return [
        ProfileWarning(
            "leakage",
            name,
            f"column {name!r} alone predicts the target almost perfectly ({why}); it may be "
            "derived from the target or recorded after the outcome — drop it unless it is known "
            "at prediction time",
        )
        for name, why in found.items()
    ]


# ---------------------------------------------------------------------- helpers
def _native(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _fmt(x: object) -> str:
    if x is None:
        return ""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if math.isnan(x):
            return ""
        if x.is_integer() and abs(x) < 1e15:
            return f"{int(x):,}" if abs(x) >= 1e4 else str(int(x))
        return f"{x:,.0f}" if abs(x) >= 1e4 else f"{x:.4g}"
    return str(x)


def _fmt_p(p: float) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    return "<1e-4" if p < 1e-4 else f"{p:.3g}"


def _suppress():
    import contextlib

    return contextlib.suppress(OSError)
