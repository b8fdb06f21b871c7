"""The report's "Checks" section: what the methodology checks found, how the rows were split, and for a
time split the test score per period."""

from __future__ import annotations

from modelworks.checks import CODES


def _split_sentence(split: dict) -> str:
    kind = split["kind"]
    if kind == "group":
        return (
            f"Split by group ({split['column']!r}): {split['train_groups']:,} groups trained on and "
            f"{split['test_groups']:,} others tested on; every fold, the tuning, bagging and stacking keep "
            "a group's rows together, so the scores are for entities the model has not seen."
        )
    if kind == "time":
        gap = f", {split['gap']} time(s) left out between them" if split.get("gap") else ""
        return (
            f"Split by time ({split['column']!r}): trained on rows until {split['train_until']}, tested on "
            f"rows from {split['test_from']} to {split['test_until']}{gap}; the folds chain forward "
            "(each trained on the past, validated on what follows)."
        )
    grouped = " Identical rows are kept together." if split.get("repeated_rows_grouped") else ""
    how = "stratified by class" if kind == "stratified" else "at random"
    return (
        f"Split {how}: rows are treated as independent. If several rows describe one entity, give "
        f"--groups COL; if they are ordered in time, --time-column COL.{grouped}"
    )


def checks_context(exp) -> dict:
    """The section's context: the findings as rows, the split in one sentence, the period figure."""
    findings = [
        {
            "code": f.code,
            "title": CODES[f.code],
            "severity": f.severity,
            "columns": ", ".join(f.columns),
            "message": f.message,
            "evidence": f"{f.evidence:.3g}",
        }
        for f in exp.checks
    ]
    periods = (exp.evaluation.extra.get("periods") if exp.evaluation is not None else None) or None
    figure = None
    if periods:
        from modelworks.evaluate.metrics import METRICS
        from modelworks.plots import to_data_uri
        from modelworks.plots._periods import PeriodScoreDisplay

        display = PeriodScoreDisplay.from_periods(
            periods["scores"],
            periods["metric"],
            greater_is_better=METRICS[periods["metric"]].greater_is_better,
        )
        figure = to_data_uri(display.figure_)
    return {
        "findings": findings,
        "split": _split_sentence(exp.split.split_record),
        "periods": periods,
        "periods_figure": figure,
    }
