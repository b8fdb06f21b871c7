"""Export a fitted pipeline to other runtimes (ONNX), and run the exported model.

:func:`export_onnx` converts the preparation and the model of a pipeline to ONNX and checks that it
predicts what scikit-learn predicts; :class:`OnnxPredictor` runs the result with ONNX Runtime. The
conversion libraries are imported only when a conversion is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelworks.export.runtime import OnnxPredictor

if TYPE_CHECKING:
    from modelworks.export.onnx import OnnxExport, export_onnx

__all__ = ["OnnxExport", "OnnxPredictor", "export_onnx"]


def __getattr__(name: str) -> Any:
    if name in ("OnnxExport", "export_onnx"):  # skl2onnx is slow to import; load it on demand
        from modelworks.export import onnx

        return getattr(onnx, name)
    raise AttributeError(name)
