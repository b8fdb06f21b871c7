"""Tests of modelworks.data.profile on small synthetic tables (and titanic when available)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from scipy import stats

from modelworks.data.profile import Profile, ProfileWarning, _distribution_stats, profile
from modelworks.errors import TargetError

DATASETS = Path(__file__).parents[3] / "shared" / "datasets"
PROBLEM_CODES = {
    "identifier",
    "constant",
    "all_missing",
    "missing",
    "high_cardinality",
    "imbalance",
    "duplicates",
    "leakage",
    "target_missing",
}


def clean_binary(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """A well-behaved binary problem: no ids, constants, gaps, leaks or imbalance."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n).round(1)
    income = rng.normal(50, 15, n)
    plan = rng.choice(["basic", "plus", "premium"], n)
    logit = 0.04 * (age - 40) + np.where(plan == "premium", 0.5, 0.0)
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "age": age,
            "income": income,
            "plan": plan,
            "churn": np.where(churn, "yes", "no"),
        }
    )


def problem_binary(n: int = 600, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=int)
    y[:45] = 1  # 7.5% positives: imbalanced, still enough for the folds
    rng.shuffle(y)
    score = rng.normal(size=n)
    gappy = np.where(rng.random(n) < 0.6, np.nan, rng.normal(size=n))
    return pd.DataFrame(
        {
            "customer_id": np.arange(1000, 1000 + n),
            "country": "NL",
            "notes_code": gappy,
            "city": [f"city_{i}" for i in rng.integers(0, 60, n)],
            "refund_amount": y + rng.normal(0, 0.01, n),
            "closure_reason": np.where(y == 1, "cancelled", "active"),
            "score": score,
            "empty": np.nan,
            "target": y,
        }
    )


# --------------------------------------------------------------------- basics
def test_kinds_missing_and_basic_counts():
    rng = np.random.default_rng(0)
    n = 200
    df = pd.DataFrame(
        {
            "amount": rng.normal(size=n),
            "price": [f"${v:,.2f}" for v in rng.uniform(1, 5000, n)],
            "color": rng.choice(["red", "green", "blue"], n),
            "flag": rng.choice([True, False], n),
            "when": pd.date_range("2020-01-01", periods=n, freq="D"),
            "user_id": np.arange(n),
            "const": 1,
            "y": rng.normal(size=n),
        }
    )
    df.loc[:9, "amount"] = np.nan
    df.loc[:4, "color"] = None
    prof = profile(df, "y")
    assert isinstance(prof, Profile)
    cols = prof.columns.set_index("name")
    assert cols.loc["amount", "kind"] == "numeric"
    assert cols.loc["price", "kind"] == "numeric"
    assert cols.loc["color", "kind"] == "categorical"
    assert cols.loc["flag", "kind"] == "boolean"
    assert cols.loc["when", "kind"] == "datetime"
    assert cols.loc["user_id", "kind"] == "identifier"
    assert cols.loc["const", "kind"] == "constant"
    assert list(cols.index) == list(df.columns)
    assert cols["is_target"].sum() == 1 and cols.loc["y", "is_target"]
    assert cols.loc["amount", "missing"] == 10
    assert cols.loc["amount", "missing_share"] == pytest.approx(10 / n)
    assert cols.loc["color", "missing"] == 5
    assert cols.loc["flag", "missing"] == 0
    # numeric statistics, number strings parsed first
    price = df["price"].str.replace(r"[$,]", "", regex=True).astype(float)
    assert cols.loc["price", "mean"] == pytest.approx(price.mean())
    assert cols.loc["price", "median"] == pytest.approx(price.median())
    assert cols.loc["price", "max"] == pytest.approx(price.max())
    amount = df["amount"].dropna()
    assert cols.loc["amount", "std"] == pytest.approx(amount.std())
    assert cols.loc["amount", "q25"] == pytest.approx(amount.quantile(0.25))
    assert cols.loc["amount", "skew"] == pytest.approx(amount.skew())
    # top values for categories; none for numbers
    top_color = df["color"].value_counts().index[0]
    assert cols.loc["color", "top"].startswith(f"{top_color} (")
    assert pd.isna(cols.loc["amount", "top"])
    assert math.isnan(cols.loc["color", "mean"])
    assert prof.n_rows == n and prof.n_columns == df.shape[1]
    assert prof.target["task"] == "regression"
    assert prof.target["mean"] == pytest.approx(df["y"].mean())


