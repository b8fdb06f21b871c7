"""What the ONNX converters share: the refusal exception and the missing-value test."""

from __future__ import annotations

import numpy as np


class NotExportable(Exception):
    """The pipeline cannot be exported; the message is the reason, one sentence."""


def is_nan(value) -> bool:
    return isinstance(value, float | np.floating) and bool(np.isnan(value))
