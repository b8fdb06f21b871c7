"""The ``modelworks`` command line (Typer): one module per command group.

A :class:`~modelworks.errors.ModelworksError` becomes one line on stderr and exit code 2, never a
traceback; every artefact is written to a temporary path and renamed when complete
(:mod:`._app`). ``run`` and ``demo`` are in :mod:`._run`, ``cluster`` and ``anomalies`` in
:mod:`._unsupervised`, the commands on a saved bundle in :mod:`._bundles`.
"""

from __future__ import annotations

from importlib import import_module

from modelworks.cli._app import app
from modelworks.cli._run import run_workflow

# each module registers its commands on ``app`` when imported: --help lists them in this order
for _group in ("_run", "_unsupervised", "_bundles"):
    import_module(f"modelworks.cli.{_group}")


def main() -> None:
    """Run the command line."""
    app()


__all__ = ["app", "main", "run_workflow"]
