"""A bundle with ``model.onnx`` predicts without building its scikit-learn pipeline.

The graph's metadata holds the cleaner's column specification and the decision rule, so ``predict``
imports neither scikit-learn nor skops (nor SciPy, nor torch) and answers as the pipeline does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from modelworks.bundle import load_bundle
from modelworks.predict import predict_frame

HEAVY = ("sklearn", "skops", "scipy", "torch")

_CODE = """
import json, sys
import pandas as pd
from modelworks.bundle import load_bundle
from modelworks.predict import predict_frame
bundle = load_bundle({bundle!r})
rows = pd.read_csv({rows!r})
proba, _ = predict_frame(bundle, rows, proba=True)
labels, _ = predict_frame(bundle, rows)
one, _ = predict_frame(bundle, rows.head(1))
empty, _ = predict_frame(bundle, rows.head(0))
print(json.dumps({{
    "built": bundle._model is not None,
    "heavy": sorted(m for m in {heavy!r} if m in sys.modules),
    "runtime": proba.attrs["runtime"],
    "proba": proba.to_numpy().tolist(),
    "columns": list(proba.columns),
    "labels": labels["prediction"].tolist(),
    "dtype": str(labels["prediction"].dtype),
    "one": one["prediction"].tolist(),
    "empty_dtype": str(empty["prediction"].dtype),
}}))
"""


def test_onnx_bundle_predicts_without_the_pipeline(trained_bundle, churn_df, tmp_path):
    assert (trained_bundle / "model.onnx").is_file()
    rows = churn_df.drop(columns="will_churn").head(25)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    code = _CODE.format(bundle=str(trained_bundle), rows=str(tmp_path / "rows.csv"), heavy=HEAVY)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    light = json.loads(proc.stdout.strip().splitlines()[-1])
    assert light["runtime"] == "onnx"
    assert light["built"] is False
    assert light["heavy"] == []

    import pandas as pd

    reference = load_bundle(trained_bundle, runtime="sklearn")
    rows = pd.read_csv(tmp_path / "rows.csv")
    proba, _ = predict_frame(reference, rows, proba=True)
    labels, _ = predict_frame(reference, rows)
    empty, _ = predict_frame(reference, rows.head(0))
    assert light["columns"] == list(proba.columns)
    np.testing.assert_allclose(np.array(light["proba"]), proba.to_numpy(), atol=1e-5)
    assert light["labels"] == labels["prediction"].tolist()
    assert light["dtype"] == str(labels["prediction"].dtype)
    assert light["one"] == labels["prediction"].tolist()[:1]
    assert light["empty_dtype"] == str(empty["prediction"].dtype)


def test_model_file_is_built_when_first_needed(trained_bundle):
    bundle = load_bundle(trained_bundle)
    assert bundle.runtime == "onnx" and bundle._model is None
    assert bundle.model.steps[0][0] == "clean"  # built, audited, on first use
    assert load_bundle(trained_bundle, runtime="sklearn")._model is not None


def _with_metadata(bundle, tmp_path, change) -> object:
    """A copy of ``bundle`` whose model.onnx metadata is changed by ``change`` and whose manifest is
    rewritten to match, as an attacker (or a corruption the manifest missed) would."""
    import hashlib
    import shutil

    import onnx

    from modelworks.bundle._sign import seal
    from modelworks.export.runtime import META_KEY

    copy = tmp_path / "crafted"
    shutil.copytree(bundle, copy)
    graph = onnx.load_from_string((copy / "model.onnx").read_bytes())
    entry = next(e for e in graph.metadata_props if e.key == META_KEY)
    meta = json.loads(entry.value)
    change(meta)
    entry.value = json.dumps(meta)
    data = graph.SerializeToString()
    (copy / "model.onnx").write_bytes(data)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["model.onnx"] = hashlib.sha256(data).hexdigest()
    (copy / "manifest.json").write_text(json.dumps(seal(manifest), indent=2))
    return copy


def test_malformed_cleaner_metadata_falls_back_or_is_refused(trained_bundle, tmp_path):
    import pytest

    from modelworks.errors import BundleError

    def corrupt(meta: dict) -> None:
        meta["cleaner"] = [{"name": 3, "kind": "numeric"}]

    crafted = _with_metadata(trained_bundle, tmp_path, corrupt)
    bundle = load_bundle(crafted)
    assert bundle.runtime == "sklearn" and bundle._model is not None
    with pytest.raises(BundleError, match="could not be loaded by ONNX Runtime"):
        load_bundle(crafted, runtime="onnx")


def test_older_graph_without_the_specification_builds_the_pipeline(trained_bundle, churn_df, tmp_path):
    def strip(meta: dict) -> None:
        meta.pop("cleaner")
        meta.pop("decision")

    older = _with_metadata(trained_bundle, tmp_path, strip)
    bundle = load_bundle(older)
    assert bundle.runtime == "onnx" and bundle._model is not None
    rows = churn_df.drop(columns="will_churn").head(5)
    expected, _ = predict_frame(load_bundle(trained_bundle), rows, proba=True)
    got, _ = predict_frame(bundle, rows, proba=True)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), atol=1e-9)
