"""Starting the prediction service does not pay for the training stack.

``import modelworks.serve`` and ``modelworks serve --help`` run in fresh interpreters, which then list
the heavy modules they imported: none of torch, lightgbm, matplotlib, ``modelworks.experiment`` or
the table run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

#: Modules that neither importing the serving package nor the command's help may import.
HEAVY = ("torch", "lightgbm", "matplotlib", "modelworks.experiment", "modelworks.workflows.tabular")

_REPORT = f"import json, sys; print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
_HELP = (
    "import runpy, sys\n"
    "sys.argv = ['modelworks', 'serve', '--help']\n"
    "try:\n"
    "    runpy.run_module('modelworks', run_name='__main__')\n"
    "except SystemExit as exc:\n"
    "    assert exc.code in (0, None), exc.code\n"
)


def imported_heavy(code: str) -> tuple[list[str], str]:
    """Run ``code`` in a fresh interpreter; return the heavy modules it imported and its output."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    result = subprocess.run(
        [sys.executable, "-c", f"{code}\n{_REPORT}"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "COLUMNS": "120", "NO_COLOR": "1"},
    )
    assert result.returncode == 0, result.stderr
    *output, last = result.stdout.strip().splitlines()
    return json.loads(last), "\n".join(output)


def test_import_serve_is_light():
    heavy, _ = imported_heavy("import modelworks.serve")
    assert heavy == []


def test_serve_help_is_light():
    heavy, output = imported_heavy(_HELP)
    assert "--port" in output and "--api-key-env" in output  # the help really was printed
    assert heavy == []


@pytest.mark.parametrize("name", ["create_app", "serve_bundle"])
def test_serve_names_load_on_first_use(name):
    import modelworks.serve

    assert callable(getattr(modelworks.serve, name))
    with pytest.raises(AttributeError):
        modelworks.serve.no_such_name  # noqa: B018


def test_onnx_serving_app_does_not_import_torch(trained_bundle):
    if not (trained_bundle / "model.onnx").is_file():
        pytest.skip("this bundle was saved without model.onnx")
    heavy, _ = imported_heavy(
        f"from modelworks.serve.app import create_app\ncreate_app({str(trained_bundle)!r}, runtime='onnx')"
    )
    assert heavy == []
