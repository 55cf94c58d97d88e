"""The bundled demo catalog: an original, team-written shop of ~200 products and ~1,200 reviews.

Files (native JSONL, read by ``retrieval.ingest``):

- ``products.jsonl``: one ``Product.to_dict()`` per line, ids ``demo-0001``...
- ``reviews.jsonl``: one ``Review.to_dict()`` per line, ids ``r00001``...
- ``users.json``: the six named demo users (``alice``, ``bob``, ``carmen``, ``dev``, ``emma``,
  ``frank``) with a one-line persona each; their reviews follow those tastes.

See README.md in this folder for how it was made.
"""

from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).parent