def test_duplicate_rows_counted_and_warned():
    df = clean_binary(100)
    doubled = pd.concat([df, df.iloc[:7]], ignore_index=True)
    prof = profile(doubled, "churn")
    assert prof.n_duplicate_rows == 7
    dup = [w for w in prof.warnings if w.code == "duplicates"]
    assert len(dup) == 1 and dup[0].column is None and "7 rows" in dup[0].message
    assert profile(df, "churn").n_duplicate_rows == 0


def test_without_target():
    prof = profile(clean_binary(50))
    assert prof.target is None
    assert prof.target_rates == {}
    assert prof.associations.empty
    assert not prof.columns["is_target"].any()


def test_missing_target_raises_with_suggestion():
    df = clean_binary(30)
    with pytest.raises(TargetError, match="churn"):
        profile(df, "Churn ")
    with pytest.raises(TargetError):
        profile(df, "nope")


# --------------------------------------------------------------------- warnings
def test_problem_warnings_fire():
    df = problem_binary()
    prof = profile(df, "target")
    codes = {(w.code, w.column) for w in prof.warnings}
    assert ("identifier", "customer_id") in codes
    assert ("constant", "country") in codes
    assert ("missing", "notes_code") in codes
    assert ("high_cardinality", "city") in codes
    assert ("imbalance", "target") in codes
    assert ("leakage", "refund_amount") in codes
    assert ("leakage", "closure_reason") in codes
    assert ("all_missing", "empty") in codes
    # a column that is unrelated to the target is not called a leak
    assert ("leakage", "score") not in codes
    missing = next(w for w in prof.warnings if w.code == "missing")
    share = df["notes_code"].isna().mean()
    assert f"{100 * share:.0f}%" in missing.message
    # the all-missing column is not also reported as constant / missing
    assert prof.warning_codes("empty") == {"all_missing"}
    # most severe first
    assert prof.warnings[0].severity == "error"
    assert all(isinstance(w, ProfileWarning) for w in prof.warnings)


def test_clean_data_has_no_problem_warnings():
    prof = profile(clean_binary(), "churn")
    assert prof.warning_codes() & PROBLEM_CODES == set()


def test_leakage_regression_and_weak_feature():
    rng = np.random.default_rng(3)
    n = 500
    x = rng.normal(size=n)
    y = 2 * x + rng.normal(size=n) * 3
    df = pd.DataFrame(
        {
            "weak": x,
            "leak": y + rng.normal(0, 1e-3, n),
            "grade": rng.choice(list("abcd"), n),
            "y": y,
        }
    )
    prof = profile(df, "y")
    leaks = {w.column for w in prof.warnings if w.code == "leakage"}
    assert leaks == {"leak"}


def test_leakage_by_tree_without_linear_correlation():
    """A one-to-one, non-monotone function of the target: Pearson r misses it, the tree does not."""
    rng = np.random.default_rng(4)
    n = 800
    y = rng.uniform(0, 1, n)
    segment = np.minimum((y * 4).astype(int), 3)
    shift = (np.array([2, 0, 3, 1])[segment] - segment) * 0.25
    # permuted quarters: a one-to-one but non-monotone function of the target
    df = pd.DataFrame({"scrambled": y + shift, "noise": rng.normal(size=n), "y": y})
    r = stats.pearsonr(df["scrambled"], df["y"]).statistic
    assert abs(r) < 0.98
    prof = profile(df, "y")
    assert "leakage" in prof.warning_codes("scrambled")
    assert "leakage" not in prof.warning_codes("noise")


def test_leakage_multiclass_categorical():
    rng = np.random.default_rng(5)
    n = 300
    y = rng.choice(["a", "b", "c"], n)
    df = pd.DataFrame(
        {
            "code": pd.Series(y).map({"a": "x1", "b": "x2", "c": "x3"}),
            "other": rng.choice(["p", "q"], n),
            "y": y,
        }
    )
    prof = profile(df, "y")
    assert prof.target["task"] == "multiclass"
    assert "leakage" in prof.warning_codes("code")
    assert "leakage" not in prof.warning_codes("other")


