"""A table of many files: a folder of Parquet files and a glob of CSV files, profiled over all rows
with Dask (checked against pandas on the whole table), sampled by class, and ``modelworks run
--full-data`` as a real process whose saved booster was trained on every row."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

from modelworks.distributed import draw_sample, find_files, plan_sample, profile_full, read_frame  # noqa: E402

pytestmark = pytest.mark.timeout(300)

FILES, ROWS = 4, 5_000
SAMPLE = 6_000


def make_part(index: int, rows: int = ROWS) -> pd.DataFrame:
    """One file: numbers (some missing), two categories (one with missing values), a binary target."""
    rng = np.random.default_rng([7, index])
    x = rng.normal(size=(rows, 3))
    plan = rng.choice(["basic", "standard", "premium"], size=rows, p=[0.6, 0.3, 0.1]).astype(object)
    plan[rng.random(rows) < 0.05] = None
    region = rng.choice([f"r{i}" for i in range(12)], size=rows)
    logit = 1.2 * x[:, 0] - 0.8 * x[:, 1] + np.where(plan == "premium", 1.0, 0.0) - 1.0
    y = np.where(rng.random(rows) < 1 / (1 + np.exp(-logit)), "yes", "no")
    df = pd.DataFrame(
        {"x0": x[:, 0], "x1": x[:, 1], "x2": np.exp(x[:, 2]), "plan": plan, "region": region, "y": y}
    )
    df.loc[rng.random(rows) < 0.04, "x1"] = np.nan
    df["count"] = rng.integers(0, 5, size=rows)  # few distinct values: counted exactly
    return df


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> tuple[Path, Path, pd.DataFrame]:
    """A folder of 4 Parquet files and a folder of the same rows as CSV (with a stray file), and the
    whole table in pandas."""
    root = tmp_path_factory.mktemp("large")
    parquet, csv = root / "parquet", root / "csv"
    parquet.mkdir()
    csv.mkdir()
    parts = [make_part(i) for i in range(FILES)]
    for i, df in enumerate(parts):
        df.to_parquet(parquet / f"part-{i}.parquet", index=False)
        df.to_csv(csv / f"part-{i}.csv", index=False)
    (csv / "notes.txt").write_text("not a table")
    (parquet / "_SUCCESS").write_text("")
    return parquet, csv, pd.concat(parts, ignore_index=True)


def _profile(source: str):
    files = find_files(source)
    frame = read_frame(files)
    return files, frame, profile_full(frame, files, "y")


@pytest.mark.parametrize("which", ["parquet", "csv"])
def test_profile_over_all_rows_matches_pandas(table, which):
    parquet, csv, whole = table
    source = str(parquet) if which == "parquet" else str(csv / "*.csv")
    files, _, prof = _profile(source)
    assert len(files.files) == FILES and files.format == which
    assert prof.n_rows == len(whole) == FILES * ROWS
    for name in whole.columns:
        col = prof.column(name)
        assert col["missing"] == int(whole[name].isna().sum()), name
    for name in ("plan", "region"):  # exact level counts, so exact distinct counts and top levels
        col, counts = prof.column(name), whole[name].value_counts()
        assert col["distinct"] == whole[name].nunique()
        top = {t["value"]: t["count"] for t in col["top"]}
        assert all(counts[v] == n for v, n in top.items())
        rest = counts.drop(list(top))
        assert not len(rest) or min(top.values()) >= rest.max()  # the most frequent ones
    assert prof.column("count")["distinct"] == 5  # numbers: exact up to 10,000 values
    assert prof.column("x0")["distinct"] is None and prof.column("x0")["distinct_more_than"] == 10_000
    for name in ("x0", "x1", "x2"):
        col, values = prof.column(name), whole[name].dropna()
        assert col["min"] == values.min() and col["max"] == values.max()
        assert col["mean"] == pytest.approx(values.mean(), rel=1e-9, abs=1e-12)
        assert col["std"] == pytest.approx(values.std(), rel=1e-9)
        for q, approx in col["quantiles"].items():  # approximate: a rank error of a percent or two
            assert abs((values <= approx).mean() - float(q)) < 0.025, (name, q)
    assert prof.target["task"] == "binary"
    assert {c["label"]: c["count"] for c in prof.target["classes"]} == whole["y"].value_counts().to_dict()
    saved = prof.to_dict()
    assert "approximate" in saved["approximate"] and "quantiles" in saved["approximate"]
    assert json.loads(json.dumps(saved)) == saved
    assert any("approximate quantiles" in line for line in prof.lines())


def test_sample_is_stratified_seeded_and_reported(table):
    parquet, _, whole = table
    files, frame, prof = _profile(str(parquet))
    plan = plan_sample(prof.n_rows, 80.0, 16 * 2**30, requested=SAMPLE)
    assert plan.rows == SAMPLE and "--sample-rows" in plan.rule()
    sample, info = draw_sample(frame, files, prof, plan, "y", seed=3)
    again, _ = draw_sample(frame, files, prof, plan, "y", seed=3)
    other, _ = draw_sample(frame, files, prof, plan, "y", seed=4)
    assert len(sample) == SAMPLE == info.rows  # the allocation is exact
    pd.testing.assert_frame_equal(sample, again)
    assert not sample.equals(other)
    shares = whole["y"].value_counts(normalize=True)
    drawn = sample["y"].value_counts(normalize=True)
    for label, share in shares.items():
        assert abs(drawn[label] - share) < 0.002, label  # largest remainders: within a row or two
    assert info.stratified and "stratified by 'y'" in info.line() and f"{SAMPLE:,}" in info.line()
    assert info.to_dict()["size"]["rows"] == SAMPLE
    assert sample["x0"].isin(whole["x0"]).all()  # the rows are the table's own (x0 is unique per row)

    small = plan_sample(prof.n_rows, 2_000.0, 2**30)  # little memory: the memory rule decides
    assert small.rows == int(0.1 * 2**30 / (2_000.0 * 10)) and "the memory decided" in small.rule()


def _run(*args: object, timeout: float = 240, env: dict | None = None) -> subprocess.CompletedProcess:
    base = dict(os.environ, OMP_NUM_THREADS="1")
    base.pop("PYTHONWARNINGS", None)
    return subprocess.run(
        [sys.executable, "-m", "modelworks", *map(str, args)],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_run_full_data_trains_the_saved_booster_on_every_row(table, tmp_path):
    parquet, _, whole = table
    bundle = tmp_path / "bundle"
    done = _run(
        "run", parquet, "--target", "y", "--full-data", "--models", "lightgbm", "--sample-rows", SAMPLE,
        "--time-budget", 40, "--no-tune", "--out", bundle,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "approximate quantiles" in done.stdout and f"Sample for the comparison: {SAMPLE:,}" in done.stdout
    assert f"refitted on all {len(whole):,} rows" in done.stdout
    metrics = json.loads((bundle / "metrics.json").read_text())
    large = metrics["large_table"]
    assert large["rows"] == len(whole) and large["sample"]["rows"] == SAMPLE
    assert large["full_data"]["done"] and large["full_data"]["rows"] == len(whole)
    assert metrics["rows"]["train"] + metrics["rows"]["test"] == SAMPLE  # tested on the sample's rows
    assert json.loads((bundle / "profile_full.json").read_text())["n_rows"] == len(whole)
    report = (bundle / "report.html").read_text()
    assert 'id="all-rows"' in report and "approximate quantiles" in report

    assert large["full_data"]["estimator"].startswith("lightgbm.Dataset from lightgbm.Sequence")

    import modelworks as mw
    from modelworks.distributed._stream import innermost

    model = mw.load_model(bundle)
    booster = innermost(model.steps[-1][1]).booster_
    root = booster.dump_model()["tree_info"][0]["tree_structure"]["internal_count"]
    # LightGBM's first tree saw its bagged share (subsample 0.75) of every row, not of the sample
    assert root > 0.7 * len(whole) > SAMPLE

    rows = parquet / "part-0.parquet"
    scored = _run("predict", bundle, rows, "--proba", "--out", tmp_path / "p.csv", timeout=120)
    assert scored.returncode == 0, scored.stderr
    probabilities = pd.read_csv(tmp_path / "p.csv")
    assert list(probabilities.columns) == ["no", "yes"] and len(probabilities) == ROWS
    truth = pd.read_parquet(rows)["y"].eq("yes")
    assert probabilities.loc[truth, "yes"].mean() > probabilities.loc[~truth, "yes"].mean() + 0.2


def _sample_model(whole: pd.DataFrame, target: str, model: str):
    """The experiment's model fitted on a sample of ``whole``, and the booster as configured for the
    final fit, as ``LargeTable.finish`` gets them."""
    from modelworks import Experiment

    exp = Experiment(
        whole.sample(3_000, random_state=0), target=target, models=(model,), tune=False, ensemble=False,
        bag=False, seed=0, n_jobs=1,
    )  # fmt: skip
    exp.compare()
    exp.evaluate()
    return exp, exp.best_model, exp.pipeline(exp.best_name)[-1]


@pytest.mark.parametrize(
    ("models", "cluster", "in_process"),
    [(None, None, True), (("lightgbm",), None, False), (None, "local:1", False)],
)
def test_full_data_fits_the_boosters_folds_in_this_process(models, cluster, in_process):
    """--full-data without a cluster or --models: the boosters' folds in this process (the workers'
    memory kept for the fit on all rows); --models may name a model only a worker can stop."""
    from types import SimpleNamespace

    from modelworks.distributed._large import LargeTable
    from modelworks.settings import RunSettings

    run = SimpleNamespace(full_data=True, cluster=cluster, threads=2, out=None)
    settings = LargeTable.settings(run, RunSettings(models=models))  # type: ignore[arg-type]
    assert settings.fold_workers is not in_process
    assert (settings.ensemble, settings.bag) == (False, False)


def test_the_sample_waits_on_disk_during_the_fit_on_all_rows(table, monkeypatch):
    """LargeTable.finish: while the booster trains on every row, the experiment's sample and the
    profile's rows are not in memory (the fit does not read them); the report after it finds them."""
    from types import SimpleNamespace

    from modelworks import Experiment
    from modelworks.distributed import _large
    from modelworks.settings import RunSettings

    parquet, _, whole = table
    settings = RunSettings(models=("lightgbm",), tune=False, seed=0, n_jobs=1)
    large = _large.LargeTable.open(str(parquet), "y", settings, full_data=True, sample_rows=3_000)
    exp = Experiment(large.sample, "y", large.settings(settings))
    exp.compare()
    exp.evaluate()
    rows = SimpleNamespace(frame=exp.data)
    kept = (exp.data, exp.X_train, exp.X_test)
    during = {}
    real = _large.fit_streamed

    def watched(*args, **kwargs):
        during.update(data=exp.data, X_train=exp.X_train, X_test=exp.X_test, profile=rows.frame)
        return real(*args, **kwargs)

    monkeypatch.setattr(_large, "fit_streamed", watched)
    large.finish(exp, rows_of=[rows])
    assert during == {"data": None, "X_train": None, "X_test": None, "profile": None}
    assert large.full is not None and large.full.done and large.full.rows == len(whole)
    for back, before in zip((exp.data, exp.X_train, exp.X_test), kept, strict=True):
        pd.testing.assert_frame_equal(back, before)
    assert rows.frame is exp.data


