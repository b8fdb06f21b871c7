"""Tests of modelworks.evaluate.threshold against brute-force searches with scikit-learn."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score

from modelworks.errors import ConfigError, DataError
from modelworks.evaluate.threshold import ThresholdChoice, choose_threshold, parse_costs


def imbalanced(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """About 8% positives with overlapping, under-confident scores: the best cut is well below 0.5."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.08).astype(int)
    logit = -2.5 + 1.5 * y + rng.normal(0, 0.8, n)
    return y, 1 / (1 + np.exp(-logit))


def brute_grid(p: np.ndarray) -> np.ndarray:
    """Every score (each gives a distinct "score >= t" split), one above all, and a regular grid."""
    return np.unique(np.concatenate([np.linspace(0, 1, 51), p, [1.01]]))


def brute_f1(y, p, pos_label=1) -> float:
    truth = np.asarray(y) == pos_label
    return max(f1_score(truth, p >= t, zero_division=0.0) for t in brute_grid(p))


def avg_cost(y, pred, c_fp, c_fn) -> float:
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[False, True]).ravel()
    return (fp * c_fp + fn * c_fn) / len(y)


def brute_cost(y, p, c_fp, c_fn) -> float:
    truth = np.asarray(y, dtype=bool)
    return min(
        (np.sum((p >= t) & ~truth) * c_fp + np.sum((p < t) & truth) * c_fn) / len(y) for t in brute_grid(p)
    )


def test_f1_matches_brute_force_and_is_not_half():
    y, p = imbalanced(1000)
    choice = choose_threshold(y, p, 1)
    assert isinstance(choice, ThresholdChoice)
    assert choice.objective == "f1" and choice.costs is None
    best = brute_f1(y, p)
    assert choice.value == pytest.approx(best, abs=1e-12)
    assert choice.value == pytest.approx(f1_score(y, p >= choice.threshold), abs=1e-12)
    assert choice.default_value == pytest.approx(f1_score(y, p >= 0.5, zero_division=0.0), abs=1e-12)
    assert choice.threshold < 0.35  # clearly not the default
    assert choice.value > choice.default_value + 0.05
    assert "maximises F1" in choice.reading and f"{choice.threshold:.3g}" in choice.reading


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_f1_on_discrete_scores_matches_exhaustive(seed):
    """Few distinct scores (like a tree's): every cut point is a candidate, so the search is exact."""
    rng = np.random.default_rng(seed)
    n = 300
    y = rng.integers(0, 2, n)
    p = np.round(np.clip(0.3 * y + rng.uniform(0, 0.7, n), 0, 1), 1)
    choice = choose_threshold(y, p, 1)
    best = brute_f1(y, p)
    assert choice.value == pytest.approx(best, abs=1e-12)
    assert f1_score(y, p >= choice.threshold) == pytest.approx(choice.value, abs=1e-12)


@pytest.mark.parametrize("costs", [(1.0, 10.0), (10.0, 1.0), (1.0, 1.0), (2.0, 3.0)])
def test_cost_matches_brute_force(costs):
    y, p = imbalanced(1500, seed=4)
    choice = choose_threshold(y, p, 1, costs=costs)
    assert choice.objective == "cost" and choice.costs == costs
    brute = brute_cost(y == 1, p, *costs)
    assert choice.value == pytest.approx(brute, abs=1e-12)
    assert choice.value == pytest.approx(avg_cost(y == 1, p >= choice.threshold, *costs), abs=1e-12)
    assert choice.default_value == pytest.approx(avg_cost(y == 1, p >= 0.5, *costs), abs=1e-12)
    assert choice.value <= choice.default_value
    assert "cost" in choice.reading


def test_costs_move_threshold_in_expected_direction():
    rng = np.random.default_rng(5)
    n = 2000
    y = rng.integers(0, 2, n)
    p = 1 / (1 + np.exp(-(2.0 * (y - 0.5) + rng.normal(0, 1, n))))  # balanced, centred on 0.5
    fn_costly = choose_threshold(y, p, 1, costs=(1, 10))
    fp_costly = choose_threshold(y, p, 1, costs=(10, 1))
    assert fn_costly.threshold < 0.4 < 0.6 < fp_costly.threshold
    # equal costs: 0.5 stays near optimal on a symmetric problem
    assert abs(choose_threshold(y, p, 1, costs=(1, 1)).threshold - 0.5) < 0.15


