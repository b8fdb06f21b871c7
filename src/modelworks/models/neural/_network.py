"""The tabular network as a PyTorch module, built from its JSON description.

The description (:func:`describe`) is what the bundle saves beside the weights; :func:`shapes` says,
without PyTorch, which tensors a description needs, so a loaded bundle is checked before anything is
built from it.
"""

from __future__ import annotations

import torch
from torch import nn

from modelworks.models.neural._describe import ACTIVATION_NAMES

ACTIVATIONS = dict(zip(ACTIVATION_NAMES, (nn.SELU, nn.Mish, nn.ReLU, nn.GELU), strict=True))


class TabularNet(nn.Module):
    """Embeddings of the categorical codes beside the smoothly clipped numbers, then a plain MLP.

    The numeric inputs arrive robustly scaled (:func:`modelworks.models.neural.tabular.robust_scale`);
    ``x / sqrt(1 + (x / 3)^2)`` then bounds outliers smoothly and a
    learned scale per feature follows (RealMLP's first two steps, Holzmüller et al. 2024). Code 0 of
    every categorical input is "missing or unseen".
    """

    def __init__(self, config: dict):
        super().__init__()
        self.embeddings = nn.ModuleList(
            nn.Embedding(card, dim)
            for card, dim in zip(config["cardinalities"], config["embedding_dims"], strict=True)
        )
        self.scale = nn.Parameter(torch.ones(config["n_numeric"]))
        width = config["n_numeric"] + sum(config["embedding_dims"])
        layers: list[nn.Module] = []
        for size in config["hidden"]:
            layers += [
                nn.Linear(width, size),
                ACTIVATIONS[config["activation"]](),
                nn.Dropout(config["dropout"]),
            ]
            width = size
        layers.append(nn.Linear(width, config["n_outputs"]))
        self.body = nn.Sequential(*layers)

    def forward(self, numeric: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        x = numeric / torch.sqrt(1 + (numeric / 3) ** 2) * self.scale
        parts = [x] + [emb(codes[:, i]) for i, emb in enumerate(self.embeddings)]
        return self.body(torch.cat(parts, dim=1))


def build(config: dict, weights: dict | None = None) -> TabularNet:
    """The module of ``config``, with ``weights`` (name → NumPy array) when given."""
    net = TabularNet(config)
    if weights is not None:
        net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()}, strict=True)
    return net
