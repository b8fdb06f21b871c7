"""Behaviour of modelworks.checks on synthetic tables: each trap is caught by its code, naming its column;
clean tables raise no error and no warning; odd tables never make a check raise."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pandas as pd
import pytest

from modelworks.checks import CODES, DROPPING, CheckInput, Finding, _run, dropped_columns, run_checks
from modelworks.checks._calibration import (
    calibration_finding,
    choose_calibration,
    expected_calibration_error,
    fit_calibrator,
    reliability_curve,
)
from modelworks.data.kinds import infer_kinds


@pytest.fixture(autouse=True)
def _checks_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing check raises here instead of being logged and skipped."""
    monkeypatch.setattr(_run, "_RAISE", True)


def check(X: pd.DataFrame, y, task: str, **options) -> list[Finding]:
    kinds = infer_kinds(X) if X.shape[1] else {}
    return run_checks(CheckInput(X, pd.Series(np.asarray(y), name="y"), task, kinds, **options))


def named(findings: list[Finding], code: str) -> list[tuple[str, ...]]:
    return [f.columns for f in findings if f.code == code]


def serious(findings: list[Finding]) -> list[str]:
    return [f.line() for f in findings if f.severity in ("error", "warning")]


def features(n: int, k: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(k)})


def noisy_binary(X: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """A binary target that the first columns predict only in part (no column determines it)."""
    return (X["x0"] + 0.7 * X["x1"] + rng.normal(size=len(X)) > 0).to_numpy().astype(int)


# --- the traps ----------------------------------------------------------------------------------------


def test_near_copy_of_a_binary_target_is_mw101() -> None:
    rng = np.random.default_rng(0)
    X = features(1000, 5, rng)
    y = noisy_binary(X, rng)
    X["outcome_code"] = np.where(rng.random(1000) < 0.03, 1 - y, y)
    found = check(X, y, "binary")
    assert named(found, "MW101") == [("outcome_code",)]
    assert not named(found, "MW103")
    mw101 = next(f for f in found if f.code == "MW101")
    assert mw101.severity == "error" and mw101.evidence >= 0.9
    assert "--keep-column outcome_code" in mw101.message


def test_near_copy_of_a_continuous_target_is_mw101() -> None:
    rng = np.random.default_rng(1)
    X = features(1000, 5, rng)
    y = 2 * X["x0"] + X["x1"] + rng.normal(size=1000)
    X["settled_amount"] = y + rng.normal(scale=0.1 * y.std(), size=1000)
    found = check(X, y, "regression")
    assert named(found, "MW101") == [("settled_amount",)]


def test_exact_copy_of_the_target_is_reported_without_failing() -> None:
    rng = np.random.default_rng(2)
    X = features(400, 4, rng)
    y = noisy_binary(X, rng)
    X["copy"] = np.where(y == 1, "yes", "no")
    assert named(check(X, y, "binary"), "MW101") == [("copy",)]


def test_date_present_only_for_the_positive_class_is_mw102() -> None:
    rng = np.random.default_rng(3)
    X = features(1000, 4, rng)
    y = noisy_binary(X, rng)
    dates = pd.Series(pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 700, 1000), unit="D"))
    X["closed_on"] = dates.dt.strftime("%Y-%m-%d").where(y == 1)
    found = check(X, y, "binary")
    assert named(found, "MW102") == [("closed_on",)]
    assert ("closed_on",) not in named(found, "MW101")


def test_record_number_of_a_file_sorted_by_the_target_is_mw103_not_mw101() -> None:
    rng = np.random.default_rng(4)
    X = features(1000, 5, rng)
    y = noisy_binary(X, rng)
    order = np.argsort(y, kind="stable")
    X, y = X.iloc[order].reset_index(drop=True), y[order]
    X.insert(0, "record", np.arange(1, 1001))
    found = check(X, y, "binary")
    assert named(found, "MW103") == [("record",)]
    assert not named(found, "MW101")


def patients(
    rng: np.random.Generator, visits: int = 4, n_patients: int = 250
) -> tuple[pd.DataFrame, np.ndarray]:
    """Several visits per patient; the patient's (hidden) condition determines the target."""
    patient = np.repeat(np.arange(n_patients), visits)
    condition = rng.integers(0, 2, n_patients)
    X = pd.DataFrame(
        {
            "patient_id": patient + 1000,
            "pressure": rng.normal(120, 15, len(patient)) + 5 * condition[patient],
            "visit": np.tile(np.arange(visits), n_patients),
        }
    )
    return X, condition[patient]


