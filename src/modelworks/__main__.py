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
        from modelworks import cli
    except KeyboardInterrupt:
        _interrupted()
    try:
        cli.app(prog_name="modelworks")
    except KeyboardInterrupt:  # while Typer builds the command, before any of ours runs
        _interrupted()
    except SystemExit as exc:
        # Typer turns an interrupt that lands before the command starts into a silent exit 130
        if exc.code == 130 and not cli.reported:
            _interrupted()
        raise


def _interrupted() -> None:
    sys.stderr.write("error: interrupted before anything was written\n")
    sys.exit(130)


if __name__ == "__main__":
    main()
