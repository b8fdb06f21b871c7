"""Choose the preprocessing of each model family as one ColumnTransformer.

- ``"scaled"`` (linear models, SVM, KNN): median imputation with missing indicators, standard scaling,
  one-hot encoding with rare levels grouped, TF-IDF for free text (sparse).
- ``"dense"`` (naive Bayes): as ``"scaled"`` but dense, with a small text vocabulary.
- ``"neural"`` (the tabular network): ordinal codes for categorical levels first (missing and unseen
  levels become -1, the network embeds them), then numbers median-imputed with missing indicators (the
  network scales and clips them itself), then a small dense TF-IDF vocabulary.
- ``"tree"`` (tree ensembles and boosters): numbers left as they are (the estimators handle missing
  values natively), ordinal codes for categorical levels (missing and unseen levels become NaN), small
  dense TF-IDF for text.

Every family target-encodes high-cardinality categoricals with scikit-learn's ``TargetEncoder``, whose
``fit_transform`` is cross-fitted, so a level's own rows never inform its training encoding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
    TargetEncoder,
)

from modelworks.prepare._cleaning import output_names
from modelworks.prepare.clean import date_feature_names

FAMILIES = ("scaled", "dense", "tree", "neural")
MISSING_LEVEL = "__missing__"
#: Above this many cleaned columns, the ColumnTransformer selects its columns by position (an
#: integer array) instead of by name: scikit-learn looks each name up in a list (quadratic: 0.8 s
#: per fit at 10,000 columns) and skops saves every name as a node of its own (60,000 for one
#: pipeline), where an array is one lookup and one node. The ONNX export maps them back to names.
POSITIONS_ABOVE = 1000


@dataclass(frozen=True)
class Layout:
    """Which cleaned columns go to which encoder."""

    numeric: list[str]
    categorical: list[str]
    high_cardinality: list[str]
    text: list[str]

    @classmethod
    def from_columns(cls, columns: list[dict]) -> Layout:
        numeric: list[str] = []
        categorical: list[str] = []
        high: list[str] = []
        text: list[str] = []
        for col in columns:
            kind, name = col["kind"], col["name"]
            if kind == "numeric":
                numeric.append(name)
            elif kind == "datetime":
                numeric += date_feature_names(name, bool(col.get("has_time")))
            elif kind == "text":
                text.append(name)
            elif col.get("high_cardinality"):
                high.append(name)
            else:
                categorical.append(name)
        return cls(numeric, categorical, high, text)

    def by_position(self, names: list[str]) -> Layout:
        """This layout with its column lists as positions in ``names`` (the cleaned columns, in
        order), when there are more than :data:`POSITIONS_ABOVE` of them; unchanged otherwise."""
        if len(names) <= POSITIONS_ABOVE:
            return self
        where = {n: i for i, n in enumerate(names)}

        def positions(cols: list[str]) -> list:
            return np.array([where[c] for c in cols], dtype=np.intp) if cols else cols  # type: ignore[return-value]

        numeric, categorical = positions(self.numeric), positions(self.categorical)
        return Layout(numeric, categorical, positions(self.high_cardinality), self.text)


def _target_type(task: str) -> str:
    return "continuous" if task == "regression" else task


def build_preprocessor(columns: list[dict], family: str, task: str, seed: int = 0) -> ColumnTransformer:
    """Build the ColumnTransformer for one model family.

    Parameters
    ----------
    columns : list of dict
        The column specification given to :class:`~modelworks.prepare.TableCleaner`.
    family : {"scaled", "dense", "tree", "neural"}
        The model family (see the module docstring).
    task : {"binary", "multiclass", "regression"}
        The task, needed by the target encoder.
    seed : int
        Seed of the target encoder's cross-fitting folds.

    Returns
    -------
    ColumnTransformer
        Unfitted; its output is the model's input.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}")
    layout = Layout.from_columns(columns).by_position(output_names(columns))
    splitter = (KFold if task == "regression" else StratifiedKFold)(5, shuffle=True, random_state=seed)
    target_encoder = TargetEncoder(target_type=_target_type(task), cv=splitter)
    steps: list[tuple] = []
    if family == "tree":
        if len(layout.numeric):
            steps.append(("num", "passthrough", layout.numeric))
        if len(layout.categorical):
            ordinal = OrdinalEncoder(
                handle_unknown="use_encoded_value",
                unknown_value=np.nan,
                encoded_missing_value=np.nan,
                dtype=np.float64,
            )
            steps.append(("cat", ordinal, layout.categorical))
        if len(layout.high_cardinality):
            steps.append(("high", target_encoder, layout.high_cardinality))
        for name in layout.text:
            steps.append((f"text_{name}", TfidfVectorizer(max_features=200, min_df=2), name))
        return ColumnTransformer(steps, sparse_threshold=0.0, verbose_feature_names_out=False)

    if family == "neural":
        return _neural(layout, target_encoder)
    dense = family == "dense"
    if len(layout.numeric):
        steps.append(
            (
                "num",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                    StandardScaler(),
                ),
                layout.numeric,
            )
        )
    if len(layout.categorical):
        steps.append(
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value=MISSING_LEVEL),
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist",
                        min_frequency=0.01,
                        sparse_output=not dense,
                    ),
                ),
                layout.categorical,
            )
        )
    if len(layout.high_cardinality):
        steps.append(("high", make_pipeline(target_encoder, StandardScaler()), layout.high_cardinality))
    for name in layout.text:
        vocab = 300 if dense else 20000
        steps.append((f"text_{name}", TfidfVectorizer(max_features=vocab, min_df=2), name))
    return ColumnTransformer(steps, sparse_threshold=0.0 if dense else 0.3, verbose_feature_names_out=False)


def _neural(layout: Layout, target_encoder: TargetEncoder) -> ColumnTransformer:
    steps: list[tuple] = []
    if len(layout.categorical):
        codes = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1, dtype=np.float64
        )
        steps.append(("cat", codes, layout.categorical))
    if len(layout.numeric):
        imputer = SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)
        steps.append(("num", imputer, layout.numeric))
    if len(layout.high_cardinality):
        steps.append(("high", make_pipeline(target_encoder, StandardScaler()), layout.high_cardinality))
    for name in layout.text:
        steps.append((f"text_{name}", TfidfVectorizer(max_features=300, min_df=2), name))
    return ColumnTransformer(steps, sparse_threshold=0.0, verbose_feature_names_out=False)


def embedded_indices(columns: list[dict]) -> list[int]:
    """Positions of the ordinal-coded categorical columns in the ``"neural"`` family's output."""
    return list(range(len(Layout.from_columns(columns).categorical)))


def native_categorical_indices(columns: list[dict]) -> list[int]:
    """Positions of the ordinal-coded categorical columns in the ``"tree"`` family's output."""
    layout = Layout.from_columns(columns)
    start = len(layout.numeric)
    return list(range(start, start + len(layout.categorical)))
