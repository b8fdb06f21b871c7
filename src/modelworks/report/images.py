"""The report of an image classification run (``report.html`` of an image bundle)."""

from __future__ import annotations

import json
import shlex
from functools import partial
from pathlib import Path

import numpy as np

from modelworks.report._build import _base, _table, fmt, render
from modelworks.report._figures import Spec, draw

#: Misclassified test images shown, at most; sample images per class.
MISCLASSIFIED, SAMPLES = 24, 8


def _training_curve(exp, name: str):
    from modelworks.plots import TrainingCurveDisplay

    result = next(r for r in exp.results if r.name == name)
    return TrainingCurveDisplay.from_history(result.model.history_, name=result.label)


def _confusion(exp):
    from modelworks.plots import ConfusionMatrixDisplay

    ev = exp.evaluate()
    return ConfusionMatrixDisplay.from_predictions(ev.y, ev.predictions[ev.chosen], labels=exp.classes)


def _misclassified(exp):
    from modelworks.plots import ImageGridDisplay
    from modelworks.plots.accessors import NotApplicable

    ev = exp.evaluate()
    pred = ev.predictions[ev.chosen]
    if (pred == ev.y).all():
        raise NotApplicable("every test image is predicted right")
    images = exp.data.X[exp.test_rows]
    return ImageGridDisplay.from_predictions(images, ev.y, pred, most=MISCLASSIFIED)


def _samples(exp):
    from modelworks.plots import ImageGridDisplay

    y = exp.data.y
    rows = [i for c in exp.classes[:8] for i in np.flatnonzero(y == c)[:SAMPLES][:4]]
    return ImageGridDisplay(images=exp.data.X[rows], captions=[str(y[i]) for i in rows]).plot()


def image_report_context(exp, bundle: Path | None) -> dict:
    """The template context of an evaluated :class:`~modelworks.workflows.images.ImageExperiment`."""
    ev = exp.evaluate()
    chosen = exp.chosen
    data = exp.data
    n, h, w, c = data.X.shape
    counts = []
    for label in exp.classes:
        mask = data.y == label
        counts.append(
            [
                label,
                int(mask.sum()),
                int(mask[exp.fit_rows].sum()),
                int(mask[exp.val_rows].sum()),
                int(mask[exp.test_rows].sum()),
            ]
        )
    board = []
    for r in exp.results:
        speed = np.mean(r.model.history_["images_per_second"]) if r.model is not None else None
        mark = " ★" if r.name == chosen.name else ""
        board.append(
            [
                r.label + mark,
                r.val_accuracy,
                r.val_loss,
                r.epochs,
                r.best_epoch,
                r.seconds,
                speed,
                r.skipped or r.stopped,
            ]
        )
    metrics = []
    for name, m in ev.metrics.items():
        low, high = m["accuracy_ci"]
        metrics.append([name, m["accuracy"], f"{fmt(low)} – {fmt(high)}", m["macro_f1"], m["log_loss"]])
    readings = [
        f"{cmp['mcnemar']['reading']} Paired bootstrap: {cmp['bootstrap']['reading']}"
        for cmp in ev.comparisons
    ]
    model_specs = [
        Spec(
            f"training_{r.name}",
            f"Training curve: {r.label}",
            partial(_training_curve, exp, r.name),
            "Loss and accuracy per epoch on the training part (augmented) and the validation part; the "
            "dashed line marks the epoch kept (least validation loss).",
            wide=True,
        )
        for r in exp.results
        if r.model is not None
    ]
    test_specs = [
        Spec(
            "confusion_matrix",
            "Confusion matrix",
            partial(_confusion, exp),
            "Counts and shares per true class.",
        ),
        Spec(
            "misclassified",
            "Misclassified test images",
            partial(_misclassified, exp),
            f"The first {MISCLASSIFIED} test images the chosen model gets wrong, captioned true → predicted.",
            wide=True,
        ),
    ]
    data_specs = [
        Spec("samples", "Examples", partial(_samples, exp), "A few images of each class.", wide=True)
    ]
    data_figures, _ = draw(data_specs, None)
    model_figures, model_not_drawn = draw(model_specs, None)
    test_figures, test_not_drawn = draw(test_specs, None)
    toc = [
        {"id": "data", "title": "Data", "children": []},
        {"id": "models", "title": "Models", "children": []},
        {"id": "test", "title": "Best model on test", "children": []},
        {"id": "usage", "title": "How to use", "children": []},
    ]
    low, high = ev.metrics[ev.chosen]["accuracy_ci"]
    path = str(bundle) if bundle is not None else "BUNDLE"
    return {
        **_base("modelworks report: images", toc),
        "n_images": f"{n:,}",
        "size": f"{h}×{w}",
        "colour": "grey" if c == 1 else "RGB",
        "n_classes": len(exp.classes),
        "seed": exp.seed,
        "device": exp.device,
        "augment": exp.augment,
        "chosen_label": chosen.label,
        "split": f"{len(exp.fit_rows):,} training, {len(exp.val_rows):,} validation, "
        f"{len(exp.test_rows):,} test images (stratified)",
        "cards": [
            {
                "k": "Test accuracy",
                "v": f"{fmt(ev.metrics[ev.chosen]['accuracy'])} ({fmt(low)} – {fmt(high)})",
            },
            {"k": "Chosen", "v": chosen.label},
            {"k": "Images", "v": f"{n:,} · {h}×{w}"},
            {"k": "Classes", "v": str(len(exp.classes))},
        ],
        "notices": data.notices,
        "classes": _table(["class", "images", "training", "validation", "test"], counts),
        "leaderboard": _table(
            ["model", "val accuracy", "val loss", "epochs", "best epoch", "seconds", "images/s", "stopped"],
            board,
        ),
        "test_metrics": _table(["model", "accuracy", "95% interval", "macro F1", "log loss"], metrics),
        "readings": readings,
        "data_figures": data_figures,
        "model_figures": model_figures,
        "model_not_drawn": model_not_drawn,
        "test_figures": test_figures,
        "test_not_drawn": test_not_drawn,
        "bundle": path,
        "bundle_q": shlex.quote(path),
        "bundle_py": json.dumps(path),
        "alpha": exp.alpha,
    }


def render_image_report(exp, bundle: Path | None = None) -> str:
    """One self-contained HTML page for an image run."""
    return render("images.html.j2", image_report_context(exp, bundle))
