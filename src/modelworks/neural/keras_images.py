"""The old path of :mod:`modelworks.models.neural.keras_images`, kept so bundles that name it still load."""

from modelworks.models.neural.keras_images import KerasImageClassifier

__all__ = ["KerasImageClassifier"]
