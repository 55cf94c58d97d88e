"""What to show: predicted stars blended with co-ratings and popularity (issue 15).

The rating model alone orders candidates no better than chance within a category (BENCHMARKS.md,
ranker section 13: NDCG@10 0.045 vs random 0.045 on MI); "shoppers who rated X also rated this"
(item-KNN on co-ratings) and popularity carry what a shopper buys next. The blend that beat
popularity and ALS there, with intervals, is served here::

    blend_j = z(stars)_j + W_KNN * z(knn)_j + W_POP * z(popularity)_j      z: within the candidate list
    knn_j   = sum_{h in history} |R_h & R_j - {user}| / sqrt(|R_h| |R_j|)   R_i: the shoppers who rated i
    show_j  = mid-rank of blend_j among the candidates, scaled to [0, 1]    (1 = first)

``show`` replaces the stars term of ``ranker.scoring.fuse`` (``fuse(relevance, stars, w, show=...)``):
it lives in [0, 1] like the stars term, so the relevance safety of the fusion weight is unchanged
(a relevance gap above w / (1 - w) is never overturned; the adversarial study of
``ranker eval-fusion`` already put the personal term at both ends of [0, 1]).

History = the shopper's rated products (catalog reviews + this session's thumbs) except the ones
they disliked (<= ``DISLIKED`` stars): "shoppers who bought X" is never said of a product they
panned. A guest without history has knn = 0 everywhere: stars + popularity only.

R_i holds the catalog's reviewers of i and, when serving, the shoppers whose latest reaction to i in
the conversation store was positive (a click, thumb up, add to cart or buy; guests keyed by their
conversation): ``CoRatingSource`` keeps both, re-reading the live part at most every
``Settings.coratings_ttl_s`` (issue 16), so what shoppers click today changes tomorrow's
"shoppers who bought X also bought this".
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

import numpy as np

from ranker.scoring import CatalogReader, Prediction, Ranker, UserContext

# weights next to z(stars) (weight 1), chosen on MI 2014's validation split by `ranker eval`
# (notes.ours_blend: grid {0, 1/4, 1/2, 1, 2, 4}^2, validation NDCG@10 0.2165 vs 0.0722 stars alone;
# test 0.189 vs popularity 0.144, BENCHMARKS.md ranker section 13)
WEIGHTS = {"item_knn": 4.0, "popularity": 2.0}
DISLIKED = 2.0  # stars at or below which a rated product is not "bought" history (a thumb down is 1)


def zscore(x) -> np.ndarray:
    """(x - mean) / std within the list; all-equal values give zeros.

    >>> zscore([1.0, 2.0, 3.0]).round(4).tolist()
    [-1.2247, 0.0, 1.2247]
    >>> zscore([2.0, 2.0]).tolist()
    [0.0, 0.0]
    """
    x = np.asarray(x, float)
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else x - x.mean()


def contributions(stars, knn, popularity, weights: dict[str, float] = WEIGHTS) -> dict[str, np.ndarray]:
    """Each signal's part of the blend, per candidate (their sum is the blend).

    >>> c = contributions([4.0, 5.0], [0.0, 0.0], [10, 30])
    >>> {k: v.tolist() for k, v in c.items()}
    {'stars': [-1.0, 1.0], 'item_knn': [0.0, 0.0], 'popularity': [-2.0, 2.0]}
    """
    return {"stars": zscore(stars), "item_knn": weights.get("item_knn", 0.0) * zscore(knn),
            "popularity": weights.get("popularity", 0.0) * zscore(popularity)}


def show_term(scores) -> np.ndarray:
    """Mid-ranks of ``scores`` scaled to [0, 1] (highest 1, lowest 0, ties share their mean rank):
    the blend's order, bounded like the stars term of ``fuse``. One candidate: 0.5.

    >>> show_term([0.3, -2.0, 5.0, 0.3]).tolist()
    [0.5, 0.0, 1.0, 0.5]
    >>> show_term([7.0]).tolist()
    [0.5]
    """
    x = np.asarray(scores, float)
    n = len(x)
    if n < 2:
        return np.full(n, 0.5)
    ranks = np.empty(n)
    ranks[np.argsort(x, kind="stable")] = np.arange(n)
    _, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
    ranks = np.bincount(inv, weights=ranks)[inv] / counts[inv]
    return ranks / (n - 1)


class CoRatings:
    """Who rated what: each item's raters, the cosine item-KNN of ``ranker.peers.ItemKNN`` over them.

    >>> co = CoRatings.from_pairs([("u", "a"), ("u", "b"), ("v", "a"), ("v", "c"), ("w", "c")])
    >>> s, via = co.scores(["a"], ["b", "c", "a", "zz"])
    >>> [round(x, 4) for x in s.tolist()], via     # a={u,v} b={u} c={v,w}: as ItemKNN's doctest
    ([0.7071, 0.5, 0.0, 0.0], ['a', 'a', None, None])
    >>> co.scores(["a"], ["b"], exclude_user="u")[0].tolist()   # u's own co-rating does not count for u
    [0.0]
    """

    def __init__(self):
        self.raters: dict[str, set[str]] = {}
        self.rated: dict[str, set[str]] = {}  # user -> items
        self._co: dict[str, Counter] = {}  # item h -> {item j: |R_h & R_j|}, built on first use

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> CoRatings:
        co = cls()
        for user, item in pairs:
            co.add(user, item)
        return co

    @classmethod
    def from_store(cls, store: CatalogReader) -> CoRatings:
        """Every review of the catalog (``catalog_pairs``)."""
        return cls.from_pairs(catalog_pairs(store))

    def add(self, user: str, item: str) -> None:
        if user in self.raters.get(item, ()):
            return
        self.raters.setdefault(item, set()).add(user)
        self.rated.setdefault(user, set()).add(item)
        for other in self.rated[user]:  # their co-counts changed
            self._co.pop(other, None)

    def remove(self, user: str, item: str) -> None:
        """Take ``user``'s rating of ``item`` back (a live click retracted by a thumb down).

        >>> co = CoRatings.from_pairs([("u", "a"), ("u", "b")]); co.remove("u", "b")
        >>> co.scores(["a"], ["b"])[0].tolist(), co.rated["u"]
        ([0.0], {'a'})
        """
        if user not in self.raters.get(item, ()):
            return
        for other in self.rated[user]:  # their co-counts change (item's among them)
            self._co.pop(other, None)
        self.raters[item].discard(user)
        self.rated[user].discard(item)
        if not self.raters[item]:
            del self.raters[item]

    def co_counts(self, item: str) -> Counter:
        """{j: the number of shoppers who rated both ``item`` and j}, kept until a rating touches it."""
        co = self._co.get(item)
        if co is None:
            co = self._co[item] = Counter(j for u in self.raters.get(item, ()) for j in self.rated[u])
        return co

    def scores(self, history: Sequence[str], items: Sequence[str], exclude_user: str | None = None) -> tuple[np.ndarray, list]:
        """knn per item (module docstring) and the history item that adds most to it (None: 0)."""
        hist = [h for h in dict.fromkeys(history) if self.raters.get(h)]
        own = self.rated.get(exclude_user, set()) if exclude_user is not None else set()
        cos = [(h, self.co_counts(h), len(self.raters[h]), h in own) for h in hist]
        out, via = np.zeros(len(items)), [None] * len(items)
        for j, item in enumerate(items):
            nj = len(self.raters.get(item, ()))
            if not nj or not cos:
                continue
            best, mine = 0.0, item in own
            for h, co, nh, h_mine in cos:
                if h == item:  # an item is not its own neighbour
                    continue
                common = co.get(item, 0) - (1 if h_mine and mine else 0)  # the shopper's own co-rating does not count
                if common > 0:
                    s = common / math.sqrt(nh * nj)
                    out[j] += s
                    if s > best:
                        best, via[j] = s, h
        return out, via


OVERLAP_IDS = 256  # each refresh re-reads this many event ids below its cursor: Postgres can commit a lower id
# after a higher one was read (concurrent replicas); replaying a window in id order is idempotent


def latest_positive(events) -> set[tuple[str, str]]:
    """The (key, product) pairs whose latest verdict is "+", from ``ConversationStore.co_rating_events``
    rows ``(id, key, product, verdict)``: "+" a positive reaction, "-" a thumb down, "erase" a deletion.

    >>> sorted(latest_positive([(1, "u", "a", "+"), (2, "u", "b", "+"), (3, "u", "a", "-"), (4, None, None, "erase")]))
    [('u', 'b')]
    """
    out: set[tuple[str, str]] = set()
    for _, key, product, verdict in events:
        if verdict == "+":
            out.add((key, product))
        elif verdict == "-":
            out.discard((key, product))
    return out


class CoRatingSource:
    """The served co-ratings: the catalog's reviews plus the shoppers' live positive events.

    ``store`` / ``store_fn``: the catalog (read again whenever its product count changes: an ingest).
    ``live_fn(after_id)``: the store's co-rating events with an id above ``after_id``
    (``ConversationStore.co_rating_events``), asked at most every ``ttl_s`` seconds from the last id
    seen (minus ``OVERLAP_IDS``): a refresh reads only what is new. A positive reaction adds its
    pair in place, a thumb down removes it (unless the catalog has the same pair), and an "erase"
    (``privacy delete``: whose events went is not recorded) re-reads all live events and rebuilds,
    so an erased shopper's contribution is gone at the next refresh. One store read at a time;
    scoring threads meanwhile use what is there. One source serves every version and both A/B arms.

    >>> events = [(1, "s1", "a", "+"), (2, "s1", "b", "+")]
    >>> src = CoRatingSource(live_fn=lambda after: [e for e in events if e[0] > after], ttl_s=0)
    >>> sorted(src.get().raters["a"]), src.scores(["a"], ["b"])[0].tolist()
    (['s1'], [1.0])
    >>> events.append((3, "s1", "b", "-"))   # s1 took b back
    >>> src.scores(["a"], ["b"])[0].tolist()
    [0.0]
    """

    def __init__(self, store: CatalogReader | None = None, store_fn=None,
                 live_fn: Callable[[int], list[tuple[int, str | None, str | None, str]]] | None = None, ttl_s: float = 5.0):
        self._store, self._store_fn, self.live_fn, self.ttl_s = store, store_fn, live_fn, ttl_s
        self._co: CoRatings | None = None
        self._catalog_key: int | None = None
        self._catalog: set[tuple[str, str]] = set()
        self._live: set[tuple[str, str]] = set()
        self._cursor = 0  # the highest live event id applied
        self._live_at = -math.inf  # monotonic time of the last live read
        self._lock = threading.Lock()  # guards the CoRatings: scoring reads it, a refresh changes it
        self._refreshing = threading.Lock()  # one store read at a time

    @property
    def store(self) -> CatalogReader | None:
        if self._store is None and self._store_fn is not None:
            self._store = self._store_fn()
        return self._store

    def get(self) -> CoRatings:
        """The co-ratings as of now (the catalog re-read on a product-count change, new live events
        on the TTL). Mutated in place by later refreshes: score through ``scores`` when threads share it."""
        store = self.store
        key = store.count() if store is not None else 0
        if self._co is None or key != self._catalog_key:
            with self._refreshing:
                if self._co is None or key != self._catalog_key:
                    self._catalog = set(catalog_pairs(store)) if store is not None else set()
                    self._catalog_key = key
                    self._rebuild()
        elif self.live_fn is not None and time.monotonic() - self._live_at >= self.ttl_s:
            if self._refreshing.acquire(blocking=not self.ttl_s):  # TTL 0: every call sees every event
                try:
                    self._refresh()
                finally:
                    self._refreshing.release()
        return self._co

    def scores(self, history: Sequence[str], items: Sequence[str], exclude_user: str | None = None) -> tuple[np.ndarray, list]:
        """``CoRatings.scores`` on the co-ratings as of now, safe against a refresh in another thread."""
        co = self.get()
        with self._lock:
            return co.scores(history, items, exclude_user)

    def _rebuild(self) -> None:
        self._live_at = time.monotonic()
        events = self.live_fn(0) if self.live_fn is not None else []
        live = latest_positive(events)
        co = CoRatings.from_pairs([*self._catalog, *live])
        with self._lock:
            self._co, self._live, self._cursor = co, live, max((e[0] for e in events), default=0)

    def _refresh(self) -> None:
        self._live_at = time.monotonic()
        events = self.live_fn(max(0, self._cursor - OVERLAP_IDS))
        if any(verdict == "erase" and i > self._cursor for i, _, _, verdict in events):
            self._rebuild()
            return
        with self._lock:
            for _, user, item, verdict in events:
                pair = (user, item)
                if verdict == "+" and pair not in self._live:
                    self._live.add(pair)
                    self._co.add(user, item)
                elif verdict == "-" and pair in self._live:
                    self._live.discard(pair)
                    if pair not in self._catalog:
                        self._co.remove(user, item)
            self._cursor = max([self._cursor, *(e[0] for e in events)])


def catalog_pairs(store: CatalogReader) -> Iterable[tuple[str, str]]:
    """(reviewer, product) of every review of the catalog (products without ratings cost no query)."""
    return ((r.user_id, p.id) for p in store.iter_products() if p.rating_count
            for r in store.reviews_for(p.id) if r.user_id)


def bought(user: UserContext) -> list[str]:
    """The shopper's history for co-ratings: rated product ids, oldest first, except the disliked.

    >>> bought(UserContext("u", rated=[("a", 5.0), ("b", 1.0), ("c", 3.0)]))
    ['a', 'c']
    """
    return [i for i, s in user.rated if s > DISLIKED]


class BlendedRanker:
    """The Ranker contract over another ranker: its stars and reasons, plus ``Prediction.show`` (the
    blend of the module docstring) and, on the cards the co-ratings lift, the reason
    "shoppers who bought “<a product of their history>” also bought this".

    Everything it does not change (``version``, ``personal``, ``user_context``, a trained version's
    ``model`` or ``taste``) is the base ranker's. The co-ratings come from ``source`` (default: the
    catalog's alone, read on the first call and again when its product count changes); serving
    hands every version the same ``CoRatingSource`` with the shoppers' live events in it.
    """

    def __init__(self, base: Ranker, store: CatalogReader | None = None, weights: dict[str, float] | None = None,
                 store_fn=None, source: CoRatingSource | None = None):
        self.base = base
        self.weights = dict(WEIGHTS if weights is None else weights)
        # store_fn: opens the data dir's catalog once it exists
        self.source = source if source is not None else CoRatingSource(store, store_fn)

    def __getattr__(self, name):  # only for names this class does not define: the base ranker's
        if name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)

    @property
    def version(self) -> str | None:
        return self.base.version

    @property
    def personal(self) -> bool:
        return self.base.personal

    def user_context(self, store: CatalogReader, user_id: str) -> UserContext:
        return self.base.user_context(store, user_id)

    @property
    def store(self) -> CatalogReader | None:
        return self.source.store

    def co_ratings(self) -> CoRatings:
        """The co-ratings as of now (``CoRatingSource.get``; empty without a catalog or live events)."""
        return self.source.get()

    def score(self, user: UserContext, products: list, explain: bool = True) -> list[Prediction]:
        """The base ranker's predictions with ``show`` set (and the co-rating reason when it lifts the card)."""
        preds = self.base.score(user, products, explain=explain)
        if len(preds) < 2:
            return preds
        ids = [p.id for p in products]
        knn, via = self.source.scores(bought(user), ids, exclude_user=user.key or user.user_id)
        parts = contributions([p.stars for p in preds], knn, [p.rating_count or 0 for p in products], self.weights)
        show = show_term(sum(parts.values()))
        lifted = {j for j in range(len(preds)) if via[j] is not None and parts["item_knn"][j] > 0
                  and parts["item_knn"][j] >= max(parts["stars"][j], parts["popularity"][j])}
        titles = {}
        if explain and lifted and self.store is not None:
            titles = {p.id: p.title for p in self.store.get_many(list(dict.fromkeys(via[j] for j in lifted)))}
        out = []
        for j, p in enumerate(preds):
            why = list(p.explanation)
            if j in lifted and via[j] in titles:
                why.insert(0, f"shoppers who bought “{titles[via[j]][:60]}” also bought this")
            out.append(replace(p, show=round(float(show[j]), 6), explanation=why))
        return out
