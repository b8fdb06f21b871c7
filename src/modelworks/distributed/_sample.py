"""The rows a table of many files is compared on: a seeded sample that fits in memory, drawn partition
by partition.

Its size (:func:`plan_sample`) is the smallest of the table's rows with a known target, a row cap
(:data:`SAMPLE_ROWS`, or ``--sample-rows``), and what :data:`MEMORY_SHARE` of the memory available now
holds when the comparison keeps :data:`MEMORY_COPIES` copies of it (the table, its training and test
parts, each fold's prepared copy, the fold workers' copies) at the bytes per row measured on the first
partition read. A time budget then plays its part inside the experiment: when all the sample's rows
would not fit it, the models are compared on a smaller, seeded share of them
(:mod:`modelworks.search.sampling`).

How it is drawn (:func:`draw_sample`): for classification, stratified by the target: each class gets
its share of the sample (at least :data:`CLASS_FLOOR` rows, or all of a smaller class, so that every
class can be split into folds), split among the partitions in proportion to the class's rows in each
(largest remainders, so the totals are exact), and drawn uniformly within each partition with a seed
of its own (``(seed, partition)``). For regression, the same without classes. Rows whose target is
missing are left out (the experiment would drop them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelworks.distributed._frame import TableFiles, reading
from modelworks.distributed._profile import FullProfile

#: Rows the comparison sample has at most, unless ``--sample-rows`` says otherwise.
SAMPLE_ROWS = 250_000
#: Share of the available memory the sample may take, counted :data:`MEMORY_COPIES` times.
MEMORY_SHARE = 0.10
MEMORY_COPIES = 10
#: Rows of each class the sample keeps at least (all of a smaller class).
CLASS_FLOOR = 50
#: Fewest rows a sample has (all of a smaller table).
FEWEST_ROWS = 1_000


@dataclass(frozen=True)
class SamplePlan:
    """How many rows to draw, and why.

    Attributes
    ----------
    rows : int
        Rows to draw.
    population : int
        Rows with a known target.
    cap : int
        The row cap (:data:`SAMPLE_ROWS`, or ``requested``).
    memory_rows : int
        Rows the memory rule allows.
    bytes_per_row : float
        Measured on the first partition (pandas' ``memory_usage(deep=True)``).
    available : int
        Bytes of memory available when planned.
    requested : int or None
        ``--sample-rows``.
    """

    rows: int
    population: int
    cap: int
    memory_rows: int
    bytes_per_row: float
    available: int
    requested: int | None = None

    def rule(self) -> str:
        """Why the sample has this size, in one sentence."""
        cap = f"{self.cap:,} rows ({'--sample-rows' if self.requested else 'the default cap'})"
        memory = (
            f"{MEMORY_SHARE:.0%} of the {self.available / 2**30:.1f} GiB of memory available, counted "
            f"{MEMORY_COPIES} times (the comparison's copies) at {self.bytes_per_row:.0f} bytes per row "
            f"({self.memory_rows:,} rows)"
        )
        if self.rows >= self.population:
            return f"every row: at most {cap} and {memory}"
        which = "the memory" if self.memory_rows < self.cap else "the row cap"
        return f"at most {cap} and {memory}; {which} decided"

    def to_dict(self) -> dict:
        return {
            "rows": self.rows,
            "population": self.population,
            "cap": self.cap,
            "requested": self.requested,
            "memory_rows": self.memory_rows,
            "bytes_per_row": round(self.bytes_per_row, 1),
            "available_bytes": self.available,
            "memory_share": MEMORY_SHARE,
            "memory_copies": MEMORY_COPIES,
            "rule": self.rule(),
        }


def plan_sample(
    population: int, bytes_per_row: float, available: int, requested: int | None = None
) -> SamplePlan:
    """The sample's size (see the module's description).

    Parameters
    ----------
    population : int
        Rows with a known target.
    bytes_per_row : float
        Bytes a row takes in pandas.
    available : int
        Bytes of memory available.
    requested : int, optional
        A row cap given by the user instead of :data:`SAMPLE_ROWS`.
    """
    cap = requested or SAMPLE_ROWS
    memory_rows = int(MEMORY_SHARE * available / max(bytes_per_row * MEMORY_COPIES, 1.0))
    rows = min(population, max(min(cap, memory_rows), FEWEST_ROWS))
    return SamplePlan(rows, population, cap, memory_rows, bytes_per_row, available, requested)


def _split(total: int, weights: np.ndarray) -> np.ndarray:
    """``total`` split in proportion to ``weights`` (largest remainders: the parts add up exactly)."""
    weights = np.asarray(weights, dtype=np.float64)
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    exact = total * weights / weights.sum()
    parts = np.floor(exact).astype(np.int64)
    left = total - int(parts.sum())
    if left > 0:
        parts[np.argsort(-(exact - parts), kind="stable")[:left]] += 1
    return np.minimum(parts, np.floor(weights).astype(np.int64))


def allocate(profile: FullProfile, rows: int, stratify: bool) -> list[dict | int]:
    """Rows to draw from each partition: label to rows (stratified), or a number of rows."""
    if stratify and all(p.classes is not None for p in profile.parts):
        table = pd.concat([p.classes for p in profile.parts], axis=1).fillna(0).astype(np.int64)
        table.columns = range(len(profile.parts))
        totals = table.sum(axis=1)
        wanted = _split(rows, totals.to_numpy())
        wanted = np.minimum(np.maximum(wanted, np.minimum(totals.to_numpy(), CLASS_FLOOR)), totals.to_numpy())
        plan: list[dict | int] = [{} for _ in profile.parts]
        for label, k in zip(table.index, wanted, strict=True):
            per_part = _split(int(k), table.loc[label].to_numpy())
            for i, n in enumerate(per_part):
                if n:
                    plan[i][label] = int(n)  # type: ignore[index]
        return plan
    present = np.array([p.present for p in profile.parts])
    return [int(n) for n in _split(rows, present)]


def take(part: pd.DataFrame, wanted: dict | int, target: str, seed: int, index: int) -> pd.DataFrame:
    """The rows of one partition drawn for the sample (in their order), with a seed of its own."""
    rng = np.random.default_rng([seed, index])
    y = part[target]
    if isinstance(wanted, dict):
        values = y.to_numpy(dtype=object)
        picked = []
        for label, k in wanted.items():
            rows = np.flatnonzero(values == label)
            picked.append(rng.choice(rows, size=min(k, len(rows)), replace=False))
        chosen = np.concatenate(picked) if picked else np.empty(0, dtype=np.int64)
    else:
        rows = np.flatnonzero(y.notna().to_numpy())
        chosen = rng.choice(rows, size=min(wanted, len(rows)), replace=False)
    return part.iloc[np.sort(chosen)]


@dataclass
class SampleInfo:
    """The sample drawn, and how.

    Attributes
    ----------
    plan : SamplePlan
        Its size and the rule.
    rows : int
        Rows drawn.
    stratified : bool
        Whether it was drawn by class.
    target : str
        The target column.
    seed : int
        The seed (each partition's is ``(seed, partition)``).
    seconds : float
        Wall time of the draw.
    classes : list of dict
        Class, rows in the sample and share, and share in all rows (classification).
    missing_target : int
        Rows left out because their target is missing.
    """

    plan: SamplePlan
    rows: int
    stratified: bool
    target: str
    seed: int
    seconds: float
    classes: list[dict]
    missing_target: int

    def how(self) -> str:
        """How the rows were drawn, in one sentence."""
        if self.stratified:
            return (
                f"stratified by {self.target!r}: each class its share of the sample (at least "
                f"{CLASS_FLOOR} rows, or all of a smaller class), drawn uniformly at random within each "
                f"partition (seed {self.seed})"
            )
        return f"uniformly at random within each partition, in proportion to its rows (seed {self.seed})"

    def line(self) -> str:
        """What ``modelworks run`` prints."""
        share = self.rows / max(self.plan.population, 1)
        missing = (
            f"; {self.missing_target:,} rows with a missing target left out" if self.missing_target else ""
        )
        return (
            f"Sample for the comparison: {self.rows:,} of {self.plan.population:,} rows ({share:.1%}), "
            f"{self.how()}, in {self.seconds:.1f}s; its size: {self.plan.rule()}{missing}"
        )

    def to_dict(self) -> dict:
        return {
            "rows": self.rows,
            "share": self.rows / max(self.plan.population, 1),
            "stratified_by": self.target if self.stratified else None,
            "how": self.how(),
            "seed": self.seed,
            "seconds": round(self.seconds, 3),
            "missing_target_rows_left_out": self.missing_target,
            **({"classes": self.classes} if self.classes else {}),
            "size": self.plan.to_dict(),
        }


def draw_sample(
    frame: Any,
    table: TableFiles,
    profile: FullProfile,
    plan: SamplePlan,
    target: str,
    *,
    seed: int = 0,
    compute: Callable[..., tuple] | None = None,
) -> tuple[pd.DataFrame, SampleInfo]:
    """Draw the sample (see the module's description) and return it with how it was drawn.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
        The table (the one ``profile`` was computed on: its partitions are the profile's).
    table : TableFiles
        Its files.
    profile : FullProfile
        Its profile (rows and class counts of each partition).
    plan : SamplePlan
        How many rows.
    target : str
        The target column.
    seed : int
        The run's seed.
    compute : callable, optional
        As for :func:`~modelworks.distributed._profile.profile_full`.
    """
    import dask

    started = time.perf_counter()
    compute = compute or (lambda *objs: dask.compute(*objs, scheduler="threads"))
    stratify = profile.target is not None and profile.target["task"] != "regression"
    wanted = allocate(profile, plan.rows, stratify)
    pieces = [
        dask.delayed(take)(part, w, target, seed, i)
        for i, (part, w) in enumerate(zip(frame.to_delayed(), wanted, strict=True))
    ]
    with reading(table):
        (parts,) = compute(pieces)
    sample = pd.concat(parts, ignore_index=True)
    stratified = isinstance(wanted[0], dict) if wanted else False
    classes = []
    if stratified and profile.target is not None:
        got = sample[target].value_counts()
        for c in profile.target.get("classes", []):
            n = int(got.get(c["label"], 0))
            classes.append(
                {"label": c["label"], "rows": n, "share": n / max(len(sample), 1), "share_all": c["share"]}
            )
    info = SampleInfo(
        plan,
        len(sample),
        stratified,
        target,
        seed,
        time.perf_counter() - started,
        classes,
        int(profile.target["missing"]) if profile.target else 0,
    )
    return sample, info
