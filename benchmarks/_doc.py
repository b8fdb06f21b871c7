"""Write a benchmark's results into docs/benchmarks.md, between its markers."""

from __future__ import annotations

from pathlib import Path


def replace_section(doc: Path, begin: str, end: str, body: str, heading: str) -> None:
    """Put ``body`` between the ``begin`` and ``end`` markers of ``doc``; a new section under
    ``heading`` at the end when the markers are not there yet."""
    text = doc.read_text() if doc.exists() else "# Benchmarks\n\n"
    block = f"{begin}\n{body}\n{end}"
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + f"\n\n## {heading}\n\n{block}\n"
    doc.parent.mkdir(exist_ok=True)
    doc.write_text(text)
