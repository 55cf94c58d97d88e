"""Shared by the studies: where the repo and the shared datasets are, and the repo on sys.path.

``repo_on_path()`` *appends* the repo root to ``sys.path``, so ``PYTHONPATH=<old checkout>`` still
wins: that is how the "before" numbers are re-measured with an older commit (see each script's docstring).
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATASETS = REPO.parent / "shared" / "datasets"
ICECAT = "chorus_icecat_product_search_judgments_135q"


def repo_on_path() -> Path:
    """Append the repo root to ``sys.path`` (call before importing ``retrieval``/``assistant``)."""
    if str(REPO) not in sys.path:
        sys.path.append(str(REPO))
    return REPO


def dataset(name: str = ICECAT) -> Path:
    """Default dataset folder: ``../shared/datasets/<name>`` relative to the repo root."""
    return DATASETS / name


def judged_queries(ds: Path, limit: int | None = None) -> tuple[list[str], dict[str, dict[str, float]]]:
    """The dataset's queries that have judgments (the first ``limit`` of them), and the judgments."""
    from retrieval.evaluate import load_judgments

    queries, judgments = load_judgments(ds)
    queries = [q for q in queries if q in judgments]
    return (queries[:limit] if limit else queries), judgments
