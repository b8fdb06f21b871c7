"""The report's "All rows" section for a run on a folder or glob of files: the profile over every row
(exact counts, approximate quantiles, said so), how the compared sample was drawn, and what
``--full-data`` did."""

from __future__ import annotations

from typing import Any


def large_context(exp: Any) -> dict | None:
    """The section's content, or ``None`` for an ordinary table."""
    from modelworks.distributed._profile import APPROXIMATE, DISTINCT, EXACT, distinct_text
    from modelworks.report._format import _table, fmt

    large = getattr(exp, "large_table", None)
    if large is None:
        return None
    prof, sample = large.profile, large.sample_info
    rows = []
    for c in prof.columns:
        q = c.get("quantiles") or {}
        top = ", ".join(f"{t['value']} ({t['count']:,})" for t in (c.get("top") or [])[:3])
        rows.append(
            [
                c["name"],
                c["kind"],
                f"{c['missing']:,} ({100 * c['missing_share']:.1f}%)",
                distinct_text(c).removesuffix(" distinct"),
                c.get("min"),
                q.get("0.5"),
                c.get("max"),
                c.get("mean"),
                c.get("std"),
                top,
            ]
        )
    columns = _table(
        ["column", "kind", "missing", "distinct", "min", "median ≈", "max", "mean", "std", "top levels"], rows
    )
    target = prof.target or {}
    classes = ", ".join(
        f"{c['label']} {c['count']:,} ({100 * c['share']:.1f}%)" for c in (target.get("classes") or [])[:10]
    )
    full = large.full
    if full is None:
        full_text = (
            "The saved model was fitted on the sample (run with --full-data to refit a LightGBM or "
            "XGBoost model on all rows)."
        )
    elif full.done:
        full_text = f"--full-data: {full.reason}."
    else:
        full_text = f"--full-data: not fitted; {full.reason}."
    return {
        "source": prof.source,
        "n_rows": fmt(prof.n_rows),
        "n_columns": fmt(prof.n_columns),
        "seconds": f"{prof.seconds:.1f}",
        "partitions": fmt(prof.partitions),
        "exact": EXACT,
        "approximate": APPROXIMATE,
        "distinct": DISTINCT,
        "target": target.get("name"),
        "task": target.get("task"),
        "classes": classes,
        "columns": columns,
        "columns_numeric": ("min", "median ≈", "max", "mean", "std"),
        "sample": sample.line().removeprefix("Sample for the comparison: "),
        "sample_rows": fmt(sample.rows),
        "full": full_text,
    }
