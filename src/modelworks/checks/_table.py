"""Checks of the table's shape: class imbalance (MW402), classes too small for the folds (MW403),
near-constant columns (MW501) and high-cardinality text treated as a category (MW502).

No threshold here was tuned on a real dataset's results; each is reasoned below.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from modelworks.checks._common import column_names, info_of
from modelworks.checks._finding import CheckInput, Finding
from modelworks.data.kinds import stored_as_numbers

#: Minority/majority ratio below which the imbalance is reported as an info: one rare row for ten
#: common ones is where accuracy stops telling models apart (always predicting the majority scores 0.91).
IMBALANCE_INFO = 0.1
#: ... and as a warning below 1:100: the rare class then has few rows per fold (50 in a 5,000-row
#: table split five ways), so its part of any metric is noisy and more rare rows are the real fix.
IMBALANCE_WARNING = 0.01
#: Share of rows the most frequent value (missing counted as a value) must cover for a column to be
#: near-constant: at 99% a column has at most one informative row in a hundred, which a fold of a few
#: hundred rows may not hold at all.
NEAR_CONSTANT = 0.99
#: Share of distinct values among present ones above which a categorical column is text in disguise:
#: beyond half, most levels appear once, and a level seen once in training cannot be learnt from.
TEXT_LIKE_SHARE = 0.5
#: Present values the share needs to mean anything (a 10-row column is all distinct by chance).
TEXT_LIKE_ROWS = 50
#: Levels above which a categorical column is reported whatever its share: more levels than the
#: encoders can learn a reliable effect for from typical table sizes.
TEXT_LIKE_LEVELS = 1000


def class_findings(inp: CheckInput) -> list[Finding]:
    """MW402 (class imbalance) and MW403 (classes smaller than the folds) findings.

    Parameters
    ----------
    inp : CheckInput

    Returns
    -------
    list of Finding
        Empty for regression.
    """
    if not inp.classification:
        return []
    counts = inp.y_train.dropna().astype(object).map(str).value_counts()
    if len(counts) < 2:
        return []
    found = []
    rare, common = str(counts.index[-1]), str(counts.index[0])
    ratio = float(counts.iloc[-1] / counts.iloc[0])
    if ratio < IMBALANCE_INFO:
        metric = "ROC AUC" if inp.task == "binary" else "log loss"
        found.append(
            Finding(
                "MW402",
                "warning" if ratio < IMBALANCE_WARNING else "info",
                (),
                f"the rarest class {rare!r} has {int(counts.iloc[-1])} rows for {int(counts.iloc[0])} of "
                f"{common!r} (1:{1 / ratio:.0f}); the run ranks models by {metric} by default, which does "
                "not reward always predicting the common class, but if decisions hinge on the rare class "
                "collect more of its rows and consider --metric balanced_accuracy",
                ratio,
            )
        )
    small = counts[counts < inp.cv]
    if len(small):
        named = ", ".join(f"{str(c)!r} ({int(k)} rows)" for c, k in small.items())
        fewest = int(small.min())
        fix = f"pass --cv {fewest} or merge rare classes" if fewest >= 2 else "merge rare classes"
        found.append(
            Finding(
                "MW403",
                "warning",
                (),
                f"class(es) {named} have fewer training rows than the {inp.cv} folds, so they cannot be in "
                f"every fold and the folds that lack them score them as never seen; {fix}",
                float(fewest),
            )
        )
    return found


def column_findings(inp: CheckInput) -> list[Finding]:
    """MW501 (near-constant column) and MW502 (high-cardinality text as a category) findings.

    Parameters
    ----------
    inp : CheckInput

    Returns
    -------
    list of Finding
    """
    X = inp.X_train
    n = len(X)
    if n == 0:
        return []
    names = column_names(X)
    found = []
    for j in _near_constant_candidates(X):
        name = names[j]
        series = X.iloc[:, j]
        if name == inp.groups or info_of(inp, name, series).kind == "constant":
            continue
        counts = series.value_counts(dropna=False)
        share = float(counts.iloc[0] / n)
        if len(counts) >= 2 and share >= NEAR_CONSTANT:
            value = counts.index[0]
            shown = "missing" if pd.isna(value) else repr(value if isinstance(value, str) else _plain(value))
            found.append(
                Finding(
                    "MW501",
                    "info",
                    (name,),
                    f"column {name!r} holds one value ({shown}) in {share:.1%} of rows, so it carries "
                    "almost nothing and a fold may not see its other values; drop it unless those rare "
                    "values matter",
                    share,
                )
            )
    for j, name in enumerate(names):
        series = X.iloc[:, j]
        if name == inp.groups or info_of(inp, name, series).kind != "categorical":
            continue
        present = series.dropna()
        levels = int(present.nunique())
        share = levels / max(len(present), 1)
        if (share > TEXT_LIKE_SHARE and len(present) >= TEXT_LIKE_ROWS) or levels > TEXT_LIKE_LEVELS:
            found.append(
                Finding(
                    "MW502",
                    "warning",
                    (name,),
                    f"column {name!r} is encoded as a category with {levels} levels in {len(present)} rows, "
                    "most of which appear once, so it carries little; drop it or turn it into features "
                    "(its parts, its length, a count of its value)",
                    share,
                )
            )
    return found


def _plain(value: object) -> object:
    """A NumPy scalar as a Python one, for the message."""
    return value.item() if isinstance(value, np.generic) else value


def _near_constant_candidates(X: pd.DataFrame) -> list[int]:
    """Positions of the columns whose most frequent value may cover :data:`NEAR_CONSTANT` of the rows:
    plain numeric columns are screened as one sorted block (a wide table has thousands), the others
    all pass to the exact count."""
    n = len(X)
    need = math.ceil(NEAR_CONSTANT * n)
    dtypes = list(X.dtypes)
    numeric = [j for j, t in enumerate(dtypes) if stored_as_numbers(t)]
    out = [j for j, t in enumerate(dtypes) if not stored_as_numbers(t)]
    step = max(1, 5_000_000 // max(n, 1))
    for start in range(0, len(numeric), step):
        chunk = numeric[start : start + step]
        block = np.sort(X.iloc[:, chunk].to_numpy(dtype="float64", na_value=np.nan), axis=0)  # NaN last
        missing = np.isnan(block).sum(axis=0)
        # a value covering `need` sorted rows equals itself `need - 1` rows further on
        same = (block[: n - need + 1] == block[need - 1 :]).any(axis=0)
        out.extend(c for c, hit in zip(chunk, same | (missing >= need), strict=True) if hit)
    return sorted(out)
