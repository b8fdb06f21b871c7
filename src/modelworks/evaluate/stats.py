"""Significance tests for comparing models, built on :mod:`scipy.stats`.

Models are cross-validated on the *same* folds, so their per-fold scores are paired. The folds overlap
in their training parts, which makes the per-fold differences correlated; a plain paired t-test then
underestimates the variance and rejects too often. :func:`corrected_ttest` (Nadeau & Bengio, 2003) and
:func:`bayesian_correlated_ttest` (Corani & Benavoli, 2015; Benavoli et al., 2017) correct for this.
:func:`naive_ttest` is kept for comparison only.

Every test returns a :class:`TestResult` whose ``reading`` is one plain-English sentence and whose
``inputs`` hold everything needed to recompute it. A test that cannot apply (too few folds, identical
scores, zero variance of the differences) returns ``applicable=False`` with the reason in ``reading``
instead of raising.

Differences are always oriented so that a positive value means model A is better: ``a - b`` when
greater is better, ``b - a`` when smaller is better (errors, losses).
"""

from modelworks.evaluate._holdout_tests import (
    MCNEMAR_EXACT_BELOW as MCNEMAR_EXACT_BELOW,
)
from modelworks.evaluate._holdout_tests import (
    bootstrap_ci,
    mcnemar_test,
    paired_bootstrap,
)
from modelworks.evaluate._multiple_comparisons import friedman_nemenyi, holm, tie_group
from modelworks.evaluate._paired_tests import (
    bayesian_correlated_ttest,
    corrected_ttest,
    naive_ttest,
    wilcoxon_test,
)
from modelworks.evaluate._stats_results import FriedmanResult, TestResult

__all__ = [
    "FriedmanResult",
    "TestResult",
    "bayesian_correlated_ttest",
    "bootstrap_ci",
    "corrected_ttest",
    "friedman_nemenyi",
    "holm",
    "mcnemar_test",
    "naive_ttest",
    "paired_bootstrap",
    "tie_group",
    "wilcoxon_test",
]
