"""report.html and profile.html of a real run, opened in headless Chromium (Debian's) through Playwright."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Flags for a machine with a closed network: no background connections, no first-run dialogs.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not os.path.exists(CHROMIUM):
    pytest.skip(
        "Debian's chromium is not installed (make test installs it where it runs as root with apt-get)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency: make test")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, churn_df, cli) -> Path:
    """A real run and a real profile, through the command line."""
    work = tmp_path_factory.mktemp("report")
    csv = work / "churn.csv"
    churn_df.to_csv(csv, index=False)
    run = cli(
        "run", csv, "--target", "will_churn", "--models", "linear,decision_tree", "--cv", "3",
        "--time-budget", "120", "--out", work / "bundle", cwd=work, timeout=240,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    prof = cli("profile", csv, "--target", "will_churn", "--out", work / "profile", cwd=work)
    assert prof.returncode == 0, prof.stderr
    return work


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with sync_api.sync_playwright() as pw:
        profile_dir = tmp_path_factory.mktemp("chromium-profile")
        context = pw.chromium.launch_persistent_context(
            str(profile_dir), executable_path=CHROMIUM, args=FLAGS, headless=True,
            viewport={"width": 1366, "height": 900},
        )  # fmt: skip
        yield context
        context.close()


def _open(context, path: Path, shot: Path) -> tuple[object, list[str]]:
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri(), wait_until="load")
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    # nothing but the file itself and its inline data: the report opens offline
    outside = [u for u in requests if not (u.startswith("file://") or u.startswith("data:"))]
    assert not outside, outside
    return page, problems


def _images(page) -> list[dict]:
    return page.evaluate(
        "() => Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete, w: i.naturalWidth}))"
    )


def test_report_opens_with_every_section_and_image(run_dir, browser, tmp_path):
    page, problems = _open(browser, run_dir / "bundle" / "report.html", tmp_path / "report.png")
    sections = page.evaluate("() => Array.from(document.querySelectorAll('section')).map(s => s.id)")
    assert sections == ["checks", "data", "cleaning", "models", "test", "usage"]
    headings = page.locator("section > h2").all_inner_texts()
    assert headings == ["Checks", "Data", "Cleaning", "Models", "Best model on test", "How to use"]
    # the methodology checks come first: how the rows were split, and each finding with its code
    checks = page.locator("#checks").inner_text()
    assert "Split stratified by class" in checks
    codes = page.evaluate(
        "() => Array.from(document.querySelectorAll('#checks tr.check')).map(r => r.dataset.code)"
    )
    assert all(code.startswith("MW") for code in codes)
    images = _images(page)
    assert len(images) >= 12, images
    assert all(i["complete"] and i["w"] > 0 for i in images), [i for i in images if not i["w"]]
    assert page.locator(".figure-error").count() == 0
    # every table-of-contents link leads to an element of the page
    targets = page.evaluate(
        "() => Array.from(document.querySelectorAll('nav.toc a')).map(a => a.hash.slice(1))"
    )
    assert targets and all(page.locator(f"#{t}").count() == 1 for t in targets)
    # the leaderboard, the verdict, the test metrics and the commands are there to read
    assert page.locator("#models table tbody tr").count() >= 2
    assert "significantly" in page.locator("#models .reading").inner_text()
    usage = page.locator("#usage").inner_text()
    assert f"modelworks predict {run_dir / 'bundle'}" in usage and "modelworks serve" in usage
    assert problems == []


def test_profile_page_opens_and_warnings_stand_out(run_dir, browser, tmp_path):
    page, problems = _open(browser, run_dir / "profile" / "profile.html", tmp_path / "profile.png")
    assert page.evaluate("() => Array.from(document.querySelectorAll('section')).map(s => s.id)") == [
        "data",
        "usage",
    ]
    images = _images(page)
    assert len(images) >= 5 and all(i["complete"] and i["w"] > 0 for i in images)
    # the churn table's customer_id is an identifier: its warning is shown with a coloured band
    warning = page.locator(".warning", has_text="customer_id").first
    assert warning.is_visible()
    colour = warning.evaluate("e => getComputedStyle(e).borderLeftColor")
    assert colour not in ("rgba(0, 0, 0, 0)", "rgb(0, 0, 0)")
    assert re.search(r"modelworks run .*--target will_churn", page.locator("#usage").inner_text())
    assert problems == []


@pytest.fixture(scope="module")
def unsupervised_dir(tmp_path_factory, cli) -> Path:
    """``modelworks cluster --method all --tsne`` and ``modelworks anomalies`` on scikit-learn's wines."""
    from sklearn.datasets import load_wine

    work = tmp_path_factory.mktemp("clusters")
    wine = load_wine(as_frame=True).frame
    wine.to_csv(work / "wine.csv", index=False)
    wine.loc[3, "proline"] = 20_000.0  # one unusual wine for the anomaly report
    wine.to_csv(work / "odd.csv", index=False)
    run = cli(
        "cluster", "wine.csv", "--label", "target", "--method", "all", "--tsne", "--out", work / "clusters",
        cwd=work, timeout=240,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    run = cli("anomalies", "odd.csv", "--exclude", "target", "--out", work / "anomalies", cwd=work)
    assert run.returncode == 0, run.stderr
    return work


CLUSTER_FIGURES = {
    "elbow", "selection", "bic", "dendrogram", "k_distance", "silhouette_plot", "profiles", "scree", "biplot",
    "projection", "tsne",
}  # fmt: skip


def test_cluster_report_shows_every_figure_and_table(unsupervised_dir, browser, tmp_path):
    page, problems = _open(browser, unsupervised_dir / "clusters" / "report.html", tmp_path / "clusters.png")
    sections = page.evaluate("() => Array.from(document.querySelectorAll('section')).map(s => s.id)")
    assert sections == ["data", "choice", "clusters", "pca", "usage"]
    figures = set(
        page.evaluate("() => Array.from(document.querySelectorAll('figure')).map(f => f.dataset.figure)")
    )
    assert figures == CLUSTER_FIGURES
    images = _images(page)
    assert len(images) == len(CLUSTER_FIGURES) and all(i["complete"] and i["w"] > 0 for i in images)
    assert page.locator(".figure-error").count() == 0
    # the comparison (every method and k, with stability), the choice and one sentence per cluster
    assert page.locator("#choice table tbody tr").count() >= 20
    assert "Chosen:" in page.locator("#choice .reading").inner_text()
    assert page.locator(".cluster-sentences li").count() == 3
    assert "ARI" in page.locator("#choice").inner_text()
    assert "modelworks predict" in page.locator("#usage").inner_text()
    assert problems == []


def test_anomaly_report_lists_the_unusual_row(unsupervised_dir, browser, tmp_path):
    page, problems = _open(
        browser, unsupervised_dir / "anomalies" / "report.html", tmp_path / "anomalies.png"
    )
    figures = set(
        page.evaluate("() => Array.from(document.querySelectorAll('figure')).map(f => f.dataset.figure)")
    )
    assert figures == {"scores", "projection", "scree", "biplot"}
    assert all(i["complete"] and i["w"] > 0 for i in _images(page))
    flagged = page.locator("#flagged").inner_text()
    assert "proline = 20,000" in flagged
    assert "far-out fence" in page.locator("#scores .reading").inner_text()
    assert problems == []
