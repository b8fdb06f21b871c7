"""What a run logs, read from its verified bundle: parameters, metrics, tags and table files.

Everything comes from the bundle's ``metrics.json`` (what :meth:`Experiment.summary` and the other
experiments' summaries wrote) and ``schema.json``, so the tracked numbers are exactly the saved ones.
Names (see the README, "Tracking runs with MLflow"):

- tables: ``cv_<metric>_mean``, ``cv_<metric>_std`` (the chosen model's leaderboard row: mean and
  standard deviation over the folds), ``test_<metric>``, ``test_<metric>_ci_low``,
  ``test_<metric>_ci_high`` (95% bootstrap interval); files ``leaderboard.csv`` and ``verdict.json``;
- images: ``val_accuracy``, ``val_loss``, ``test_accuracy`` with its interval, ``test_macro_f1``,
  ``test_log_loss`` of the chosen network;
- clusters: the chosen method and k's row of the comparison; anomalies: threshold and flagged rows.
"""

from __future__ import annotations

import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

#: MLflow's longest parameter value is 6,000 characters; ours are shorter to stay readable.
MAX_PARAM = 500
_NOT_IN_NAME = re.compile(r"[^\w.\- /]")
_ANOMALY_PARAMS = (
    "rows",
    "fit_rows",
    "scaling",
    "contamination",
    "detectors",
    "threshold_rule",
    "label_column",
)


@dataclass
class Content:
    """One run's parameters, metrics, tags and text files (artefact name to content)."""

    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    run_name: str = ""


def param(value: object) -> str:
    """A parameter's text: sequences comma-joined, long values cut."""
    if isinstance(value, (list, tuple)):
        value = ",".join(map(str, value))
    text = str(value)
    return text if len(text) <= MAX_PARAM else text[: MAX_PARAM - 1] + "…"


def key(name: str) -> str:
    """A metric or parameter name MLflow accepts (letters, digits, ``_ - . / space``)."""
    return _NOT_IN_NAME.sub("_", name)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _add(metrics: dict[str, float], name: str, value: object) -> None:
    number = _number(value)
    if number is not None:
        metrics[key(name)] = number


def _csv(records: list[dict]) -> str:
    import pandas as pd

    buffer = io.StringIO()
    pd.DataFrame.from_records(records).to_csv(buffer, index=False)
    return buffer.getvalue()


def _json(data: object) -> str:
    return json.dumps(data, indent=2, default=str) + "\n"


def read(bundle: Path, options: dict[str, object]) -> Content:
    """The content of a verified bundle; ``options`` are the run's settings, logged as parameters."""
    summary = json.loads((bundle / "metrics.json").read_text())
    schema = json.loads((bundle / "schema.json").read_text())
    kind = summary.get("kind", "table")
    content = Content(params={key(k): param(v) for k, v in options.items()})
    content.tags["modelworks.kind"] = kind
    {"table": _table, "images": _images, "clustering": _clustering, "anomalies": _anomalies}.get(
        kind, _table
    )(summary, schema, content)
    return content


def _table(summary: dict, schema: dict, content: Content) -> None:
    test = summary.get("test", {})
    model = test.get("model") or summary.get("chosen_model")
    rows = summary.get("rows", {})
    plan = summary.get("row_plan", {})
    content.params.update(
        {
            "target": param(schema["target"]["name"]),
            "task": param(summary.get("task")),
            "task_reason": param(summary.get("task_reason")),
            "metric": param(summary.get("metric")),
            "chosen_model": param(model),
            "best_model": param(summary.get("best_model")),
            "rows_train": param(rows.get("train")),
            "rows_test": param(rows.get("test")),
            "rows_compared": param(plan.get("compare_rows", rows.get("train"))),
            "rows_fitted": param(plan.get("fit_rows", rows.get("train"))),
            "data_sha256": param(summary.get("data_sha256")),
        }
    )
    board = summary.get("leaderboard", [])
    row: dict = next((r for r in board if r.get("model") == model), {})
    for m in summary.get("metrics", []):
        _add(content.metrics, f"cv_{m}_mean", row.get(f"{m}_mean"))
        _add(content.metrics, f"cv_{m}_std", row.get(f"{m}_std"))
        _add(content.metrics, f"test_{m}", test.get("metrics", {}).get(m))
        low, high = (test.get("intervals", {}).get(m) or [None, None])[:2]
        _add(content.metrics, f"test_{m}_ci_low", low)
        _add(content.metrics, f"test_{m}_ci_high", high)
    _add(content.metrics, "decision_threshold", (test.get("threshold") or {}).get("threshold"))
    _add(content.metrics, "models_compared", len(board))
    _add(content.metrics, "elapsed_seconds", summary.get("elapsed_seconds"))
    content.files["leaderboard.csv"] = _csv(board)
    verdict = summary.get("verdict", "")
    content.files["verdict.json"] = _json(
        {
            "verdict": verdict,
            "chosen_model": model,
            "best_model": summary.get("best_model"),
            "prefer": summary.get("prefer"),
            "significance": summary.get("significance", {}),
            "skipped": summary.get("skipped", []),
        }
    )
    metric = summary.get("metric")
    value = test.get("metrics", {}).get(metric)
    line = f"{verdict}." if verdict else ""
    if isinstance(value, (int, float)):
        low, high = (test.get("intervals", {}).get(metric) or [None, None])[:2]
        ci = f" (95% CI {low:.4g} – {high:.4g})" if low is not None and high is not None else ""
        line += f" Test {metric} of {model}: {value:.4g}{ci} on {test.get('n_test')} rows."
    content.tags["mlflow.note.content"] = line.strip()
    content.run_name = str(model)


