"""Writing a bundle directory: one save at a time per destination, atomic replacement, and never
deleting what modelworks did not write.

Beside a destination ``out`` (in its parent folder) a save uses three kinds of names, all hidden and
all tagged ``.mw-``:

``.out.mw-lock``
    The lock file. A save holds an exclusive ``fcntl.flock`` on it from start to end, so a second save
    to the same destination fails at once with a clean error. The kernel drops the lock when its
    process dies, so a killed save never blocks the next one. The file is removed when the save ends
    (whoever then locks checks that the path still names the file it locked).
``.out.mw-new-<pid>-<random>``
    The new bundle, written and synced, then exchanged with ``out`` in one ``renameat2(RENAME_EXCHANGE)``
    (Linux), so ``out`` is at every instant either the old or the new bundle; after the exchange this
    path holds the old bundle, which is deleted file by file.
``.out.mw-old-<pid>-<random>``
    Only where the exchange is unavailable: the old bundle is renamed here, then the new one into
    place. A save killed between the two renames leaves no ``out``; the next save restores it.

Leftovers of killed saves are removed by the next save into the same folder, each only while its
destination's lock can be taken (no live save owns it) and only when owned by the current user.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from modelworks.bundle._sign import ALGORITHM, SELF_HASH, SIGNATURE_FILE, classify
from modelworks.errors import BundleError

MANIFEST = "manifest.json"
LOCK_SUFFIX = ".mw-lock"
_LEFTOVER = re.compile(r"\.(?P<name>.+)\.mw-(?P<kind>new|old|sig)-\d+-[A-Za-z0-9_]+")
_LOCK = re.compile(r"\.(?P<name>.+)\.mw-lock")


def temp_prefix(name: str, kind: str) -> str:
    """Prefix of a temporary name beside destination ``name`` (``kind``: new, old or sig)."""
    return f".{name}.mw-{kind}-{os.getpid()}-"


def plain_name(name: object) -> bool:
    """Whether ``name`` is a file name a bundle may hold: one path component, not hidden."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and not name.startswith(".")
        and not any(c in name for c in "/\\\0")
    )


def sha256_file(path: Path) -> str:
    """sha256 (hex) of a file's content."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- lock --------------------------------------------------------------------------------------------


def _try_lock(path: Path) -> int | None:
    """An exclusive lock on ``path`` (created if absent): its descriptor, or ``None`` when another
    process holds it."""
    for _ in range(50):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        try:
            on_disk = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            on_disk = None
        mine = os.fstat(fd)
        if on_disk is not None and (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)  # removed or replaced by the previous holder: lock the file now there
    raise OSError(errno.EAGAIN, "the lock file keeps changing", str(path))


def _unlock(path: Path, fd: int) -> None:
    """Remove the lock file (while still holding it), then release it."""
    try:
        on_disk = os.stat(path, follow_symlinks=False)
        mine = os.fstat(fd)
        if (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino):
            os.unlink(path)
    except OSError:
        pass
    finally:
        os.close(fd)


def _holder(path: Path) -> str:
    try:
        pid = int(path.read_text()[:20].strip())
    except (OSError, ValueError):
        return ""
    return f" (process {pid})"


@contextlib.contextmanager
def destination_lock(dest: Path) -> Iterator[None]:
    """Hold the save lock of ``dest`` (the lock file beside it) for the duration of the block.

    Raises
    ------
    BundleError
        When another process holds it, or the lock file cannot be created in the parent folder.
    """
    path = dest.parent / f".{dest.name}{LOCK_SUFFIX}"
    try:
        fd = _try_lock(path)
    except OSError as exc:
        raise BundleError(
            f"cannot write in {dest.parent} ({exc.strerror or exc}); choose another --out"
        ) from None
    if fd is None:
        raise BundleError(
            f"another save to {dest} is in progress{_holder(path)}; wait for it to finish or "
            "choose another --out"
        )
    try:
        yield
    finally:
        _unlock(path, fd)


# -- what may be replaced ----------------------------------------------------------------------------


def existing_bundle(dest: Path) -> list[str] | None:
    """What is at ``dest`` now, if modelworks may replace it.

    Returns
    -------
    list of str or None
        ``None`` when nothing is there; ``[]`` for an empty folder; otherwise the names of the files of
        the modelworks bundle there (every one listed by its manifest, unchanged, and nothing else).

    Raises
    ------
    BundleError
        When ``dest`` is a file, a non-empty folder without our manifest, another tool's folder, or a
        bundle with files added, removed or changed since it was saved.
    """
    try:
        info = os.lstat(dest)
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(info.st_mode):
        raise BundleError(f"{dest} exists and is not a folder; choose another --out")
    entries = set(os.listdir(dest))
    if not entries:
        return []
    never = "modelworks never deletes what it did not write"
    if MANIFEST not in entries:
        raise BundleError(
            f"{dest} exists and is not a modelworks bundle (no {MANIFEST}); choose another --out "
            f"or empty it yourself ({never})"
        )
    try:
        manifest = json.loads((dest / MANIFEST).read_bytes())
    except (OSError, ValueError, RecursionError):
        manifest = None
    kind = classify(manifest)
    if kind in ("foreign", "newer"):
        raise BundleError(
            f"{dest} exists and is not a modelworks bundle ({MANIFEST} was not written by this "
            f"modelworks); choose another --out or empty it yourself ({never})"
        )
    if kind == "modified":
        raise BundleError(
            f"{dest} holds a modelworks bundle whose {MANIFEST} was changed since saving; choose "
            f"another --out or remove it yourself ({never})"
        )
    assert isinstance(manifest, dict)
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(plain_name(n) for n in files):
        raise BundleError(
            f"{dest} holds a modelworks bundle whose {MANIFEST} lists invalid file names; choose "
            f"another --out or remove it yourself ({never})"
        )
    ours = {*files, MANIFEST} | ({SIGNATURE_FILE} & entries)
    extra = sorted(entries - ours)
    if extra:
        shown = ", ".join(ascii(n)[1:-1] for n in extra[:5]) + (" ..." if len(extra) > 5 else "")
        raise BundleError(
            f"{dest} holds a modelworks bundle plus files its manifest does not list ({shown}); "
            f"move them out or choose another --out ({never})"
        )
    for name in sorted(ours):
        path = dest / name
        if name not in entries or not stat.S_ISREG(os.lstat(path).st_mode):
            raise BundleError(
                f"{dest} holds a modelworks bundle that lacks {name}; choose another --out or remove "
                f"it yourself ({never})"
            )
        if name in files and sha256_file(path) != files[name]:
            raise BundleError(
                f"{dest} holds a modelworks bundle whose {name} was changed since saving; choose "
                f"another --out or remove it yourself ({never})"
            )
    if SIGNATURE_FILE in entries and not _our_signature(dest / SIGNATURE_FILE, manifest):
        raise BundleError(
            f"{dest} holds a modelworks bundle with a {SIGNATURE_FILE} modelworks did not write for it; "
            f"choose another --out or remove it yourself ({never})"
        )
    return sorted(ours)


def _our_signature(path: Path, manifest: dict) -> bool:
    """Whether ``path`` is a signature modelworks wrote for this manifest (its key unknown here)."""
    try:
        sig = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return False
    return (
        isinstance(sig, dict)
        and set(sig) == {"algorithm", SELF_HASH, "hmac"}
        and sig["algorithm"] == ALGORITHM
        and sig[SELF_HASH] == manifest.get(SELF_HASH)
    )


# -- atomic replacement ------------------------------------------------------------------------------

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@functools.cache
def _renameat2() -> Any:
    """libc's ``renameat2``, or ``None`` where there is none."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); ``False`` where the system cannot."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