@pytest.mark.parametrize("source", ["folder", "csv"])
def test_the_profile_reads_the_experiments_rows_not_a_copy(table, tmp_path, monkeypatch, source):
    """A run keeps its rows once: the profile of a table's sample (profiled whole), or of an ordinary
    table, draws its plots from the experiment's rows."""
    from modelworks import cli
    from modelworks.experiment import Experiment
    from modelworks.settings import RunSettings

    parquet, _, whole = table
    data = str(parquet)
    if source == "csv":
        data = str(tmp_path / "t.csv")
        whole.iloc[:2_000].to_csv(data, index=False)
    seen = {}
    real = Experiment.save

    def save(self, path, *args, profile=None, **kwargs):
        frame = profile.frame
        seen.update(shared=frame is self.data, rows=len(frame), profiled=profile.n_rows_profiled)
        return real(self, path, *args, profile=profile, **kwargs)

    monkeypatch.setattr(Experiment, "save", save)
    settings = RunSettings(models=("lightgbm",), tune=False, seed=0, n_jobs=1, report=False)
    cli.run_workflow(data, "y", tmp_path / "bundle", settings, sample_rows=3_000)
    rows = 3_000 if source == "folder" else 2_000
    assert seen == {"shared": True, "rows": rows, "profiled": rows}