def test_string_labels():
    y, p = imbalanced(400, seed=6)
    labels = np.where(y == 1, "yes", "no").astype(object)
    choice = choose_threshold(labels, p, "yes")
    reference = choose_threshold(y, p, 1)
    assert choice.threshold == reference.threshold and choice.value == reference.value
    assert f1_score(labels, np.where(p >= choice.threshold, "yes", "no"), pos_label="yes") == pytest.approx(
        choice.value
    )
    # the other class as positive, with its own probability
    flipped = choose_threshold(labels, 1 - p, "no")
    assert flipped.value == pytest.approx(brute_f1(labels, 1 - p, "no"), abs=1e-12)


def test_tie_break_prefers_half_and_perfect_separation():
    # perfectly separated: every threshold in (0.4, 0.6] is perfect; 0.5 is kept
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.4, 0.6, 0.8, 0.9])
    choice = choose_threshold(y, p, 1)
    assert choice.threshold == 0.5 and choice.value == 1.0 == choice.default_value
    assert "default threshold 0.5" in choice.reading
    # separated above 0.5: the perfect cut closest to 0.5 is the midpoint 0.65
    p2 = np.array([0.55, 0.6, 0.62, 0.68, 0.8, 0.9])
    choice2 = choose_threshold(y, p2, 1)
    assert choice2.value == 1.0 and choice2.threshold == pytest.approx(0.65)


def test_extreme_cuts_all_positive_or_none():
    y = np.array([1, 1, 1, 0])
    p = np.array([0.6, 0.7, 0.8, 0.9])
    # false negatives are costly: predict everything positive
    all_pos = choose_threshold(y, p, 1, costs=(1, 100))
    assert np.all(p >= all_pos.threshold) and all_pos.value == pytest.approx(0.25)
    # false positives are costly: predict nothing positive
    none = choose_threshold(y, p, 1, costs=(100, 1))
    assert not np.any(p >= none.threshold) and none.value == pytest.approx(0.75)


def test_fast_on_100k_rows():
    rng = np.random.default_rng(7)
    n = 100_000
    y = rng.integers(0, 2, n)
    p = rng.random(n)
    start = time.perf_counter()
    choose_threshold(y, p, 1)
    choose_threshold(y, p, 1, costs=(1, 5))
    assert time.perf_counter() - start < 1.0


def test_to_dict():
    y, p = imbalanced(500, seed=8)
    d = choose_threshold(y, p, 1, costs=(1, 5)).to_dict()
    assert set(d) == {"threshold", "objective", "value", "default_value", "costs", "reading"}
    assert d["costs"] == [1.0, 5.0] and d["objective"] == "cost"
    assert choose_threshold(y, p, 1).to_dict()["costs"] is None


def test_parse_costs():
    assert parse_costs("1,5") == (1.0, 5.0)
    assert parse_costs(" 0.5 , 2 ") == (0.5, 2.0)
    assert parse_costs("0,3") == (0.0, 3.0)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("1", "2 values"),
        ("1,2,3", "2 values"),
        ("a,b", "not numbers"),
        ("1,", "not numbers"),
        ("-1,5", "negative"),
        ("0,0", "both zero"),
        ("inf,1", "finite"),
    ],
)
def test_parse_costs_errors(text, match):
    with pytest.raises(ConfigError, match=match) as info:
        parse_costs(text)
    message = str(info.value)
    assert "\n" not in message and '"FP,FN"' in message


def test_bad_inputs():
    with pytest.raises(DataError, match="rows"):
        choose_threshold([0, 1], [0.5], 1)
    with pytest.raises(DataError, match="never occurs"):
        choose_threshold(["a", "b"], [0.1, 0.9], "yes")
    with pytest.raises(DataError, match="finite"):
        choose_threshold([0, 1], [0.1, np.nan], 1)
    with pytest.raises(ConfigError, match="negative"):
        choose_threshold([0, 1], [0.1, 0.9], 1, costs=(-1, 1))
