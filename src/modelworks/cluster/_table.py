"""The table as distances see it: which columns take part, and how they are encoded.

Columns are typed as ``modelworks run`` types them (:func:`~modelworks.data.kinds.infer_kinds`, then
:class:`~modelworks.prepare.TableCleaner`); identifiers, constants, entirely missing columns and free text
are left out, each with its reason. Numbers are median-imputed and scaled (standard or robust), categorical
levels one-hot encoded with rare levels (under 1% of rows) grouped, and dates split into numeric parts, so
that every column weighs alike in a Euclidean distance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, RobustScaler, StandardScaler

from modelworks.cluster._options import SCALINGS
from modelworks.data.checks import check_finite
from modelworks.data.kinds import infer_kinds
from modelworks.data.load import consolidated
from modelworks.errors import ConfigError, DataError
from modelworks.options import check_choice
from modelworks.prepare.clean import TableCleaner
from modelworks.prepare.columns import MISSING_LEVEL, Layout


@dataclass
class Table:
    """The rows to cluster, their column specification and what was left out.

    Attributes
    ----------
    X : DataFrame
        The raw rows (input order; columns used and unused).
    columns : list of dict
        Specification of the columns used (see :class:`~modelworks.prepare.TableCleaner`).
    dropped : list of dict
        Columns left out, each ``{"name", "reason"}``.
    label : Series or None
        Known classes (``label=``), never used for fitting.
    """

    X: pd.DataFrame
    columns: list[dict]
    dropped: list[dict] = field(default_factory=list)
    label: pd.Series | None = None

    @property
    def numeric(self) -> list[str]:
        return [c["name"] for c in self.columns if c["kind"] == "numeric"]

    @property
    def categorical(self) -> list[str]:
        return [c["name"] for c in self.columns if c["kind"] in ("categorical", "boolean")]


def read_table(
    df: pd.DataFrame, *, exclude: tuple[str, ...] = (), label: str | None = None, what: str = "clustering"
) -> Table:
    """Type the columns of ``df`` and decide which ones take part.

    Raises
    ------
    DataError
        Fewer than two rows, or no usable column.
    ConfigError
        ``exclude`` or ``label`` names a column the table does not have.
    """
    if not isinstance(df, pd.DataFrame):
        raise ConfigError(f"{what} takes a DataFrame or a table file (got {type(df).__name__})")
    names = [str(c) for c in df.columns]
    df = df.set_axis(names, axis=1)
    for flag, wanted in (("exclude", exclude), ("label", (label,) if label else ())):
        unknown = [c for c in wanted if c not in names]
        if unknown:
            raise ConfigError(
                f"{flag} names column(s) {', '.join(map(repr, unknown))} that the table does not have; "
                f"its columns are {', '.join(names[:10])}{' …' if len(names) > 10 else ''}"
            )
    if len(df) < 3:
        raise DataError(f"{what} needs at least 3 rows; the table has {len(df)}")
    check_finite(df.drop(columns=[*exclude, *([label] if label else [])]))
    df = consolidated(df.reset_index(drop=True))
    dropped = [{"name": c, "reason": "excluded (--exclude)"} for c in exclude]
    if label:
        dropped.append({"name": label, "reason": "known classes (--label): used only to score the clusters"})
    left_out = set(exclude) | ({label} if label else set())
    columns: list[dict] = []
    empty = set(df.columns[df.isna().all()].tolist())
    for info in infer_kinds(df, exclude=tuple(left_out)).values():
        reason = None
        if info.name in empty:
            reason = "entirely missing"
        elif info.kind == "identifier":
            reason = "identifier-like: unique per row, carries no pattern"
        elif info.kind == "constant":
            reason = "constant: a single value"
        elif info.kind == "text":
            reason = "free text: not used in distances"
        if reason is not None:
            dropped.append({"name": info.name, "reason": reason})
        else:
            columns.append(info.to_dict())
    if not columns:
        why = "; ".join(f"{d['name']!r} {d['reason']}" for d in dropped[:4])
        raise DataError(
            f"no column is usable for {what} ({why}); give a table with numeric or categorical columns "
            "that vary"
        )
    return Table(df, columns, dropped, df[label] if label else None)


def encoder(columns: list[dict], scaling: str = "standard") -> Pipeline:
    """Unfitted pipeline from raw rows to the numeric matrix distances are computed on."""
    check_choice(scaling, SCALINGS, "--scaling")
    layout = Layout.from_columns(columns)
    steps: list[tuple] = []
    if layout.numeric:
        scaler = StandardScaler() if scaling == "standard" else RobustScaler()
        steps.append(
            (
                "num",
                make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), scaler),
                layout.numeric,
            )
        )
    categorical = layout.categorical + layout.high_cardinality
    if categorical:
        steps.append(
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value=MISSING_LEVEL),
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist", min_frequency=0.01, sparse_output=False
                    ),
                ),
                categorical,
            )
        )
    transformer = ColumnTransformer(steps, sparse_threshold=0.0, verbose_feature_names_out=False)
    return Pipeline([("clean", TableCleaner(columns)), ("encode", transformer)])


def encode(table: Table, scaling: str = "standard") -> tuple[Pipeline, np.ndarray]:
    """The fitted encoder and the encoded training matrix (float64, no missing values)."""
    pipe = encoder(table.columns, scaling)
    Z = np.asarray(pipe.fit_transform(table.X), dtype=np.float64)
    # a numeric column whose values are all equal after cleaning scales to zeros: harmless
    return pipe, np.nan_to_num(Z, copy=False)
