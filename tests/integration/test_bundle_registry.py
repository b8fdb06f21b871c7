"""Every registry model's pipeline (every task), the ensembles and the threshold wrapper save into a
bundle and load back through the skops allow-list; the allow-list is exactly what they need.

Kept out of the unit tests (about 40 s of fits): `make test` runs it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from modelworks import load_model
from modelworks.bundle import (
    MANIFEST,
    TRUSTED_TYPES,
    save_bundle,
)
from modelworks.bundle._skops import skops_io
from modelworks.bundle._trust import RENAMED_TYPES, SKLEARN_CLASSES

# -- every registry model's pipeline saves and loads with the allow-list ------------------------------


def _mixed_table(n: int = 80, seed: int = 0) -> pd.DataFrame:
    """Every column kind, so every preprocessing step is in the pipelines."""
    rng = np.random.default_rng(seed)
    words = ["red apple", "green pear", "blue sky", "big dog", "small cat", "fast car"]
    return pd.DataFrame(
        {
            "num": rng.normal(size=n),
            "num_missing": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
            "cat": rng.choice(["a", "b", "c"], size=n),
            "flag": rng.choice([True, False], size=n),
            "high": [f"lvl{i}" for i in rng.integers(0, 40, size=n)],
            "text": [" ".join(rng.choice(words, size=3)) + f" w{i % 7}" for i in range(n)],
            "when": pd.date_range("2020-01-01", periods=n, freq="37h").astype(str),
        }
    )


def _targets(X: pd.DataFrame) -> dict[str, pd.Series]:
    rng = np.random.default_rng(1)
    base = X["num"].to_numpy()
    return {
        "binary": pd.Series(np.where(base + 0.5 * rng.normal(size=len(X)) > 0, "yes", "no")),
        "multiclass": pd.Series(np.digitize(base, [-0.5, 0.5])).map({0: "lo", 1: "mid", 2: "hi"}),
        "regression": pd.Series(3 * base + rng.normal(size=len(X))),
    }


def _registry_cases() -> list[tuple[str, str]]:
    from modelworks.models.registry import REGISTRY

    cases = [(task, spec.name) for spec in REGISTRY.values() for task in spec.tasks]
    cases += [
        (task, kind) for kind in ("ensemble", "stacked") for task in ("binary", "multiclass", "regression")
    ]
    # with few dense features (no text) KNN keeps a KD tree
    cases += [(task, "knn:dense") for task in ("binary", "multiclass", "regression")]
    cases += [("binary", f"threshold:{name}") for name in ("linear", "xgboost", "ensemble")]
    # probabilities through a calibration map (sigmoid, isotonic), and a threshold over one
    cases += [("binary", "calibrated:linear"), ("multiclass", "calibrated:hist_gradient_boosting")]
    cases += [("binary", "threshold:calibrated:linear")]
    return cases


REGISTRY_CASES = _registry_cases()


def _small(pipe: Pipeline, name: str) -> Pipeline:
    """Fewer trees (the types saved do not depend on how many)."""
    model = pipe.steps[-1][1]
    inner = model.estimator if type(model).__name__ == "LabelEncodedClassifier" else model
    if name in ("random_forest", "extra_trees", "lightgbm", "xgboost"):
        inner.set_params(n_estimators=4)
    elif name == "catboost":
        inner.set_params(iterations=4)
    return pipe


@pytest.fixture(scope="module")
def registry_bundles(tmp_path_factory) -> dict[tuple[str, str], tuple[Path, Pipeline, pd.DataFrame]]:
    """A bundle saved from every registry model's pipeline, per task, plus the ensemble and the
    decision-threshold wrapper."""
    import warnings

    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import FixedThresholdClassifier

    from modelworks.checks._calibration import fit_calibrator
    from modelworks.data.kinds import infer_kinds
    from modelworks.experiment import build_pipeline
    from modelworks.models.registry import REGISTRY
    from modelworks.models.wrappers import CalibratedClassifier
    from modelworks.prepare.clean import TableCleaner
    from modelworks.search.ensemble import WeightedEnsemble
    from modelworks.search.stacking import StackedEnsemble

    X = _mixed_table()
    columns = [c.to_dict() for c in infer_kinds(X).values()]
    root = tmp_path_factory.mktemp("registry")
    fitted: dict[tuple[str, str], Pipeline] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for task, y in _targets(X).items():
            for spec in REGISTRY.values():
                if task in spec.tasks:
                    pipe = _small(build_pipeline(spec, columns, task, 0, 1, n_rows=60), spec.name)
                    fitted[task, spec.name] = pipe.fit(X, y)
            members = [(n, Pipeline(fitted[task, n].steps[1:])) for n in ("linear", "hist_gradient_boosting")]
            ensemble = Pipeline(
                [("clean", TableCleaner(columns)), ("model", WeightedEnsemble(members, [0.5, 0.5]))]
            )
            fitted[task, "ensemble"] = ensemble.fit(X, y)
            width = {"binary": 1, "multiclass": 3, "regression": 1}[task]
            coef = [[0.7, 0.4] * (1 if task != "multiclass" else 3)] * (width if task == "multiclass" else 1)
            stacked = StackedEnsemble(members, [0.5, 0.5], coef, [0.1] * width)
            fitted[task, "stacked"] = Pipeline([("clean", TableCleaner(columns)), ("model", stacked)]).fit(
                X, y
            )
            few = ["num", "num_missing", "cat", "flag", "when"]  # few dense features: a KD tree
            dense = X[few]
            knn = build_pipeline(REGISTRY["knn"], [c for c in columns if c["name"] in few], task, 0, 1)
            fitted[task, "knn:dense"] = knn.fit(dense, y)
            assert fitted[task, "knn:dense"].steps[-1][1]._fit_method == "kd_tree"
        for name in ("linear", "xgboost", "ensemble"):
            pipe = fitted["binary", name]
            last = FixedThresholdClassifier(
                FrozenEstimator(pipe.steps[-1][1]),
                threshold=0.3,
                pos_label="yes",
                response_method="predict_proba",
            ).fit(np.zeros((2, 1)), pd.Series(["no", "yes"]))
            fitted["binary", f"threshold:{name}"] = Pipeline([*pipe.steps[:-1], ("model", last)])
        for task, name, method in (
            ("binary", "linear", "sigmoid"),
            ("multiclass", "hist_gradient_boosting", "isotonic"),
        ):
            pipe = fitted[task, name]
            mapping = fit_calibrator(method, _targets(X)[task], pipe.predict_proba(X), list(pipe.classes_))
            wrapped = CalibratedClassifier(pipe.steps[-1][1], mapping).fit()
            fitted[task, f"calibrated:{name}"] = Pipeline([*pipe.steps[:-1], ("model", wrapped)])
        calibrated = fitted["binary", "calibrated:linear"]
        last = FixedThresholdClassifier(
            FrozenEstimator(calibrated.steps[-1][1]),
            threshold=0.3,
            pos_label="yes",
            response_method="predict_proba",
        ).fit(np.zeros((2, 1)), pd.Series(["no", "yes"]))
        fitted["binary", "threshold:calibrated:linear"] = Pipeline([*calibrated.steps[:-1], ("model", last)])
    out = {}
    for (task, name), pipe in fitted.items():
        schema = {"columns": columns, "target": {"name": "y", "task": task, "labels": None}}
        path = save_bundle(root / f"{task}-{name.replace(':', '-')}", pipe, schema, {})
        out[task, name] = (path, pipe, X[few] if name == "knn:dense" else X)
    return out


@pytest.mark.parametrize(("task", "name"), REGISTRY_CASES, ids=[f"{t}-{n}" for t, n in REGISTRY_CASES])
def test_every_registry_pipeline_saves_and_loads(registry_bundles, task, name):
    path, pipe, X = registry_bundles[task, name]
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))
    if task != "regression":
        np.testing.assert_allclose(loaded.predict_proba(X), pipe.predict_proba(X))


def _unsupervised_bundles(root: Path) -> list[Path]:
    """A clustering bundle per method and anomaly bundles with either scaling."""
    from modelworks.cluster import Anomalies, Clustering

    X = _mixed_table()
    paths = []
    for method in ("kmeans", "gmm", "agglomerative", "dbscan", "hdbscan"):
        k = 3 if method in ("kmeans", "gmm", "agglomerative") else "auto"
        cl = Clustering(X, method=method, k=k, time_budget=None, seed=0).fit()
        paths.append(cl.save(root / f"cluster-{method}", report=False))
    for scaling in ("robust", "standard"):
        paths.append(Anomalies(X, scaling=scaling).fit().save(root / f"anomalies-{scaling}", report=False))
    return paths


def test_allow_list_is_exactly_what_registry_pipelines_and_image_networks_need(registry_bundles, tmp_path):
    """Complete (every type a registry pipeline or an image network needs is listed) and minimal
    (nothing else is, but the neural networks' old names, which older bundles need:
    ``test_neural_old_path.py``)."""
    from sklearn.datasets import load_digits

    from modelworks.workflows.images import ImageExperiment

    digits = load_digits()
    X, y = (digits.images[:120] * 15).astype("uint8"), digits.target[:120] % 3
    paths = [path for path, _, _ in registry_bundles.values()]
    for backend in ("torch", "keras"):  # the image networks' bundles
        exp = ImageExperiment(X, y, models=["cnn"], max_epochs=1, n_jobs=1, device="cpu", backend=backend)
        paths.append(exp.save(tmp_path / backend, report=False))
    paths += _unsupervised_bundles(tmp_path)
    sio = skops_io()
    needed, manifests = set(), set()
    for path in paths:
        needed |= set(sio.get_untrusted_types(data=(path / "model.skops").read_bytes()))
        manifests |= set(json.loads((path / MANIFEST).read_text())["trusted_types"])
    assert needed == set(TRUSTED_TYPES) - set(RENAMED_TYPES)
    # manifests name what skops would not trust by default when it lists scikit-learn's estimators
    assert manifests == set(TRUSTED_TYPES) - SKLEARN_CLASSES - set(RENAMED_TYPES)
