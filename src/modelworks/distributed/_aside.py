"""Frames set aside on disk while a step that needs the memory runs.

The fit on all rows (``--full-data``) never reads the experiment's sample, and the report written after
it does: at 44 columns its copies (the table, its training and test parts, the profile's rows) hold
some 0.2-0.3 GiB that the fit's binned rows and training state need more.
"""

from __future__ import annotations

import gc
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from modelworks.distributed._frame import release_memory


@contextmanager
def set_aside(places: Sequence[tuple[object, str]]) -> Iterator[None]:
    """Inside the block, each ``(owner, attribute)`` of ``places`` holding a DataFrame is ``None`` and
    the frame on disk; on leaving it (an error included) the frames are put back.

    Each frame is written once, as Arrow IPC (Feather, with pandas' dtypes and index), so that a frame
    two places share is still shared when it comes back; nothing is pickled. A frame Arrow cannot
    write (an object column of mixed types) stays in memory. The files are in a private temporary
    folder (``tempfile``'s, readable by this user only), removed on leaving.
    """
    with tempfile.TemporaryDirectory(prefix="modelworks-aside-") as folder:
        written: dict[int, Path] = {}  # id of a frame set aside -> its file
        away: list[tuple[object, str, int]] = []
        frame = None
        for owner, name in places:
            frame = getattr(owner, name)
            if not isinstance(frame, pd.DataFrame):
                continue
            if id(frame) not in written:
                path = Path(folder) / f"{len(written)}.arrow"
                try:
                    frame.to_feather(path)
                except (TypeError, ValueError, ImportError):  # pyarrow.ArrowException derives from these
                    continue
                written[id(frame)] = path
            away.append((owner, name, id(frame)))
        for owner, name, _ in away:
            setattr(owner, name, None)
        del frame
        gc.collect()
        release_memory()
        try:
            yield
        finally:
            back = {key: pd.read_feather(path) for key, path in written.items()}
            for owner, name, key in away:
                setattr(owner, name, back[key])
