"""Batch prediction (modelworks.predict.predict_batch, behind ``modelworks predict``): chunks give what
one call gives, a file appears only when complete, and a caller is told what it shows."""

from __future__ import annotations

import io
from contextlib import contextmanager

import pandas as pd
import pytest

from modelworks.bundle import load_bundle
from modelworks.errors import ConfigError, ModelworksError
from modelworks.predict import BatchPrediction, predict_batch, predict_frame


@pytest.fixture(scope="module")
def rows(churn_df, tmp_path_factory):
    path = tmp_path_factory.mktemp("rows") / "rows.csv"
    churn_df.drop(columns="will_churn").head(250).to_csv(path, index=False)
    return path


class Watch:
    """A progress display: counts the chunks it saw read."""

    def __init__(self) -> None:
        self.entered, self.updates, self.image_told = 0, [], []

    def image_notices(self, notices: list[str]) -> None:
        self.image_told.append(notices)

    @contextmanager
    def reading(self, chunks):
        self.entered += 1
        chunks.on_progress = lambda c: self.updates.append((c.phase, c.done, c.size, c.unit))
        yield


def test_chunks_to_a_stream_give_one_call_s_predictions(trained_bundle, rows):
    whole, notices = predict_frame(load_bundle(trained_bundle), pd.read_csv(rows), proba=True)
    stream, watch = io.StringIO(), Watch()
    done = predict_batch(trained_bundle, str(rows), proba=True, chunk_rows=60, stream=stream, events=watch)
    assert isinstance(done, BatchPrediction) and done.rows == 250
    assert done.runtime in ("onnx", "sklearn", "onnx and sklearn") and done.notices == notices
    got = pd.read_csv(io.StringIO(stream.getvalue()))
    pd.testing.assert_frame_equal(got, whole.set_axis(got.columns, axis=1), check_exact=False, atol=1e-9)
    assert watch.entered == 1 and watch.updates[-1][1] == watch.updates[-1][2] and not watch.image_told


def test_a_file_is_written_whole_or_not_at_all(trained_bundle, rows, tmp_path):
    out = tmp_path / "deep" / "p.csv"
    done = predict_batch(trained_bundle, str(rows), out_file=out, runtime="sklearn")
    assert done.runtime == "sklearn" and len(pd.read_csv(out)) == 250
    bad = tmp_path / "bad.csv"
    pd.read_csv(rows).drop(columns="plan").to_csv(bad, index=False)
    with pytest.raises(ModelworksError):
        predict_batch(trained_bundle, str(bad), out_file=tmp_path / "none.csv", chunk_rows=50)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "deep"]


@pytest.mark.parametrize(
    ("options", "message"), [({"chunk_rows": 0}, "--chunk-rows"), ({"runtime": "gpu"}, "--runtime")]
)
def test_options_are_refused_before_the_bundle_is_read(options, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        predict_batch(tmp_path / "no-bundle", "rows.csv", **options)


def test_an_image_bundle_tells_its_notices_before_writing(image_bundle, tmp_path):
    from PIL import Image

    path, images = image_bundle
    folder = tmp_path / "images"
    folder.mkdir()
    for i, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{i}.png")
    (folder / "broken.png").write_bytes(b"not an image")
    watch, out = Watch(), tmp_path / "p.csv"
    done = predict_batch(path, str(folder), out_file=out, events=watch)
    assert done == BatchPrediction(len(images), [], None)
    assert [n.split(":")[0] for n in watch.image_told[0]] == ["skipped 1 unreadable image(s)"]
    assert watch.entered == 0 and len(pd.read_csv(out)) == len(images)