def test_repeated_patients_who_determine_the_target_are_mw201() -> None:
    X, y = patients(np.random.default_rng(5))
    found = check(X, y, "binary")
    assert named(found, "MW201") == [("patient_id",)]
    assert "--groups patient_id" in next(f for f in found if f.code == "MW201").message
    assert not named(check(X, y, "binary", split_kind="group", groups="patient_id"), "MW201")
    assert not named(check(X, y, "binary", groups="patient_id"), "MW201")


def test_a_category_with_a_partial_effect_is_not_mw201() -> None:
    rng = np.random.default_rng(6)
    store = rng.integers(0, 100, 2000)
    effect = rng.normal(size=100)
    y = (effect[store] + 1.5 * rng.normal(size=2000) > 0).astype(int)
    X = pd.DataFrame({"store": [f"s{v}" for v in store], "x0": rng.normal(size=2000)})
    assert not named(check(X, y, "binary"), "MW201")


def test_feature_rows_repeated_across_the_split_are_mw202() -> None:
    rng = np.random.default_rng(7)
    X = features(800, 4, rng)
    X.insert(0, "row_id", np.arange(800))
    y = noisy_binary(X, rng)
    test = X.sample(200, random_state=0).reset_index(drop=True)
    test["row_id"] = np.arange(800, 1000)  # the same records, numbered again
    test.loc[100:, ["x0", "x1", "x2", "x3"]] = rng.normal(size=(100, 4))
    found = check(X, y, "binary", X_test=test)
    assert len(named(found, "MW202")) == 1
    assert not named(check(X, y, "binary", X_test=test, split_kind="group"), "MW202")


def test_low_cardinality_rows_that_coincide_by_chance_are_not_mw202() -> None:
    rng = np.random.default_rng(8)
    X = pd.DataFrame({f"c{i}": rng.integers(0, 3, 1000) for i in range(4)})
    test = pd.DataFrame({f"c{i}": rng.integers(0, 3, 250) for i in range(4)})
    y = (X["c0"] + rng.normal(size=1000) > 1).astype(int)
    assert not named(check(X, y, "binary", X_test=test), "MW202")


