"""``modelworks predict`` on files read in chunks: real files, real subprocesses."""

from __future__ import annotations

import gzip
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelworks.bundle import MANIFEST, load_bundle, save_bundle
from modelworks.data.demo import make_churn
from modelworks.data.kinds import infer_kinds
from modelworks.data.load import iter_chunks, load
from modelworks.data.schema import build_schema
from modelworks.experiment import build_pipeline
from modelworks.models.registry import REGISTRY
from modelworks.predict import predict_frame

ROWS = 3_000
CHUNK = 257  # not a divisor of ROWS: the last chunk is short


def _bundle(dest: Path, model: str, onnx: bool) -> Path:
    df = make_churn(600, seed=0).drop(columns=["customer_id"])
    X, y = df.drop(columns=["will_churn"]), df["will_churn"]
    columns = [info.to_dict() for info in infer_kinds(X).values()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = build_pipeline(REGISTRY[model], columns, "binary", seed=0, n_jobs=1).fit(X, y)
    schema = build_schema(X, columns, [], "will_churn", "binary", ["no", "yes"], "yes")
    return save_bundle(dest, pipe, schema, {}, onnx_sample=X if onnx else None)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """An ONNX bundle, a bundle without model.onnx, and a CSV whose columns change type late."""
    root = tmp_path_factory.mktemp("batch")
    bundle = _bundle(root / "gbm", "hist_gradient_boosting", onnx=True)
    plain = _bundle(root / "plain", "linear", onnx=False)
    rows = make_churn(ROWS, seed=1).sample(frac=1.0, random_state=2).reset_index(drop=True)
    # read in chunks, these columns look numeric (or complete) until their last rows
    rows["income"] = rows["income"].astype(object)
    rows.loc[ROWS - 3, "income"] = "unknown"
    rows.loc[ROWS - 2, "purchases"] = np.nan
    rows.loc[ROWS - 1, "plan"] = "platinum"  # a level the model has never seen
    csv = root / "rows.csv"
    rows.to_csv(csv, index=False)
    gz = root / "rows.csv.gz"
    gz.write_bytes(gzip.compress(csv.read_bytes()))
    return root, bundle, plain, csv, gz


def test_chunks_parse_as_load_does(files):
    _, _, _, csv, gz = files
    whole = load(csv)
    for source in (csv, gz):
        chunks = iter_chunks(source, CHUNK)
        parts = list(chunks)
        assert len(parts) == -(-ROWS // CHUNK)
        assert chunks.done == chunks.size and chunks.unit == "bytes"
        pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)


def test_chunked_predictions_equal_unchunked_in_order(cli, files):
    root, bundle, _, csv, gz = files
    whole = cli("predict", bundle, csv, "--out", root / "whole.csv", cwd=root)
    assert whole.returncode == 0, whole.stderr
    assert "(onnx runtime)" in whole.stderr
    chunked = cli("predict", bundle, csv, "--chunk-rows", CHUNK, "--out", root / "chunked.csv", cwd=root)
    assert chunked.returncode == 0, chunked.stderr
    packed = cli("predict", bundle, gz, "--chunk-rows", CHUNK, "--out", root / "gz.csv", cwd=root)
    assert packed.returncode == 0, packed.stderr
    expected = (root / "whole.csv").read_bytes()
    assert (root / "chunked.csv").read_bytes() == expected
    assert (root / "gz.csv").read_bytes() == expected
    # the notices add up over chunks as for the whole file
    assert "1 row(s) with categories unseen" in chunked.stderr
    assert chunked.stderr.count("notice:") == whole.stderr.count("notice:")
    # rows keep the input order: the same labels as predicting the loaded table in one go
    in_process, _ = predict_frame(load_bundle(bundle), load(csv))
    written = pd.read_csv(root / "chunked.csv")
    assert len(written) == ROWS
    assert written["prediction"].tolist() == in_process["prediction"].tolist()
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".")) == []


def test_stdout_streams_probabilities(cli, files):
    root, bundle, _, csv, _ = files
    result = cli("predict", bundle, csv, "--proba", "--chunk-rows", 1000, "--runtime", "sklearn", cwd=root)
    assert result.returncode == 0, result.stderr
    got = pd.read_csv(io.StringIO(result.stdout))
    assert list(got.columns) == ["no", "yes"] and len(got) == ROWS
    want, _ = predict_frame(load_bundle(bundle, runtime="sklearn"), load(csv), proba=True)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=0, atol=1e-15)
    onnx, _ = predict_frame(load_bundle(bundle, runtime="onnx"), load(csv), proba=True)
    assert np.abs(onnx.to_numpy() - want.to_numpy()).max() <= 1e-5


def test_onnx_runtime_without_model_onnx_is_refused(cli, files):
    root, _, plain, csv, _ = files
    assert "model.onnx" not in json.loads((plain / MANIFEST).read_text())["files"]
    result = cli("predict", plain, csv, "--runtime", "onnx", "--out", root / "none.csv", cwd=root)
    assert result.returncode == 2
    assert "holds no model.onnx" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (root / "none.csv").exists()


def test_bad_row_late_in_the_file_writes_nothing(cli, files, tmp_path):
    root, bundle, _, csv, _ = files
    lines = csv.read_text().splitlines()
    lines[-10] += ",1,2,3"  # more fields than the header, far past the first chunk
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out" / "pred.csv"
    result = cli("predict", bundle, broken, "--chunk-rows", CHUNK, "--out", out, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "error:" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
    assert list(out.parent.iterdir()) == []  # no temporary file left either
    bad = cli("predict", bundle, csv, "--chunk-rows", 0, cwd=tmp_path)
    assert bad.returncode == 2 and "--chunk-rows must be at least 1" in bad.stderr