def test_imbalance_by_ratio_and_share():
    rng = np.random.default_rng(6)
    balanced = pd.DataFrame({"x": rng.normal(size=200), "y": np.tile([0, 1], 100)})
    assert "imbalance" not in profile(balanced, "y").warning_codes()
    y = np.array([0] * 185 + [1] * 15)
    skewed = pd.DataFrame({"x": rng.normal(size=200), "y": y})
    prof = profile(skewed, "y")
    assert "imbalance" in prof.warning_codes("y")
    t = prof.target
    assert t["minority"] == 1 and t["majority"] == 0
    assert t["minority_share"] == pytest.approx(15 / 200)
    assert t["imbalance_ratio"] == pytest.approx(185 / 15)
    assert {c["label"]: c["count"] for c in t["classes"]} == {0: 185, 1: 15}


def test_high_cardinality_by_unique_share_and_skew():
    rng = np.random.default_rng(7)
    n = 60
    # 25 levels (< 30) but over half the 40 present values unique → still high-cardinality
    levels = [None] * 20 + [f"L{i}" for i in range(25)] + [f"L{i}" for i in range(15)]
    skewed = np.exp(rng.normal(0, 1.5, n))
    df = pd.DataFrame({"lvl": levels, "money": skewed, "y": rng.normal(size=n)})
    prof = profile(df, "y")
    n_unique = df["lvl"].nunique()
    assert n_unique / df["lvl"].notna().sum() > 0.5
    assert "high_cardinality" in prof.warning_codes("lvl")
    assert abs(df["money"].skew()) > 2
    assert "skew" in prof.warning_codes("money")
    skew = next(w for w in prof.warnings if w.code == "skew")
    assert skew.severity == "info"


# --------------------------------------------------------------------- associations
def test_pearson_spearman_match_scipy():
    rng = np.random.default_rng(8)
    n = 300
    x1 = rng.normal(size=n)
    x2 = rng.exponential(size=n)
    y = 1.5 * x1 - x2 + rng.normal(size=n)
    df = pd.DataFrame({"x1": x1, "x2": x2, "y": y})
    df.loc[::7, "x1"] = np.nan
    df.loc[::11, "y"] = np.nan
    prof = profile(df, "y")
    assoc = prof.associations.set_index("feature")
    for name in ("x1", "x2"):
        ok = df[name].notna() & df["y"].notna()
        r, p = stats.pearsonr(df.loc[ok, name], df.loc[ok, "y"])
        rho, sp = stats.spearmanr(df.loc[ok, name], df.loc[ok, "y"])
        row = assoc.loc[name]
        assert row["method"] == "pearson"
        assert row["n"] == ok.sum()
        assert row["pearson_r"] == pytest.approx(r, rel=1e-9)
        assert row["pearson_p"] == pytest.approx(p, rel=1e-6)
        assert row["spearman_rho"] == pytest.approx(rho, rel=1e-9)
        assert row["spearman_p"] == pytest.approx(sp, rel=1e-6)
        assert row["strength"] == pytest.approx(abs(r))
    strengths = prof.associations["strength"].to_numpy()
    assert np.all(np.diff(strengths) <= 0)


def test_pearson_binary_target_encoded_positive_one():
    df = clean_binary(400)
    prof = profile(df, "churn")
    assert prof.target["positive_label"] == "yes"
    yenc = (df["churn"] == "yes").astype(float)
    r, _ = stats.pearsonr(df["age"], yenc)
    row = prof.associations.set_index("feature").loc["age"]
    assert row["pearson_r"] == pytest.approx(r, rel=1e-9)
    assert r > 0


def test_cramers_v_matches_independent_computation():
    rng = np.random.default_rng(9)
    n = 500
    plan = rng.choice(["a", "b", "c", "d"], n)
    y = np.where(rng.random(n) < np.where(plan == "a", 0.7, 0.3), "pos", "neg")
    flag = rng.choice([True, False], n)
    df = pd.DataFrame({"plan": plan, "flag": flag, "y": y})
    prof = profile(df, "y")
    assoc = prof.associations.set_index("feature")
    for name in ("plan", "flag"):
        table = pd.crosstab(df[name], df["y"]).to_numpy()
        chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
        expected = math.sqrt(chi2 / (table.sum() * (min(table.shape) - 1)))
        assert expected == pytest.approx(stats.contingency.association(table, method="cramer"))
        row = assoc.loc[name]
        assert row["method"] == "cramers_v"
        assert row["cramers_v"] == pytest.approx(expected, rel=1e-9)
        assert row["p_value"] == pytest.approx(p, rel=1e-6)
    assert assoc.loc["plan", "cramers_v"] > assoc.loc["flag", "cramers_v"]


