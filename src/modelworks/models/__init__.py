"""The model zoo: a registry of model specifications."""

from modelworks.models.registry import REGISTRY, BuildContext, ModelSpec, candidates

__all__ = ["REGISTRY", "BuildContext", "ModelSpec", "candidates"]
