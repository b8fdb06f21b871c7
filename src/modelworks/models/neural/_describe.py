"""The JSON description of a tabular network and the tensor shapes it implies (no PyTorch needed)."""

from __future__ import annotations

from typing import Any

FORMAT = "modelworks.tabular_mlp"
VERSION = 1
ACTIVATION_NAMES = ("selu", "mish", "relu", "gelu")
KEYS = ("n_numeric", "cardinalities", "embedding_dims", "hidden", "activation", "dropout", "n_outputs")


def shapes(config: dict) -> dict[str, tuple[int, ...]]:
    """Name → shape of every tensor the module of ``config`` holds (as ``state_dict`` names them)."""
    out: dict[str, tuple[int, ...]] = {}
    for i, (card, dim) in enumerate(zip(config["cardinalities"], config["embedding_dims"], strict=True)):
        out[f"embeddings.{i}.weight"] = (card, dim)
    out["scale"] = (config["n_numeric"],)
    width = config["n_numeric"] + sum(config["embedding_dims"])
    layer = 0
    for size in config["hidden"]:
        out[f"body.{layer}.weight"], out[f"body.{layer}.bias"] = (size, width), (size,)
        width, layer = size, layer + 3  # Linear, activation, dropout
    out[f"body.{layer}.weight"], out[f"body.{layer}.bias"] = (
        (config["n_outputs"], width),
        (config["n_outputs"],),
    )
    return out


def check(config: Any) -> str | None:
    """What is wrong with a description read from a file, or ``None``."""
    if not isinstance(config, dict) or config.get("format") != FORMAT or config.get("version") != VERSION:
        return f"is not a {FORMAT} description of version {VERSION}"
    if any(k not in config for k in KEYS):
        return "lacks " + ", ".join(k for k in KEYS if k not in config)

    def counts(v: Any) -> bool:
        return isinstance(v, list) and all(
            isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in v
        )

    if not (isinstance(config["n_numeric"], int) and config["n_numeric"] >= 0):
        return "has an invalid n_numeric"
    if not (
        counts(config["cardinalities"]) and counts(config["embedding_dims"]) and counts(config["hidden"])
    ):
        return "has invalid layer sizes"
    if len(config["cardinalities"]) != len(config["embedding_dims"]):
        return "does not give one embedding size per categorical input"
    if config["activation"] not in ACTIVATION_NAMES:
        return f"names an unknown activation {config['activation']!r}"
    if not (isinstance(config["n_outputs"], int) and config["n_outputs"] > 0):
        return "has an invalid n_outputs"
    if not (isinstance(config["dropout"], int | float) and 0 <= config["dropout"] < 1):
        return "has an invalid dropout"
    return None