def test_eta_for_category_against_regression_target():
    rng = np.random.default_rng(10)
    n = 300
    g = rng.choice(["a", "b", "c"], n)
    y = np.where(g == "a", 2.0, 0.0) + rng.normal(size=n)
    df = pd.DataFrame({"g": g, "y": y})
    row = profile(df, "y").associations.set_index("feature").loc["g"]
    grand = y.mean()
    ssb = sum(((df.y[df.g == k].mean() - grand) ** 2) * (df.g == k).sum() for k in "abc")
    sst = ((y - grand) ** 2).sum()
    assert row["method"] == "eta"
    assert row["eta"] == pytest.approx(math.sqrt(ssb / sst))
    groups = [df.y[df.g == k] for k in "abc"]
    assert row["p_value"] == pytest.approx(stats.f_oneway(*groups).pvalue, rel=1e-6)


# --------------------------------------------------------------------- target rates
def test_target_rates_binary_match_groupby():
    df = clean_binary(500)
    df.loc[:9, "plan"] = None
    prof = profile(df, "churn")
    rates = prof.target_rates["plan"].set_index("level")
    positive = (df["churn"] == "yes").astype(float)
    expected = positive.groupby(df["plan"]).agg(["size", "mean"])
    for level, row in expected.iterrows():
        assert rates.loc[level, "count"] == row["size"]
        assert rates.loc[level, "rate"] == pytest.approx(row["mean"])
    assert rates.loc["(missing)", "count"] == 10
    assert rates.loc["(missing)", "rate"] == pytest.approx(positive[:10].mean())
    # levels ordered by frequency
    counts = rates["count"].drop("(missing)").to_numpy()
    assert np.all(np.diff(counts) <= 0)


def test_target_rates_numeric_bins_and_other_level():
    rng = np.random.default_rng(11)
    n = 1000
    city = [f"c{i:02d}" for i in rng.integers(0, 25, n)]
    age = rng.uniform(18, 80, n)
    y = rng.normal(size=n) + age / 20
    df = pd.DataFrame({"city": city, "age": age, "y": y})
    prof = profile(df, "y")
    by_age = prof.target_rates["age"]
    assert len(by_age) == 5
    assert by_age["count"].sum() == n
    assert by_age["level"].iloc[0].startswith("[") and by_age["level"].iloc[1].startswith("(")
    assert by_age["mean"].iloc[-1] > by_age["mean"].iloc[0]
    edges = np.quantile(age, np.linspace(0, 1, 6))
    bins = pd.cut(age, edges, include_lowest=True, labels=False)
    assert by_age["mean"].to_numpy() == pytest.approx(df["y"].groupby(bins).mean().to_numpy())
    by_city = prof.target_rates["city"].set_index("level")
    assert len(by_city) == 21  # top 20 levels + other
    top = df["city"].value_counts().index[:20]
    other = ~df["city"].isin(top)
    assert by_city.loc["other", "count"] == other.sum()
    assert by_city.loc["other", "mean"] == pytest.approx(df.loc[other, "y"].mean())


def test_target_rates_multiclass_shares():
    rng = np.random.default_rng(12)
    n = 300
    df = pd.DataFrame(
        {
            "g": rng.choice(["u", "v"], n),
            "y": rng.choice(["a", "b", "c"], n),
        }
    )
    rates = profile(df, "y").target_rates["g"].set_index("level")
    expected = pd.crosstab(df["g"], df["y"], normalize="index")
    for level in ("u", "v"):
        for cls in ("a", "b", "c"):
            assert rates.loc[level, f"share_{cls}"] == pytest.approx(expected.loc[level, cls])
    assert rates["count"].sum() == n


# --------------------------------------------------------------------- sampling / export
def test_sampling_is_seeded_and_reported():
    df = clean_binary(1000)
    a = profile(df, "churn", max_rows=300, seed=1)
    b = profile(df, "churn", max_rows=300, seed=1)
    assert a.sampled and a.n_rows == 1000 and a.n_rows_profiled == 300
    pd.testing.assert_frame_equal(a.columns, b.columns)
    assert not profile(df, "churn").sampled
    console = Console(record=True, width=100)
    a.render(console)
    assert "sample of 300 rows" in console.export_text()


