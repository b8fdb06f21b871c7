"""What a run of ``modelworks run`` is, from its input and options: a table, a larger-than-memory
table (a folder or glob of Parquet/CSV files), or images (a folder of class subfolders, or arrays)."""

from __future__ import annotations

from typing import Literal

from modelworks.errors import ConfigError

Kind = Literal["table", "large", "images"]


def kind_of_run(
    data: str,
    *,
    target: str | None,
    full_data: bool = False,
    sample_rows: int | None = None,
    cluster: str | None = None,
) -> Kind:
    """The kind of run ``data`` asks for, or a :class:`~modelworks.errors.ConfigError` naming the
    option that does not apply to it."""
    from modelworks.distributed._frame import is_large_source
    from modelworks.models.neural._image_data import is_image_source

    # a folder of Parquet/CSV files (or, with --target, any folder without subfolders), or a glob
    large = is_large_source(data, table=target is not None)
    if not large and (full_data or sample_rows is not None):
        raise ConfigError(
            "--full-data and --sample-rows apply to a folder or a quoted glob of Parquet/CSV files; "
            f"{data} is neither"
        )
    if sample_rows is not None and sample_rows < 1:
        raise ConfigError(f"--sample-rows must be at least 1 (got {sample_rows})")
    if is_image_source(data) and not large:
        if target is not None:
            raise ConfigError("--target applies to tables; images take their labels from the subfolders or y")
        if cluster is not None:
            raise ConfigError("--cluster applies to tables; images train one network at a time, here")
        return "images"
    if target is None:
        raise ConfigError(f"--target is required for a table: name the column of {data} to predict")
    return "large" if large else "table"
