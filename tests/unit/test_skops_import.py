"""skops is imported without PyTorch, and scikit-learn's PyTorch shim still imports afterwards."""

from __future__ import annotations

import subprocess
import sys

import pytest

CODE = """
import sys
from modelworks._skops import skops_io
sio = skops_io()
assert "torch" not in sys.modules, "skops pulled in torch"
assert "sklearn.externals.array_api_compat.torch" not in sys.modules
assert sio.dumps is skops_io().dumps
from sklearn.linear_model import LogisticRegression
model = sio.loads(sio.dumps(LogisticRegression(C=3.0)), trusted=[])
assert model.C == 3.0
import sklearn.externals.array_api_compat.torch as shim
assert "torch" in sys.modules and hasattr(shim, "__path__") and callable(shim.asarray)
print("ok")
"""


def test_skops_without_torch_then_the_real_shim() -> None:
    pytest.importorskip("torch")
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
