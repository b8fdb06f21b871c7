"""Preprocessing: TableCleaner, the per-family ColumnTransformers, and fitting inside CV folds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler, TargetEncoder

from modelworks import Experiment
from modelworks.data.kinds import as_category_strings, infer_kinds
from modelworks.models.registry import REGISTRY
from modelworks.models.wrappers import unwrap
from modelworks.prepare.clean import TableCleaner
from modelworks.prepare.columns import build_preprocessor
from modelworks.search.budget import Budget
from modelworks.search.crossval import cross_validate

FAST_MODELS = ["linear", "decision_tree"]


def clean(columns: list[dict], frame: pd.DataFrame) -> pd.DataFrame:
    return TableCleaner(columns).fit(frame).transform(frame)


# ------------------------------------------------------------------------------ TableCleaner


def test_numeric_strings_are_parsed():
    frame = pd.DataFrame({"amount": ["1,234", "$5", " 7 ", None, "12.5%", "n/a"]})
    out = clean([{"name": "amount", "kind": "numeric"}], frame)
    np.testing.assert_array_equal(out["amount"].to_numpy(), [1234.0, 5.0, 7.0, np.nan, 12.5, np.nan])
    assert out["amount"].dtype == np.float64


def test_dates_become_parts_and_days():
    frame = pd.DataFrame({"signup": ["2024-01-15", "1970-01-02", None]})
    out = clean([{"name": "signup", "kind": "datetime", "has_time": False}], frame)
    assert list(out.columns) == [
        "signup__year",
        "signup__month",
        "signup__day",
        "signup__dayofweek",
        "signup__days",
    ]
    np.testing.assert_array_equal(out.iloc[0].to_numpy(), [2024, 1, 15, 0, 19737])  # a Monday
    np.testing.assert_array_equal(out.iloc[1].to_numpy(), [1970, 1, 2, 4, 1])
    assert out.iloc[2].isna().all()


def test_times_add_an_hour_part():
    frame = pd.DataFrame({"at": ["2024-01-15 13:30:00", "2024-01-16 06:00:00"]})
    cleaner = TableCleaner([{"name": "at", "kind": "datetime", "has_time": True}]).fit(frame)
    out = cleaner.transform(frame)
    assert list(cleaner.get_feature_names_out()) == list(out.columns)
    assert list(out.columns) == ["at__year", "at__month", "at__day", "at__dayofweek", "at__hour", "at__days"]
    assert out["at__hour"].tolist() == [13.0, 6.0]
    assert out["at__days"].iloc[0] == pytest.approx(19737 + 13.5 / 24)


def test_categorical_values_are_normalised():
    frame = pd.DataFrame(
        {
            "level": pd.Series([1, 1.0, "1", " 1 ", np.int64(1), None, "b"], dtype=object),
            "flag": pd.Series([True, False, np.bool_(True), None, True, 1, "x"], dtype=object),
        }
    )
    out = clean([{"name": "level", "kind": "categorical"}, {"name": "flag", "kind": "boolean"}], frame)
    assert out["level"].tolist()[:5] == ["1"] * 5
    assert pd.isna(out["level"].iloc[5])
    assert out["level"].iloc[6] == "b"
    assert out["flag"].tolist()[:3] == ["True", "False", "True"]
    assert pd.isna(out["flag"].iloc[3])
    # a float column of whole numbers gives the same levels as an integer column
    assert (
        as_category_strings(pd.Series([2.0, 3.0])).tolist()
        == as_category_strings(pd.Series([2, 3])).tolist()
        == ["2", "3"]
    )


@pytest.mark.parametrize("dtype", [object, "string"])
def test_text_levels_are_stripped_once_per_level_alike(dtype):
    # the text-only path (levels hashed, each stripped once) gives what the value-by-value path gives
    values = [" a", "b ", None, "a", "a ", "", "b"]
    out = as_category_strings(pd.Series(values, dtype=dtype))
    assert out.dtype == object
    assert out.tolist()[:2] == ["a", "b"] and pd.isna(out.iloc[2])
    assert out.tolist()[3:] == ["a", "a", "", "b"]
    mixed = as_category_strings(pd.Series([*values, 1.0], dtype=object))  # not text only: value by value
    assert mixed.iloc[:7].fillna("<NA>").tolist() == out.fillna("<NA>").tolist()


def test_text_is_kept_and_order_follows_the_spec():
    frame = pd.DataFrame({"note": ["hello world", None], "x": [1, 2], "unused": [0, 0]}, index=[10, 20])
    out = clean([{"name": "x", "kind": "numeric"}, {"name": "note", "kind": "text"}], frame)
    assert list(out.columns) == ["x", "note"]
    assert out["note"].tolist() == ["hello world", ""]
    assert list(out.index) == [0, 1]


def test_cleaner_holds_no_statistics_of_the_data():
    columns = [{"name": "x", "kind": "numeric"}, {"name": "c", "kind": "categorical"}]
    a = pd.DataFrame({"x": ["1", "2"], "c": ["u", "v"]})
    b = pd.DataFrame({"x": ["100", "200"], "c": ["w", "z"]})
    fitted_a, fitted_b = TableCleaner(columns).fit(a), TableCleaner(columns).fit(b)
    pd.testing.assert_frame_equal(fitted_a.transform(b), fitted_b.transform(b))


def test_cleaner_of_many_columns_saves_as_a_few_skops_nodes_and_loads_back():
    """The column specification is one JSON text in the skops file, not a node per dict and string."""
    import io
    import json
    import pickle
    import zipfile

    from modelworks.bundle._skops import skops_io

    columns = [
        {"name": f"c{i}", "kind": "numeric", "parse": None, "n_unique": 3, "high_cardinality": False}
        for i in range(1000)
    ] + [{"name": "when", "kind": "datetime", "parse": "date", "has_time": True}]
    fitted = TableCleaner(columns).fit(None)
    sio = skops_io()
    data = sio.dumps(fitted)
    schema = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("schema.json"))
    assert json.dumps(schema).count('"__class__"') < 20
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    assert loaded.columns == columns
    assert loaded.input_names_ == fitted.input_names_
    assert list(loaded.get_feature_names_out()) == list(fitted.get_feature_names_out())
    assert "when__hour" in loaded.get_feature_names_out()
    frame = pd.DataFrame({**{f"c{i}": [1.0, 2.0] for i in range(1000)}, "when": ["2020-01-02 03:00", None]})
    pd.testing.assert_frame_equal(loaded.transform(frame), fitted.transform(frame))
    assert pickle.loads(pickle.dumps(fitted)).columns == columns
    unfitted = pickle.loads(pickle.dumps(TableCleaner(columns)))
    assert unfitted.columns == columns and not hasattr(unfitted, "feature_names_out_")


def test_cleaned_columns_are_python_strings_and_clones_share_the_specification():
    """Object column names (scikit-learn and narwhals walk them on every call, far slower through
    Arrow); a clone is a new unfitted cleaner with the same specification, not a deep copy of it."""
    from sklearn.base import clone

    columns = [{"name": "x", "kind": "numeric"}, {"name": "c", "kind": "categorical"}]
    frame = pd.DataFrame({"x": [1.5, 2.0], "c": ["u", "v"]})
    fitted = TableCleaner(columns).fit(frame)
    out = fitted.transform(frame)
    assert out.columns.dtype == object and list(out.columns) == ["x", "c"]
    copy = clone(fitted)
    assert copy is not fitted and copy.columns is columns and not hasattr(copy, "feature_names_out_")
    assert copy.get_params() == fitted.get_params()


# ------------------------------------------------------------------------------ preprocessors

WORDS = np.array(["alpha", "bravo", "charlie", "delta", "echo"])


@pytest.fixture(scope="module")
def mixed() -> tuple[pd.DataFrame, pd.Series, list[dict]]:
    """Numbers with gaps, a date, 3 levels (with gaps), 40 levels, 5-word text; binary target."""
    rng = np.random.default_rng(0)
    n = 200
    num = rng.normal(size=n)
    num[::10] = np.nan
    cat = rng.choice(["a", "b", "c"], size=n).astype(object)
    cat[::17] = None
    frame = pd.DataFrame(
        {
            "num": num,
            "when": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "cat": cat,
            "city": [f"city{i % 40}" for i in range(n)],
            "note": [" ".join(rng.choice(WORDS, size=4)) + f" unique{i}" for i in range(n)],
        }
    )
    y = pd.Series(np.where(rng.normal(size=n) + np.nan_to_num(num) > 0, "yes", "no"), name="y")
    columns = [info.to_dict() for info in infer_kinds(frame).values()]
    return frame, y, columns


def test_mixed_frame_kinds(mixed):
    _, _, columns = mixed
    kinds = {c["name"]: (c["kind"], c["high_cardinality"]) for c in columns}
    assert kinds == {
        "num": ("numeric", False),
        "when": ("datetime", False),
        "cat": ("categorical", False),
        "city": ("categorical", True),
        "note": ("text", False),
    }


# numeric block: num + 5 date columns (+1 missing indicator for num in the scaled families);
# cat: 3 levels + the missing level one-hot (1 ordinal code for trees); city: 1 target-encoded
# column; note: the 5 words that appear in at least 2 rows.
@pytest.mark.parametrize(
    ("family", "n_out"), [("scaled", 7 + 4 + 1 + 5), ("dense", 7 + 4 + 1 + 5), ("tree", 6 + 1 + 1 + 5)]
)
def test_preprocessor_output_columns(mixed, family, n_out):
    frame, y, columns = mixed
    pipe = Pipeline(
        [("clean", TableCleaner(columns)), ("prepare", build_preprocessor(columns, family, "binary", seed=0))]
    )
    out = pipe.fit_transform(frame, y)
    assert out.shape == (len(frame), n_out)
    assert len(pipe.named_steps["prepare"].get_feature_names_out()) == n_out
    dense = out.toarray() if sparse.issparse(out) else np.asarray(out, dtype=float)
    if family != "tree":
        assert not np.isnan(dense).any()
    if family == "dense":
        assert not sparse.issparse(out)
    # unseen levels and text at prediction time still give finite rows of the same width
    new = frame.head(3).assign(cat="zzz", city="atlantis", note="never seen words")
    again = pipe.transform(new)
    assert again.shape == (3, n_out)
    if family != "tree":
        again = again.toarray() if sparse.issparse(again) else again
        assert np.isfinite(again).all()


def test_high_cardinality_is_target_encoded(mixed):
    frame, y, columns = mixed
    for family in ("scaled", "tree"):
        prep = build_preprocessor(columns, family, "binary").fit(
            TableCleaner(columns).fit_transform(frame), y
        )
        high = prep.named_transformers_["high"]
        steps = high.named_steps.values() if isinstance(high, Pipeline) else [high]
        assert any(isinstance(s, TargetEncoder) for s in steps)
        cat = prep.named_transformers_["cat"]
        cat_steps = cat.named_steps.values() if isinstance(cat, Pipeline) else [cat]
        assert not any(isinstance(s, TargetEncoder) for s in cat_steps)


def test_multiclass_target_encoding_gives_a_column_per_class(mixed):
    frame, _, columns = mixed
    y = pd.Series(np.array(["p", "q", "r"])[np.arange(len(frame)) % 3])
    high_only = [c for c in columns if c["name"] == "city"]
    prep = build_preprocessor(high_only, "tree", "multiclass")
    out = prep.fit_transform(TableCleaner(high_only).fit_transform(frame), y)
    assert out.shape == (len(frame), 3)


def test_unknown_family_refused(mixed):
    with pytest.raises(ValueError, match="family"):
        build_preprocessor(mixed[2], "quantum", "binary")


# ------------------------------------------------------------------------------ inside folds


def test_experiment_pipeline_shape(churn_experiment):
    pipe = churn_experiment.pipeline("linear")
    assert isinstance(pipe, Pipeline)
    assert list(pipe.named_steps) == ["clean", "prepare", "model"]
    assert isinstance(pipe.named_steps["prepare"], ColumnTransformer)
    best = churn_experiment.best_model
    if churn_experiment.best_name == "ensemble":  # cleaned once, then each member prepares its own
        assert list(best.named_steps) == ["clean", "model"]
        members = unwrap(best.named_steps["model"]).estimators_
        assert all(list(m.named_steps) == ["prepare", "model"] for _, m in members)
    else:
        assert list(best.named_steps) == ["clean", "prepare", "model"]


class RowSpy(TransformerMixin, BaseEstimator):
    """Passes rows through; records the ``row`` values of every fit in a class-level log."""

    fits: list[set] = []

    def fit(self, X, y=None):
        RowSpy.fits.append(set(X["row"]))
        return self

    def transform(self, X):
        return X


def test_preprocessing_is_fitted_on_fold_training_rows_only(churn_df):
    exp = Experiment(
        churn_df.assign(row=np.arange(len(churn_df)) * 1.0), "will_churn", models=["linear"], cv=3, n_jobs=1
    )
    assert "row" in {c["name"] for c in exp.columns}
    base = exp.pipeline("linear")
    pipe = Pipeline([("spy", RowSpy()), *base.steps])
    RowSpy.fits.clear()
    spec = REGISTRY["linear"]
    _, oof = cross_validate(
        spec,
        pipe,
        exp.X_train,
        exp.y_train,
        exp.folds,
        exp.metrics,
        exp.classes,
        exp.positive_label,
        Budget(None),
    )
    assert len(RowSpy.fits) == len(exp.folds)
    for seen, (train, val) in zip(RowSpy.fits, exp.folds, strict=True):
        assert seen == set(exp.X_train["row"].iloc[train])
        assert not seen & set(exp.X_train["row"].iloc[val])
    # the pipeline handed in is cloned, never fitted itself
    assert not hasattr(base.named_steps["prepare"], "transformers_")
    # out-of-fold predictions are those of a model that never saw the validation rows
    train, val = exp.folds[0]
    alone = clone(base).fit(exp.X_train.iloc[train], exp.y_train.iloc[train])
    expected = alone.predict_proba(exp.X_train.iloc[val])
    np.testing.assert_allclose(oof[0, val], expected, rtol=1e-9, atol=1e-12)


def test_fold_scaler_differs_from_full_training_scaler(churn_experiment):
    exp = churn_experiment
    train, _ = exp.folds[0]
    fold = clone(exp.pipeline("linear")).fit(exp.X_train.iloc[train], exp.y_train.iloc[train])
    full = clone(exp.pipeline("linear")).fit(exp.X_train, exp.y_train)

    def scaler_mean(pipe):
        num = pipe.named_steps["prepare"].named_transformers_["num"]
        scaler = next(s for s in num.named_steps.values() if isinstance(s, StandardScaler))
        return scaler.mean_

    assert not np.allclose(scaler_mean(fold), scaler_mean(full))
