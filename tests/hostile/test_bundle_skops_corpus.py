"""Crafted model files: each would run code, open files, unpickle or read memory out of bounds if
loaded, and each must be refused by ``load_model`` with one clean line, the payload never running.

Every payload is written into a real modelworks pipeline's skops file (as an attribute of the
pipeline, its cleaner, a nested transformer or the model, or as an element of an object array) and the
bundle's manifest is rewritten as an attacker would: file hashes, ``trusted_types`` (everything the
crafted file asks for) and the manifest's own hash. A payload that would run creates a marker file;
each test checks that the marker was not created. ``test_payload_is_live`` shows, for the payloads
that act while loading, that skops trusting what the file asks for does create the marker, so the
corpus stays a real one.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import pickle
import shutil
import time
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelworks import load_model
from modelworks.bundle import MANIFEST, MODEL_FILE, TRUSTED_TYPES, save_bundle
from modelworks.bundle._sign import seal
from modelworks.bundle._skops import skops_io
from modelworks.data.kinds import infer_kinds
from modelworks.errors import BundleError
from modelworks.experiment import build_pipeline
from modelworks.models.registry import REGISTRY

sio = skops_io()  # as modelworks imports it (no default trust in scikit-learn's estimators)

# -- a real base bundle ------------------------------------------------------------------------------


def _frame(n: int = 60, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "num": rng.normal(size=n),
            "cat": rng.choice(["a", "b", "c"], size=n),
            "other": rng.choice(["x", "y"], size=n),
        }
    )
    y = pd.Series(np.where(X["num"] + 0.3 * rng.normal(size=n) > 0, "yes", "no"))
    return X, y


def _fit(model: str):
    X, y = _frame()
    columns = [c.to_dict() for c in infer_kinds(X).values()]
    pipe = build_pipeline(REGISTRY[model], columns, "binary", seed=0, n_jobs=1)
    if model == "random_forest":
        pipe.steps[-1][1].set_params(n_estimators=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X, y)
    schema = {"columns": columns, "target": {"name": "y", "task": "binary", "labels": ["no", "yes"]}}
    return pipe, schema, X


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, Path]:
    """Real bundles (read-only) of a linear pipeline, a decision tree, a gradient-boosting model and
    nearest neighbours (a KD tree: the input is dense)."""
    root = tmp_path_factory.mktemp("base")
    out = {}
    for model in ("linear", "decision_tree", "hist_gradient_boosting", "knn"):
        pipe, schema, _ = _fit(model)
        out[model] = save_bundle(root / model, pipe, schema, {})
    return out


@pytest.fixture
def bundle(saved, tmp_path) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(saved["linear"], copy)
    return copy


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "PAYLOAD-RAN"


# -- reading and writing skops files -----------------------------------------------------------------


def _parts(data: bytes) -> tuple[dict, dict[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    return json.loads(members.pop("schema.json")), members


def _pack(schema: dict, members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as zf:
        zf.writestr("schema.json", json.dumps(schema))
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _install(bundle: Path, data: bytes) -> None:
    """Put ``data`` in the bundle as model.skops and rewrite the manifest to match, as an attacker
    would: file hash, every type the file asks to trust, and the manifest's own hash."""
    (bundle / MODEL_FILE).write_bytes(data)
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest["files"][MODEL_FILE] = hashlib.sha256(data).hexdigest()
    try:
        asked = sio.get_untrusted_types(data=data)
    except Exception:
        asked = []
    manifest["trusted_types"] = sorted(set(manifest["trusted_types"]) | set(asked))
    (bundle / MANIFEST).write_text(json.dumps(seal(manifest), indent=2))


def _refused(bundle: Path, marker: Path | None = None, *words: str) -> str:
    """Load must fail with one clean line (naming ``words``) and the payload must not have run."""
    with pytest.raises(BundleError) as info:
        load_model(bundle)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message, message
    assert len(message) < 600, message
    for word in words:
        assert word in message, message
    if marker is not None:
        time.sleep(0.05)  # a spawned process would have had time to run
        assert not marker.exists(), "the payload ran"
    return message


# -- skops state builders ----------------------------------------------------------------------------


