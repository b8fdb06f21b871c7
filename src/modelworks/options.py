"""One check per kind of option value, with one wording, for every command and the Python API.

Each check raises :class:`~modelworks.errors.ConfigError` with one sentence naming the option, the value
given and what to give instead. Commands call them before any data is read (a mistake costs a second,
not the budget); the estimators (:class:`~modelworks.settings.RunSettings`,
:class:`~modelworks.cluster.Clustering`, :class:`~modelworks.cluster.Anomalies`, the image experiment)
call the same ones, so that Python users get the same refusal. Nothing heavy is imported here.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable

from modelworks.errors import ConfigError

#: Seeds are given to NumPy and scikit-learn, which take 32-bit unsigned integers.
MAX_SEED = 2**32 - 1
#: The spellings ``--cluster`` accepts.
SPELLING = (
    "local:N (N worker processes here), or tcp://HOST:PORT or tls://HOST:PORT (a running dask scheduler)"
)
#: Choices of ``--prefer`` (among models tied with the best) and ``--unseen-categories`` (server policy).
PREFER_CHOICES = ("best", "simple", "fast")
UNSEEN_CHOICES = ("reject", "allow")
#: How ``predict`` and ``serve`` run a bundle: ONNX Runtime when it has ``model.onnx`` (auto), or not.
RUNTIMES = ("auto", "onnx", "sklearn")


def _number(option: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{option} must be a number (got {value!r})")
    return float(value)


def check_budget(value: float | None, option: str = "--time-budget") -> float | None:
    """A time budget: ``None`` (no limit) or a positive, finite number of seconds.

    Raises
    ------
    ConfigError
        For zero, a negative number, NaN or infinity.
    """
    if value is None:
        return None
    seconds = _number(option, value)
    if not (math.isfinite(seconds) and seconds > 0):
        raise ConfigError(f"{option} must be a positive number of seconds (got {value}); for example 60")
    return value


def check_seed(value: int, option: str = "--seed") -> int:
    """A seed NumPy and scikit-learn accept: a whole number from 0 to :data:`MAX_SEED`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value <= MAX_SEED:
        raise ConfigError(f"{option} must be between 0 and {MAX_SEED} (got {value})")
    return value


def check_at_least(value: int, minimum: int, option: str, example: int | None = None) -> int:
    """A whole number of at least ``minimum`` (folds, epochs, clusters, workers, rows …)."""
    hint = f"; for example {example}" if example is not None else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{option} must be a whole number (got {value!r}){hint}")
    if value < minimum:
        raise ConfigError(f"{option} must be at least {minimum} (got {value}){hint}")
    return value


def check_share(
    value: float,
    option: str,
    *,
    low: float = 0.0,
    high: float = 1.0,
    high_included: bool = False,
    example: float | None = None,
) -> float:
    """A share strictly above ``low`` and below ``high`` (or at most ``high`` when ``high_included``)."""
    share = _number(option, value)
    inside = math.isfinite(share) and low < share and (share <= high if high_included else share < high)
    if not inside:
        upper = f"at most {high:g}" if high_included else f"below {high:g}"
        hint = f"; for example {example:g}" if example is not None else ""
        raise ConfigError(f"{option} must be above {low:g} and {upper} (got {value}){hint}")
    return value


def check_positive(value: float, option: str, example: float | None = None) -> float:
    """A positive, finite number (a size in MB, a cost …)."""
    number = _number(option, value)
    if not (math.isfinite(number) and number > 0):
        hint = f"; for example {example:g}" if example is not None else ""
        raise ConfigError(f"{option} must be a positive number (got {value}){hint}")
    return value


def check_choice(value: str, choices: Iterable[str], option: str) -> str:
    """One of ``choices``, spelled exactly."""
    allowed = tuple(choices)
    if value not in allowed:
        raise ConfigError(f"{option} must be one of {', '.join(allowed)} (got {value!r})")
    return value


def check_port(value: int, option: str = "--port") -> int:
    """A TCP port to listen on: 1 to 65535."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= 65535:
        raise ConfigError(f"{option} must be between 1 and 65535 (got {value}); for example 8000")
    return value


LOCAL_SPEC = re.compile(r"^local(?::(\d+))?$")
_ADDRESS = re.compile(r"^(tcp|tls|ws|wss|inproc|ucx)://[^\s/]+(:\d+)?/?$")
_BARE = re.compile(r"^(?:[^\s:/\[\]]+|\[[0-9A-Fa-f:.%\w]+\]):\d+$")


def check_cluster(spec: str) -> str:
    """The normalised spelling of ``spec``.

    Parameters
    ----------
    spec : str
        ``local``, ``local:N``, ``HOST:PORT`` (read as ``tcp://HOST:PORT``) or a scheduler address
        such as ``tcp://HOST:PORT`` or ``tls://HOST:PORT`` (IPv6 hosts in brackets: ``[::1]``).

    Returns
    -------
    str
        ``spec`` without surrounding blanks, with ``tcp://`` before a bare ``HOST:PORT``.

    Raises
    ------
    ConfigError
        If ``spec`` is neither ``local:N`` (N ≥ 1) nor a scheduler address.
    """
    text = spec.strip()
    local = LOCAL_SPEC.match(text)
    if local:
        if local.group(1) is not None and int(local.group(1)) < 1:
            raise ConfigError(
                f"--cluster local:N needs at least one worker (got {spec!r}); for example local:2"
            )
        return text
    if "://" not in text and _BARE.match(text):
        text = f"tcp://{text}"
    if _ADDRESS.match(text):
        host = cluster_host(text)
        if ":" in host and not text.split("://", 1)[1].startswith("["):
            raise ConfigError(f"--cluster {spec!r}: an IPv6 address needs brackets, as in tcp://[::1]:8786")
        return text
    raise ConfigError(f"--cluster {spec!r} is not understood; use {SPELLING}")


def cluster_host(spec: str) -> str:
    """The host of a scheduler address (IPv6 without its brackets)."""
    rest = spec.split("://", 1)[-1].rstrip("/")
    if rest.startswith("["):
        return rest[1:].partition("]")[0]
    host, sep, port = rest.rpartition(":")
    return host if sep and port.isdigit() else rest


__all__ = [
    "MAX_SEED",
    "PREFER_CHOICES",
    "SPELLING",
    "UNSEEN_CHOICES",
    "RUNTIMES",
    "check_at_least",
    "check_budget",
    "check_choice",
    "check_cluster",
    "cluster_host",
    "check_port",
    "check_positive",
    "check_seed",
    "check_share",
]
