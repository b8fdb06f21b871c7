"""Saving over what is already there: only an unchanged modelworks bundle is replaced, atomically; a
second save at the same time is refused; a killed save leaves the old or the new bundle, and its
leftovers are cleaned by the next save. Real folders, real processes, real SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from modelworks.bundle import MANIFEST, load_model, save_bundle, sign_bundle, verify
from modelworks.bundle._sign import LEGACY_FIELDS
from modelworks.errors import BundleError

SCHEMA = {
    "columns": [{"name": "a", "kind": "numeric"}, {"name": "b", "kind": "numeric"}],
    "target": {"name": "y", "task": "binary", "labels": [0, 1], "positive_label": 1},
}

_MODEL_CODE = """
import numpy as np, pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
rng = np.random.default_rng(0)
X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
y = (X["a"] > 0).astype(int)
model = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())]).fit(X, y)
"""


@pytest.fixture(scope="module")
def model() -> Pipeline:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    y = (X["a"] > 0).astype(int)
    return Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())]).fit(X, y)


def _run_of(dest: Path) -> int:
    verify(dest)
    return json.loads((dest / "metrics.json").read_text())["run"]


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def _refused_untouched(model, dest: Path, *words: str) -> str:
    parent = dest.parent
    before = _snapshot(parent)
    with pytest.raises(BundleError) as info:
        save_bundle(dest, model, SCHEMA, {"run": 2})
    message = str(info.value)
    assert "\n" not in message and str(dest) in message, message
    for word in words:
        assert word in message, message
    assert _snapshot(parent) == before  # nothing deleted, changed or left behind
    return message


# -- what may be replaced ----------------------------------------------------------------------------


def test_a_file_at_the_destination_is_refused(model, tmp_path):
    dest = tmp_path / "out"
    dest.write_text("my notes")
    _refused_untouched(model, dest, "not a folder")


def test_a_folder_with_hidden_files_is_not_empty(model, tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / ".git").mkdir()
    (dest / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    _refused_untouched(model, dest, "not a modelworks bundle")


def test_another_tools_manifest_is_refused(model, tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / MANIFEST).write_text(json.dumps({"name": "webapp", "files": {"index.html": "0" * 64}}))
    (dest / "index.html").write_text("<html></html>")
    _refused_untouched(model, dest, "not a modelworks bundle")


def test_a_manifest_that_is_not_json_is_refused(model, tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / MANIFEST).write_text("{oops")
    _refused_untouched(model, dest, "not a modelworks bundle")


def test_a_bundle_with_an_added_file_is_refused(model, tmp_path):
    dest = save_bundle(tmp_path / "out", model, SCHEMA, {"run": 1})
    (dest / "notes.txt").write_text("do not lose me")
    _refused_untouched(model, dest, "notes.txt")


def test_a_bundle_with_an_added_folder_is_refused(model, tmp_path):
    dest = save_bundle(tmp_path / "out", model, SCHEMA, {"run": 1})
    (dest / "extra").mkdir()
    (dest / "extra" / "data.csv").write_text("a,b\n")
    _refused_untouched(model, dest, "extra")


def test_a_bundle_with_a_changed_file_is_refused(model, tmp_path):
    dest = save_bundle(tmp_path / "out", model, SCHEMA, {"run": 1}, {"notes.md": "v1"})
    (dest / "notes.md").write_text("my edits")
    _refused_untouched(model, dest, "notes.md", "changed")


def test_a_bundle_with_an_edited_manifest_is_refused(model, tmp_path):
    dest = save_bundle(tmp_path / "out", model, SCHEMA, {"run": 1})
    manifest = json.loads((dest / MANIFEST).read_text())
    manifest["created"] = "1999-01-01T00:00:00+00:00"
    (dest / MANIFEST).write_text(json.dumps(manifest))
    _refused_untouched(model, dest, "changed since saving")


def test_a_bundle_missing_a_file_is_refused(model, tmp_path):
    dest = save_bundle(tmp_path / "out", model, SCHEMA, {"run": 1}, {"profile.json": "{}"})
    (dest / "profile.json").unlink()
    _refused_untouched(model, dest, "profile.json")


def test_an_unchanged_bundle_is_replaced(model, tmp_path):
    dest = save_bundle(tmp_path / "out", model, SCHEMA, {"run": 1}, {"old.txt": "x"})
    save_bundle(dest, model, SCHEMA, {"run": 2})
    assert _run_of(dest) == 2 and not (dest / "old.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_signed_bundle_is_replaced(model, tmp_path):
    key = "s" * 32
    dest = save_bundle(tmp_path / "out", model, SCHEMA, {"run": 1}, key=key)
    assert (dest / "manifest.sig").exists()
    save_bundle(dest, model, SCHEMA, {"run": 2})
    assert _run_of(dest) == 2 and not (dest / "manifest.sig").exists()


def test_a_bundle_with_a_foreign_signature_file_is_refused(model, tmp_path):
    dest = save_bundle(tmp_path / "out", model, SCHEMA, {"run": 1})
    (dest / "manifest.sig").write_text("-----BEGIN PGP SIGNATURE-----\n")
    _refused_untouched(model, dest, "manifest.sig")


def test_a_bundle_of_the_first_format_loads_and_is_replaced(model, tmp_path):
    dest = save_bundle(tmp_path / "out", model, SCHEMA, {"run": 1})
    manifest = json.loads((dest / MANIFEST).read_text())
    legacy = {k: v for k, v in manifest.items() if k in LEGACY_FIELDS} | {"format_version": 1}
    (dest / MANIFEST).write_text(json.dumps(legacy, indent=2))
    load_model(dest)
    save_bundle(dest, model, SCHEMA, {"run": 2})
    assert _run_of(dest) == 2


def test_extra_file_names_cannot_escape_the_bundle(model, tmp_path):
    for name in ("../escape.txt", "sub/x.txt", ".hidden", "manifest.json", "model.skops", ""):
        with pytest.raises(BundleError, match="not allowed"):
            save_bundle(tmp_path / "out", model, SCHEMA, {}, {name: "x"})
    assert list(tmp_path.iterdir()) == []


# -- where a bundle cannot be written ----------------------------------------------------------------


def test_parent_that_is_a_file_is_refused(model, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    for dest in (blocker / "out", blocker / "deeper" / "out"):
        with pytest.raises(BundleError, match="is a file") as info:
            save_bundle(dest, model, SCHEMA, {})
        assert str(blocker) in str(info.value)
    assert blocker.read_text() == "x"


def _unwritable_folder(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    for folder in (Path("/sys"), Path("/proc/sys")):  # not writable even by root
        try:
            fd = os.open(folder / ".modelworks-probe", os.O_CREAT | os.O_WRONLY, 0o600)
        except OSError:
            return folder
        os.close(fd)
        os.unlink(folder / ".modelworks-probe")
    pytest.skip("no folder here refuses writes to this user")


def test_read_only_parent_is_refused(model, tmp_path):
    folder = _unwritable_folder(tmp_path)
    with pytest.raises(BundleError, match="cannot write in|cannot create") as info:
        save_bundle(folder / "modelworks-test-bundle", model, SCHEMA, {})
    assert str(folder) in str(info.value) and "\n" not in str(info.value)


# -- real processes ----------------------------------------------------------------------------------


def _start_save(tmp_path: Path, dest: Path, run: int, mode: str) -> tuple[subprocess.Popen, Path, Path]:
    """Start a process that saves to ``dest`` and stops at the point ``mode`` names (after writing
    its files: "written"; after swapping them into place: "swapped"; between the two renames of the
    fallback without RENAME_EXCHANGE: "renaming"), until the release file exists."""
    reached, release = tmp_path / f"reached-{run}", tmp_path / f"release-{run}"
    script = tmp_path / f"save-{run}.py"
    script.write_text(
        _MODEL_CODE
        + textwrap.dedent(
            f"""
            import os, sys, time
            from modelworks.bundle import _write as w
            from modelworks.bundle import save_bundle

            def stop():
                open({str(reached)!r}, "w").write(str(os.getpid()))
                while not os.path.exists({str(release)!r}):
                    time.sleep(0.02)

            mode = {mode!r}
            if mode == "written":
                real_sync, calls = w.sync_dir, []
                def sync_dir(path):
                    real_sync(path)
                    if not calls:
                        calls.append(path)
                        stop()
                w.sync_dir = sync_dir
            elif mode == "swapped":
                real_remove = w.remove_replaced
                def remove_replaced(path, names):
                    stop()
                    real_remove(path, names)
                w.remove_replaced = remove_replaced
            elif mode == "renaming":
                w._exchange = lambda a, b: False
                real_rename, renames = os.rename, []
                def rename(a, b):
                    renames.append(a)
                    if len(renames) == 2:
                        stop()
                    real_rename(a, b)
                w.os.rename = rename
            save_bundle({str(dest)!r}, model, {SCHEMA!r}, {{"run": {run}}})
            """
        )
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while not reached.exists():
        if proc.poll() is not None:
            pytest.fail(f"the saving process ended early: {proc.stderr.read() if proc.stderr else ''}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the saving process did not reach its stopping point")
        time.sleep(0.05)
    return proc, reached, release


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def test_second_concurrent_save_is_refused(model, tmp_path):
    dest = save_bundle(tmp_path / "b", model, SCHEMA, {"run": 1})
    proc, reached, release = _start_save(tmp_path, dest, 2, "written")
    try:
        with pytest.raises(BundleError, match="another save to .* is in progress") as info:
            save_bundle(dest, model, SCHEMA, {"run": 3})
        assert f"process {reached.read_text()}" in str(info.value)
        assert _run_of(dest) == 1
        # a save to another destination in the same folder goes ahead, and leaves the live save's
        # temporary folder alone
        save_bundle(tmp_path / "c", model, SCHEMA, {"run": 4})
        assert any(p.name.startswith(".b.mw-new-") for p in tmp_path.iterdir())
    finally:
        release.touch()
        assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    assert _run_of(dest) == 2 and _run_of(tmp_path / "c") == 4
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".py")) == [
        "b",
        "c",
        reached.name,
        release.name,
    ]


def test_save_killed_while_writing_keeps_the_old_bundle(model, tmp_path):
    dest = save_bundle(tmp_path / "b", model, SCHEMA, {"run": 1})
    proc, reached, release = _start_save(tmp_path, dest, 2, "written")
    _kill(proc)
    assert _run_of(dest) == 1
    load_model(dest)
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".b."))
    assert any(".mw-new-" in name for name in leftovers), leftovers
    # the next save cleans what the killed one left (its lock died with it)
    save_bundle(dest, model, SCHEMA, {"run": 3})
    assert _run_of(dest) == 3
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_save_killed_after_the_swap_leaves_the_new_bundle(model, tmp_path):
    dest = save_bundle(tmp_path / "b", model, SCHEMA, {"run": 1})
    proc, reached, release = _start_save(tmp_path, dest, 2, "swapped")
    _kill(proc)
    assert _run_of(dest) == 2
    save_bundle(tmp_path / "other", model, SCHEMA, {"run": 3})  # same folder: cleans b's leftovers
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert _run_of(dest) == 2


def test_save_killed_between_renames_is_restored(model, tmp_path):
    """Without RENAME_EXCHANGE the old bundle is moved aside, then the new one into place; killed in
    between, the next save into the folder puts the old one back."""
    dest = save_bundle(tmp_path / "b", model, SCHEMA, {"run": 1})
    proc, reached, release = _start_save(tmp_path, dest, 2, "renaming")
    _kill(proc)
    assert not dest.exists()
    save_bundle(tmp_path / "other", model, SCHEMA, {"run": 3})
    assert _run_of(dest) == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_leftovers_that_are_not_ours_are_kept(model, tmp_path):
    kept = [tmp_path / ".b.backup", tmp_path / ".b.mw-new-notapid-x", tmp_path / ".c.mw-new-12-abc"]
    kept[0].mkdir()
    kept[1].mkdir()
    (kept[2]).write_text("a file, not a folder we made")
    other_user = tmp_path / ".d.mw-new-12-abcd"
    other_user.mkdir()
    if os.geteuid() == 0:  # a leftover-looking folder of another user
        os.chown(other_user, 4242, -1)
    save_bundle(tmp_path / "b", model, SCHEMA, {"run": 1})
    for path in kept:
        assert path.exists(), path
    if os.geteuid() == 0:
        assert other_user.exists()


def test_sign_bundle_signs_in_place(model, tmp_path):
    dest = save_bundle(tmp_path / "b", model, SCHEMA, {"run": 1})
    sign_bundle(dest, "k" * 32)
    load_model(dest, key="k" * 32)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]
