"""Settings of a serving process, their transport through environment variables, and thread limits.

With several workers, uvicorn starts each one from an import string, so the settings travel to the
workers through the environment (:meth:`ServeSettings.to_env` / :meth:`ServeSettings.from_env`). The
API key and the signing secret never do: only the names of the variables that hold them.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from modelworks.errors import ConfigError

#: Environment variables that carry :class:`ServeSettings` to worker processes.
ENV_BUNDLE = "MODELWORKS_SERVE_BUNDLE"
ENV_RUNTIME = "MODELWORKS_SERVE_RUNTIME"
ENV_MAX_ROWS = "MODELWORKS_SERVE_MAX_ROWS"
ENV_MAX_BODY_BYTES = "MODELWORKS_SERVE_MAX_BODY_BYTES"
ENV_API_KEY_ENV = "MODELWORKS_SERVE_API_KEY_ENV"
ENV_VERIFY_KEY_ENV = "MODELWORKS_SERVE_VERIFY_KEY_ENV"
#: Thread-pool variables set to 1 for the service unless already set (see STACK.md, "Threads").
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class ServeSettings:
    """What a serving process needs to build its app.

    Parameters
    ----------
    bundle : Path
        The bundle directory.
    runtime : str
        ``"auto"``, ``"onnx"`` or ``"sklearn"`` (passed to :func:`modelworks.bundle.load_bundle`).
    max_rows : int
        Most rows per request.
    max_body_bytes : int
        Largest request body.
    api_key_env : str or None
        Name of the environment variable holding the API key; ``None`` for no key.
    verify_key_env : str or None
        Name of the environment variable holding the secret the bundle must be signed with
        (:func:`modelworks.bundle.verify_key_env`); ``None`` accepts an unsigned bundle.
    """

    bundle: Path
    runtime: str = "auto"
    max_rows: int = 10_000
    max_body_bytes: int = 10_000_000
    api_key_env: str | None = None
    verify_key_env: str | None = None

    def verify_key(self) -> bytes | None:
        """The signing secret from the environment, or ``None`` when no variable is named.

        Raises
        ------
        ConfigError
            When the variable is named but unset or empty.
        """
        if self.verify_key_env is None:
            return None
        from modelworks.bundle import verify_key_env

        return verify_key_env(self.verify_key_env)

    def api_key(self) -> str | None:
        """The API key from the environment, or ``None`` when no variable is named.

        Raises
        ------
        ConfigError
            When the variable is named but unset or empty.
        """
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env, "")
        if not key.strip():
            raise ConfigError(
                f"environment variable {self.api_key_env} (from --api-key-env) is unset or empty; "
                "export it with the API key, or drop --api-key-env to serve without a key"
            )
        return key

    def to_env(self) -> dict[str, str]:
        """The settings as environment variables (the key's variable name, never the key)."""
        env = {
            ENV_BUNDLE: str(self.bundle),
            ENV_RUNTIME: self.runtime,
            ENV_MAX_ROWS: str(self.max_rows),
            ENV_MAX_BODY_BYTES: str(self.max_body_bytes),
        }
        if self.api_key_env is not None:
            env[ENV_API_KEY_ENV] = self.api_key_env
        if self.verify_key_env is not None:
            env[ENV_VERIFY_KEY_ENV] = self.verify_key_env
        return env

    @classmethod
    def from_env(cls) -> ServeSettings:
        """Read the settings written by :meth:`to_env`.

        Raises
        ------
        ConfigError
            When the bundle variable is missing or a number does not parse.
        """
        bundle = os.environ.get(ENV_BUNDLE)
        if not bundle:
            raise ConfigError(f"{ENV_BUNDLE} is not set; start the server with 'modelworks serve BUNDLE'")
        try:
            max_rows = int(os.environ.get(ENV_MAX_ROWS, "10000"))
            max_body = int(os.environ.get(ENV_MAX_BODY_BYTES, "10000000"))
        except ValueError:
            raise ConfigError(
                f"{ENV_MAX_ROWS} and {ENV_MAX_BODY_BYTES} must be whole numbers; "
                "start the server with 'modelworks serve'"
            ) from None
        return cls(
            bundle=Path(bundle),
            runtime=os.environ.get(ENV_RUNTIME, "auto"),
            max_rows=max_rows,
            max_body_bytes=max_body,
            api_key_env=os.environ.get(ENV_API_KEY_ENV) or None,
            verify_key_env=os.environ.get(ENV_VERIFY_KEY_ENV) or None,
        )


def limit_threads() -> int:
    """Give the service one thread per native pool unless the environment says otherwise.

    Sets :data:`THREAD_VARIABLES` to 1 where unset (inherited by worker processes, which read them
    before their libraries start) and limits the pools already loaded in this process with
    threadpoolctl (and torch, when imported). Oversubscribed pools make tail latency much worse on
    small machines.

    Returns
    -------
    int
        The thread count applied.
    """
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    try:
        threads = max(int(os.environ["OMP_NUM_THREADS"]), 1)
    except ValueError:
        threads = 1
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    return threads
