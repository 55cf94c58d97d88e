"""Candidates to rank a held-out item against: random items, or items of its own category.

Sampled negatives (any item the user never rated) are easy: most are unrelated to what the user
bought, so popularity alone separates them. The assistant ranks candidates that already match
the shopper's query, so the ordering a shopper sees is *within* a category; ``category_negatives``
measures that. Where a dataset has no item categories (MI 2014 has no metadata at all) the
category is approximated by the item's ``TEXT_NEIGHBOURS`` x n nearest items by TF-IDF cosine of
their training-split reviews (never the held-out review: it is in the test split).
"""

from __future__ import annotations

import numpy as np

from ranker.data import RatingData

NEGATIVES = 99
SEED = 0
TEXT_NEIGHBOURS = 3  # a text "category" of 3 x 99 = 297 items of MI's 900, sampled down to 99


def _never_rated(data: RatingData, k: int, pool) -> np.ndarray:
    rated = {data.ratings[j].item for j in data.user_sequence(data.ratings[k].user)}
    return pool[~np.isin(pool, list(rated))]


def sample_negatives(data: RatingData, n: int = NEGATIVES, seed: int = SEED, indices: list[int] | None = None) -> dict[int, list[str]]:
    """Per test rating (or per rating of ``indices``, e.g. the validation split): ``n`` items the
    user never rated (any split), seeded; the same for all methods."""
    rng = np.random.default_rng(seed)
    items = np.asarray(data.item_ids())
    keys = data.test if indices is None else indices
    return {k: rng.choice(p, size=min(n, len(p)), replace=False).tolist() for k in keys for p in [_never_rated(data, k, items)]}


def item_categories(data: RatingData) -> dict[str, str]:
    """The item's category path from its metadata ("A > B > C"); empty when the data has none."""
    return {i: " > ".join(m.categories) for i, m in data.items.items() if m.categories}


def text_neighbourhoods(data: RatingData, size: int) -> dict[str, list[str]]:
    """Per item, the ``size`` other items nearest by TF-IDF cosine of their training-split reviews."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    items = data.item_ids()
    docs = {i: [] for i in items}
    for k in data.train:
        r = data.ratings[k]
        docs[r.item].append(f"{r.title} {r.text}")
    x = TfidfVectorizer(min_df=2, max_df=0.5, sublinear_tf=True, stop_words="english").fit_transform([" ".join(docs[i]) for i in items])
    sim = (x @ x.T).toarray()
    np.fill_diagonal(sim, -1.0)
    order = np.argsort(-sim, axis=1, kind="stable")[:, :size]
    return {i: [items[j] for j in order[a]] for a, i in enumerate(items)}


def category_negatives(data: RatingData, n: int = NEGATIVES, seed: int = SEED) -> tuple[dict[int, list[str]], str]:
    """Per test rating: up to ``n`` never-rated items of the held-out item's own category (seeded),
    and how the category was defined ("metadata" or "text_neighbours"). A category smaller than
    ``n`` gives fewer candidates; the random expectation is computed per user from the real count.
    An item without a category gets its text neighbourhood instead (said in the description).
    """
    rng = np.random.default_rng(seed)
    cats = item_categories(data)
    test_items = sorted({data.ratings[k].item for k in data.test})
    by_cat: dict[str, list[str]] = {}
    for i in data.item_ids():
        if i in cats:
            by_cat.setdefault(cats[i], []).append(i)
    pools = {i: [j for j in by_cat[cats[i]] if j != i] for i in test_items if i in cats}
    missing = [i for i in test_items if i not in pools]
    if missing:  # items without a category (all of them in MI 2014): their nearest items by review text
        near = text_neighbourhoods(data, TEXT_NEIGHBOURS * n)
        pools.update({i: near[i] for i in missing})
    how = "metadata" if not missing else "text_neighbours" if not cats else \
        f"metadata for {len(test_items) - len(missing)} of {len(test_items)} held-out items, text_neighbours for the rest"
    out = {}
    for k in data.test:
        p = _never_rated(data, k, np.asarray(pools[data.ratings[k].item], dtype=object))
        out[k] = rng.choice(p, size=min(n, len(p)), replace=False).tolist() if len(p) else []
    return out, how
