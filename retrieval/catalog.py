"""The catalog model: one Product and one Review shape for every source format.

Everything downstream (search, ranking, the assistant, the UI) reads these two
dataclasses; readers in ``retrieval.sources`` turn each file format into them.

Text fields are *untrusted* (they come from shops and reviewers): they are stored
as given and escaped or fenced where they are rendered or put into prompts.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from shopassist.errors import UserError


@dataclass(slots=True)
class Product:
    id: str
    title: str
    description: str = ""
    features: list[str] = field(default_factory=list)
    brand: str | None = None
    # most general first, e.g. ["Kitchen", "Blenders"]
    categories: list[str] = field(default_factory=list)
    # in `currency` units (not cents); None when the source has no price
    price: float | None = None
    currency: str = "USD"
    image_urls: list[str] = field(default_factory=list)
    # structured specs, e.g. {"colour": "black", "capacity": "1.5 l"}
    attributes: dict[str, str] = field(default_factory=dict)
    average_rating: float | None = None
    rating_count: int = 0

    def to_json(self, sort_keys: bool = False) -> str:
        """Every field as JSON: the stored form of a product (specs keep their source order, which
        the BM25 text and the cards rely on); ``sort_keys=True`` is what ``content_hash`` hashes.
        The same text as ``json.dumps(asdict(p))`` (fields hold only str, numbers, lists and
        dicts) without ``asdict``'s deep copy, which cost more than the JSON itself on Icecat rows
        with ~100 specs.

        >>> list(json.loads(Product(id="1", title="A", attributes={"z": "1", "a": "2"}).to_json())["attributes"])
        ['z', 'a']
        >>> Product(id="1", title="A").to_json(sort_keys=True)[:40]
        '{"attributes": {}, "average_rating": nul'
        """
        return json.dumps({f: getattr(self, f) for f in _PRODUCT_FIELDS}, sort_keys=sort_keys, ensure_ascii=False)

    def content_hash(self) -> str:
        """Stable hash of every field: unchanged rows are skipped on re-ingest.

        >>> Product(id="1", title="A").content_hash() == Product(id="1", title="A").content_hash()
        True
        """
        return hashlib.sha1(self.to_json(sort_keys=True).encode("utf-8")).hexdigest()

    @property
    def category(self) -> str | None:
        """The most specific category, if any."""
        return self.categories[-1] if self.categories else None

    def search_text(self) -> str:
        """The text that is embedded and BM25-indexed: title, brand, categories, short
        description, features and specs, in that order of importance.

        >>> Product(id="1", title="Mixer", brand="Acme", categories=["Kitchen"]).search_text()
        'Mixer. Acme. Kitchen.'
        """
        parts = [self.title]
        if self.brand:
            parts.append(self.brand)
        if self.categories:
            parts.append(" > ".join(self.categories))
        if self.description:
            parts.append(self.description[:500])
        if self.features:
            parts.append("; ".join(self.features)[:400])
        if self.attributes:
            parts.append("; ".join(f"{k}: {v}" for k, v in list(self.attributes.items())[:20])[:400])
        return ". ".join(p.strip().rstrip(".") for p in parts if p and p.strip()) + "."

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Product":
        return cls(**{k: d[k] for k in cls.__slots__ if k in d})


_PRODUCT_FIELDS = tuple(f.name for f in fields(Product))


@dataclass(slots=True)
class Review:
    id: str
    product_id: str
    user_id: str
    rating: float  # stars, 1..5
    title: str = ""
    text: str = ""
    timestamp: int = 0  # unix seconds
    helpful_votes: int = 0
    verified: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Review":
        return cls(**{k: d[k] for k in cls.__slots__ if k in d})


class BadRow(UserError, ValueError):
    """A source row that cannot become a Product/Review: the source's fault.

    It is quarantined with its line number and this message; ingest goes on.
    """
