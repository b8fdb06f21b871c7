"""Entry point of the ``modelworks`` command (also ``python -m modelworks``).

Termination (SIGTERM) is handled like Ctrl-C, so a stopped run cleans its temporary files on the way
out, and an interrupt while the command line is still being imported ends with one line, not a
traceback. Once interrupted, a background thread that fails while the run is being torn down (loky's
queue manager does, when its workers are killed under it) is not printed either: the run has ended
in its one line, and the thread's traceback says nothing about the user's data.
"""

from __future__ import annotations

import signal
import sys

_stopping = False


def _terminate(signum, frame):  # noqa: ARG001 (signal handler signature)
    global _stopping
    _stopping = True
    raise KeyboardInterrupt


def _thread_failed(args) -> None:
    import threading

    if not _stopping:
        threading.__excepthook__(args)


def main() -> None:
    """Run the command line."""
    try:
        signal.signal(signal.SIGINT, _terminate)
        signal.signal(signal.SIGTERM, _terminate)
        import threading

        threading.excepthook = _thread_failed
        from modelworks import cli
        from modelworks.cli import _app
    except KeyboardInterrupt:
        _interrupted()
    try:
        cli.app(prog_name="modelworks")
    except KeyboardInterrupt:  # while Typer builds the command, before any of ours runs
        _interrupted()
    except SystemExit as exc:
        # Typer turns an interrupt that lands before the command starts into a silent exit 130
        if exc.code == 130 and not _app.reported:
            _interrupted()
        raise


def _interrupted() -> None:
    sys.stderr.write("error: interrupted before anything was written\n")
    sys.exit(130)


if __name__ == "__main__":
    main()
