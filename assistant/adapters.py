"""Stop-gaps used only while ``retrieval.search`` / ``ranker.serve`` are not importable.

They follow the contracts in docs/ARCHITECTURE.md exactly so the turn pipeline can
run before those packages land; ``Assistant.from_settings`` prefers the real ones.

- ``MemoryCatalog``: products and reviews in memory, lexical (token overlap) search
  with the contract's filters; ``Catalog.parse`` reads prices, brands and sorts.
- ``PriorRanker``: predicted stars = the product's average rating (the "rating prior"
  the real ranker also falls back to before training).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(slots=True)
class StructuredQuery:
    text: str = ""
    price_min: float | None = None
    price_max: float | None = None
    brands: list[str] = field(default_factory=list)
    exclude_brands: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    min_rating: float | None = None
    sort: str = "relevance"
    exclude_ids: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Hit:
    product: object
    score: float
    bm25: float | None = None
    dense: float | None = None
    matched: list[str] = field(default_factory=list)


@dataclass(slots=True)
class UserContext:
    user_id: str | None
    history: list[tuple[str, float]] = field(default_factory=list)
    likes: list[str] = field(default_factory=list)
    dislikes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Prediction:
    product_id: str
    stars: float
    explanation: list[str] = field(default_factory=list)


def fuse(relevance: float, stars: float | None, weight: float) -> float:
    """(1 - w) * relevance + w * (stars - 1) / 4; relevance alone when stars is None."""
    if stars is None:
        return relevance
    return (1 - weight) * relevance + weight * (min(max(stars, 1.0), 5.0) - 1.0) / 4.0


_TOK = re.compile(r"[a-z0-9]+")
_STOP = set("a an the and or for of to in on with my me i some any show find want need looking under over below above".split())


def _tokens(text: str) -> list[str]:
    return [t for t in _TOK.findall(text.lower()) if t not in _STOP]


class MemoryStore:
    """The CatalogStore contract over lists of products and reviews."""

    def __init__(self, products: list, reviews: list | None = None):
        self._p = {p.id: p for p in products}
        self._r = list(reviews or [])

    def get(self, id):
        return self._p.get(id)

    def get_many(self, ids):
        return [self._p[i] for i in ids if i in self._p]

    def reviews_for(self, product_id, limit=None):
        out = [r for r in self._r if r.product_id == product_id]
        return out[:limit] if limit else out

    def reviews_by_user(self, user_id):
        return sorted((r for r in self._r if r.user_id == user_id), key=lambda r: r.timestamp)

    def users(self):
        return sorted({r.user_id for r in self._r})

    def brands(self):
        return sorted({p.brand for p in self._p.values() if p.brand})

    def categories(self):
        return sorted({c for p in self._p.values() for c in p.categories})

    def count(self):
        return len(self._p)

    def iter_products(self):
        return iter(self._p.values())


class MemoryCatalog:
    """The Catalog contract: lexical search with filters over a MemoryStore."""

    def __init__(self, store: MemoryStore):
        self.store = store
        self._docs = {p.id: Counter(_tokens(p.search_text())) for p in store.iter_products()}
        n = len(self._docs) or 1
        df = Counter(t for d in self._docs.values() for t in d)
        self._idf = {t: math.log(1 + n / c) for t, c in df.items()}

    @classmethod
    def from_files(cls, *paths: Path, drop: set[str] | None = None, limit: int | None = None) -> "MemoryCatalog":
        """Products and reviews from JSONL files in any format retrieval's readers know."""
        from retrieval.catalog import Product, Review

        try:
            from retrieval.sources import read_jsonl
        except ImportError:
            read_jsonl = None
        ps, rs = [], []
        for path in paths:
            if read_jsonl is not None:
                items = [r.item for r in read_jsonl(Path(path)) if r.item is not None]
            else:
                rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
                items = [Review.from_dict(d) if "product_id" in d else Product.from_dict(d) for d in rows]
            for it in items:
                (rs if isinstance(it, Review) else ps).append(it)
        drop = drop or set()
        ps = [p for p in ps if p.id not in drop][:limit]
        return cls(MemoryStore(ps, rs))

    @classmethod
    def from_jsonl(cls, products_path: Path, reviews_path: Path | None = None) -> "MemoryCatalog":
        return cls.from_files(*[p for p in (products_path, reviews_path) if p and Path(p).exists()])

    def parse(self, text: str) -> StructuredQuery:
        low = text.lower()
        q = StructuredQuery(text=text)
        m = re.search(r"between \$?(\d+(?:\.\d+)?) and \$?(\d+(?:\.\d+)?)", low)
        if m:
            q.price_min, q.price_max = float(m.group(1)), float(m.group(2))
        m = re.search(r"\b(?:under|below|less than|max|up to|cheaper than)\s*\$?(\d+(?:\.\d+)?)", low)
        if m:
            q.price_max = float(m.group(1))
        m = re.search(r"\b(?:over|above|more than|at least)\s*\$?(\d+(?:\.\d+)?)", low)
        if m and "star" not in low[m.end() : m.end() + 8]:
            q.price_min = float(m.group(1))
        m = re.search(r"(\d(?:\.\d)?)\+? stars?", low)
        if m:
            q.min_rating = float(m.group(1))
        for b in self.store.brands():
            if re.search(rf"\b(not|no|except|without)\s+{re.escape(b.lower())}\b", low):
                q.exclude_brands.append(b)
            elif re.search(rf"\b{re.escape(b.lower())}\b", low):
                q.brands.append(b)
        for c in self.store.categories():
            stem = c.lower().rstrip("s")
            if len(stem) > 3 and re.search(rf"\b{re.escape(stem)}", low) and c not in ("Kitchen", "Home", "Electronics"):
                q.categories.append(c)
        if re.search(r"\bcheapest\b", low):
            q.sort = "price_asc"
        elif re.search(r"\bmost expensive\b", low):
            q.sort = "price_desc"
        q.text = re.sub(r"\b(under|below|over|above|between|less than)\s*\$?\d+(\.\d+)?( and \$?\d+(\.\d+)?)?", " ", text)
        q.text = re.sub(r"\s+", " ", q.text).strip()
        return q

    def search(self, query, k: int = 10) -> list[Hit]:
        q = self.parse(query) if isinstance(query, str) else query
        terms = _tokens(q.text)
        hits = []
        for p in self.store.iter_products():
            if q.price_min is not None and (p.price is None or p.price < q.price_min):
                continue
            if q.price_max is not None and (p.price is None or p.price > q.price_max):
                continue
            if q.brands and p.brand not in q.brands:
                continue
            if p.brand in q.exclude_brands or p.id in q.exclude_ids:
                continue
            if q.categories and not set(q.categories) & set(p.categories):
                continue
            doc = self._docs[p.id]
            matched = [t for t in dict.fromkeys(terms) if t in doc or t.rstrip("s") in doc]
            if terms and not matched:
                continue
            score = sum(self._idf.get(t, 0) for t in matched) / (sum(self._idf.get(t, 1) for t in terms) or 1)
            hits.append(Hit(p, round(min(score, 1.0), 4), bm25=score, matched=matched))
        hits.sort(key=lambda h: -h.score)
        return hits[:k]


class PriorRanker:
    """The Ranker contract with the catalog's rating prior (no trained model)."""

    def score(self, user, products: list) -> list[Prediction]:
        return [
            Prediction(p.id, p.average_rating or 3.0, ["catalog rating prior (the rating model is not trained yet)"])
            for p in products
        ]

    def user_context(self, store, user_id: str) -> UserContext:
        reviews = store.reviews_by_user(user_id)
        history = []
        for r in reviews:
            p = store.get(r.product_id)
            history.append((p.title if p else r.product_id, r.rating))
        return UserContext(user_id, history, [], [])
