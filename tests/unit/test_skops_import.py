"""skops is imported without walking scikit-learn (so without PyTorch), trusts only named types, and
scikit-learn's PyTorch shim and estimator listing still work afterwards."""

from __future__ import annotations

import subprocess
import sys

import pytest

CODE = """
import sys
from modelworks.bundle._skops import skops_io
sio = skops_io()
assert "torch" not in sys.modules, "skops pulled in torch"
assert "sklearn.externals.array_api_compat.torch" not in sys.modules
assert sio.dumps is skops_io().dumps
from sklearn.linear_model import LogisticRegression
data = sio.dumps(LogisticRegression(C=3.0))
try:  # skops's default list trusts no scikit-learn estimator: only what a load names
    sio.loads(data, trusted=[])
except Exception as exc:
    assert "LogisticRegression" in str(exc), exc
else:
    raise AssertionError("an estimator loaded without being named as trusted")
model = sio.loads(data, trusted=["sklearn.linear_model._logistic.LogisticRegression"])
assert model.C == 3.0
from sklearn.utils import all_estimators
assert len(all_estimators()) > 100  # the real listing is back
import sklearn.externals.array_api_compat.torch as shim
assert "torch" in sys.modules and hasattr(shim, "__path__") and callable(shim.asarray)
print("ok")
"""


@pytest.mark.slow
def test_skops_without_torch_then_the_real_shim() -> None:
    pytest.importorskip("torch")
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
