"""The :class:`Profile` a profiling run returns: its export to JSON and its Rich rendering."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from modelworks.data._profile.common import FIT_SHORT, ProfileWarning, fmt, fmt_p
from modelworks.data.schema import json_safe

if TYPE_CHECKING:
    from modelworks.plots.accessors import ProfilePlots


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
        #: The methodology checks' findings as dicts (``code``, ``severity``, ``columns``, ``message``,
        #: ``evidence``), set by ``modelworks profile --target`` (:func:`modelworks.checks.check_table`).
        self.checks: list[dict] = []

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
                "checks": self.checks,
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
            summary = fmt(row.mean) if row.kind == "numeric" else top
            table.add_row(
                name,
                row.kind,
                f"{100 * row.missing_share:.1f}%",
                f"{row.n_unique:,}",
                summary,
                f"{row.skew:.2f}" if not math.isnan(row.skew) else "",
                FIT_SHORT.get(row.best_fit, "") if isinstance(row.best_fit, str) else "",
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
                    "  " + "  ".join(f"{k} {fmt(t[k])}" for k in ("mean", "std", "min", "max", "skew"))
                )
            else:
                parts = [f"{c['label']}: {c['count']:,} ({100 * c['share']:.1f}%)" for c in t["classes"][:10]]
                console.print("  " + " · ".join(parts))
                console.print(f"  majority/minority ratio {fmt(t['imbalance_ratio'])}")

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
                    fmt(value[row.method]),
                    fmt_p(row.p_value),
                    fmt(row.spearman_rho) if row.method == "pearson" else "",
                )
            console.print(assoc)

        style = {"error": "bold red", "warning": "yellow", "info": "dim"}
        if self.warnings:
            console.print("[bold]Warnings[/bold]")
            for w in self.warnings:
                line = Text("  ")
                line.append(f"[{w.code}] ", style=style[w.severity])
                line.append(w.message, style=style[w.severity] if w.severity == "error" else "")
                console.print(line)
        else:
            console.print("[green]No warnings.[/green]")
        if self.checks:
            console.print("[bold]Checks[/bold] (docs/checks.md)")
            for f in self.checks:
                where = f" [{', '.join(f['columns'])}]" if f["columns"] else ""
                line = Text(f"  {f['code']} {f['severity']}{where}: ", style=style[f["severity"]])
                line.append(f["message"])
                console.print(line)


def _suppress():
    import contextlib

    return contextlib.suppress(OSError)
