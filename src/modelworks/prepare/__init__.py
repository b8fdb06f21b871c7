"""Preprocessing that lives inside the scikit-learn Pipeline, so it is fitted inside each CV fold."""

from modelworks.prepare.clean import TableCleaner
from modelworks.prepare.columns import build_preprocessor

__all__ = ["TableCleaner", "build_preprocessor"]
