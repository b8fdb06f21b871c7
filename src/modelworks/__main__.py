"""Entry point of the ``modelworks`` command (also ``python -m modelworks``).

Termination (SIGTERM) is handled like Ctrl-C, so a stopped run cleans its temporary files on the way
out, and an interrupt while the command line is still being imported ends with one line, not a
traceback.
"""

from __future__ import annotations

import signal
import sys


def _terminate(signum, frame):  # noqa: ARG001 (signal handler signature)
    raise KeyboardInterrupt


def main() -> None:
    """Run the command line."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        from modelworks.cli import app
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    app(prog_name="modelworks")


if __name__ == "__main__":
    main()
