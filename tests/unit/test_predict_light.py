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