def test_to_json_round_trip(tmp_path):
    df = problem_binary()
    df.loc[0, "score"] = np.nan
    prof = profile(df, "target")
    path = prof.to_json(tmp_path / "sub" / "profile.json")
    assert path.exists()
    assert [p.name for p in path.parent.iterdir()] == ["profile.json"]  # no temp file left
    with open(path, encoding="utf-8") as fh:
        loaded = json.load(fh)
    assert loaded == prof.to_dict()
    assert loaded["n_rows"] == len(df)
    assert loaded["target"]["name"] == "target"
    names = [c["name"] for c in loaded["columns"]]
    assert names == list(df.columns)
    empty = next(c for c in loaded["columns"] if c["name"] == "empty")
    assert empty["mean"] is None  # NaN → null
    assert {w["code"] for w in loaded["warnings"]} >= {"leakage", "identifier"}
    assert isinstance(loaded["target_rates"]["closure_reason"], list)
    assert loaded["associations"][0]["feature"] in {"refund_amount", "closure_reason"}


def test_render_contains_columns_and_fits_width():
    df = problem_binary()
    prof = profile(df, "target")
    console = Console(record=True, width=100)
    prof.render(console)
    text = console.export_text()
    for name in df.columns:
        assert name in text
    assert "Warnings" in text and "leakage" in text
    assert "600 rows" in text
    assert max(len(line) for line in text.splitlines()) <= 100


@pytest.mark.skipif(not (DATASETS / "titanic").exists(), reason="shared titanic dataset not found")
def test_titanic():
    df = pd.read_csv(DATASETS / "titanic" / "train.csv")
    prof = profile(df, "survived")
    assert prof.target["task"] == "binary"
    assert prof.n_rows == len(df)
    cols = prof.columns.set_index("name")
    assert cols.loc["age", "kind"] == "numeric"
    assert cols.loc["sex", "kind"] in ("categorical", "boolean")
    assert cols.loc["age", "missing"] == df["age"].isna().sum()
    assert "missing" in prof.warning_codes("deck")
    assert prof.n_duplicate_rows == df.duplicated().sum()
    assert "leakage" not in prof.warning_codes()
    # sex is strongly associated with survival
    assoc = prof.associations.set_index("feature")
    assert assoc.loc["sex", "cramers_v"] > 0.4
    rates = prof.target_rates["sex"].set_index("level")
    assert rates.loc["female", "rate"] == pytest.approx(df.loc[df["sex"] == "female", "survived"].mean())
    json.dumps(prof.to_dict(), allow_nan=False)


