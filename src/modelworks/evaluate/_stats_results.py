"""The results of the significance tests and the sentences they read out.

:class:`TestResult` is what every two-model test of :mod:`modelworks.evaluate.stats` returns,
:class:`FriedmanResult` what :func:`~modelworks.evaluate.stats.friedman_nemenyi` returns; both serialise
to JSON-safe dictionaries. The helpers below write the one-sentence ``reading`` the tests share.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from modelworks.data.schema import json_safe


@dataclass
class TestResult:
    """The outcome of one significance test between two models.

    Attributes
    ----------
    test : str
        Name of the test, e.g. ``"corrected resampled t-test"``.
    statistic : float or None
        The test statistic (t, W, chi-square, ...), ``None`` when not applicable.
    p_value : float or None
        Two-sided p-value (for the Bayesian test, ``None``: see ``extra``).
    effect_size : float or None
        Standardized or raw effect; each test documents which.
    interval : tuple of float or None
        Interval of the difference A - B, oriented so that positive means A is better.
    reading : str
        One plain-English sentence; when ``applicable`` is False it says why.
    inputs : dict
        Everything needed to recompute the result (scores, fractions, alpha, seed, ...).
    applicable : bool
        False when the test cannot apply to these inputs.
    extra : dict
        Test-specific additions, e.g. Bayesian posterior probabilities.
    """

    __test__ = False  # not a pytest test class despite the name

    test: str
    statistic: float | None
    p_value: float | None
    effect_size: float | None
    interval: tuple[float, float] | None
    reading: str
    inputs: dict
    applicable: bool = True
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Return a JSON-safe dictionary (numpy -> Python, NaN/inf -> ``None``).

        Returns
        -------
        dict
            The fields of the result, ready for :func:`json.dumps`.
        """
        return json_safe(asdict(self))


@dataclass
class FriedmanResult:
    """The outcome of a Friedman test with Nemenyi post-hoc comparisons.

    Attributes
    ----------
    statistic : float or None
        Friedman chi-square statistic (scipy's, corrected for ties).
    p_value : float or None
        p-value of the Friedman chi-square test.
    average_ranks : dict of str to float
        Average rank of every model over the rows; rank 1 is best.
    critical_difference : float or None
        Nemenyi critical difference: two models whose average ranks differ by more are
        significantly different at ``alpha``.
    pairwise_p : dict of str to dict of str to float
        Nemenyi p-value for every pair of models (symmetric, 1.0 on the diagonal).
    reading : str
        One plain-English sentence; when ``applicable`` is False it says why.
    inputs : dict
        The scores (by model), ``greater_is_better`` and ``alpha``.
    applicable : bool
        False when the test cannot apply (fewer than 3 models or 2 rows, all tied).
    n_rows : int
        Number of complete rows (datasets or runs) used.
    n_models : int
        Number of models compared.
    alpha : float
        Significance level.
    extra : dict
        Iman-Davenport F statistic and p-value (``iman_davenport_f``, ``iman_davenport_p``), the
        Nemenyi ``q_alpha`` and the significantly different pairs.
    test : str
        ``"Friedman + Nemenyi"``.
    """

    __test__ = False

    statistic: float | None
    p_value: float | None
    average_ranks: dict[str, float]
    critical_difference: float | None
    pairwise_p: dict[str, dict[str, float]]
    reading: str
    inputs: dict
    applicable: bool = True
    n_rows: int = 0
    n_models: int = 0
    alpha: float = 0.05
    extra: dict = field(default_factory=dict)
    test: str = "Friedman + Nemenyi"

    def to_dict(self) -> dict:
        """Return a JSON-safe dictionary (numpy -> Python, NaN/inf -> ``None``).

        Returns
        -------
        dict
            The fields of the result, ready for :func:`json.dumps`.
        """
        return json_safe(asdict(self))


def fmt_p(p: float) -> str:
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def not_applicable(test: str, why: str, names, inputs: dict, **extra) -> TestResult:
    return TestResult(
        test=test,
        statistic=None,
        p_value=None,
        effect_size=None,
        interval=None,
        reading=f"{test} not applicable to {names[0]} vs {names[1]}: {why}.",
        inputs=inputs,
        applicable=False,
        extra=dict(extra),
    )


def significance_reading(names, p: float, diff: float, alpha: float) -> str:
    a, b = names
    if p < alpha:
        better, worse = (a, b) if diff > 0 else (b, a)
        return f"{better} is significantly better than {worse} ({fmt_p(p)})"
    return f"{a} is not significantly different from {b} ({fmt_p(p)})"
