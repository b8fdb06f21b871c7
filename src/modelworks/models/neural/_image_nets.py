"""The image networks: the article's small convolutional network and a small residual network.

Both are built from a JSON description (:func:`describe`), which the bundle saves beside the weights.
"""

from __future__ import annotations

import torch
from torch import nn

FORMAT = "modelworks.image_net"
VERSION = 1
ARCHITECTURES = ("cnn", "resnet")
#: Bounds a description read from a file must keep.
MAX_SIDE, MAX_CLASSES = 1024, 10_000


class ArticleCNN(nn.Module):
    """Convolution 32 → pooling → convolution 64 → pooling → dense 128 → softmax, the classic worked
    example, with batch normalisation after each convolution and dropout before the last layer. It is
    adapted to the input size: a side under 4 pixels is not pooled further, and the feature map is
    averaged down to at most 7×7 before the dense layer (28×28 inputs are not averaged at all)."""

    def __init__(self, config: dict):
        super().__init__()
        c = config["channels"]
        h, w = config["height"], config["width"]
        layers: list[nn.Module] = []
        for width_in, width_out in ((c, 32), (32, 64)):
            layers += [nn.Conv2d(width_in, width_out, 3, padding=1), nn.BatchNorm2d(width_out), nn.ReLU()]
            if min(h, w) >= 4:
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
        pooled = (min(h, 7), min(w, 7))
        layers += [nn.AdaptiveAvgPool2d(pooled), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Linear(64 * pooled[0] * pooled[1], 128),
            nn.ReLU(),
            nn.Dropout(0.3),
            nn.Linear(128, config["n_classes"]),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class _Block(nn.Module):
    def __init__(self, width_in: int, width_out: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width_in, width_out, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(width_out),
            nn.ReLU(),
            nn.Conv2d(width_out, width_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(width_out),
        )
        self.skip = (
            nn.Identity()
            if stride == 1 and width_in == width_out
            else nn.Sequential(
                nn.Conv2d(width_in, width_out, 1, stride=stride, bias=False), nn.BatchNorm2d(width_out)
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.skip(x))


class SmallResNet(nn.Module):
    """A residual network of three stages (32, 64, 128 channels; each after the first halves the side
    while it is at least 8 pixels), global average pooling, then a linear layer (He et al. 2016, at a
    size two cores train in minutes)."""

    def __init__(self, config: dict):
        super().__init__()
        side = min(config["height"], config["width"])
        self.stem = nn.Sequential(
            nn.Conv2d(config["channels"], 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU()
        )
        blocks: list[nn.Module] = []
        width = 32
        for width_out in (32, 64, 128):
            stride = 2 if width_out != 32 and side >= 8 else 1
            side = side // stride
            blocks.append(_Block(width, width_out, stride))
            width = width_out
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(width, config["n_classes"])
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


def build(config: dict, weights: dict | None = None) -> nn.Module:
    """The module of ``config``, with ``weights`` (name → NumPy array) when given."""
    net = (ArticleCNN if config["architecture"] == "cnn" else SmallResNet)(config)
    if weights is not None:
        net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()}, strict=True)
    return net


def tensors(config: dict) -> dict[str, tuple[tuple[int, ...], str]]:
    """Name → (shape, NumPy dtype) of every tensor of the module of ``config`` (built on PyTorch's
    meta device: no memory is allocated)."""
    with torch.device("meta"):
        net = build(config)
    return {k: (tuple(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in net.state_dict().items()}


def check(config) -> str | None:
    """What is wrong with a description read from a file, or ``None``."""
    if not isinstance(config, dict) or config.get("format") != FORMAT or config.get("version") != VERSION:
        return f"is not a {FORMAT} description of version {VERSION}"

    def count(key: str, most: int) -> bool:
        v = config.get(key)
        return isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= most

    if config.get("architecture") not in ARCHITECTURES:
        return f"names an unknown architecture {config.get('architecture')!r}"
    if not (count("height", MAX_SIDE) and count("width", MAX_SIDE)):
        return "has an invalid image size"
    if config.get("channels") not in (1, 3):
        return "has an invalid number of channels"
    if not count("n_classes", MAX_CLASSES):
        return "has an invalid number of classes"
    return None
