"""Ranking peers that read no text and predict no stars: what a recommender must beat.

A rating model can only claim to choose well what to show if it orders candidates better than
these do. All share one small protocol: ``fit(events)`` with (user, item, timestamp) training
events (timestamps may all be 0 where a dataset has none), then
``score(history, items, at) -> array`` where ``history`` is the user's earlier items (oldest
first) and ``at`` the time of the ranking (only events strictly before it may count).

- ``Popularity``: the item's number of training events (the classic "most popular" list).
- ``RecentPopularity``: the same events, each weighted 2^-(age / half-life) at ``at``; events at
  or after ``at`` do not count (what a shop's "trending" shelf would have shown that day).
- ``ItemKNN``: sum over the history of the cosine between item columns of the binary
  user x item matrix ("shoppers who rated X also rated this"), Sarwar et al. 2001.
- ``ALS``: implicit-feedback matrix factorisation (``implicit``, a dev extra), the user's factors
  recomputed from the history.
- ``Transitions``: how often the candidate directly followed a history item in a training
  sequence, weighted toward the most recent history item (a first-order Markov chain:
  "shoppers who bought X next bought this").

The random expectation needs no class: ``ranker.metrics.random_ndcg`` gives it analytically.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

Event = tuple[str, str, int]  # (user, item, timestamp)
DAY = 86_400


class Popularity:
    """Training events per item; 0 for an item never seen.

    >>> Popularity().fit([("u", "a", 0), ("v", "a", 0), ("u", "b", 0)]).score([], ["a", "b", "c"]).tolist()
    [2.0, 1.0, 0.0]
    """

    name = "popularity"

    def fit(self, events: Iterable[Event]) -> "Popularity":
        self.counts = Counter(i for _, i, _ in events)
        return self

    def score(self, history: Sequence[str], items: Sequence[str], at: int | None = None) -> np.ndarray:
        return np.asarray([self.counts.get(i, 0) for i in items], float)


class RecentPopularity:
    """sum over the item's training events before ``at`` of 2^-((at - t) / half_life).

    A one-year half-life (MI 2014 spans ten years; tuned on nothing: the obvious "this year's
    sellers"). With ``at=None`` every event counts with weight 1 (= ``Popularity``).

    >>> m = RecentPopularity(half_life=10).fit([("u", "a", 0), ("v", "a", 10), ("u", "b", 20), ("w", "b", 30)])
    >>> m.score([], ["a", "b"], at=20).tolist()   # a: 2^-2 + 2^-1; b: its event at 20 is not before 20
    [0.75, 0.0]
    """

    name = "recent_popularity"

    def __init__(self, half_life: float = 365 * DAY):
        self.half_life = half_life

    def fit(self, events: Iterable[Event]) -> "RecentPopularity":
        ts: dict[str, list[int]] = defaultdict(list)
        for _, i, t in events:
            ts[i].append(t)
        self.ts = {i: np.sort(np.asarray(v, float)) for i, v in ts.items()}
        return self

    def score(self, history: Sequence[str], items: Sequence[str], at: int | None = None) -> np.ndarray:
        out = np.zeros(len(items))
        for j, i in enumerate(items):
            t = self.ts.get(i)
            if t is None:
                continue
            if at is None:
                out[j] = len(t)
                continue
            t = t[: bisect_left(t, at)]
            out[j] = float(np.sum(np.exp2(-(at - t) / self.half_life)))
        return out


class ItemIndex:
    """Items <-> columns, for the matrix peers."""

    def __init__(self, items: Iterable[str]):
        self.items = list(dict.fromkeys(items))
        self.col = {i: k for k, i in enumerate(self.items)}

    def cols(self, items: Sequence[str]) -> np.ndarray:
        """Column per item, -1 for an item the index does not know."""
        return np.asarray([self.col.get(i, -1) for i in items], int)


class ItemKNN:
    """score(i) = sum_{h in history} cos(x_h, x_i), x_i the item's binary column over users.

    Each user counts once per item (repeats do not add), an item is not its own neighbour,
    unknown items score 0.

    >>> m = ItemKNN().fit([("u", "a", 0), ("u", "b", 0), ("v", "a", 0), ("v", "c", 0), ("w", "c", 0)])
    >>> [round(x, 4) for x in m.score(["a"], ["b", "c", "a", "zz"]).tolist()]   # a={u,v} b={u} c={v,w}
    [0.7071, 0.5, 0.0, 0.0]
    """

    name = "item_knn"

    def fit(self, events: Iterable[Event]) -> "ItemKNN":
        from scipy.sparse import csr_matrix

        pairs = list(dict.fromkeys((u, i) for u, i, _ in events))
        self.index = ItemIndex(i for _, i in pairs)
        users = {u: k for k, u in enumerate(dict.fromkeys(u for u, _ in pairs))}
        x = csr_matrix((np.ones(len(pairs), np.float32), ([users[u] for u, _ in pairs], self.index.cols([i for _, i in pairs]))),
                       shape=(len(users), len(self.index.items)))
        co = (x.T @ x).toarray()
        norm = np.sqrt(np.diag(co)).astype(np.float32)
        norm[norm == 0] = 1.0
        self.sim = co / norm[:, None] / norm[None, :]
        np.fill_diagonal(self.sim, 0.0)
        return self

    def score_all(self, history: Sequence[str]) -> np.ndarray:
        """Scores of every indexed item (columns of ``self.index``)."""
        h = self.index.cols(history)
        h = h[h >= 0]
        return self.sim[h].sum(0) if len(h) else np.zeros(len(self.index.items), np.float32)

    def score(self, history: Sequence[str], items: Sequence[str], at: int | None = None) -> np.ndarray:
        s, c = self.score_all(history), self.index.cols(items)
        return np.where(c >= 0, s[np.maximum(c, 0)], 0.0).astype(float)


class Transitions:
    """score(i) = sum_j decay^j * P(i | h_{-1-j}), j = 0 for the last history item, with
    P(b | a) = #(a directly followed by b in a training sequence) / #(a followed by anything).
    Needs events in each user's order (their ``fit`` order, ties kept).

    >>> m = Transitions(decay=0.5).fit([("u", "a", 0), ("u", "b", 1), ("v", "a", 0), ("v", "c", 1), ("v", "b", 2)])
    >>> m.score(["c", "a"], ["b", "c"]).tolist()   # a -> b, c (1/2 each); c -> b (1)
    [1.0, 0.5]
    """

    name = "transitions"

    def __init__(self, decay: float = 0.5):
        # 0.5: the item just bought says twice as much as the one before it (a guess, not tuned;
        # eval-nextitem reports the peer as is)
        self.decay = decay

    def fit(self, events: Iterable[Event]) -> "Transitions":
        from scipy.sparse import csr_matrix

        seqs: dict[str, list[str]] = defaultdict(list)
        for u, i, _ in events:
            seqs[u].append(i)
        self.index = ItemIndex(i for s in seqs.values() for i in s)
        a, b = [], []
        for s in seqs.values():
            c = self.index.cols(s)
            a.extend(c[:-1])
            b.extend(c[1:])
        n = len(self.index.items)
        m = csr_matrix((np.ones(len(a), np.float32), (a, b)), shape=(n, n))
        out = np.asarray(m.sum(1)).ravel()
        out[out == 0] = 1.0
        self.p = csr_matrix(m.multiply(1.0 / out[:, None]))
        return self

    def score_all(self, history: Sequence[str]) -> np.ndarray:
        s = np.zeros(len(self.index.items), np.float32)
        w = 1.0
        for c in self.index.cols(list(reversed(history)))[:8]:  # the last 8 items: decay 0.5 leaves < 1 % beyond
            if c >= 0:
                s += w * self.p[c].toarray().ravel()
            w *= self.decay
        return s

    def score(self, history: Sequence[str], items: Sequence[str], at: int | None = None) -> np.ndarray:
        s, c = self.score_all(history), self.index.cols(items)
        return np.where(c >= 0, s[np.maximum(c, 0)], 0.0).astype(float)


class ALS:
    """Implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008) from ``implicit``; the
    user's factors are recomputed from ``history`` (so an earlier item outside training counts).
    64 factors, regularisation 0.5, alpha 10: the best of four on Scientific's validation split
    (``ranker eval-nextitem`` notes). Unknown items score 0.
    """

    name = "als"

    def __init__(self, factors: int = 64, regularization: float = 0.5, alpha: float = 10.0, iterations: int = 15, seed: int = 0):
        self.params = {"factors": factors, "regularization": regularization, "alpha": alpha, "iterations": iterations}
        self.seed = seed

    def fit(self, events: Iterable[Event]) -> "ALS":
        from implicit.als import AlternatingLeastSquares  # a dev extra: only the peers need it
        from scipy.sparse import csr_matrix

        pairs = list(dict.fromkeys((u, i) for u, i, _ in events))
        self.index = ItemIndex(i for _, i in pairs)
        users = {u: k for k, u in enumerate(dict.fromkeys(u for u, _ in pairs))}
        x = csr_matrix((np.ones(len(pairs), np.float32), ([users[u] for u, _ in pairs], self.index.cols([i for _, i in pairs]))),
                       shape=(len(users), len(self.index.items)))
        self.model = AlternatingLeastSquares(**self.params, random_state=self.seed, num_threads=1)
        self.model.fit(x, show_progress=False)
        return self

    def score_all(self, history: Sequence[str]) -> np.ndarray:
        from scipy.sparse import csr_matrix

        h = sorted({c for c in self.index.cols(history) if c >= 0})
        x = csr_matrix((np.ones(len(h), np.float32), ([0] * len(h), h)), shape=(1, len(self.index.items)))
        u = self.model.recalculate_user(0, x)
        return np.asarray(self.model.item_factors @ np.ravel(u), np.float32)

    def score(self, history: Sequence[str], items: Sequence[str], at: int | None = None) -> np.ndarray:
        s, c = self.score_all(history), self.index.cols(items)
        return np.where(c >= 0, s[np.maximum(c, 0)], 0.0).astype(float)


PEERS = {"popularity": Popularity, "recent_popularity": RecentPopularity, "item_knn": ItemKNN, "als": ALS}