def dated(rng: np.random.Generator, n: int = 1500) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows in date order, a positive rate rising from 20% to 60%."""
    X = pd.DataFrame({"when": pd.date_range("2019-01-01", periods=n, freq="D"), "x0": rng.normal(size=n)})
    y = (rng.random(n) < np.linspace(0.2, 0.6, n)).astype(int)
    return X, y


def test_rows_in_date_order_with_a_drifting_target_are_mw301() -> None:
    X, y = dated(np.random.default_rng(9))
    found = check(X, y, "binary")
    assert named(found, "MW301") == [("when",)]
    assert "--time-column when" in next(f for f in found if f.code == "MW301").message
    assert not named(check(X, y, "binary", time_column="when"), "MW301")
    assert not named(check(X, y, "binary", split_kind="time"), "MW301")


def test_drift_along_dates_stored_as_strings_in_shuffled_rows_is_mw301() -> None:
    X, y = dated(np.random.default_rng(10))
    shuffled = np.random.default_rng(0).permutation(len(X))
    X = X.iloc[shuffled].reset_index(drop=True)
    X["when"] = X["when"].dt.strftime("%d/%m/%Y")
    found = check(X, y[shuffled], "binary")
    assert named(found, "MW301") == [("when",)]


def test_regression_drift_is_mw301_and_undated_noise_is_not() -> None:
    rng = np.random.default_rng(11)
    n = 1000
    when = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    X = pd.DataFrame({"when": when, "x0": rng.normal(size=n)})
    days = (X["when"] - X["when"].min()).dt.days.to_numpy()
    assert named(check(X, days / 300 + rng.normal(size=n), "regression"), "MW301") == [("when",)]
    assert not named(check(X, rng.normal(size=n), "regression"), "MW301")


def shifted(rng: np.random.Generator, shift: float) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    X = pd.DataFrame(
        {"age": rng.normal(40, 10, 2000), "x1": rng.normal(size=2000), "plan": rng.choice(["a", "b"], 2000)}
    )
    y = (X["x1"] + rng.normal(size=2000) > 0).astype(int)
    test = pd.DataFrame(
        {
            "age": rng.normal(40 + shift, 10, 500),
            "x1": rng.normal(size=500),
            "plan": rng.choice(["a", "b"], 500),
        }
    )
    return X, y, test


def test_a_shifted_test_set_is_mw401_warning_or_info_under_a_time_split() -> None:
    X, y, test = shifted(np.random.default_rng(12), shift=10.0)
    # a random split draws both parts from the same rows: no shift can be real there, nothing is run
    assert not named(check(X, y, "binary", X_test=test), "MW401")
    found = [f for f in check(X, y, "binary", X_test=test, split_kind="group") if f.code == "MW401"]
    assert len(found) == 1 and found[0].severity == "warning" and found[0].columns[0] == "age"
    assert found[0].evidence >= 0.6
    timed = [f for f in check(X, y, "binary", X_test=test, split_kind="time") if f.code == "MW401"]
    assert len(timed) == 1 and timed[0].severity == "info"


def test_a_test_set_from_the_same_population_is_not_mw401() -> None:
    X, y, test = shifted(np.random.default_rng(13), shift=0.0)
    assert not named(check(X, y, "binary", X_test=test, split_kind="group"), "MW401")


def test_imbalance_of_one_to_fifty_is_mw402_info_and_one_to_two_hundred_a_warning() -> None:
    rng = np.random.default_rng(14)
    X = features(1020, 3, rng)
    found = [f for f in check(X, np.r_[np.zeros(1000, int), np.ones(20, int)], "binary") if f.code == "MW402"]
    assert len(found) == 1 and found[0].severity == "info" and "1:50" in found[0].message
    X = features(1005, 3, rng)
    found = [f for f in check(X, np.r_[np.zeros(1000, int), np.ones(5, int)], "binary") if f.code == "MW402"]
    assert len(found) == 1 and found[0].severity == "warning"


def test_a_class_smaller_than_the_folds_is_mw403() -> None:
    rng = np.random.default_rng(15)
    X = features(402, 3, rng)
    y = np.r_[np.full(200, "low"), np.full(200, "high"), np.full(2, "rare")]
    found = [f for f in check(X, y, "multiclass", cv=5) if f.code == "MW403"]
    assert len(found) == 1 and "'rare'" in found[0].message and "--cv 2" in found[0].message
    assert not named(check(X, y, "multiclass", cv=2), "MW403")


def test_a_near_constant_column_is_mw501_and_a_constant_one_is_not() -> None:
    rng = np.random.default_rng(16)
    X = features(1000, 3, rng)
    X["flag"] = np.where(np.arange(1000) < 4, 1, 0)
    X["always"] = 7
    found = check(X, noisy_binary(X, rng), "binary")
    assert named(found, "MW501") == [("flag",)]


def test_high_cardinality_short_strings_are_mw502() -> None:
    rng = np.random.default_rng(17)
    X = features(1000, 3, rng)
    X["voucher"] = [f"V{v:04d}" for v in rng.integers(0, 800, 1000)]
    assert infer_kinds(X)["voucher"].kind == "categorical"
    assert named(check(X, noisy_binary(X, rng), "binary"), "MW502") == [("voucher",)]


# --- clean tables -------------------------------------------------------------------------------------


def test_breast_cancer_and_diabetes_raise_no_error_or_warning() -> None:
    from sklearn.datasets import load_breast_cancer, load_diabetes

    cancer = load_breast_cancer(as_frame=True)
    assert serious(check(cancer.data, cancer.target, "binary")) == []
    diabetes = load_diabetes(as_frame=True)
    assert serious(check(diabetes.data, diabetes.target, "regression")) == []


def test_make_classification_with_a_random_test_set_raises_no_error_or_warning() -> None:
    from sklearn.datasets import make_classification

    X, y = make_classification(3000, 20, n_informative=8, n_classes=3, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(20)])
    found = check(frame.iloc[:2400], y[:2400], "multiclass", X_test=frame.iloc[2400:], split_kind="group")
    assert serious(found) == []


def test_one_legitimately_strong_feature_among_several_is_not_leakage() -> None:
    rng = np.random.default_rng(18)
    X = features(2000, 6, rng)
    y = (2.5 * X["x0"] + X["x1"] + X["x2"] + rng.normal(size=2000) > 0).astype(int)
    assert serious(check(X, y, "binary")) == []
    z = 3 * X["x0"] + X["x1"] + rng.normal(size=2000)
    assert serious(check(X, z, "regression")) == []


def test_several_strong_features_are_not_leakage() -> None:
    rng = np.random.default_rng(19)
    latent = rng.normal(size=1500)
    X = pd.DataFrame({f"m{i}": latent + rng.normal(scale=0.1, size=1500) for i in range(3)})
    X["x"] = rng.normal(size=1500)
    y = (latent + rng.normal(scale=0.05, size=1500) > 0).astype(int)
    assert not [f for f in check(X, y, "binary") if f.severity == "error"]


# --- the list of columns left out ---------------------------------------------------------------------


def test_keep_column_leaves_the_column_in_but_the_finding_reported() -> None:
    rng = np.random.default_rng(20)
    X = features(800, 4, rng)
    y = noisy_binary(X, rng)
    X["x"] = np.where(rng.random(800) < 0.02, 1 - y, y)
    found = check(X, y, "binary", keep=("x",))
    assert named(found, "MW101") == [("x",)]
    assert "kept" in next(f for f in found if f.code == "MW101").message
    assert dropped_columns(found, keep=("x",)) == []
    assert dropped_columns(found) == [
        {"name": "x", "reason": dropped_columns(found)[0]["reason"], "code": "MW101"}
    ]
    assert dropped_columns(found)[0]["reason"].startswith("MW101: ")


def test_dropped_columns_one_entry_per_column_first_finding_wins_only_dropping_codes() -> None:
    findings = [
        Finding("MW102", "error", ("a",), "m", 1.0),
        Finding("MW101", "error", ("a",), "m", 1.0),
        Finding("MW103", "error", ("b",), "m", 1.0),
        Finding("MW201", "warning", ("c",), "m", 1.0),
        Finding("MW501", "info", ("d",), "m", 1.0),
    ]
    out = dropped_columns(findings, keep=("b",))
    assert [(d["name"], d["code"]) for d in out] == [("a", "MW102")]
    assert set(out[0]) == {"name", "reason", "code"}
    assert {"MW101", "MW102", "MW103"} == DROPPING


def test_findings_are_sorted_deterministic_and_one_sentence() -> None:
    rng = np.random.default_rng(21)
    X, y = patients(rng)
    X["leak"] = np.where(rng.random(len(X)) < 0.02, 1 - y, y)
    X["flag"] = np.where(np.arange(len(X)) < 3, 1, 0)
    first = check(X, y, "binary", seed=3)
    assert first == check(X, y, "binary", seed=3)
    order = {"error": 0, "warning": 1, "info": 2}
    keys = [(order[f.severity], f.code, f.columns) for f in first]
    assert keys == sorted(keys) and len({f.severity for f in first}) == 3
    for f in first:
        assert "\n" not in f.message and ". " not in f.message and f.code in CODES


# --- odd tables ---------------------------------------------------------------------------------------


def odd_table(n: int, rng: np.random.Generator) -> pd.DataFrame:
    X = pd.DataFrame(
        {
            "empty": [np.nan] * n,
            "words": [f"a few words number {i}" for i in range(n)],
            "stamp": pd.date_range("2020-01-01", periods=n, freq="h"),
            "day": pd.Series(pd.date_range("2020-01-01", periods=n)).dt.strftime("%Y-%m-%d"),
            "flag": rng.random(n) < 0.5,
            "maybe": pd.array(rng.random(n) < 0.5, dtype="boolean"),
            "count": pd.array(rng.integers(0, 5, n), dtype="Int64"),
            "level": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "text_or_none": rng.choice(["x", "y", None], n),
            0: rng.normal(size=n),
        }
    )
    X.loc[0, "count"] = pd.NA
    return X


@pytest.mark.parametrize(
    "task, target",
    [
        ("binary", lambda n, rng: rng.integers(0, 2, n)),
        ("binary", lambda n, rng: np.zeros(n, dtype=int)),
        ("multiclass", lambda n, rng: rng.choice(["a", "b", "c"], n)),
        ("multiclass", lambda n, rng: pd.Series(rng.choice(["a", "b", None], n))),
        ("regression", lambda n, rng: rng.normal(size=n)),
        ("regression", lambda n, rng: np.ones(n)),
    ],
)
@pytest.mark.parametrize("n", [8, 25, 200])
def test_odd_tables_never_make_a_check_raise(task, target, n: int) -> None:
    rng = np.random.default_rng(22)
    X = odd_table(n, rng)
    for options in ({}, {"X_test": X.iloc[: max(n // 4, 1)]}, {"X_test": X.drop(columns=["day"])}):
        found = check(X, target(n, rng), task, **options)
        assert all(isinstance(f, Finding) for f in found)


def test_wide_and_empty_tables_never_make_a_check_raise() -> None:
    rng = np.random.default_rng(23)
    wide = pd.DataFrame(rng.normal(size=(120, 2000)), columns=[f"w{i}" for i in range(2000)])
    test = pd.DataFrame(rng.normal(size=(40, 2000)), columns=wide.columns)
    assert serious(check(wide, rng.integers(0, 2, 120), "binary", X_test=test)) == []
    assert check(pd.DataFrame(index=range(50)), rng.integers(0, 2, 50), "binary") == []
    assert check(wide.iloc[:0], np.zeros(0, dtype=int), "binary") == []


def test_a_large_table_completes_quickly() -> None:
    rng = np.random.default_rng(24)
    n = 100_000
    X = features(n, 24, rng)
    for i in range(4):
        X[f"k{i}"] = rng.choice([f"level{j}" for j in range(30)], n)
    X["day"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D")
    X["gap"] = np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n))
    y = noisy_binary(X, rng)
    kinds = infer_kinds(X)
    start = time.perf_counter()
    found = run_checks(CheckInput(X, pd.Series(y), "binary", kinds))
    elapsed = time.perf_counter() - start
    print(f"run_checks on {n:,} x {X.shape[1]}: {elapsed:.2f} s")
    assert serious(found) == []
    assert elapsed < 60  # a guard against a pathological slowdown, not the goal (about a second)


# --- calibration --------------------------------------------------------------------------------------


def calibrated(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-odds, their true probabilities and outcomes drawn from them."""
    z = 1.5 * rng.normal(size=n)
    p = 1 / (1 + np.exp(-z))
    return z, p, (rng.random(n) < p).astype(int)


