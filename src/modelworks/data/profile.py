"""Profile a table before modelling: column kinds and statistics, the target, how the target varies
with each feature, feature-target associations, and warnings about problems worth fixing first.

Everything is computed from the data alone with pandas, SciPy and scikit-learn; large tables are
summarised on a seeded random sample of rows (the profile says so).

The work is done in private modules of :mod:`modelworks.data._profile`; this module is the API.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelworks.data._profile.associations import associations
from modelworks.data._profile.columns import column_table, column_warnings, count_duplicates
from modelworks.data._profile.columns import distribution_stats as _distribution_stats  # noqa: F401  (tests)
from modelworks.data._profile.common import (
    ASSOC_COLUMNS,
    MAX_DETAILED_COLUMNS,
    MAX_ROWS,
    WARNING_CODES,
    ProfileWarning,
)
from modelworks.data._profile.common import FIT_DISTRIBUTIONS as FIT_DISTRIBUTIONS
from modelworks.data._profile.common import FIT_MIN_VALUES as FIT_MIN_VALUES
from modelworks.data._profile.common import FIT_SAMPLE as FIT_SAMPLE
from modelworks.data._profile.common import HIGH_CARDINALITY as HIGH_CARDINALITY
from modelworks.data._profile.common import IMBALANCE_RATIO as IMBALANCE_RATIO
from modelworks.data._profile.common import IMBALANCE_SHARE as IMBALANCE_SHARE
from modelworks.data._profile.common import LEAK_ACCURACY as LEAK_ACCURACY
from modelworks.data._profile.common import LEAK_AUC as LEAK_AUC
from modelworks.data._profile.common import LEAK_PEARSON as LEAK_PEARSON
from modelworks.data._profile.common import LEAK_R2 as LEAK_R2
from modelworks.data._profile.common import LEAK_ROWS as LEAK_ROWS
from modelworks.data._profile.common import MISSING_SHARE as MISSING_SHARE
from modelworks.data._profile.common import RATE_BINS as RATE_BINS
from modelworks.data._profile.common import RATE_LEVELS as RATE_LEVELS
from modelworks.data._profile.common import SKEW as SKEW
from modelworks.data._profile.common import TOP_VALUES as TOP_VALUES
from modelworks.data._profile.leakage import leakage_warnings
from modelworks.data._profile.result import Profile
from modelworks.data._profile.target import encode_target, target_rates, target_summary, target_warnings
from modelworks.data.kinds import ColumnInfo, infer_column, infer_kinds, parse_number_frame
from modelworks.data.target import detect_task, find_target
from modelworks.errors import DataError

__all__ = ["Profile", "ProfileWarning", "profile", "WARNING_CODES"]


@np.errstate(all="ignore")  # infinite or constant values must not print RuntimeWarnings
def profile(
    df: pd.DataFrame,
    target: str | None = None,
    *,
    task: str = "auto",
    kinds: dict[str, ColumnInfo] | None = None,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
    max_detailed: int = MAX_DETAILED_COLUMNS,
) -> Profile:
    """Profile a table: column statistics, the target, associations and warnings.

    Parameters
    ----------
    df : DataFrame
        The raw table.
    target : str, optional
        The column to predict. Without it only column statistics and column warnings are given.
    task : {"auto", "binary", "multiclass", "regression"}
        The learning task; detected from the target by default.
    kinds : dict, optional
        Column name to :class:`~modelworks.data.kinds.ColumnInfo`, as from
        :func:`~modelworks.data.kinds.infer_kinds`; inferred when not given.
    max_rows : int
        Statistics are computed on a seeded random sample of at most this many rows.
    seed : int
        Seed of the row sample and of the leakage check's folds.
    max_detailed : int
        Distribution fits, target rates, associations and leakage checks cover the first this many
        feature columns (milliseconds each); a warning says so when there are more. A run passes
        what its time budget affords (:func:`modelworks.search.budget.profile_columns`).

    Returns
    -------
    Profile

    Raises
    ------
    TargetError
        The target column is absent, entirely missing or has a single value.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"profile needs a pandas DataFrame, got {type(df).__name__}")
    if len(df.columns) == 0:
        raise DataError("the table has no columns; check the file was read correctly")
    df = df.copy(deep=False)
    df.columns = [str(c) for c in df.columns]
    if target is not None:
        find_target(df, target)
    if max_rows < 1:
        raise DataError(f"max_rows must be at least 1, got {max_rows}")
    if max_detailed < 0:
        raise DataError(f"max_detailed must be at least 0, got {max_detailed}")

    n_rows = len(df)
    sampled = n_rows > max_rows
    data = df.sample(n=max_rows, random_state=seed) if sampled else df
    n_dup = count_duplicates(df)

    if kinds is None:
        kinds = infer_kinds(data, exclude=(target,) if target is not None else ())
    else:
        kinds = {k: v for k, v in kinds.items() if k != target and k in data.columns}
        missing_info = [c for c in data.columns if c not in kinds and c != target]
        kinds.update(infer_kinds(data[missing_info]) if missing_info else {})
    infos = dict(kinds)
    if target is not None:
        infos[target] = infer_column(data[target])

    numeric = parse_number_frame(data, [name for name, info in infos.items() if info.kind == "numeric"])
    # distribution fits, target rates, associations and leakage checks cost milliseconds per column:
    # on wide tables they cover the first max_detailed features (said in a warning)
    features_all = [c for c in data.columns if c != target]
    detailed = set(features_all[:max_detailed]) | ({target} if target is not None else set())
    columns = column_table(data, infos, numeric, target, seed, detailed)
    out_warnings = column_warnings(columns, len(data))
    if len(features_all) > max_detailed:
        out_warnings.append(
            ProfileWarning(
                "wide",
                None,
                f"{len(features_all):,} feature columns: distribution fits, target rates, associations "
                f"and leakage checks cover the first {max_detailed:,}",
            )
        )
    if n_dup:
        share = n_dup / max(n_rows, 1)
        out_warnings.append(
            ProfileWarning(
                "duplicates",
                None,
                f"{n_dup:,} rows ({100 * share:.1f}%) exactly repeat another row; drop them with "
                "df.drop_duplicates() unless repeats are real observations",
            )
        )

    target_info = None
    rates: dict[str, pd.DataFrame] = {}
    assoc = pd.DataFrame(columns=list(ASSOC_COLUMNS))
    if target is not None:
        y = data[target]
        task_name, reason = detect_task(y, task)
        known = y.notna().to_numpy()
        target_info = target_summary(y, task_name, reason)
        out_warnings += target_warnings(target_info)
        features = {k: v for k, v in kinds.items() if k in data.columns and k in detailed}
        yk = y[known]
        dk = data.loc[known]
        numk = {k: numeric[k][known] for k in numeric.columns if k != target and k in detailed}
        encoded = encode_target(yk, task_name, target_info)
        rates = target_rates(dk, features, numk, yk, encoded, task_name, target_info)
        assoc = associations(dk, features, numk, yk, encoded, task_name)
        out_warnings += leakage_warnings(dk, features, numk, yk, task_name, assoc, seed)

    order = {"error": 0, "warning": 1, "info": 2}
    out_warnings.sort(key=lambda w: order[w.severity])
    return Profile(
        columns=columns,
        n_rows=n_rows,
        n_columns=len(df.columns),
        n_duplicate_rows=n_dup,
        n_rows_profiled=len(data),
        sampled=sampled,
        target=target_info,
        target_rates=rates,
        associations=assoc,
        warnings=out_warnings,
        seed=seed,
        frame=data,
    )
