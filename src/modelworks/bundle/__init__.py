"""Save and load a trained bundle: a directory holding the model and what describes it.

::

    model.skops     the fitted Pipeline, saved with skops (never plain pickle)
    model.onnx      the same pipeline after its cleaning step, for ONNX Runtime (when it converts and
                    passes the parity check; see :mod:`modelworks.export.onnx`)
    schema.json     input columns, target, task, labels
    metrics.json    test metrics, CV leaderboard and per-fold scores, cleaning, seed, data hash
    profile.json    the data profile (when given)
    manifest.json   our format marker, sha256 of every other file, library versions, the types the
                    model needs, the default runtime with the reason for it, and its own sha256
    manifest.sig    only in a signed bundle: HMAC-SHA256 of the manifest under a secret key

Threat model
------------
- **The hashes catch corruption, not forgery.** ``manifest.json`` holds the sha256 of every file and
  of its own other fields (``manifest_sha256``), so a truncated copy, a flipped bit or an edit to any
  file or manifest field (versions and creation time included) is refused. Anyone can recompute them,
  so they prove nothing about who wrote the bundle.
- **Only the signature proves origin.** Saved with a key, the bundle holds ``manifest.sig``: an
  HMAC-SHA256 of the canonical manifest, which lists every file's hash. ``load_bundle(path, key=...)``
  refuses an unsigned bundle or one whose signature does not match; without the key nobody can sign.
- **The trusted-type list keeps a hostile file from running code.** A bundle from anywhere may be
  crafted: its manifest rewritten to match. skops builds only the types the caller trusts, and ours
  are exact names (:data:`TRUSTED_TYPES`) of the classes registry pipelines hold, each tied to the
  skops loader that saves it; loaders that call what the file names are refused, trees are checked
  node by node, and a file that is not an uncompressed skops zip (a pickle) is refused unread. The
  manifest's ``trusted_types`` can only narrow that list. What remains trusted is the native model
  parsers of LightGBM, XGBoost and CatBoost (they read bytes from the file): for bundles from
  untrusted sources, require a signature.

Saving writes a new directory beside the destination and swaps it into place atomically (see
:mod:`modelworks.bundle._write`): an interrupted save leaves the old bundle or the new one, a second
save to the same destination at the same time is refused, and an existing destination is replaced only
when it is verifiably a modelworks bundle, unchanged; anything else is refused, never deleted.
"""

from __future__ import annotations

from modelworks.bundle._common import MANIFEST, MODEL_FILE, ONNX_FILE, sign_key_env, verify_key_env, versions
from modelworks.bundle._load import Bundle, load_bundle, load_model, verify
from modelworks.bundle._save import save_bundle, sign_bundle
from modelworks.bundle._sign import FORMAT, FORMAT_VERSION, SIGNATURE_FILE
from modelworks.bundle._trust import TRUSTED_TYPES
from modelworks.options import RUNTIMES

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "MODEL_FILE",
    "ONNX_FILE",
    "RUNTIMES",
    "SIGNATURE_FILE",
    "TRUSTED_TYPES",
    "Bundle",
    "load_bundle",
    "load_model",
    "save_bundle",
    "sign_bundle",
    "sign_key_env",
    "verify",
    "verify_key_env",
    "versions",
]