def _images(summary: dict, schema: dict, content: Content) -> None:
    chosen = summary.get("chosen")
    images = summary.get("images", {})
    for name in ("task", "device", "backend", "augment"):
        content.params[name] = param(summary.get(name))
    content.params["chosen_model"] = param(chosen)
    for name, value in images.items():
        content.params[key(f"images_{name}")] = param(value)
    board = summary.get("leaderboard", [])
    row: dict = next((r for r in board if r.get("model") == chosen), {})
    _add(content.metrics, "val_accuracy", row.get("val_accuracy"))
    _add(content.metrics, "val_loss", row.get("val_loss"))
    _add(content.metrics, "epochs", row.get("epochs"))
    test = summary.get("test", {}).get(chosen, {})
    _add(content.metrics, "test_accuracy", test.get("accuracy"))
    low, high = (test.get("accuracy_ci") or [None, None])[:2]
    _add(content.metrics, "test_accuracy_ci_low", low)
    _add(content.metrics, "test_accuracy_ci_high", high)
    _add(content.metrics, "test_macro_f1", test.get("macro_f1"))
    _add(content.metrics, "test_log_loss", test.get("log_loss"))
    content.files["leaderboard.csv"] = _csv(board)
    comparisons = summary.get("comparisons", [])
    readings = [
        c[t]["reading"] for c in comparisons for t in ("mcnemar", "bootstrap") if c.get(t, {}).get("reading")
    ]
    verdict = " ".join(readings) or f"{chosen} is the only network trained"
    content.files["verdict.json"] = _json(
        {"verdict": verdict, "chosen_model": chosen, "comparisons": comparisons}
    )
    content.tags["mlflow.note.content"] = verdict
    content.run_name = str(chosen)


def _clustering(summary: dict, schema: dict, content: Content) -> None:
    chosen = summary.get("chosen", {})
    for name in ("rows", "compare_rows", "scaling", "method", "k", "k_star", "label_column"):
        content.params[name] = param(summary.get(name))
    for name in ("method", "k", "n_clusters"):
        content.params[f"chosen_{name}"] = param(chosen.get(name))
    comparison = summary.get("comparison", [])
    row: dict = next(
        (r for r in comparison if r.get("method") == chosen.get("method") and r.get("k") == chosen.get("k")),
        {},
    )
    for name, value in row.items():
        _add(content.metrics, name, value)
    for name, value in (summary.get("external") or {}).items():
        _add(content.metrics, f"external_{name}", value)
    content.files["leaderboard.csv"] = _csv(comparison)
    reason = summary.get("reason") or ""
    content.files["verdict.json"] = _json(
        {
            "verdict": reason,
            "chosen": chosen,
            "k_reason": summary.get("k_reason"),
            "skipped": summary.get("skipped"),
        }
    )
    content.tags["mlflow.note.content"] = str(reason)
    content.run_name = f"{chosen.get('method')} k={chosen.get('k')}"


def _anomalies(summary: dict, schema: dict, content: Content) -> None:
    for name in _ANOMALY_PARAMS:
        content.params[name] = param(summary.get(name))
    for name in ("threshold", "flagged", "flagged_share"):
        _add(content.metrics, name, summary.get(name))
    for name, value in (summary.get("detector_agreement") or {}).items():
        _add(content.metrics, f"agreement {name}", value)
    for name, value in (summary.get("external") or {}).items():
        _add(content.metrics, f"external_{name}", value)
    content.files["most_unusual.csv"] = _csv(summary.get("most_unusual", []))
    rule = str(summary.get("threshold_rule") or "")
    content.files["verdict.json"] = _json(
        {"verdict": rule, "flagged": summary.get("flagged"), "threshold": summary.get("threshold")}
    )
    content.tags["mlflow.note.content"] = (
        f"{summary.get('flagged')} of {summary.get('rows')} rows flagged; {rule}"
    )
    content.run_name = "anomalies"