def j(value) -> dict:
    return {
        "__class__": "str",
        "__module__": "builtins",
        "__loader__": "JsonNode",
        "content": json.dumps(value),
        "is_json": True,
    }


def tup(*items: dict) -> dict:
    return {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode", "content": list(items)}


def lst(*items: dict) -> dict:
    return {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "content": list(items)}


def type_node(module: str, name: str) -> dict:
    return {"__class__": name, "__module__": module, "__loader__": "TypeNode"}


def func(module: str, name: str) -> dict:
    return {"__class__": name, "__module__": module, "__loader__": "FunctionNode"}


def call(module: str, name: str, *args: dict) -> dict:
    """``module.name(*args)`` when built (skops' ConstructorFromReduceNode)."""
    return {
        "__class__": name,
        "__module__": module,
        "__loader__": "ConstructorFromReduceNode",
        "content": tup(*args),
    }


def dict_node(content: dict[str, dict], key_types: list[dict] | None = None) -> dict:
    keys = key_types if key_types is not None else [type_node("builtins", "str") for _ in content]
    return {
        "__class__": "dict",
        "__module__": "builtins",
        "__loader__": "DictNode",
        "content": content,
        "key_types": lst(*keys),
    }


def partial_node(fn: dict, *args: dict) -> dict:
    return {
        "__class__": "partial",
        "__module__": "functools",
        "__loader__": "PartialNode",
        "content": {"func": fn, "args": tup(*args), "kwds": dict_node({}), "namespace": j(None)},
    }


def keyed_call(callable_node: dict, argument: str) -> dict:
    """A dict whose key type is ``callable_node``: skops builds the key as ``callable(argument)``."""
    return dict_node({argument: j(1)}, key_types=[callable_node])


def operator_node(name: str, *args: dict) -> dict:
    return {
        "__class__": name,
        "__module__": "operator",
        "__loader__": "OperatorFuncNode",
        "attrs": tup(*args),
    }


class _Touch:
    """Unpickling it creates the file at ``path``."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


# -- injection sites ---------------------------------------------------------------------------------


def _attrs_of(node: dict) -> dict:
    """The attribute dict of an ObjectNode (with its key types)."""
    return node["content"]


def _steps(schema: dict) -> list[dict]:
    return [step["content"][1] for step in _attrs_of(schema)["content"]["steps"]["content"]]


def _nested_transformer(schema: dict) -> dict:
    prepare = _steps(schema)[1]  # ColumnTransformer
    first = _attrs_of(prepare)["content"]["transformers_"]["content"][0]["content"][1]  # make_pipeline
    return _steps(first)[0]  # its SimpleImputer


def _object_array(schema: dict) -> list:
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("__loader__") == "NdArrayNode" and item.get("type") == "json":
                return item["content"]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    raise AssertionError("no object array in the base pipeline")


SITES: dict[str, Callable[[dict], dict | list]] = {
    "pipeline attribute": lambda s: s,
    "cleaner attribute": lambda s: _steps(s)[0],
    "nested transformer attribute": _nested_transformer,
    "model attribute": lambda s: _steps(s)[-1],
    "object array element": _object_array,
}


def _inject(schema: dict, site: str, payload: dict) -> None:
    target = SITES[site](schema)
    if isinstance(target, list):
        target.append(payload)
        return
    attrs = _attrs_of(target)
    attrs["content"]["_payload"] = payload
    attrs["key_types"]["content"].append(type_node("builtins", "str"))


# -- the corpus --------------------------------------------------------------------------------------


@dataclass
class Case:
    """One crafted payload. ``build(marker, workdir, members)`` returns its skops state (and may add
    zip members); ``live``: it acts while the file is loaded; ``names``: words the refusal names."""

    category: str
    build: Callable[[Path, Path, dict[str, bytes]], dict]
    live: bool
    names: tuple[str, ...] = ()


def _code(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').close()"


def _pickle_file(marker: Path, workdir: Path) -> Path:
    path = workdir / "evil.pkl"
    path.write_bytes(pickle.dumps(_Touch(str(marker))))
    return path


def _npy_file(marker: Path, workdir: Path) -> Path:
    path = workdir / "evil.npy"
    np.save(path, np.array([_Touch(str(marker))], dtype=object), allow_pickle=True)
    return path


def _bytes_member(members: dict[str, bytes], data: bytes) -> dict:
    members["payload.bin"] = data
    return {"__class__": "bytes", "__module__": "builtins", "__loader__": "BytesNode", "file": "payload.bin"}


CORPUS: dict[str, Case] = {
    # code execution through builtins
    "builtins.exec": Case(
        "code", lambda m, w, z: call("builtins", "exec", j(_code(m))), True, ("builtins.exec",)
    ),
    "builtins.eval": Case(
        "code", lambda m, w, z: call("builtins", "eval", j(_code(m))), True, ("builtins.eval",)
    ),
    "builtins.compile+exec": Case(
        "code",
        lambda m, w, z: call("builtins", "exec", call("builtins", "compile", j(_code(m)), j("x"), j("exec"))),
        True,
        ("builtins.exec",),
    ),
    "exec through a reduce loader": Case(
        "code",
        lambda m, w, z: {
            "__class__": "exec",
            "__module__": "builtins",
            "__loader__": "LossNode",
            "__reduce__": {"args": tup(j(_code(m)))},
            "content": dict_node({}),
        },
        True,
        ("builtins.exec",),
    ),
    # __import__ and getattr chains (the call happens when skops builds a dict key)
    "getattr(__import__('os'), 'system')": Case(
        "import/getattr",
        lambda m, w, z: keyed_call(
            call("builtins", "getattr", call("builtins", "__import__", j("os")), j("system")), f"touch {m}"
        ),
        True,
        ("builtins.getattr",),
    ),
    "getattr(__import__('builtins'), 'exec')": Case(
        "import/getattr",
        lambda m, w, z: keyed_call(
            call("builtins", "getattr", call("builtins", "__import__", j("builtins")), j("exec")), _code(m)
        ),
        True,
        ("builtins.getattr",),
    ),
    "importlib.import_module": Case(
        "import/getattr",
        lambda m, w, z: keyed_call(
            call("builtins", "getattr", call("importlib", "import_module", j("os")), j("system")),
            f"touch {m}",
        ),
        True,
        ("builtins.getattr",),
    ),
    # processes
    "os.system": Case("process", lambda m, w, z: call("os", "system", j(f"touch {m}")), True, ("os.system",)),
    "posix.system": Case(
        "process", lambda m, w, z: call("posix", "system", j(f"touch {m}")), True, ("posix.system",)
    ),
    "subprocess.Popen": Case(
        "process",
        lambda m, w, z: call("subprocess", "Popen", lst(j("touch"), j(str(m)))),
        True,
        ("subprocess.Popen",),
    ),
    "subprocess.getoutput": Case(
        "process",
        lambda m, w, z: call("subprocess", "getoutput", j(f"touch {m}")),
        True,
        ("subprocess.getoutput",),
    ),
    # files and unpickling
    "builtins.open": Case(
        "file/unpickle", lambda m, w, z: call("builtins", "open", j(str(m)), j("w")), True, ("builtins.open",)
    ),
    "pandas.read_pickle": Case(
        "file/unpickle",
        lambda m, w, z: call("pandas", "read_pickle", j(str(_pickle_file(m, w)))),
        True,
        ("pandas.read_pickle",),
    ),
    "numpy.load(allow_pickle=True)": Case(
        "file/unpickle",
        lambda m, w, z: call("numpy", "load", j(str(_npy_file(m, w))), j(None), j(True)),
        True,
        ("numpy.load",),
    ),
    "pickle.loads": Case(
        "file/unpickle",
        lambda m, w, z: call("pickle", "loads", _bytes_member(z, pickle.dumps(_Touch(str(m))))),
        True,
        ("pickle.loads",),
    ),
    # operator callables (they act when the model calls them)
    "operator.methodcaller": Case(
        "operator",
        lambda m, w, z: operator_node("methodcaller", j("to_pickle"), j(str(m))),
        False,
        ("operator",),
    ),
    "operator.attrgetter": Case(
        "operator", lambda m, w, z: operator_node("attrgetter", j("__globals__")), False, ("operator",)
    ),
    "operator.itemgetter": Case(
        "operator", lambda m, w, z: operator_node("itemgetter", j("__builtins__")), False, ("operator",)
    ),
    # functools.partial (trusted for HistGradientBoosting) around what is not
    "partial(os.system)": Case(
        "partial",
        lambda m, w, z: keyed_call(partial_node(func("posix", "system")), f"touch {m}"),
        True,
        ("posix.system",),
    ),
    "partial(builtins.eval)": Case(
        "partial",
        lambda m, w, z: keyed_call(partial_node(func("builtins", "eval")), _code(m)),
        True,
        ("builtins.eval",),
    ),
    "partial of exec given as a type": Case(
        "partial",
        lambda m, w, z: keyed_call(partial_node(type_node("builtins", "exec")), _code(m)),
        True,
        ("builtins.exec",),
    ),
    "partial(partial(os.system))": Case(
        "partial",
        lambda m, w, z: keyed_call(partial_node(partial_node(func("posix", "system"))), f"touch {m}"),
        True,
        ("posix.system",),
    ),
    "partial built by its constructor": Case(
        "partial",
        lambda m, w, z: keyed_call(call("functools", "partial", func("posix", "system")), f"touch {m}"),
        True,
        ("functools.partial",),
    ),
    # a bound method named in the file
    "pathlib.Path.write_text": Case(
        "method",
        lambda m, w, z: keyed_call(
            {
                "__class__": "PosixPath",
                "__module__": "pathlib",
                "__loader__": "MethodNode",
                "content": {"func": "write_text", "obj": call("pathlib", "PosixPath", j(str(m)))},
            },
            "x",
        ),
        True,
        ("pathlib.PosixPath",),
    ),
    # trusted names built through another loader than their own (they would open files)
    "lightgbm Booster(model_file=...)": Case(
        "trusted name, other loader",
        lambda m, w, z: call("lightgbm.basic", "Booster", j(None), j(None), j(str(w / "model.txt"))),
        False,
        ("lightgbm.basic.Booster", "ConstructorFromReduceNode"),
    ),
    "xgboost Booster through a reduce loader": Case(
        "trusted name, other loader",
        lambda m, w, z: {
            "__class__": "Booster",
            "__module__": "xgboost.core",
            "__loader__": "LossNode",
            "__reduce__": {"args": tup(j(None), j(None), j(str(w / "model.json")))},
            "content": dict_node({}),
        },
        False,
        ("xgboost.core.Booster", "LossNode"),
    ),
    "check_array given as a type": Case(
        "trusted name, other loader",
        lambda m, w, z: keyed_call(type_node("sklearn.utils.validation", "check_array"), "x"),
        False,
        ("check_array", "TypeNode"),
    ),
}
IDS = list(CORPUS)


@pytest.mark.parametrize("name", IDS)
def test_crafted_payload_is_refused(bundle, marker, tmp_path, name):
    case = CORPUS[name]
    schema, members = _parts((bundle / MODEL_FILE).read_bytes())
    site = list(SITES)[IDS.index(name) % len(SITES)]
    _inject(schema, site, case.build(marker, tmp_path, members))
    _install(bundle, _pack(schema, members))
    message = _refused(bundle, marker, *case.names)
    assert str(bundle) in message and "refusing to load it" in message


@pytest.mark.parametrize("site", list(SITES))
def test_exec_is_refused_wherever_it_hides(bundle, marker, site):
    schema, members = _parts((bundle / MODEL_FILE).read_bytes())
    _inject(schema, site, call("builtins", "exec", j(_code(marker))))
    _install(bundle, _pack(schema, members))
    _refused(bundle, marker, "builtins.exec")


@pytest.mark.parametrize("name", [n for n in IDS if CORPUS[n].live])
def test_payload_is_live(bundle, marker, tmp_path, name):
    """Trusting what the crafted file asks for runs the payload: the refusals above are the defence."""
    schema, members = _parts((bundle / MODEL_FILE).read_bytes())
    _inject(schema, "model attribute", CORPUS[name].build(marker, tmp_path, members))
    data = _pack(schema, members)
    with contextlib.suppress(Exception):  # some payloads run, then break the object they sit in
        sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    for _ in range(100):
        if marker.exists():
            break
        time.sleep(0.02)
    assert marker.exists()


@pytest.mark.parametrize("name", [n for n in IDS if CORPUS[n].category != "trusted name, other loader"])
def test_allow_list_alone_refuses_the_payload(bundle, marker, tmp_path, name):
    """Two layers: most payloads are stopped by the loader check first, but the allow-list of names
    would stop each of them on its own."""
    schema, members = _parts((bundle / MODEL_FILE).read_bytes())
    _inject(schema, "model attribute", CORPUS[name].build(marker, tmp_path, members))
    asked = set(sio.get_untrusted_types(data=_pack(schema, members)))
    assert asked - set(TRUSTED_TYPES)


def test_trusted_name_with_its_constructor_opens_files(bundle, tmp_path):
    """Why trusted names are tied to their loader: a names-only list lets a file construct LightGBM's
    booster from a path of its choosing."""
    schema, members = _parts((bundle / MODEL_FILE).read_bytes())
    secret = tmp_path / "not-a-model.txt"
    secret.write_text("private")
    _inject(schema, "model attribute", call("lightgbm.basic", "Booster", j(None), j(None), j(str(secret))))
    data = _pack(schema, members)
    with pytest.raises(Exception, match="Model file doesn't specify|Unknown model format|not-a-model"):
        sio.loads(data, trusted=list(TRUSTED_TYPES))


# -- files that are not skops files, or are malformed ------------------------------------------------


def _replace_schema(bundle: Path, change: Callable[[dict], object]) -> None:
    schema, members = _parts((bundle / MODEL_FILE).read_bytes())
    result = change(schema)
    _install(bundle, _pack(result if isinstance(result, dict) else schema, members))


NOT_SKOPS: dict[str, Callable[[Path, Path], bytes]] = {
    "pickle with a payload": lambda b, m: pickle.dumps(_Touch(str(m))),
    "empty file": lambda b, m: b"",
    "random bytes": lambda b, m: np.random.default_rng(0).bytes(4096),
    "truncated zip": lambda b, m: (b / MODEL_FILE).read_bytes()[:2000],
    "zip without schema.json": lambda b, m: _zip_of({"other.json": b"{}"}),
    "schema.json not JSON": lambda b, m: _zip_of({"schema.json": b"{not json"}),
    "schema.json a list": lambda b, m: _zip_of({"schema.json": b"[1, 2]"}),
    "schema.json nested 100,000 deep": lambda b, m: _zip_of({"schema.json": b"[" * 100_000 + b"]" * 100_000}),
    "compressed members (zip bomb)": lambda b, m: _pack(
        *_parts((b / MODEL_FILE).read_bytes()), zipfile.ZIP_DEFLATED
    ),
}


def _zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("name", list(NOT_SKOPS))
def test_file_that_is_not_a_skops_file_is_refused(bundle, marker, name):
    _install(bundle, NOT_SKOPS[name](bundle, marker))
    message = _refused(bundle, marker, "model.skops")
    assert "BadZipFile" not in message


def test_pickle_model_file_names_the_problem(bundle, marker):
    _install(bundle, pickle.dumps(_Touch(str(marker))))
    assert "not a skops file" in _refused(bundle, marker)


MALFORMED: dict[str, Callable[[dict], object]] = {
    "protocol from the future": lambda s: s.update(protocol=99),
    "protocol not a number": lambda s: s.update(protocol="2; rm -rf /"),
    "unknown loader": lambda s: _inject(
        s, "model attribute", {"__class__": "X", "__module__": "m", "__loader__": "EvilNode"}
    ),
    "cached node to an unknown object": lambda s: _inject(
        s, "model attribute", {"__class__": "X", "__module__": "m", "__loader__": "CachedNode", "__id__": 1}
    ),
    "class name with a newline": lambda s: _inject(
        s, "model attribute", call("builtins", "exec\nmodelworks: all good", j("1"))
    ),
    "node without a class": lambda s: _inject(
        s, "model attribute", {"__loader__": "ObjectNode", "__module__": "os"}
    ),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_skops_file_is_refused_in_one_line(bundle, name):
    _replace_schema(bundle, MALFORMED[name])
    _refused(bundle, None, "model.skops")


def test_manifest_cannot_widen_the_allow_list(bundle):
    """A clean model file whose manifest asks to trust more is refused all the same."""
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest["trusted_types"] += ["builtins.exec", "pandas.read_pickle"]
    (bundle / MANIFEST).write_text(json.dumps(seal(manifest)))
    _refused(bundle, None, "asks to trust", "builtins.exec", "pandas.read_pickle")


# -- crafted trees (out-of-bounds reads at prediction time) ------------------------------------------


def _find(schema: dict, predicate: Callable[[dict], bool]) -> list[dict]:
    found, stack = [], [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if predicate(item):
                found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _edit_array(bundle: Path, predicate: Callable[[dict], bool], edit: Callable[[np.ndarray], None]) -> None:
    """Edit the node array (the index array of a KD tree) of the first node matching ``predicate``."""
    schema, members = _parts((bundle / MODEL_FILE).read_bytes())
    owner = _find(schema, predicate)[0]
    if owner["__class__"] == "KDTree":
        file = owner["content"]["content"][1]["file"]
    else:
        file = owner["content"]["content"]["nodes"]["file"]
    nodes = np.load(io.BytesIO(members[file]), allow_pickle=False)
    edit(nodes)
    buffer = io.BytesIO()
    np.save(buffer, nodes, allow_pickle=False)
    members[file] = buffer.getvalue()
    _install(bundle, _pack(schema, members))


def _is_tree(node: dict) -> bool:
    return node.get("__loader__") == "TreeNode"


def _is_predictor(node: dict) -> bool:
    return node.get("__class__") == "TreePredictor"


def _is_kdtree(node: dict) -> bool:
    return node.get("__class__") == "KDTree"


def _kd_index(value: int) -> Callable[[np.ndarray], None]:
    def edit(idx: np.ndarray) -> None:
        idx[0] = value

    return edit


def _first_internal(nodes: np.ndarray, leaf_field: str) -> int:
    if leaf_field == "is_leaf":
        return int(np.flatnonzero(nodes["is_leaf"] == 0)[0])
    return int(np.flatnonzero(nodes["left_child"] != -1)[0])


def _set(
    field: str, value: Callable[[np.ndarray, int], int], leaf_field: str
) -> Callable[[np.ndarray], None]:
    def edit(nodes: np.ndarray) -> None:
        i = _first_internal(nodes, leaf_field)
        nodes[field][i] = value(nodes, i)

    return edit


TREES: dict[str, tuple[str, Callable[[dict], bool], Callable[[np.ndarray], None]]] = {
    "tree child past the end": (
        "decision_tree",
        _is_tree,
        _set("left_child", lambda n, i: 10_000_000, "left_child"),
    ),
    "tree child loops back": ("decision_tree", _is_tree, _set("right_child", lambda n, i: i, "left_child")),
    "tree feature past the input": (
        "decision_tree",
        _is_tree,
        _set("feature", lambda n, i: 5_000, "left_child"),
    ),
    "tree negative feature": ("decision_tree", _is_tree, _set("feature", lambda n, i: -7, "left_child")),
    "KD tree sample index past the data": ("knn", _is_kdtree, _kd_index(10**9)),
    "KD tree sample index negative": ("knn", _is_kdtree, _kd_index(-5)),
    "boosting child past the end": (
        "hist_gradient_boosting",
        _is_predictor,
        _set("left", lambda n, i: 4_000_000_000, "is_leaf"),
    ),
    "boosting feature past the input": (
        "hist_gradient_boosting",
        _is_predictor,
        _set("feature_idx", lambda n, i: 10_000, "is_leaf"),
    ),
}


@pytest.mark.parametrize("name", list(TREES))
def test_crafted_tree_is_refused_before_it_predicts(saved, tmp_path, name):
    model, predicate, edit = TREES[name]
    copy = tmp_path / "bundle"
    shutil.copytree(saved[model], copy)
    _edit_array(copy, predicate, edit)
    message = _refused(copy, None, "tree")
    assert "refusing to load it" in message


def test_untouched_bundles_load_and_predict(saved):
    X, _ = _frame()
    for path in saved.values():
        assert len(load_model(path).predict(X)) == len(X)