def test_an_over_confident_classifier_is_calibrated_and_its_log_loss_lowered() -> None:
    rng = np.random.default_rng(25)
    z, _, y = calibrated(3000, rng)
    over = 1 / (1 + np.exp(-3 * z))  # pushed toward 0 and 1
    folds = np.arange(3000) % 5
    chosen = choose_calibration(y, np.column_stack([1 - over, over]), folds, [0, 1])
    assert chosen["method"] in ("sigmoid", "isotonic")
    assert chosen["log_loss"][chosen["method"]] < 0.99 * chosen["log_loss"]["none"]
    assert chosen["ece_after"] < chosen["ece_before"]
    finding = calibration_finding(y, over, [0, 1], chosen)
    assert finding.code == "MW601" and finding.severity == "info" and chosen["method"] in finding.message


def test_well_calibrated_probabilities_are_left_alone() -> None:
    rng = np.random.default_rng(26)
    _, p, y = calibrated(3000, rng)
    labels = np.where(y == 1, "yes", "no")
    folds = [np.flatnonzero(np.arange(3000) % 5 == f) for f in range(5)]
    chosen = choose_calibration(labels, np.column_stack([1 - p, p]), folds, ["no", "yes"])
    assert chosen["method"] == "none"
    assert expected_calibration_error(y, p) < 0.03
    assert calibration_finding(labels, p, ["no", "yes"], chosen).severity == "info"


