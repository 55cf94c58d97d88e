"""Contract types of the ranker and the pure fusion of relevance with predicted stars.

Other packages (the assistant) only need these names: ``Ranker`` (the protocol every ranker
declares), ``UserContext`` (who is shopping), ``Prediction`` (predicted stars plus why) and
``fuse`` (the final rank score). ``CatalogReader`` is the slice of the catalog store the ranker
reads, so it is handed a store rather than importing one. No torch, no I/O here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from retrieval.catalog import Product, Review

# shopper feedback as the stars the ranker learns from (``ranker update`` events, the assistant's
# user context): the kinds that say "I like this" count as 5, a thumb down as 1
KIND_STARS = {"thumb_up": 5.0, "buy": 5.0, "add_to_cart": 5.0, "more_like_this": 5.0, "thumb_down": 1.0}


@dataclass(slots=True)
class UserContext:
    """What the ranker knows about a shopper.

    history: (product title, stars) pairs, oldest first; empty for a new user.
    likes / dislikes: short aspects taken from the user's review text by the
    review-sentiment model (e.g. "sound quality", "cheap strap").
    rated: (product id, stars) of the user's rated products, oldest first (the catalog history
    plus session thumbs): the trained ranker's personal taste term fits on these
    (``ranker.taste``); empty = no taste term, the rest works as before.
    key: whose co-ratings are this shopper's own (``ranker.blend``): their user id, or
    ``conversation:<id>`` for a guest (as the store keys live feedback); None = ``user_id``.
    """

    user_id: str | None
    history: list[tuple[str, float]] = field(default_factory=list)
    likes: list[str] = field(default_factory=list)
    dislikes: list[str] = field(default_factory=list)
    rated: list[tuple[str, float]] = field(default_factory=list)
    key: str | None = None

    @property
    def is_cold(self) -> bool:
        return not self.history and not self.likes and not self.dislikes


@dataclass(slots=True)
class Prediction:
    """Predicted stars (1..5) for one product, and short reasons taken from the model.

    show: where to show it among the candidates scored together, in [0, 1] (1 = first): the blend of
    stars, co-ratings and popularity (``ranker.blend``); None = order by the stars alone."""

    product_id: str
    stars: float
    explanation: list[str] = field(default_factory=list)
    show: float | None = None


class CatalogReader(Protocol):
    """What the ranker reads from a catalog (``retrieval.store.CatalogStore`` has it; so does the
    in-memory view over a rating dataset in ``ranker.bench``)."""

    def get_many(self, ids: Sequence[str]) -> list[Product]: ...

    def reviews_for(self, product_id: str, limit: int | None = None) -> list[Review]: ...

    def reviews_by_user(self, user_id: str) -> list[Review]: ...

    def iter_products(self) -> Iterator[Product]: ...

    def count(self) -> int: ...


@runtime_checkable
class Ranker(Protocol):
    """Predicted stars and reasons for one shopper's candidates (``ranker.serve.load_ranker``).

    Capabilities are declared, not found out by ``isinstance``: ``version`` names the trained
    model version serving (None: the catalog rating prior, nothing trained yet); ``personal``
    says a per-user taste term is fitted on the shopper's rated products (``ranker.taste``).
    """

    version: str | None
    personal: bool

    def score(self, user: UserContext, products: list[Product]) -> list[Prediction]:
        """Predicted stars (1..5) for each product, in the order given, with short reasons."""
        ...

    def user_context(self, store: CatalogReader, user_id: str) -> UserContext:
        """What the ranker knows about ``user_id`` from their reviews in ``store``."""
        ...


def clip_stars(x: float) -> float:
    """A star estimate clipped to the 1..5 scale every rating in the catalog is on.

    >>> clip_stars(5.7), clip_stars(0.2), clip_stars(3)
    (5.0, 1.0, 3.0)
    """
    return min(max(float(x), 1.0), 5.0)


def fuse(relevance: float, stars: float | None, weight: float, show: float | None = None) -> float:
    """Final rank score from retrieval relevance and predicted stars (or the blended ``show`` term).

    score = (1 - w) * relevance + w * (clip(stars, 1, 5) - 1) / 4,  relevance alone if stars is None;
    with ``show`` (in [0, 1], ``Prediction.show``: stars blended with co-ratings and popularity,
    ``ranker.blend``) the personal term is ``show`` instead of the scaled stars: the same bounds.

    Both terms live in [0, 1], so a rating gap (at most w) can never outweigh a relevance
    gap larger than w / (1 - w): at w = 0.25 a 5-star product with relevance 0.2 loses to a
    1-star product with relevance 0.7 (0.75*0.2 + 0.25*1 = 0.40 < 0.75*0.7 + 0 = 0.525).

    The weight the assistant should use was measured on the Chorus/Icecat relevance set
    (``shopassist ranker eval-fusion``, ``ranker.fusion_eval``; BENCHMARKS.md ranker section 9):
    hybrid relevance scores of the top 50 hits are close together (weighted RRF), so at
    w = 0.25 adversarial ratings (5 stars to irrelevant, 1 to relevant products) lift an
    irrelevant product over a relevant one in 73 % of the pairs; at w = 0.02 in 3.6 % (1.8 %
    of the pairs on the first 10 cards), random ratings cost no NDCG@10, and only relevance
    gaps below 0.0204 can be overturned: the rating breaks near-ties, it does not re-rank.

    >>> fuse(0.8, 5.0, 0.25)
    0.85
    >>> fuse(0.8, None, 0.25)
    0.8
    >>> round(fuse(0.5, 3.0, 0.5), 3)
    0.5
    >>> fuse(0.8, 5.0, 0.25, show=0.0)   # the blend put it last among the candidates
    0.6
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"fusion weight must be in [0, 1], got {weight}")
    if show is not None:
        if not 0.0 <= show <= 1.0:
            raise ValueError(f"show term must be in [0, 1], got {show}")
        return round((1.0 - weight) * relevance + weight * float(show), 10)
    if stars is None:
        return relevance
    s = (clip_stars(stars) - 1.0) / 4.0
    return round((1.0 - weight) * relevance + weight * s, 10)
