"""Values set aside on disk while a step that needs the memory runs.

The fit on all rows (``--full-data``) never reads the experiment's sample, and the report written after
it does: at 44 columns its copies (the table, its training and test parts, the profile's rows) hold
some 0.2-0.3 GiB that the fit's binned rows and training state need more.
"""

from __future__ import annotations

import gc
import pickle
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from modelworks.distributed._frame import release_memory


@contextmanager
def set_aside(places: Sequence[tuple[object, str]]) -> Iterator[None]:
    """Inside the block, each ``(owner, attribute)`` of ``places`` is ``None`` and its value on disk; on
    leaving it (an error included) the values are put back.

    The values are pickled together, so that a value two places share is still shared when it comes
    back. The pickle is this process's own, in a private temporary folder (``tempfile``'s, readable
    by this user only) removed on leaving, and read back only by this process: nothing from outside is
    unpickled.
    """
    values = [getattr(owner, name) for owner, name in places]
    with tempfile.TemporaryDirectory(prefix="modelworks-aside-") as folder:
        path = Path(folder) / "values.pickle"
        with path.open("wb") as fh:
            pickle.dump(values, fh, protocol=pickle.HIGHEST_PROTOCOL)
        del values
        for owner, name in places:
            setattr(owner, name, None)
        gc.collect()
        release_memory()
        try:
            yield
        finally:
            with path.open("rb") as fh:
                values = pickle.load(fh)  # written above, by this process
            for (owner, name), value in zip(places, values, strict=True):
                setattr(owner, name, value)
