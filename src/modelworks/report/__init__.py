"""Self-contained HTML reports: ``report.html`` for a run, ``profile.html`` for a table.

Figures are drawn through the ``.plot`` accessors and inlined as PNG data URIs; the page loads
nothing from the network, so it opens offline.
"""

from __future__ import annotations

from pathlib import Path

from modelworks.report._build import profile_context, render, report_context, write_html

__all__ = ["render_profile", "render_report", "write_html"]


def render_report(experiment, bundle_path: str | Path | None = None) -> str:
    """The HTML report of an evaluated :class:`~modelworks.Experiment`.

    Parameters
    ----------
    experiment : Experiment
        Compared and evaluated (both are run if not yet done).
    bundle_path : path-like, optional
        Where the bundle is saved, for the commands in "How to use".

    Returns
    -------
    str
        One self-contained HTML document.
    """
    path = Path(bundle_path) if bundle_path is not None else None
    return render("report.html.j2", report_context(experiment, path))


def render_profile(profile, source: str | None = None) -> str:
    """The HTML page of a :class:`~modelworks.data.profile.Profile` (``profile.html``).

    Parameters
    ----------
    profile : Profile
        As returned by :func:`modelworks.profile`.
    source : str, optional
        The file or URL profiled, for the title and the suggested next command.
    """
    return render("profile.html.j2", profile_context(profile, source))
