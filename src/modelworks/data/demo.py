"""Bundled demonstration data: a synthetic customer-churn table with a learnable, noisy signal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["make_churn", "write_digits"]

_START = np.datetime64("2019-01-01")
_END = np.datetime64("2025-12-31")
#: The "today" of the synthetic data set, from which tenure is measured.
_AS_OF = np.datetime64("2026-01-01")

_PLANS = np.array(["basic", "standard", "premium"])
_REGIONS = np.array(["north", "south", "east", "west"])


def make_churn(n_customers: int = 5000, seed: int = 0) -> pd.DataFrame:
    """Generate a synthetic customer table for predicting churn.

    The table mirrors the customer example that practitioners learn pandas with: one row per
    customer, a few numeric and categorical columns with missing values, a date stored as text, and
    a ``"yes"``/``"no"`` target. The signal is real but noisy: a well-chosen model reaches a ROC AUC
    of roughly 0.75-0.85, never close to 1.

    Parameters
    ----------
    n_customers : int, default 5000
        Number of rows (customers). Must be positive.
    seed : int, default 0
        Seed of the :func:`numpy.random.default_rng` generator that makes every random choice. The
        same seed gives an identical table; different seeds give different tables.

    Returns
    -------
    pandas.DataFrame
        Columns, in order:

        ``customer_id`` : str
            Unique identifier ``"C00001"``, ``"C00002"``, ... (wider when needed).
        ``age`` : float
            Whole years, 18-80, drawn from a normal distribution around 44; about 3% missing.
        ``income`` : float
            Yearly income, log-normal (median about 48,000, mildly rising with age), rounded to
            tens; about 4% missing.
        ``purchases`` : int
            Purchases over the last year: Poisson counts whose rate grows with plan and income and
            varies between customers (a gamma mixture, so over-dispersed).
        ``plan`` : str
            ``"basic"``, ``"standard"`` or ``"premium"``; richer customers choose dearer plans.
        ``region`` : str
            ``"north"``, ``"south"``, ``"east"`` or ``"west"``; about 1% missing; no effect
            on churn.
        ``signup_date`` : str
            ISO date ``"YYYY-MM-DD"``, uniform over 2019-01-01 .. 2025-12-31.
        ``will_churn`` : str
            The target, ``"yes"`` or ``"no"`` (about 23% ``"yes"``).

    Notes
    -----
    The target is drawn from a logistic model of the complete (pre-missingness) features::

        logit P(churn) = b0
                         - 0.45 * tenure_years            (newer customers churn more)
                         - 0.80 * log1p(purchases)        (more purchases, less churn)
                         + 0.55 [plan == basic] - 0.45 [plan == premium]
                         + 0.0012 * (age - 42)^2          (young and old churn a little more)
                         - 0.10 * z(log income)           (weak)
                         + N(0, 0.5)                      (unobserved customer factors)

    with tenure measured from ``signup_date`` to 2026-01-01 and ``b0 = 0.85`` fixed so that about
    23% of customers churn. Values are then removed completely at random (age 3%, income 4%,
    region 1%), so missingness carries no information about the target.

    Examples
    --------
    >>> from modelworks.data.demo import make_churn
    >>> df = make_churn(1000, seed=1)
    >>> df.shape
    (1000, 8)
    >>> sorted(df["will_churn"].unique())
    ['no', 'yes']
    """
    n = int(n_customers)
    if n < 1:
        raise ValueError(f"n_customers must be at least 1, got {n_customers!r}")
    rng = np.random.default_rng(seed)

    width = max(5, len(str(n)))
    customer_id = np.array([f"C{i:0{width}d}" for i in range(1, n + 1)], dtype=object)

    age = np.clip(np.rint(rng.normal(44.0, 14.0, n)), 18, 80)
    log_income = np.log(48_000.0) + 0.006 * (age - 44.0) + rng.normal(0.0, 0.5, n)
    income = np.round(np.exp(log_income), -1)
    income_z = (log_income - log_income.mean()) / (log_income.std() or 1.0)

    # Plan choice: multinomial logit, richer customers lean to dearer plans.
    plan_logits = np.column_stack([0.7 - 0.6 * income_z, 0.3 + 0.0 * income_z, -0.6 + 0.6 * income_z])
    plan_p = np.exp(plan_logits)
    plan_p /= plan_p.sum(axis=1, keepdims=True)
    plan_idx = (rng.random(n)[:, None] > np.cumsum(plan_p, axis=1)).sum(axis=1)
    plan_idx = np.minimum(plan_idx, len(_PLANS) - 1)
    plan = _PLANS[plan_idx]

    rate = np.array([4.0, 7.0, 10.0])[plan_idx] * np.exp(0.2 * income_z)
    purchases = rng.poisson(rate * rng.gamma(2.0, 0.5, n)).astype(np.int64)

    region = rng.choice(_REGIONS, size=n, p=[0.3, 0.25, 0.25, 0.2]).astype(object)

    span_days = int((_END - _START).astype(int))
    offsets = rng.integers(0, span_days + 1, n)
    signup = _START + offsets.astype("timedelta64[D]")
    tenure_years = (_AS_OF - signup).astype(int) / 365.25
    signup_date = np.datetime_as_string(signup, unit="D").astype(object)

    logit = (
        -0.45 * tenure_years
        - 0.80 * np.log1p(purchases)
        + np.array([0.55, 0.0, -0.45])[plan_idx]
        + 0.0012 * (age - 42.0) ** 2
        - 0.10 * income_z
        + rng.normal(0.0, 0.5, n)
    )
    # Intercept so that about 23% churn (fixed, not fitted: the share varies with the seed).
    logit += 0.85
    churn = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    will_churn = np.where(churn, "yes", "no").astype(object)

    # Missing completely at random, after the target is drawn.
    age_out = age.astype(float)
    age_out[rng.random(n) < 0.03] = np.nan
    income[rng.random(n) < 0.04] = np.nan
    region[rng.random(n) < 0.01] = np.nan

    return pd.DataFrame(
        {
            "customer_id": pd.array(customer_id, dtype="str"),
            "age": age_out,
            "income": income,
            "purchases": purchases,
            "plan": pd.array(plan.astype(object), dtype="str"),
            "region": pd.array(region, dtype="str"),
            "signup_date": pd.array(signup_date, dtype="str"),
            "will_churn": pd.array(will_churn, dtype="str"),
        }
    )


def write_digits(root: Path) -> Path:
    """scikit-learn's 1,797 8×8 digits as PNG files, one subfolder per digit (the image demo's data,
    shipped with scikit-learn: nothing is downloaded). Returns ``root``."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    for i, (img, label) in enumerate(zip(digits.images, digits.target, strict=True)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.round(img * (255 / 16)).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(folder / f"{i:04d}.png")
    return root