# --------------------------------------------------------------------- distributions
def _fit_row(values: np.ndarray, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x": values, "y": rng.normal(size=len(values))})
    return profile(df, "y").columns.set_index("name").loc["x"]


def test_normal_sample_fits_normal():
    x = np.random.default_rng(20).normal(50, 5, 2000)
    row = _fit_row(x)
    assert row["best_fit"] == "normal"
    assert row["normality_p"] > 0.01
    assert row["normality_p"] == pytest.approx(stats.normaltest(x).pvalue, rel=1e-9)
    loc, scale = stats.norm.fit(x)
    assert row["best_fit_ks"] == pytest.approx(stats.kstest(x, "norm", args=(loc, scale)).statistic)


def test_lognormal_sample_fits_lognormal():
    x = np.random.default_rng(21).lognormal(1.0, 0.8, 2000)
    row = _fit_row(x)
    assert row["best_fit"] == "lognormal"
    assert row["normality_p"] < 1e-10
    params = stats.lognorm.fit(x, floc=0)
    assert row["best_fit_ks"] == pytest.approx(stats.kstest(x, "lognorm", args=params).statistic)


def test_exponential_sample_fits_exponential_or_gamma():
    x = np.random.default_rng(22).exponential(3.0, 2000)
    row = _fit_row(x)
    assert row["best_fit"] in ("exponential", "gamma")
    scipy_name = {"exponential": "expon", "gamma": "gamma"}[row["best_fit"]]
    params = getattr(stats, scipy_name).fit(x, floc=0)
    expected = stats.kstest(x, scipy_name, args=params).statistic
    assert row["best_fit_ks"] == pytest.approx(expected, rel=1e-9)
    # it is the smallest statistic over the candidates
    others = [
        stats.kstest(x, "norm", args=stats.norm.fit(x)).statistic,
        stats.kstest(x, "lognorm", args=stats.lognorm.fit(x, floc=0)).statistic,
        stats.kstest(x, "expon", args=stats.expon.fit(x, floc=0)).statistic,
        stats.kstest(x, "gamma", args=stats.gamma.fit(x, floc=0)).statistic,
    ]
    assert row["best_fit_ks"] == pytest.approx(min(others), rel=1e-9)


def test_negative_values_only_fit_normal():
    x = np.random.default_rng(23).exponential(3.0, 500) - 1.0  # skewed, but with negatives
    assert (x < 0).any()
    row = _fit_row(x)
    assert row["best_fit"] == "normal"
    assert row["best_fit_ks"] == pytest.approx(stats.kstest(x, "norm", args=stats.norm.fit(x)).statistic)


def test_distribution_stats_missing_for_few_or_constant_values():
    rng = np.random.default_rng(24)
    n = 100
    few = np.full(n, np.nan)
    few[:15] = rng.normal(size=15)
    df = pd.DataFrame({"few": few, "flat": 3.0, "ok": rng.normal(size=n), "y": rng.normal(size=n)})
    cols = profile(df, "y").columns.set_index("name")
    for name in ("few", "flat"):
        assert math.isnan(cols.loc[name, "normality_p"])
        assert math.isnan(cols.loc[name, "best_fit_ks"])
        assert cols.loc[name, "best_fit"] is None
    assert cols.loc["ok", "best_fit"] == "normal"
    assert cols.loc["y", "best_fit"] == "normal"  # numeric targets too
    # a numeric column constant among its values (the helper directly)
    flat = _distribution_stats(np.r_[np.full(50, 2.5), np.nan, np.inf])
    assert flat["best_fit"] is None and math.isnan(flat["normality_p"])


def test_distribution_stats_sampled_and_seeded():
    x = np.random.default_rng(25).gamma(2.0, 1.0, 12_000)
    df = pd.DataFrame({"x": x})
    a = profile(df, seed=1).columns.set_index("name").loc["x"]
    b = profile(df, seed=1).columns.set_index("name").loc["x"]
    assert a["normality_p"] == b["normality_p"] and a["best_fit_ks"] == b["best_fit_ks"]
    assert a["best_fit"] in ("gamma", "lognormal")
    # computed on a 5000-value sample, not on all 12000 values
    full = stats.kstest(x, "gamma", args=stats.gamma.fit(x, floc=0)).statistic
    assert a["best_fit"] != "gamma" or a["best_fit_ks"] != pytest.approx(full, rel=1e-12)


def test_chi2_matches_chi2_contingency():
    rng = np.random.default_rng(26)
    n = 400
    plan = rng.choice(["a", "b", "c"], n)
    y = np.where(rng.random(n) < np.where(plan == "a", 0.6, 0.35), "yes", "no")
    df = pd.DataFrame({"plan": plan, "y": y})
    row = profile(df, "y").associations.set_index("feature").loc["plan"]
    res = stats.chi2_contingency(pd.crosstab(df["plan"], df["y"]).to_numpy(), correction=False)
    assert row["chi2"] == pytest.approx(res.statistic, rel=1e-9)
    assert row["p_value"] == pytest.approx(res.pvalue, rel=1e-6)
    # numeric features have no chi-square statistic
    df["num"] = rng.normal(size=n)
    assoc = profile(df, "y").associations.set_index("feature")
    assert math.isnan(assoc.loc["num", "chi2"])


def test_a_wide_table_is_detailed_on_its_first_columns_only():
    """Distribution fits, target rates, associations and leakage checks cover ``max_detailed``
    features; every column still has its counts and quartiles, and a warning says which."""
    from modelworks.errors import DataError

    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(60, 30)), columns=[f"x{i}" for i in range(30)])
    df["y"] = np.where(df["x0"] + df["x29"] > 0, "yes", "no")
    p = profile(df, "y", max_detailed=5)
    assert set(p.target_rates) <= {f"x{i}" for i in range(5)} and "x0" in p.target_rates
    assert set(p.associations["feature"]) <= {f"x{i}" for i in range(5)}
    table = p.columns.set_index("name")
    assert table.loc["x29", "median"] == pytest.approx(df["x29"].median())
    assert math.isnan(table.loc["x29", "normality_p"]) and not math.isnan(table.loc["x1", "normality_p"])
    wide = [w for w in p.warnings if w.code == "wide"]
    assert (
        len(wide) == 1 and "cover the first 5" in wide[0].message and "30 feature columns" in wide[0].message
    )
    assert not [w for w in profile(df, "y").warnings if w.code == "wide"]
    with pytest.raises(DataError, match="max_detailed"):
        profile(df, "y", max_detailed=-1)
