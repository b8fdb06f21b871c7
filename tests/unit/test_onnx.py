"""ONNX export: parity with scikit-learn per model family, refusals with reasons, bundles, runtimes."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline

from modelworks.bundle import MANIFEST, ONNX_FILE, load_bundle, save_bundle
from modelworks.data.demo import make_churn
from modelworks.data.kinds import infer_kinds
from modelworks.data.schema import build_schema
from modelworks.errors import BundleError
from modelworks.experiment import build_pipeline
from modelworks.export import onnx as onnx_export
from modelworks.export.onnx import ATOL, export_onnx
from modelworks.export.runtime import OnnxPredictor, labels_from_proba
from modelworks.models.registry import REGISTRY
from modelworks.predict import iso_date_parts, merge_notices, predict_frame, predict_rows
from modelworks.prepare.clean import TableCleaner
from modelworks.search.ensemble import WeightedEnsemble

TARGETS = {"binary": "will_churn", "multiclass": "plan", "regression": "income"}


def table(task: str, n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Churn rows (numbers, categories and a date, with missing values) for ``task``."""
    df = make_churn(n, seed=seed).drop(columns=["customer_id"])
    target = TARGETS[task]
    df = df[df[target].notna()].reset_index(drop=True)
    X = df.drop(columns=[target] if task == "binary" else [target, "will_churn"])
    return X, df[target]


def unseen_rows(X: pd.DataFrame) -> pd.DataFrame:
    """Rows scikit-learn has to treat specially: unseen levels, missing values everywhere."""
    rows = X.head(40).copy()
    for col in rows.columns:
        if col in ("plan", "region"):
            rows.loc[rows.index[:10], col] = "never-seen"
            rows.loc[rows.index[10:20], col] = np.nan
        elif col == "signup_date":
            rows.loc[rows.index[20:25], col] = np.nan
        else:
            rows[col] = rows[col].astype("float64")
            rows.loc[rows.index[25:35], col] = np.nan
    return rows


def columns_of(X: pd.DataFrame) -> list[dict]:
    return [info.to_dict() for info in infer_kinds(X).values()]


def fit(name: str, task: str, X: pd.DataFrame, y: pd.Series) -> Pipeline:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_pipeline(REGISTRY[name], columns_of(X), task, seed=0, n_jobs=1).fit(X, y)


def with_threshold(pipe: Pipeline, threshold: float, classes: list) -> Pipeline:
    """The pipeline with a tuned decision threshold, as Experiment makes it."""
    name, last = pipe.steps[-1]
    wrapped = FixedThresholdClassifier(
        FrozenEstimator(last), threshold=threshold, pos_label="yes", response_method="predict_proba"
    )
    pipe.steps[-1] = (name, wrapped.fit(np.zeros((len(classes), 1)), pd.Series(classes)))
    return pipe


def onnx_output(export, pipe: Pipeline, X: pd.DataFrame) -> np.ndarray:
    predictor = OnnxPredictor(export.model_bytes)
    return predictor.run(predictor.feeds(pipe.steps[0][1].transform(X)))


