"""Images the shop serves itself: the demo catalog's category drawings.

The demo products' ``image_urls`` are same-origin paths (``/demo-images/tents.svg``), so the
cards show a picture offline. ``ui`` may not import ``retrieval``, so the folder is named here.
Only plain file names of the folder are served: no path can leave it.

Example::

    >>> image_file("../products.jsonl") is None
    True
    >>> image_file("tents.svg").name
    'tents.svg'
"""

from __future__ import annotations

import re
from pathlib import Path

from retrieval.demo import DEMO_DIR

IMAGE_DIR = DEMO_DIR / "images"
URL_PREFIX = "/demo-images/"
MEDIA_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".webp": "image/webp"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}\.(svg|png|jpg|webp)$")


def image_file(name: str) -> Path | None:
    """The demo image called ``name``, or None for anything that is not one of its files."""
    if not _NAME.match(name or ""):
        return None
    path = IMAGE_DIR / name
    return path if path.is_file() else None


def media_type(path: Path) -> str:
    return MEDIA_TYPES[path.suffix.lower()]