def sync_dir(path: Path) -> None:
    """Flush a folder's entries to disk (renames and new files in it)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: Path, data: bytes) -> None:
    """Create ``path`` (it must not exist) with ``data``, synced to disk."""
    with path.open("xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def put_in_place(new: Path, dest: Path, replace: bool) -> Path | None:
    """Move the finished bundle ``new`` to ``dest``.

    Returns
    -------
    Path or None
        The path that now holds the replaced content (to delete), or ``None`` when nothing was there.
    """
    if not replace:
        os.rename(new, dest)
        return None
    if _exchange(new, dest):
        return new
    old = dest.with_name(f"{temp_prefix(dest.name, 'old')}{os.urandom(4).hex()}")
    os.rename(dest, old)
    os.rename(new, dest)
    return old


def remove_replaced(path: Path, names: list[str]) -> None:
    """Delete the replaced bundle at ``path``: its own files, then the folder if nothing else is
    there (anything added meanwhile is left where it is)."""
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path / name)
    with contextlib.suppress(OSError):
        os.rmdir(path)


# -- leftovers of killed saves -----------------------------------------------------------------------


def _remove_leftover(entry: os.DirEntry, kind: str, dest: Path) -> None:
    path = Path(entry.path)
    if kind == "sig":
        with contextlib.suppress(OSError):
            os.unlink(path)
    elif kind == "old" and not os.path.lexists(dest):
        with contextlib.suppress(OSError):  # killed between the two renames: restore the old bundle
            os.rename(path, dest)
    else:
        shutil.rmtree(path, ignore_errors=True)


def clean_leftovers(parent: Path, own: str) -> None:
    """Remove what killed saves left in ``parent``: temporary folders and files tagged ``.mw-`` and
    lock files, each only when its destination's lock is free (``own``: the destination whose lock
    the caller holds) and it belongs to the current user."""
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    uid = os.geteuid()
    for entry in entries:
        leftover, lock = _LEFTOVER.fullmatch(entry.name), _LOCK.fullmatch(entry.name)
        match = leftover or lock
        if match is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if info.st_uid != uid:
            continue
        kind = leftover["kind"] if leftover else "lock"
        if kind in ("new", "old") and not stat.S_ISDIR(info.st_mode):
            continue
        if kind in ("sig", "lock") and not stat.S_ISREG(info.st_mode):
            continue
        name = match["name"]
        dest = parent / name
        if name == own:
            if kind != "lock":
                _remove_leftover(entry, kind, dest)
            continue
        path = parent / f".{name}{LOCK_SUFFIX}"
        try:
            fd = _try_lock(path)
        except OSError:
            continue
        if fd is None:  # a live save owns it
            continue
        try:
            if kind != "lock":
                _remove_leftover(entry, kind, dest)
        finally:
            _unlock(path, fd)