CONVERTIBLE = [
    ("linear", "binary"),
    ("hist_gradient_boosting", "binary"),
    ("lightgbm", "binary"),
    ("xgboost", "binary"),
    ("random_forest", "binary"),
    ("catboost", "binary"),
    ("hist_gradient_boosting", "multiclass"),
    ("linear", "regression"),
    pytest.param("lightgbm", "regression", marks=pytest.mark.slow),
    # the tabular network: embedded codes (missing and unseen as code 0), smooth clipping, layers
    pytest.param("mlp", "binary", marks=pytest.mark.slow),
    pytest.param("mlp", "multiclass", marks=pytest.mark.slow),
    pytest.param("mlp", "regression", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("name", "task"), CONVERTIBLE)
def test_convertible_families_match_sklearn(name, task):
    X, y = table(task, 500, seed=0)
    pipe = fit(name, task, X, y)
    export = export_onnx(pipe, X, task)
    assert export.runtime == "onnx", export.reason
    assert export.model_bytes is not None
    assert export.reason.startswith("converted and checked")
    assert export.rows_checked > len(X)  # training rows plus synthetic rows
    assert export.max_abs_diff is not None and export.max_abs_diff >= 0
    # new rows, unseen levels and missing values the export never saw
    new, _ = table(task, 300, seed=7)
    new = pd.concat([new, unseen_rows(new)], ignore_index=True)
    got = onnx_output(export, pipe, new)
    if task == "regression":
        want = pipe.predict(new)
        assert np.abs(got - want).max() <= ATOL * max(1.0, np.abs(want).max())
    else:
        want = pipe.predict_proba(new)
        assert np.abs(got - want).max() <= ATOL
        labels = labels_from_proba(got, pipe.classes_, None)
        np.testing.assert_array_equal(labels, pipe.predict(new))


@pytest.mark.parametrize(("name", "task"), [("linear", "multiclass"), ("hist_gradient_boosting", "binary")])
def test_target_encoded_columns_match_sklearn(name, task):
    def with_city(X: pd.DataFrame, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        city = pd.Series([f"city{i}" for i in rng.integers(0, 60, len(X))], dtype=object)
        return X.assign(city=city.where(rng.random(len(X)) > 0.05))  # some missing

    X, y = table(task, 600, seed=0)
    X = with_city(X, 0)
    assert any(c.get("high_cardinality") for c in columns_of(X))  # target-encoded
    pipe = fit(name, task, X, y)
    export = export_onnx(pipe, X, task)
    assert export.runtime == "onnx", export.reason
    new = with_city(table(task, 200, seed=5)[0], 5)
    new.loc[:9, "city"] = "atlantis"
    got = onnx_output(export, pipe, new)
    assert np.abs(got - pipe.predict_proba(new)).max() <= ATOL
    np.testing.assert_array_equal(labels_from_proba(got, pipe.classes_, None), pipe.predict(new))


def test_threshold_labels_match_fixed_threshold_classifier():
    X, y = table("binary", 500, seed=0)
    pipe = with_threshold(fit("hist_gradient_boosting", "binary", X, y), 0.3, ["no", "yes"])
    export = export_onnx(pipe, X, "binary")
    assert export.runtime == "onnx", export.reason
    new = pd.concat([table("binary", 300, seed=3)[0], unseen_rows(X)], ignore_index=True)
    got = onnx_output(export, pipe, new)
    classes, threshold, pos_label = onnx_export.decision_rule(pipe)
    assert threshold == 0.3
    labels = labels_from_proba(got, classes, threshold, pos_label)
    np.testing.assert_array_equal(labels, pipe.predict(new))
    assert (labels != pipe.classes_[np.argmax(got, axis=1)]).any()  # the threshold mattered


def test_conversion_is_deterministic():
    X, y = table("binary", 300, seed=0)
    pipe = fit("lightgbm", "binary", X, y)
    first, second = export_onnx(pipe, X, "binary"), export_onnx(pipe, X, "binary")
    assert first.model_bytes == second.model_bytes
    assert first.max_abs_diff == second.max_abs_diff


def ensemble(names: list[str], task: str, X: pd.DataFrame, y: pd.Series) -> Pipeline:
    """A weighted ensemble pipeline, as Experiment builds it: clean once, then each member."""
    members = [(n, Pipeline(build_pipeline(REGISTRY[n], columns_of(X), task, 0, 1).steps[1:])) for n in names]
    weights = list(np.linspace(1, 2, len(names)) / np.linspace(1, 2, len(names)).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Pipeline(
            [("clean", TableCleaner(columns_of(X))), ("model", WeightedEnsemble(members, weights))]
        ).fit(X, y)


@pytest.mark.parametrize(
    ("names", "task"),
    [
        (["linear", "hist_gradient_boosting", "xgboost"], "binary"),
        (["random_forest", "lightgbm"], "multiclass"),
        (["linear", "decision_tree"], "regression"),
    ],
)
def test_weighted_ensembles_match_sklearn(names, task):
    X, y = table(task, 400, seed=0)
    pipe = ensemble(names, task, X, y)
    export = export_onnx(pipe, X, task)
    assert export.runtime == "onnx", export.reason
    new = pd.concat([table(task, 200, seed=4)[0], unseen_rows(X)], ignore_index=True)
    got = onnx_output(export, pipe, new)
    if task == "regression":
        want = pipe.predict(new)
        assert np.abs(got - want).max() <= ATOL * max(1.0, np.abs(want).max())
    else:
        assert np.abs(got - pipe.predict_proba(new)).max() <= ATOL
        np.testing.assert_array_equal(labels_from_proba(got, pipe.classes_, None), pipe.predict(new))


def test_ensemble_with_an_unconvertible_member_stays_on_sklearn():
    X, y = table("binary", 300, seed=0)
    export = export_onnx(ensemble(["linear", "knn"], "binary", X, y), X, "binary")
    assert (export.runtime, export.model_bytes) == ("sklearn", None)
    assert export.reason.startswith("parity check failed")


def test_text_column_stays_on_sklearn():
    X, y = table("binary", 300, seed=0)
    words = ["fast delivery", "slow support team", "great price", "billing was wrong", "app crashes"]
    X = X.assign(comment=[f"{words[i % 5]} case {i}" for i in range(len(X))])
    columns = columns_of(X)
    assert any(c["kind"] == "text" for c in columns)
    export = export_onnx(fit("linear", "binary", X, y), X, "binary")
    assert export.runtime == "sklearn"
    assert "TF-IDF" in export.reason and "comment" in export.reason


def test_parity_failure_is_refused_with_the_numbers():
    X, y = table("binary", 300, seed=0)
    export = export_onnx(fit("knn", "binary", X, y), X, "binary")
    assert export.runtime == "sklearn"
    assert export.reason.startswith("parity check failed: max |diff|")
    assert " of " in export.reason and "rows" in export.reason
    assert export.max_abs_diff is not None and export.max_abs_diff > ATOL


def test_large_tree_models_are_left_to_sklearn(monkeypatch):
    X, y = table("binary", 300, seed=0)
    monkeypatch.setattr(onnx_export, "MAX_TREE_NODES", 10)
    export = export_onnx(fit("decision_tree", "binary", X, y), X, "binary")
    assert export.runtime == "sklearn"
    assert "nodes" in export.reason


def test_converter_errors_never_escape(monkeypatch):
    X, y = table("binary", 200, seed=0)
    pipe = fit("linear", "binary", X, y)

    def boom(*args, **kwargs):
        raise RuntimeError("converter exploded")

    monkeypatch.setattr("skl2onnx.convert_sklearn", boom)
    export = export_onnx(pipe, X, "binary")
    assert export.runtime == "sklearn"
    assert "converter exploded" in export.reason


# -- bundles and runtimes -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def binary_case():
    X, y = table("binary", 500, seed=0)
    pipe = with_threshold(fit("hist_gradient_boosting", "binary", X, y), 0.4, ["no", "yes"])
    schema = build_schema(X, columns_of(X), [], "will_churn", "binary", ["no", "yes"], "yes")
    return X, pipe, schema


@pytest.fixture(scope="module")
def onnx_bundle(binary_case, tmp_path_factory) -> Path:
    X, pipe, schema = binary_case
    return save_bundle(tmp_path_factory.mktemp("onnx") / "b", pipe, schema, {}, onnx_sample=X)


def test_bundle_holds_model_onnx_with_its_hash_and_reason(onnx_bundle):
    manifest = json.loads((onnx_bundle / MANIFEST).read_text())
    assert ONNX_FILE in manifest["files"]
    runtime = manifest["runtime"]
    assert runtime["default"] == "onnx"
    assert runtime["reason"].startswith("converted and checked")
    assert 0 <= runtime["max_abs_diff"] <= ATOL
    assert runtime["rows_checked"] > 500
    assert manifest["versions"]["onnxruntime"] and manifest["versions"]["skl2onnx"]


def test_runtimes_predict_the_same(onnx_bundle):
    on, sk = load_bundle(onnx_bundle, runtime="onnx"), load_bundle(onnx_bundle, runtime="sklearn")
    assert (on.runtime, sk.runtime) == ("onnx", "sklearn")
    assert load_bundle(onnx_bundle).runtime == "onnx"  # auto
    new = pd.concat([table("binary", 400, seed=5)[0], unseen_rows(table("binary", 100, seed=6)[0])])
    for proba in (False, True):
        a, notices_a = predict_frame(on, new, proba=proba)
        b, notices_b = predict_frame(sk, new, proba=proba)
        assert list(a.columns) == list(b.columns)
        assert list(a.dtypes) == list(b.dtypes)
        assert notices_a == notices_b
        assert (a.attrs["runtime"], b.attrs["runtime"]) == ("onnx", "sklearn")
        if proba:
            assert np.abs(a.to_numpy() - b.to_numpy()).max() <= ATOL
        else:
            assert (a["prediction"].to_numpy() == b["prediction"].to_numpy()).all()


def test_single_rows_match_the_batch(onnx_bundle):
    bundle = load_bundle(onnx_bundle, runtime="onnx")
    rows = pd.concat([table("binary", 30, seed=8)[0], unseen_rows(table("binary", 60, seed=9)[0])])
    rows = rows.reset_index(drop=True)
    batch, _ = predict_frame(bundle, rows, proba=True)
    for i in range(len(rows)):
        for _ in range(2):  # the second time from the remembered cleaned values
            one = predict_rows(bundle, rows.iloc[[i]], proba=True)
            assert one.runtime == "onnx"
            np.testing.assert_allclose(one.frame.to_numpy()[0], batch.to_numpy()[i], rtol=0, atol=1e-12)
    labels, _ = predict_frame(bundle, rows)
    for i in (0, 5, 45):
        assert predict_frame(bundle, rows.iloc[[i]])[0]["prediction"].iat[0] == labels["prediction"].iat[i]


def test_infinite_numbers_are_left_to_sklearn(onnx_bundle):
    bundle = load_bundle(onnx_bundle, runtime="onnx")
    rows = table("binary", 5, seed=2)[0].assign(income=np.inf)
    result = predict_rows(bundle, rows, proba=True)
    assert result.runtime == "sklearn"
    sk = predict_frame(load_bundle(onnx_bundle, runtime="sklearn"), rows, proba=True)[0]
    pd.testing.assert_frame_equal(result.frame, sk, check_like=False)


def test_tampered_model_onnx_is_refused(onnx_bundle, tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(onnx_bundle, copy)
    with (copy / ONNX_FILE).open("ab") as fh:
        fh.write(b"\0")
    for runtime in ("auto", "onnx", "sklearn"):
        with pytest.raises(BundleError, match="model.onnx.*modified"):
            load_bundle(copy, runtime=runtime)


def test_onnx_runtime_needs_model_onnx(binary_case, tmp_path):
    X, pipe, schema = binary_case
    plain = save_bundle(tmp_path / "plain", pipe, schema, {})
    manifest = json.loads((plain / MANIFEST).read_text())
    assert ONNX_FILE not in manifest["files"]
    assert manifest["runtime"]["default"] == "sklearn"
    with pytest.raises(BundleError, match="holds no model.onnx"):
        load_bundle(plain, runtime="onnx")
    assert load_bundle(plain).runtime == "sklearn"


def test_unconvertible_pipeline_is_saved_with_its_reason(binary_case, tmp_path):
    X, _, schema = binary_case
    knn = fit("knn", "binary", X, table("binary", 500, seed=0)[1])
    dest = save_bundle(tmp_path / "knn", knn, schema, {}, onnx_sample=X)
    manifest = json.loads((dest / MANIFEST).read_text())
    assert ONNX_FILE not in manifest["files"] and not (dest / ONNX_FILE).exists()
    assert manifest["runtime"]["default"] == "sklearn"
    assert manifest["runtime"]["reason"].startswith("parity check failed")
    with pytest.raises(BundleError, match="parity check failed"):
        load_bundle(dest, runtime="onnx")
    assert load_bundle(dest).runtime == "sklearn"


@pytest.mark.parametrize("has_time", [False, True])
def test_iso_date_fast_path_equals_the_cleaner(has_time):
    rng = np.random.default_rng(int(has_time))
    texts = [
        "2024-02-29",
        "2023-02-29",
        "1969-12-31 23:59:59",
        "0001-01-01",
        "9999-12-31T23:59",
        "2024-13-01",
    ]
    for _ in range(400):
        year = int(rng.choice([1, 1677, 1969, 1970, 2000, 2024, 2262, 9999, int(rng.integers(1, 10_000))]))
        text = f"{year:04d}-{int(rng.integers(0, 14)):02d}-{int(rng.integers(0, 33)):02d}"
        if rng.random() < 0.5:
            hour, minute, second = (int(v) for v in rng.integers(0, [26, 61, 61]))
            text += f" {hour:02d}:{minute:02d}:{second:02d}"
        texts.append(text)
    cleaner = TableCleaner([{"name": "d", "kind": "datetime", "has_time": has_time}]).fit(None)
    fast = 0
    for text in texts:
        got = iso_date_parts(text, "d", has_time)
        if got is None:  # left to the cleaner: not a valid ISO date
            continue
        fast += 1
        want = cleaner.transform(pd.DataFrame({"d": [text]})).iloc[0].to_dict()
        assert got == want, text
    assert fast > 200


def test_chunk_notices_add_up():
    unseen = "column 'plan': {} row(s) with categories unseen in training (e.g. {!r}); treated as unknown"
    ignored = "ignored 1 column(s) the model does not use: id"
    merged = merge_notices([[ignored, unseen.format(2, "a")], [ignored], [unseen.format(3, "b")]])
    assert merged == [ignored, unseen.format(5, "a")]


@pytest.mark.parametrize("name", ["linear", "lightgbm"])
def test_a_wide_table_selects_columns_by_position_and_exports_by_name(name, monkeypatch):
    from modelworks.prepare.columns import POSITIONS_ABOVE

    monkeypatch.setattr(onnx_export, "MAX_INPUTS", 5000)  # the mapping back to names, not the cap

    rng = np.random.default_rng(0)
    n_cols = POSITIONS_ABOVE + 200
    X = pd.DataFrame(rng.normal(size=(120, n_cols)), columns=[f"c{i}" for i in range(n_cols)])
    X["plan"] = rng.choice(["basic", "plus", "pro"], 120)
    X.iloc[::7, 3] = np.nan
    y = pd.Series(np.where(X["c0"] + X["c1"] + (X["plan"] == "pro") > 0.5, "yes", "no"))
    pipe = fit(name, "binary", X, y)
    selected = {n: cols for n, _, cols in pipe.named_steps["prepare"].transformers_ if n != "remainder"}
    assert isinstance(selected["num"], np.ndarray) and selected["num"].dtype.kind == "i"
    assert len(selected["num"]) == n_cols
    # the same model as with names: positions only change how scikit-learn finds the columns
    cleaned = pipe.named_steps["clean"].transform(X)
    assert list(cleaned.columns[selected["cat"]]) == ["plan"]
    export = export_onnx(pipe, X, "binary")
    assert export.runtime == "onnx", export.reason
    got = onnx_output(export, pipe, X.head(40))
    assert np.abs(got - pipe.predict_proba(X.head(40))).max() <= ATOL
