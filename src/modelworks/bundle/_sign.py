"""The manifest's own hash and the bundle's optional HMAC signature.

The manifest lists a sha256 per file, but its other fields (versions, creation time, runtime, trusted
types) were covered by nothing. Now every manifest carries ``manifest_sha256``: the sha256 of its
canonical JSON (:func:`canonical`) without that field, so an edit to any field is detected. Anyone can
recompute it: like the file hashes, it catches corruption and careless edits, not forgery.

A signed bundle adds ``manifest.sig``: an HMAC-SHA256, under a secret key, of the canonical manifest
(self-hash included). Since the manifest holds the sha256 of every file, the signature covers the whole
bundle; only someone holding the key can make one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

from modelworks.errors import BundleError, ConfigError

#: The marker that says a manifest.json is ours, and the version of the bundle layout.
FORMAT = "modelworks-bundle"
FORMAT_VERSION = 2
#: The fields of a manifest written before the marker and the self-hash (format version 1).
LEGACY_FIELDS = frozenset({"format_version", "created", "files", "trusted_types", "versions", "runtime"})
SELF_HASH = "manifest_sha256"
SIGNATURE_FILE = "manifest.sig"
ALGORITHM = "hmac-sha256"
#: Shortest signing key accepted, in bytes (a 128-bit secret).
MIN_KEY_BYTES = 16


def canonical(data: dict) -> bytes:
    """The canonical JSON of a manifest: sorted keys, no spaces, ASCII, no NaN.

    Parsing a written manifest and calling this gives back the same bytes as for the dict it was
    written from (floats round-trip exactly), so the hash does not depend on indentation.
    """
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode()


def manifest_digest(manifest: dict) -> str:
    """sha256 (hex) of the canonical manifest without its ``manifest_sha256`` field."""
    return hashlib.sha256(canonical({k: v for k, v in manifest.items() if k != SELF_HASH})).hexdigest()


def seal(manifest: dict) -> dict:
    """The manifest with its ``manifest_sha256`` field set."""
    out = {k: v for k, v in manifest.items() if k != SELF_HASH}
    out[SELF_HASH] = manifest_digest(out)
    return out


def is_sealed(manifest: dict) -> bool:
    """Whether ``manifest_sha256`` matches the rest of the manifest."""
    stated = manifest.get(SELF_HASH)
    return isinstance(stated, str) and hmac.compare_digest(stated, manifest_digest(manifest))


def classify(manifest: object) -> str:
    """What a parsed manifest.json is.

    Returns
    -------
    str
        ``"current"``: ours, its self-hash matches; ``"legacy"``: ours, written before self-hashes
        (format version 1: exactly the fields of that version, no marker); ``"modified"``: ours, but its
        self-hash does not match; ``"newer"``: ours, from a later format version; ``"foreign"``:
        anything else (another tool's manifest, not an object, unreadable).
    """
    if not isinstance(manifest, dict):
        return "foreign"
    if manifest.get("format") == FORMAT:
        version = manifest.get("format_version")
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
            return "newer"
        if version != FORMAT_VERSION:
            return "modified"
        try:
            return "current" if is_sealed(manifest) else "modified"
        except (TypeError, ValueError):  # not canonical JSON (NaN): not what we wrote
            return "modified"
    if set(manifest) == LEGACY_FIELDS and manifest.get("format_version") == 1:
        return "legacy"
    return "foreign"


def as_key(key: bytes | str, source: str = "key") -> bytes:
    """A signing key as bytes (text is UTF-8 encoded), refused when shorter than 16 bytes.

    Parameters
    ----------
    key : bytes or str
        The secret.
    source : str
        How the key was given, for the message (an argument name or a flag).

    Raises
    ------
    ConfigError
        When the key is shorter than :data:`MIN_KEY_BYTES`.
    """
    raw = key.encode() if isinstance(key, str) else bytes(key)
    if len(raw) < MIN_KEY_BYTES:
        raise ConfigError(
            f"the signing {source} is {len(raw)} bytes long; use a random secret of at least "
            f"{MIN_KEY_BYTES} bytes (for example the output of 'openssl rand -hex 32')"
        )
    return raw


def key_from_env(name: str, flag: str) -> bytes:
    """The key held by environment variable ``name`` (surrounding whitespace removed).

    Raises
    ------
    ConfigError
        When ``name`` is empty, or the variable is unset, empty or shorter than 16 bytes.
    """
    if not name or not name.strip():
        raise ConfigError(f"{flag} needs the name of an environment variable that holds the key")
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigError(
            f"environment variable {name} (from {flag}) is unset or empty; export it with the key"
        )
    return as_key(value, f"key in {name} (from {flag})")


def signature(manifest: dict, key: bytes) -> dict:
    """The content of ``manifest.sig`` for a sealed manifest."""
    mac = hmac.new(key, canonical(manifest), hashlib.sha256).hexdigest()
    return {"algorithm": ALGORITHM, SELF_HASH: manifest[SELF_HASH], "hmac": mac}


def check_signature(root: Path, manifest: dict, key: bytes) -> None:
    """Refuse a bundle that is unsigned or whose signature does not match ``key``.

    Raises
    ------
    BundleError
        When ``manifest.sig`` is absent, unreadable, or not the HMAC of the manifest under ``key``.
    """
    path = root / SIGNATURE_FILE
    if path.is_symlink() or not path.is_file():
        raise BundleError(
            f"bundle {root} is not signed (no {SIGNATURE_FILE}); refusing to load it without a "
            "signature; save it again with a signing key, or load it without a key"
        )
    try:
        sig = json.loads(path.read_bytes())
        stated = sig["hmac"]
        if sig.get("algorithm") != ALGORITHM or not isinstance(stated, str):
            raise ValueError
    except (OSError, ValueError, KeyError, TypeError):
        raise BundleError(
            f"{SIGNATURE_FILE} in bundle {root} is unreadable; refusing to load it; save the bundle again"
        ) from None
    expected = hmac.new(key, canonical(manifest), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(stated, expected):
        raise BundleError(
            f"the signature of bundle {root} does not match the key (the bundle was changed after "
            "signing, or signed with another key); refusing to load it"
        )
