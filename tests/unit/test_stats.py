"""Significance tests: checked against scipy, published worked examples and hand computations."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from modelworks.evaluate.stats import (
    FriedmanResult,
    TestResult,
    bayesian_correlated_ttest,
    bootstrap_ci,
    corrected_ttest,
    friedman_nemenyi,
    holm,
    mcnemar_test,
    naive_ttest,
    paired_bootstrap,
    tie_group,
    wilcoxon_test,
)

A = [0.80, 0.82, 0.79, 0.85, 0.81, 0.84, 0.80, 0.83, 0.78, 0.82]
B = [0.78, 0.80, 0.80, 0.81, 0.79, 0.80, 0.79, 0.80, 0.77, 0.81]


def _accuracy(y, pred):
    return float(np.mean(np.asarray(y) == np.asarray(pred)))


def _mse(y, pred):
    return float(np.mean((np.asarray(y) - np.asarray(pred)) ** 2))


# ---------------------------------------------------------------------------------------------- t-tests


def test_corrected_ttest_matches_hand_computation():
    a, b = np.array(A), np.array(B)
    d = a - b
    j, frac = d.size, 1 / 9  # 10-fold CV: n_test / n_train = 1 / 9
    t_hand = d.mean() / math.sqrt((1 / j + frac) * d.var(ddof=1))
    p_hand = 2 * stats.t.sf(abs(t_hand), j - 1)
    half = stats.t.ppf(0.975, j - 1) * math.sqrt((1 / j + frac) * d.var(ddof=1))

    res = corrected_ttest(A, B, test_fraction=frac, names=("rf", "linear"))
    assert res.applicable
    assert res.statistic == pytest.approx(t_hand, rel=1e-12)
    assert res.p_value == pytest.approx(p_hand, rel=1e-12)
    assert res.interval == pytest.approx((d.mean() - half, d.mean() + half), rel=1e-12)
    assert res.effect_size == pytest.approx(d.mean() / d.std(ddof=1))
    assert res.inputs["test_fraction"] == pytest.approx(frac)
    assert res.inputs["a"] == A
    # the correction widens the variance, so it is less significant than the naive test
    assert res.p_value > naive_ttest(A, B).p_value
    assert "rf" in res.reading and "linear" in res.reading
    assert ("significantly better" in res.reading) == (res.p_value < 0.05)


def test_corrected_ttest_small_fixed_values():
    # d = [0.02, 0.02, -0.01, 0.04, 0.02]: mean 0.018, sd^2 = 0.00032, 5-fold -> 1/J + 1/4 = 0.45
    res = corrected_ttest([0.80, 0.82, 0.79, 0.85, 0.81], [0.78, 0.80, 0.80, 0.81, 0.79], test_fraction=0.25)
    assert res.statistic == pytest.approx(0.018 / math.sqrt(0.45 * 0.00032), rel=1e-9)


def test_orientation_lower_is_better_flips_sign():
    up = corrected_ttest(A, B, test_fraction=1 / 9)
    down = corrected_ttest(A, B, test_fraction=1 / 9, greater_is_better=False)
    assert down.statistic == pytest.approx(-up.statistic)
    assert down.p_value == pytest.approx(up.p_value)
    assert down.interval == pytest.approx((-up.interval[1], -up.interval[0]))


def test_naive_ttest_equals_scipy_ttest_rel():
    ref = stats.ttest_rel(A, B)
    res = naive_ttest(A, B)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    ci = ref.confidence_interval(0.95)
    assert res.interval == pytest.approx((ci.low, ci.high))
    low = naive_ttest(A, B, greater_is_better=False)
    assert low.statistic == pytest.approx(-ref.statistic)


def test_corrected_with_zero_fraction_equals_naive():
    # with test_fraction = 0 the correction vanishes: the plain paired t-test
    assert corrected_ttest(A, B, test_fraction=0).p_value == pytest.approx(stats.ttest_rel(A, B).pvalue)


@pytest.mark.parametrize("fn", [corrected_ttest, bayesian_correlated_ttest])
def test_degraded_cases_do_not_raise(fn):
    kw = {"test_fraction": 0.25}
    one = fn([0.8], [0.7], **kw)
    assert not one.applicable and "fewer than 2" in one.reading
    same = fn(A, A, **kw)
    assert not same.applicable and "identical scores" in same.reading
    const = fn([0.8, 0.9, 0.7], [0.7, 0.8, 0.6], **kw)
    assert not const.applicable and "variance is zero" in const.reading
    assert const.p_value is None and const.statistic is None
    empty = fn([], [], **kw)
    assert not empty.applicable
    json.dumps(const.to_dict())


def test_nan_pairs_are_dropped():
    a = [*A, np.nan, 0.9]
    b = [*B, 0.5, np.nan]
    res = corrected_ttest(a, b, test_fraction=1 / 9)
    ref = corrected_ttest(A, B, test_fraction=1 / 9)
    assert res.statistic == pytest.approx(ref.statistic)
    assert res.inputs["dropped_nan_pairs"] == 2
    assert naive_ttest(a, b).p_value == pytest.approx(naive_ttest(A, B).p_value)


def test_to_dict_is_json_safe():
    res = TestResult(
        test="x",
        statistic=np.float64(np.nan),
        p_value=np.float32(0.5),
        effect_size=float("inf"),
        interval=(np.float64(-1.0), np.float64(2.0)),
        reading="r",
        inputs={"a": np.array([1.0, np.nan]), "n": np.int64(3)},
        extra={"flag": np.bool_(True)},
    )
    d = res.to_dict()
    assert d["statistic"] is None and d["effect_size"] is None
    assert d["p_value"] == 0.5 and d["interval"] == [-1.0, 2.0]
    assert d["inputs"] == {"a": [1.0, None], "n": 3} and d["extra"] == {"flag": True}
    json.dumps(d, allow_nan=False)
    json.dumps(corrected_ttest(A, B, test_fraction=1 / 9).to_dict(), allow_nan=False)


# ------------------------------------------------------------------------------------------- Bayesian


def test_bayesian_matches_monte_carlo_of_posterior():
    # 2 x 10-fold repeated CV: rho = 1/10 (baycomp's 1/n_folds), so rho / (1 - rho) = 1/9 = n_test/n_train
    rng = np.random.default_rng(1)
    a = 0.80 + rng.normal(0, 0.02, 20)
    b = a - 0.005 + rng.normal(0, 0.015, 20)
    rope = 0.005
    res = bayesian_correlated_ttest(a, b, test_fraction=1 / 9, rope=rope, names=("x", "y"))
    d = a - b
    n, rho = d.size, 1 / 10
    scale = math.sqrt(d.var(ddof=1) * (1 / n + rho / (1 - rho)))
    draws = d.mean() + scale * rng.standard_t(n - 1, size=400_000)
    mc = {
        "p_a_better": np.mean(draws > rope),
        "p_equivalent": np.mean(np.abs(draws) <= rope),
        "p_b_better": np.mean(draws < -rope),
    }
    for key, value in mc.items():
        assert res.extra[key] == pytest.approx(value, abs=0.005)
    assert sum(res.extra[k] for k in mc) == pytest.approx(1.0)
    assert res.extra["rope"] == rope
    assert res.p_value is None
    lo, hi = np.quantile(draws, [0.025, 0.975])
    assert res.interval == pytest.approx((lo, hi), abs=0.002)
    assert "P(x better)" in res.reading and "P(y better)" in res.reading


def test_bayesian_probabilities_follow_orientation_and_rope():
    res = bayesian_correlated_ttest(A, B, test_fraction=1 / 9, rope=0.0)
    flipped = bayesian_correlated_ttest(A, B, test_fraction=1 / 9, rope=0.0, greater_is_better=False)
    assert res.extra["p_equivalent"] == pytest.approx(0.0)
    assert res.extra["p_a_better"] == pytest.approx(flipped.extra["p_b_better"])
    # with rope 0, P(A better) relates to the one-sided corrected t-test p-value
    t = corrected_ttest(A, B, test_fraction=1 / 9)
    assert res.extra["p_b_better"] == pytest.approx(t.p_value / 2)
    wide = bayesian_correlated_ttest(A, B, test_fraction=1 / 9, rope=1.0)
    assert wide.extra["p_equivalent"] > 0.999


# ------------------------------------------------------------------------------------------- Wilcoxon


def test_wilcoxon_matches_scipy():
    ref = stats.wilcoxon(np.array(A) - np.array(B))
    res = wilcoxon_test(A, B)
    assert res.statistic == pytest.approx(ref.statistic)
    assert res.p_value == pytest.approx(ref.pvalue)
    assert res.effect_size > 0
    assert wilcoxon_test(A, B, greater_is_better=False).effect_size == pytest.approx(-res.effect_size)


def test_wilcoxon_identical_scores_not_applicable():
    res = wilcoxon_test(A, A)
    assert not res.applicable and "identical scores" in res.reading


# ----------------------------------------------------------------------------------------------- Holm


def test_holm_worked_example():
    # Wikipedia "Holm-Bonferroni method" example: p = 0.01, 0.04, 0.03, 0.005 at alpha = 0.05;
    # H1 and H4 are rejected, H2 and H3 are not.
    res = holm({"H1": 0.01, "H2": 0.04, "H3": 0.03, "H4": 0.005}, alpha=0.05)
    assert [res[k]["reject"] for k in ("H1", "H2", "H3", "H4")] == [True, False, False, True]
    # adjusted: sorted 0.005*4, 0.01*3, max(0.03*2, .), max(0.04*1, 0.06)
    expected = {"H4": 0.02, "H1": 0.03, "H3": 0.06, "H2": 0.06}
    for key, value in expected.items():
        assert res[key]["p_holm"] == pytest.approx(value)
    assert list(res) == ["H1", "H2", "H3", "H4"]


def test_holm_against_independent_step_down():
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 0.1, 8)
    res = holm({f"k{i}": v for i, v in enumerate(p)}, alpha=0.05)
    order = np.argsort(p)
    m = p.size
    reject = np.zeros(m, bool)
    for i, idx in enumerate(order):  # sequential rejection: stop at the first non-rejection
        if p[idx] < 0.05 / (m - i):
            reject[idx] = True
        else:
            break
    assert [res[f"k{i}"]["reject"] for i in range(m)] == reject.tolist()
    assert all(0 <= v["p_holm"] <= 1 and v["p_holm"] >= v["p"] for v in res.values())


def test_holm_nan_and_cap():
    res = holm({"a": 0.6, "b": float("nan"), "c": 0.01, "d": 0.7})
    assert res["a"]["p_holm"] == 1.0  # capped (0.6 * 2 > 1)
    assert res["d"]["p_holm"] == 1.0  # monotone: max(0.7 * 1, 1.0)
    assert math.isnan(res["b"]["p_holm"]) and not res["b"]["reject"]
    assert res["c"]["p_holm"] == pytest.approx(0.03)  # NaN left out: m = 3


# ---------------------------------------------------------------------------------- Friedman / Nemenyi


def test_nemenyi_critical_values_demsar_2006():
    # Demšar (2006), Table 5: q_0.05 = 2.569 and q_0.10 = 2.291 for k = 4; with N = 14 data sets the
    # critical differences are CD = 1.25 (alpha 0.05) and 1.12 (alpha 0.10).
    rng = np.random.default_rng(0)
    scores = pd.DataFrame(rng.uniform(size=(14, 4)), columns=list("abcd"))
    r05 = friedman_nemenyi(scores, alpha=0.05)
    r10 = friedman_nemenyi(scores, alpha=0.10)
    assert r05.extra["q_alpha"] == pytest.approx(2.569, abs=5e-4)
    assert r10.extra["q_alpha"] == pytest.approx(2.291, abs=5e-4)
    assert r05.critical_difference == pytest.approx(1.25, abs=5e-3)
    assert r10.critical_difference == pytest.approx(1.12, abs=5e-3)
    # Demšar's Table 5a (3 decimals) for k = 3..5 at 0.05: 2.343, 2.569, 2.728
    for k, q in zip(range(3, 6), (2.343, 2.569, 2.728), strict=True):
        res = friedman_nemenyi(pd.DataFrame(rng.uniform(size=(6, k))))
        assert res.extra["q_alpha"] == pytest.approx(q, abs=1e-3)


def test_friedman_demsar_example_from_average_ranks():
    # Demšar (2006) section 3.2.2: average ranks 3.143, 2.000, 2.893, 1.964 over N = 14 give
    # chi2_F = 9.28 and the Iman-Davenport F_F = 3.69. Check the formulas those numbers come from.
    ranks, n, k = np.array([3.143, 2.000, 2.893, 1.964]), 14, 4
    chi2_f = 12 * n / (k * (k + 1)) * (np.sum(ranks**2) - k * (k + 1) ** 2 / 4)
    assert chi2_f == pytest.approx(9.28, abs=0.01)
    assert (n - 1) * chi2_f / (n * (k - 1) - chi2_f) == pytest.approx(3.69, abs=0.01)
    # Nemenyi at alpha 0.10: CD = 1.12, so C4.5+m+cf (1.964) vs C4.5 (3.143) differs by 1.179 > CD
    ranks_df = pd.DataFrame([[4, 1, 3, 2]] * 14, columns=["c45", "m", "cf", "mcf"])
    cd10 = friedman_nemenyi(ranks_df, greater_is_better=False, alpha=0.10).critical_difference
    assert 3.143 - 1.964 > cd10 > 2.893 - 2.000


def test_friedman_statistic_matches_formula_and_scipy_without_ties():
    rng = np.random.default_rng(5)
    data = rng.normal(size=(10, 5)) + np.array([0.0, 0.3, 0.6, 0.9, 1.2])
    scores = pd.DataFrame(data, columns=["m0", "m1", "m2", "m3", "m4"])
    res = friedman_nemenyi(scores)
    ranks = stats.rankdata(-data, axis=1)
    n, k = data.shape
    avg = ranks.mean(axis=0)
    chi2_f = 12 * n / (k * (k + 1)) * (np.sum(avg**2) - k * (k + 1) ** 2 / 4)
    assert res.statistic == pytest.approx(chi2_f)
    assert res.statistic == pytest.approx(stats.friedmanchisquare(*data.T).statistic)
    assert res.p_value == pytest.approx(stats.chi2.sf(chi2_f, k - 1))
    assert res.average_ranks == pytest.approx(dict(zip(scores.columns, avg, strict=True)))
    assert min(res.average_ranks, key=res.average_ranks.get) == "m4"  # highest scores -> rank 1
    # pairwise Nemenyi p < alpha exactly when the rank difference exceeds the CD
    for i in scores.columns:
        for j in scores.columns:
            if i != j:
                gap = abs(res.average_ranks[i] - res.average_ranks[j])
                assert (res.pairwise_p[i][j] < 0.05) == (gap > res.critical_difference)
                assert res.pairwise_p[i][j] == res.pairwise_p[j][i]
    assert isinstance(res, FriedmanResult)
    json.dumps(res.to_dict(), allow_nan=False)
    # lower-is-better reverses ranks
    low = friedman_nemenyi(scores, greater_is_better=False)
    assert low.average_ranks["m0"] == pytest.approx(k + 1 - res.average_ranks["m0"])


def test_friedman_detects_a_clear_winner():
    rng = np.random.default_rng(0)
    data = rng.normal(0, 0.01, size=(20, 3)) + np.array([0.9, 0.8, 0.8])
    res = friedman_nemenyi(pd.DataFrame(data, columns=["good", "bad1", "bad2"]))
    assert res.applicable and res.p_value < 0.001
    assert res.pairwise_p["good"]["bad1"] < 0.05 and res.pairwise_p["good"]["bad2"] < 0.05
    assert ["good", "bad1"] in res.extra["significant_pairs"]
    assert "good" in res.reading


def test_friedman_degraded_cases():
    two = friedman_nemenyi(pd.DataFrame({"a": [1, 2, 3], "b": [2, 3, 4]}))
    assert not two.applicable and "at least 3 models" in two.reading
    one_row = friedman_nemenyi(pd.DataFrame({"a": [1.0], "b": [2.0], "c": [3.0]}))
    assert not one_row.applicable and "at least 2" in one_row.reading
    nan_rows = friedman_nemenyi(pd.DataFrame({"a": [1, np.nan], "b": [2, 3], "c": [3, 1]}))
    assert not nan_rows.applicable and nan_rows.inputs["dropped_rows_with_nan"] == 1
    tied = friedman_nemenyi(pd.DataFrame({"a": [0.5, 0.7], "b": [0.5, 0.7], "c": [0.5, 0.7]}))
    assert not tied.applicable and "identical" in tied.reading
    json.dumps(tied.to_dict(), allow_nan=False)


# ---------------------------------------------------------------------------------------------- McNemar


def _mcnemar_data(b, c, both_right=30, both_wrong=5):
    y = np.zeros(b + c + both_right + both_wrong, int)
    pa = np.r_[np.zeros(b), np.ones(c), np.zeros(both_right), np.ones(both_wrong)].astype(int)
    pb = np.r_[np.ones(b), np.zeros(c), np.zeros(both_right), np.ones(both_wrong)].astype(int)
    return y, pa, pb


def test_mcnemar_exact_equals_direct_binomial_sum():
    b, c = 10, 1
    res = mcnemar_test(*_mcnemar_data(b, c), names=("new", "old"))
    n = b + c
    p_direct = min(1.0, 2 * sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n)
    assert "exact" in res.test
    assert res.p_value == pytest.approx(p_direct, rel=1e-12)
    assert res.inputs["b_a_right_b_wrong"] == b and res.inputs["c_a_wrong_b_right"] == c
    assert res.effect_size == pytest.approx((b - c) / (b + c + 35))
    assert "new is significantly better than old" in res.reading


def test_mcnemar_chi_square_with_continuity_correction():
    b, c = 40, 20
    res = mcnemar_test(*_mcnemar_data(b, c))
    stat = (abs(b - c) - 1) ** 2 / (b + c)
    assert "chi-square" in res.test
    assert res.statistic == pytest.approx(stat)
    assert res.p_value == pytest.approx(math.erfc(math.sqrt(stat / 2)))  # chi2 with 1 dof
    # the boundary: 24 discordant rows -> exact, 25 -> chi-square
    assert "exact" in mcnemar_test(*_mcnemar_data(14, 10)).test
    assert "chi-square" in mcnemar_test(*_mcnemar_data(15, 10)).test


def test_mcnemar_no_discordant_rows_not_applicable():
    y = np.array([0, 1, 1, 0])
    res = mcnemar_test(y, y, y)
    assert not res.applicable and res.p_value is None and "same errors" in res.reading


# -------------------------------------------------------------------------------------------- Bootstrap


def test_paired_bootstrap_detects_better_model_and_is_reproducible():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    good = np.where(rng.uniform(size=300) < 0.9, y, 1 - y)
    bad = np.where(rng.uniform(size=300) < 0.7, y, 1 - y)
    res = paired_bootstrap(y, good, bad, _accuracy, n_resamples=500, seed=1, names=("good", "bad"))
    assert res.applicable and res.p_value < 0.01
    assert res.statistic == pytest.approx(_accuracy(y, good) - _accuracy(y, bad))
    assert res.interval[0] > 0
    assert "good is significantly better than bad" in res.reading
    again = paired_bootstrap(y, good, bad, _accuracy, n_resamples=500, seed=1)
    assert again.p_value == res.p_value and again.interval == res.interval
    assert res.inputs["seed"] == 1 and res.inputs["n_resamples"] == 500
    # independent recomputation of the p-value definition with the same generator
    g = np.random.default_rng(1)
    diffs = []
    for _ in range(500):
        i = g.integers(0, 300, size=300)
        diffs.append(_accuracy(y[i], good[i]) - _accuracy(y[i], bad[i]))
    diffs = np.array(diffs)
    assert res.p_value == pytest.approx(min(1, 2 * min(np.mean(diffs <= 0), np.mean(diffs >= 0))))


def test_paired_bootstrap_lower_is_better_and_null():
    rng = np.random.default_rng(2)
    y = rng.normal(size=200)
    close = y + rng.normal(0, 0.1, 200)
    far = y + rng.normal(0, 1.0, 200)
    res = paired_bootstrap(y, close, far, _mse, greater_is_better=False, n_resamples=300)
    assert res.statistic > 0 and res.p_value < 0.01  # positive = A (close) better
    same_dist = y + rng.normal(0, 0.1, 200)
    null = paired_bootstrap(y, close, same_dist, _mse, greater_is_better=False, n_resamples=300)
    assert null.p_value > 0.05


def test_paired_bootstrap_degraded():
    y = np.array([0, 1, 0, 1])
    assert not paired_bootstrap(y, y, y, _accuracy).applicable
    assert "identical predictions" in paired_bootstrap(y, y, y, _accuracy).reading
    assert not paired_bootstrap([1], [1], [0], _accuracy).applicable


def test_bootstrap_ci_matches_scipy_bca_on_correctness():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 120)
    pred = np.where(rng.uniform(size=120) < 0.75, y, (y + 1) % 3)
    lo, hi = bootstrap_ci(y, pred, _accuracy, n_resamples=400, seed=7)
    ref = stats.bootstrap(
        ((pred == y).astype(float),),
        np.mean,
        vectorized=False,
        n_resamples=400,
        method="BCa",
        rng=np.random.default_rng(7),
    ).confidence_interval
    assert (lo, hi) == pytest.approx((ref.low, ref.high))
    assert lo < _accuracy(y, pred) < hi


def test_bootstrap_ci_two_dimensional_probabilities_and_auc_degeneracy():
    from sklearn.metrics import log_loss, roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 80)
    proba1 = np.clip(0.5 + 0.3 * (2 * y - 1) + rng.normal(0, 0.2, 80), 0.01, 0.99)
    proba = np.c_[1 - proba1, proba1]
    lo, hi = bootstrap_ci(y, proba, lambda t, p: log_loss(t, p, labels=[0, 1]), n_resamples=200)
    assert 0 < lo < log_loss(y, proba) < hi
    # one positive among 12 rows: many resamples have a single class and AUC is undefined there
    y_rare = np.r_[1, np.zeros(11, int)]
    score = np.linspace(0.9, 0.1, 12)
    lo, hi = bootstrap_ci(y_rare, score, roc_auc_score, n_resamples=200)
    assert lo == pytest.approx(1.0) and hi == pytest.approx(1.0)
    nan_lo, nan_hi = bootstrap_ci(np.zeros(10), score[:10], roc_auc_score, n_resamples=50)
    assert math.isnan(nan_lo) and math.isnan(nan_hi)
    assert all(math.isnan(v) for v in bootstrap_ci([1], [1], _accuracy))


# ------------------------------------------------------------------------------------------- Tie group


def test_tie_group_holm_and_tied_flags():
    rng = np.random.default_rng(0)
    best = 0.85 + rng.normal(0, 0.01, 10)
    fold_scores = {
        "best": best.tolist(),
        "close": (best - 0.002 + rng.normal(0, 0.01, 10)).tolist(),
        "worse": (best - 0.08 + rng.normal(0, 0.005, 10)).tolist(),
        "twin": best.tolist(),
    }
    res = tie_group(fold_scores, "best", test_fraction=1 / 9, greater_is_better=True)
    assert set(res) == {"close", "worse", "twin"}
    raw = {k: corrected_ttest(best, fold_scores[k], test_fraction=1 / 9).p_value for k in ("close", "worse")}
    adjusted = holm(raw)
    for k in ("close", "worse"):
        assert res[k].extra["p_holm"] == pytest.approx(adjusted[k]["p_holm"])
        assert res[k].p_value == pytest.approx(raw[k])
    assert res["close"].extra["tied"] is True
    assert res["worse"].extra["tied"] is False
    assert res["twin"].extra["tied"] is True and not res["twin"].applicable
    assert "worse is significantly worse than best" in res["worse"].reading
    with pytest.raises(KeyError):
        tie_group(fold_scores, "missing", test_fraction=1 / 9, greater_is_better=True)


def test_tie_group_lower_is_better_and_constant_difference():
    best = [0.10, 0.12, 0.11, 0.13]
    fold_scores = {"best": best, "worse": [v + 0.05 for v in best], "noisy": [0.11, 0.11, 0.12, 0.12]}
    res = tie_group(fold_scores, "best", test_fraction=1 / 3, greater_is_better=False)
    assert res["worse"].extra["tied"] is False and not res["worse"].applicable  # constant, best always better
    assert res["noisy"].applicable
    json.dumps({k: v.to_dict() for k, v in res.items()}, allow_nan=False)
