"""Reading data files that may be gzip-compressed: one opener for every reader (catalog sources,
rating datasets, judgments, suites).

Compression is recognised by the file's first two bytes (gzip's magic number), not its name,
so ``products.jsonl`` that is really gzipped, or ``x.gz`` that is not, both read.

>>> import gzip, tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> with gzip.open(d / "a.jsonl.gz", "wt") as f:
...     _ = f.write('{"id": 1}\\n\\n{"id": 2}\\n')
>>> _ = (d / "b.jsonl").write_text('{"id": 3}\\n')
>>> [r["id"] for r in read_jsonl(d / "a.jsonl.gz")], [r["id"] for r in read_jsonl(d / "b.jsonl")]
([1, 2], [3])
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO

GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(path: str | Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def open_maybe_gzip(path: str | Path, mode: str = "rt", encoding: str | None = "utf-8") -> IO:
    """``open`` for a file that may be gzipped; ``mode`` "rt" (text, ``encoding``) or "rb" (bytes)."""
    binary = "b" in mode
    if is_gzip(path):
        return gzip.open(path, mode) if binary else gzip.open(path, mode, encoding=encoding)
    return open(path, mode) if binary else open(path, mode, encoding=encoding)


def read_jsonl(path: str | Path) -> Iterator[dict]:
    """The JSON objects of a JSON-lines file (gzipped or plain), blank lines skipped."""
    with open_maybe_gzip(path) as f:
        for line in f:
            if line.strip():
                yield json.loads(line)
