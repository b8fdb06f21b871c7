"""The old path of :mod:`modelworks.models.neural.images`, kept so bundles that name it still load."""

from modelworks.models.neural.images import ImageClassifier

__all__ = ["ImageClassifier"]