def test_streamed_lightgbm_is_the_in_memory_fit_on_every_row(table):
    """File by file through lightgbm.Sequence: the same booster as lightgbm.train on every prepared
    row at once (fewer rows than LightGBM's bin sample, so the same bins), one file read at a time."""
    import lightgbm

    from modelworks.distributed._stream import fit_streamed, innermost, lightgbm_params

    parquet, _, whole = table
    files, frame, _ = _profile(str(parquet))
    exp, final, unfitted = _sample_model(whole, "y", "lightgbm")
    model, facts = fit_streamed(final, unfitted, frame, files, "y", threads=1)
    assert facts["rows"] == len(whole) and facts["rounds_done"] == facts["rounds"]
    assert facts["loads"] <= 2 * FILES  # each file read for the bins, then for the rows

    sample_booster = innermost(final.steps[-1][1]).booster_
    params = lightgbm_params(sample_booster, threads=1)
    assert params["force_col_wise"] and not params["force_row_wise"]  # no row-major copy of the bins
    X = final[:-1].transform(whole.drop(columns="y"))
    classes = list(innermost(final.steps[-1][1]).classes_)
    y = whole["y"].map({label: i for i, label in enumerate(exp.classes)}).to_numpy()
    assert classes in ([0, 1], exp.classes)  # label encoded, or the classes themselves (sorted)
    reference = lightgbm.train(
        params, lightgbm.Dataset(np.asarray(X, dtype=np.float64), label=y, params=params), facts["rounds"]
    )
    streamed = innermost(model.steps[-1][1]).booster_
    assert streamed.dump_model()["tree_info"] == reference.dump_model()["tree_info"]
    assert getattr(streamed, "train_set", None) is None  # the trees alone, not the rows' state
    # the saved pipeline predicts with it, and the sample's model was left as it was
    expected = reference.predict(np.asarray(X, dtype=np.float64))
    np.testing.assert_allclose(model.predict_proba(whole.drop(columns="y"))[:, 1], expected, rtol=1e-6)
    assert innermost(final.steps[-1][1]).booster_ is sample_booster


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_streamed_xgboost_trains_on_every_row(table, task):
    from modelworks.distributed._stream import fit_streamed, innermost

    parquet, _, whole = table
    files, frame, _ = _profile(str(parquet))
    target = "x0" if task == "regression" else "region"
    exp, final, unfitted = _sample_model(whole, target, "xgboost")
    model, facts = fit_streamed(final, unfitted, frame, files, target, threads=1)
    assert facts["rows"] == len(whole) and facts["estimator"].startswith("xgboost.QuantileDMatrix")
    booster = innermost(model.steps[-1][1]).get_booster()
    assert booster is not innermost(final.steps[-1][1]).get_booster()
    assert booster.num_boosted_rounds() == facts["rounds"]
    X = whole.drop(columns=target)
    if task == "regression":
        # the root's cover (sum of hessians, 1 a row for squared error) counts every row it saw
        import re

        cover = float(re.search(r"cover=([0-9.e+-]+)", booster.get_dump(with_stats=True)[0]).group(1))
        assert cover > 0.5 * len(whole) > 3_000  # subsample 0.65 of every row, not of the sample
        assert np.corrcoef(model.predict(X), whole[target])[0, 1] > 0.5
    else:
        proba = model.predict_proba(X)
        assert proba.shape == (len(whole), 12) and list(model.classes_) == sorted(whole[target].unique())
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_full_data_on_a_cluster_uses_the_dask_estimators(table, tmp_path):
    parquet, _, whole = table
    bundle = tmp_path / "bundle"
    done = _run(
        "run", parquet, "--target", "y", "--full-data", "--models", "lightgbm", "--sample-rows", SAMPLE,
        "--time-budget", 60, "--no-tune", "--no-report", "--cluster", "local:1", "--out", bundle,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    full = json.loads((bundle / "metrics.json").read_text())["large_table"]["full_data"]
    assert full["done"] and full["rows"] == len(whole) and full["estimator"] == "lightgbm.DaskLGBMClassifier"
    assert "the Dask cluster at tcp://127.0.0.1:" in full["cluster"]


@pytest.fixture
def fake_no_dask(tmp_path) -> dict:
    """An environment in which ``import dask`` fails."""
    (tmp_path / "nodask" / "dask").mkdir(parents=True)
    (tmp_path / "nodask" / "dask" / "__init__.py").write_text("raise ImportError('no dask here')\n")
    return {"PYTHONPATH": str(tmp_path / "nodask")}


@pytest.mark.parametrize("case", ["empty", "mixed", "target", "no dask", "glob"])
def test_user_mistakes_end_in_one_line(table, tmp_path, fake_no_dask, case):
    parquet, _, _ = table
    env = None
    if case == "empty":
        source, target, said = tmp_path / "empty", "y", "holds no Parquet"
        source.mkdir()
    elif case == "mixed":
        source, target, said = tmp_path / "mixed", "y", "does not hold one table"
        source.mkdir()
        make_part(0, 50).to_parquet(source / "a.parquet")
        make_part(1, 50).assign(x0="text").to_parquet(source / "b.parquet")
    elif case == "target":
        source, target, said = parquet, "churn", "target column 'churn' not found"
    elif case == "no dask":
        source, target, said, env = parquet, "y", "needs Dask: pip install", fake_no_dask
    else:
        source, target, said = f"{tmp_path}/*.parquet", "y", "matches no Parquet"
    done = _run("run", source, "--target", target, "--time-budget", 30, "--out", tmp_path / "b", env=env)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and said in lines[0], done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "b").exists()