def test_unhelped_miscalibration_is_a_warning() -> None:
    chosen = {"method": "none", "log_loss": {"none": 0.6}, "ece_before": 0.12, "ece_after": 0.12}
    finding = calibration_finding(np.array([0, 1]), np.array([0.4, 0.6]), [0, 1], chosen)
    assert finding.severity == "warning" and finding.evidence == pytest.approx(0.12)


def test_multiclass_calibrator_renormalises_and_pickles() -> None:
    rng = np.random.default_rng(27)
    logits = 2 * rng.normal(size=(2000, 3))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = (rng.random(2000)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    over = np.exp(2.5 * logits) / np.exp(2.5 * logits).sum(axis=1, keepdims=True)
    assert choose_calibration(y, over, np.arange(2000) % 4, ["a", "b", "c"])["method"] != "none"
    for method in ("sigmoid", "isotonic"):
        fitted = pickle.loads(pickle.dumps(fit_calibrator(method, y, over, ["a", "b", "c"])))
        out = fitted.transform(over)
        assert out.shape == over.shape and np.allclose(out.sum(axis=1), 1.0)


def test_reliability_curve_has_equal_width_bins() -> None:
    rng = np.random.default_rng(28)
    _, p, y = calibrated(5000, rng)
    curve = reliability_curve(y, p, n_bins=10)
    assert list(curve.columns) == ["bin", "mean_predicted", "observed", "count"]
    assert len(curve) == 10 and curve["count"].sum() == 5000
    used = curve[curve["count"] > 100]
    assert ((used["mean_predicted"] - used["observed"]).abs() < 0.06).all()


# --- the finding itself -------------------------------------------------------------------------------


def test_finding_to_dict_keys_and_unknown_code_refused() -> None:
    finding = Finding("MW501", "info", ("a",), "column 'a' is nearly constant; drop it", 0.995)
    assert set(finding.to_dict()) == {"code", "severity", "columns", "message", "evidence"}
    assert finding.to_dict()["columns"] == ["a"]
    with pytest.raises(ValueError, match="unknown check code"):
        Finding("MW999", "info", (), "m", 0.0)
