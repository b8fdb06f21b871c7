"""Checks of the run's numeric options, shared by the command line and the Python API.

Each check raises :class:`~modelworks.errors.ConfigError` with one sentence naming the option, the
value and what to use instead, before any data is read.
"""

from __future__ import annotations

import math

from modelworks.errors import ConfigError

#: Seeds are given to NumPy and scikit-learn, which take 32-bit unsigned integers.
MAX_SEED = 2**32 - 1


def check_options(
    *,
    time_budget: float | None = None,
    seed: int = 0,
    cv: int = 5,
    cv_repeats: int = 1,
    test_size: float = 0.2,
) -> None:
    """Refuse option values no run could honour.

    Raises
    ------
    ConfigError
        If the budget is not a positive finite number of seconds, the seed is outside
        ``0..MAX_SEED``, ``cv < 2``, ``cv_repeats < 1`` or ``test_size`` is not strictly between 0 and 1.
    """
    if time_budget is not None and not (math.isfinite(time_budget) and time_budget > 0):
        raise ConfigError(
            f"--time-budget must be a positive number of seconds (got {time_budget}); for example 60"
        )
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"--seed must be between 0 and {MAX_SEED} (got {seed})")
    if cv < 2:
        raise ConfigError(f"--cv must be at least 2 (got {cv})")
    if cv_repeats < 1:
        raise ConfigError(f"--cv-repeats must be at least 1 (got {cv_repeats})")
    if not (math.isfinite(test_size) and 0 < test_size < 1):
        raise ConfigError(f"--test-size must be between 0 and 1, for example 0.2 (got {test_size})")


def check_folds(cv: int, n_train: int, largest_class: int | None) -> None:
    """Refuse more folds than the training rows (or, for classification, the largest class) allow."""
    limit = n_train if largest_class is None else min(n_train, largest_class)
    if cv > limit:
        what = f"{n_train} training rows" if largest_class is None else f"largest class's {limit} rows"
        raise ConfigError(f"--cv {cv} is more than the {what} allow; use --cv {max(2, min(limit, 5))}")
