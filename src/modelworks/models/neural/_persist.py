"""A network's weights saved as safetensors and its description as JSON, beside the skops file.

For the time of the save, :func:`detached` replaces each fitted network's ``weights_`` and ``config_``
by the name of its files (``network-0``, …), so the skops file holds no tensor and no module; on load,
:func:`attach` reads those files (through the bundle's verified reader), checks the description and
that every tensor has the shape it implies, and puts them back. Neither step imports PyTorch or
unpickles anything: safetensors is a header of names, types and shapes followed by raw numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from modelworks.models.neural import _describe

#: Names a network's files may have in a bundle (the stem; ``.safetensors`` and ``.json`` follow).
STEM = re.compile(r"network-[0-9]{1,4}")


def networks(model: Any) -> list[Any]:
    """The fitted networks inside ``model`` (tabular or image), in a fixed order."""
    from modelworks.models.neural.images import ImageClassifier
    from modelworks.models.neural.keras_images import KerasImageClassifier
    from modelworks.models.neural.tabular import _TabularNetwork
    from modelworks.models.threads import fitted_parts

    kinds = (_TabularNetwork, ImageClassifier, KerasImageClassifier)
    fitted = ("weights_", "model_bytes_")
    return [p for p in fitted_parts(model) if isinstance(p, kinds) and any(hasattr(p, a) for a in fitted)]


def _description(config: Any) -> tuple[str | None, dict[str, tuple[tuple[int, ...], str]]]:
    """What is wrong with a description, and else the tensors (shape, dtype) it implies."""
    kind = config.get("format") if isinstance(config, dict) else None
    if kind == _describe.FORMAT or kind is None:
        problem = _describe.check(config)
        if problem:
            return problem, {}
        return None, {k: (shape, "float32") for k, shape in _describe.shapes(config).items()}
    from modelworks.models.neural import _image_nets  # imports PyTorch: an image network needs it to predict

    problem = _image_nets.check(config)
    return (problem, {}) if problem else (None, _image_nets.tensors(config))


@contextmanager
def detached(model: Any) -> Iterator[dict[str, bytes]]:
    """``model`` with its networks' weights and descriptions replaced by file names, put back on exit;
    yields the files to write (name → bytes)."""
    from safetensors.numpy import save

    files: dict[str, bytes] = {}
    changed: list[tuple[Any, dict[str, Any]]] = []
    try:
        for i, net in enumerate(networks(model)):
            stem = f"network-{i}"
            if hasattr(net, "model_bytes_"):  # Keras: its own archive of configuration and weights
                files[f"{stem}.keras"] = net.model_bytes_
                changed.append((net, {"model_bytes_": net.model_bytes_}))
                net.model_bytes_ = stem
                continue
            arrays = {k: np.array(v, order="C", copy=True) for k, v in net.weights_.items()}  # keeps 0-d
            files[f"{stem}.safetensors"] = save(arrays, metadata={"format": str(net.config_["format"])})
            files[f"{stem}.json"] = json.dumps(net.config_, indent=2, sort_keys=True).encode()
            changed.append((net, {"weights_": net.weights_, "config_": net.config_}))
            net.weights_ = net.config_ = stem
        yield files
    finally:
        for net, attrs in changed:
            for name, value in attrs.items():
                setattr(net, name, value)


class Refused(Exception):
    """A network's files are missing, malformed or do not match its description."""


def attach(model: Any, read: Callable[[str], bytes]) -> Any:
    """Put back the weights and description of every network of a loaded ``model``, each read with
    ``read(name)`` (the bundle's reader, which checks the manifest's sha256). Returns ``model``.

    Raises
    ------
    Refused
        Naming what is wrong.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load

    for net in networks(model):
        if hasattr(net, "model_bytes_"):
            _attach_keras(net, read)
            continue
        stem = net.weights_
        if not (isinstance(stem, str) and STEM.fullmatch(stem) and net.config_ == stem):
            raise Refused("holds a network whose weights are not a file of the bundle")
        try:
            config = json.loads(read(f"{stem}.json"))
        except (ValueError, RecursionError):
            raise Refused(f"has an unreadable {stem}.json") from None
        problem, expected = _description(config)
        if problem:
            raise Refused(f"has a {stem}.json that {problem}")
        try:
            weights = load(read(f"{stem}.safetensors"))
        except (SafetensorError, ValueError):
            raise Refused(f"has an unreadable {stem}.safetensors") from None
        found = {k: (tuple(v.shape), str(v.dtype)) for k, v in weights.items()}
        if found != expected:
            raise Refused(f"has a {stem}.safetensors whose tensors do not match {stem}.json")
        net.weights_, net.config_ = weights, config
    return model


def _attach_keras(net: Any, read: Callable[[str], bytes]) -> None:
    from modelworks.models.neural._keras_check import check_archive

    stem = net.model_bytes_
    if not (isinstance(stem, str) and STEM.fullmatch(stem)):
        raise Refused("holds a Keras network whose model is not a file of the bundle")
    data = read(f"{stem}.keras")
    problem = check_archive(data)
    if problem:
        raise Refused(f"has a {stem}.keras that {problem}")
    net.model_bytes_ = data
