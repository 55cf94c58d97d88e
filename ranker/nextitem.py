"""Next-item recommendation on full ranking: every method ranks ALL items for each user.

Data: a sequential-recommendation split in UniSRec's processed form (``read_seqrec``; Amazon 2018
"Scientific": 8,442 users, 4,385 items, item text = title + categories + brand, no ratings).
The split is the dataset's own (its PROVENANCE.md): per user, the last item is the test target,
the second-to-last the validation target, every earlier item is training data. The test history
is everything before the test target (the validation item included), as in UniSRec/RecBole.

Methods, side by side in one run (``evaluate_nextitem``):

- ``popularity``: training events per item (``ranker.peers.Popularity``);
- ``item_knn``: cosine of item co-occurrence columns (``ranker.peers.ItemKNN``);
- ``transitions``: first-order "what came next" counts (``ranker.peers.Transitions``);
- ``als``: implicit-feedback matrix factorisation (``implicit`` ALS; factors/regularisation
  chosen on validation among a few), the user's factors recomputed from the full history;
- ``sasrec``: a self-attentive sequential model (``cornac`` 3.0.1's SASRec, CE loss), trained on
  the training prefixes when ``sasrec_epochs`` > 0 (CPU-heavy: off by default); skipped with a
  note when cornac is not installed;
- ``text``: our ranker's encoder (bundled MiniLM, frozen): user = mean of the history items'
  vectors, score = cosine with each item's text vector;
- ``ours``: the text score blended with the co-occurrence peers (z-scored, weights chosen on
  validation): what the assistant's ranker would serve for "what next".

Metrics: Recall@k and NDCG@k (k = 10, 20) with one relevant item, ties pessimistic (the target
ranks after every item scoring the same), history items NOT removed from the ranking (the split
has repeats); bootstrap 95 % intervals and ours minus each peer, paired per user. The random
expectation is analytic (``ranker.metrics.random_ndcg``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ranker.metrics import bootstrap_mean_diff, mean_ci, random_ndcg, random_recall
from ranker.peers import ItemKNN, Popularity, Transitions
from shopassist.jsonl import read_jsonl

log = logging.getLogger(__name__)
KS = (10, 20)
SEED = 0


@dataclass
class SeqData:
    """Users' chronological item sequences and each item's text."""

    name: str
    items: list[str]  # ids, in the dataset's item_index order
    text: dict[str, str]
    sequences: dict[str, list[str]] = field(default_factory=dict)

    def split(self, which: str) -> list[tuple[str, list[str], str]]:
        """(user, history, target) per user with 3+ items: ``which`` = "val" (second-to-last) or "test" (last)."""
        cut = {"val": 2, "test": 1}[which]
        return [(u, s[:-cut], s[-cut]) for u, s in self.sequences.items() if len(s) >= 3]

    def subset_users(self, n: int) -> "SeqData":
        """The first ``n`` users (file order) and only the items they have: small real data for tests."""
        seqs = dict(list(self.sequences.items())[:n])
        keep = {i for s in seqs.values() for i in s}
        return SeqData(f"{self.name}[{n} users]", [i for i in self.items if i in keep], {i: self.text[i] for i in keep}, seqs)

    def train_events(self) -> list[tuple[str, str, int]]:
        """Every item before each user's validation target, in order (position as the timestamp)."""
        return [(u, i, t) for u, s in self.sequences.items() for t, i in enumerate(s[:-2])]


def read_seqrec(folder: Path) -> SeqData:
    """A folder with ``items.jsonl.gz`` ({asin, item_index, text}) and ``sequences.jsonl.gz``
    ({user_id, item_asins: chronological}), as in ../shared/datasets/amazon_reviews_2018_scientific_seqrec_unisrec."""
    folder = Path(folder)
    if not (folder / "sequences.jsonl.gz").exists() or not (folder / "items.jsonl.gz").exists():
        raise FileNotFoundError(f"{folder}: not a sequential-recommendation folder (items.jsonl.gz + sequences.jsonl.gz)")
    rows = sorted(read_jsonl(folder / "items.jsonl.gz"), key=lambda d: d["item_index"])
    seqs = {d["user_id"]: list(d["item_asins"]) for d in read_jsonl(folder / "sequences.jsonl.gz")}
    return SeqData(folder.name, [d["asin"] for d in rows], {d["asin"]: d["text"].strip() for d in rows}, seqs)


# -- ranking over all items --------------------------------------------------------------------


def full_ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per row, the 1-based rank of the target column among all columns (ties count against it).

    >>> full_ranks(np.array([[0.1, 0.9, 0.5], [1.0, 1.0, 0.0]]), np.array([2, 0])).tolist()
    [2, 2]
    """
    t = scores[np.arange(len(targets)), targets][:, None]
    return (scores >= t).sum(1)


def metric_rows(ranks: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-user (Recall@k, NDCG@k) with one relevant item at ``ranks``.

    >>> r, n = metric_rows(np.array([1, 3, 25]), 20)
    >>> r.tolist(), n.tolist()
    ([1.0, 1.0, 0.0], [1.0, 0.5, 0.0])
    """
    hit = ranks <= k
    return hit.astype(float), np.where(hit, 1.0 / np.log2(ranks + 1.0), 0.0)


def _zscore(s: np.ndarray) -> np.ndarray:
    """Row-wise (x - mean) / std, so scores of different scales can be added."""
    sd = s.std(1, keepdims=True)
    return (s - s.mean(1, keepdims=True)) / np.where(sd > 0, sd, 1.0)


class Scorer:
    """Scores of every item (in ``SeqData.items`` order) for a batch of histories."""

    name = ""

    def scores(self, histories: list[list[str]]) -> np.ndarray:
        raise NotImplementedError


class PeerScorer(Scorer):
    """A ``ranker.peers`` model over the dataset's full item list."""

    def __init__(self, peer, items: list[str]):
        self.peer, self.items, self.name = peer, items, peer.name

    def scores(self, histories):
        if hasattr(self.peer, "score_all"):
            cols = self.peer.index.cols(self.items)
            out = np.zeros((len(histories), len(self.items)), np.float32)
            for r, h in enumerate(histories):
                s = self.peer.score_all(h)
                out[r] = np.where(cols >= 0, s[np.maximum(cols, 0)], 0.0)
            return out
        row = self.peer.score([], self.items).astype(np.float32)
        return np.tile(row, (len(histories), 1))


class TextScorer(Scorer):
    """user = normalised mean of the history items' text vectors; score = cosine with each item."""

    name = "text"

    def __init__(self, vectors: np.ndarray, items: list[str], last_weight: float = 0.0):
        self.v, self.col = vectors, {i: k for k, i in enumerate(items)}
        self.last_weight = last_weight  # extra weight of the most recent item (0 = plain mean)

    def user_vectors(self, histories):
        u = np.zeros((len(histories), self.v.shape[1]), np.float32)
        for r, h in enumerate(histories):
            c = [self.col[i] for i in h if i in self.col]
            if c:
                u[r] = self.v[c].mean(0) + self.last_weight * self.v[c[-1]]
        n = np.linalg.norm(u, axis=1, keepdims=True)
        return u / np.where(n > 0, n, 1.0)

    def scores(self, histories):
        return self.user_vectors(histories) @ self.v.T


class ALSScorer(Scorer):
    """implicit's ALS; the user's factors recomputed from their whole history (recalculate_user)."""

    name = "als"

    def __init__(self, events, items: list[str], factors: int = 64, regularization: float = 0.05, alpha: float = 1.0,
                 iterations: int = 15):
        from implicit.als import AlternatingLeastSquares
        from scipy.sparse import csr_matrix

        self.col = {i: k for k, i in enumerate(items)}
        self.n = len(items)
        users = {u: k for k, u in enumerate(dict.fromkeys(u for u, _, _ in events))}
        pairs = list(dict.fromkeys((users[u], self.col[i]) for u, i, _ in events))
        x = csr_matrix((np.ones(len(pairs), np.float32), tuple(zip(*pairs))), shape=(len(users), self.n))
        self.model = AlternatingLeastSquares(factors=factors, regularization=regularization, alpha=alpha, iterations=iterations,
                                             random_state=SEED, num_threads=1)
        self.model.fit(x, show_progress=False)
        self.params = {"factors": factors, "regularization": regularization, "alpha": alpha, "iterations": iterations}

    def scores(self, histories):
        from scipy.sparse import csr_matrix

        rows, cols = [], []
        for r, h in enumerate(histories):
            for c in dict.fromkeys(self.col[i] for i in h if i in self.col):
                rows.append(r)
                cols.append(c)
        x = csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(histories), self.n))
        u = self.model.recalculate_user(np.arange(len(histories)), x)
        item_f = self.model.item_factors
        return np.asarray(u @ item_f.T, np.float32)


class SASRecScorer(Scorer):
    """cornac's SASRec (Kang & McAuley 2018), trained on the training sequences (each user one session)."""

    name = "sasrec"

    def __init__(self, data: SeqData, epochs: int = 20, dim: int = 64):
        from cornac.data import SequentialDataset
        from cornac.models import SASRec

        rows = [(u, u, i, t) for u, i, t in data.train_events()]
        self.train = SequentialDataset.build(rows, fmt="USIT", seed=SEED)
        # max_len 20 (median sequence 6, 3 users above 20), 512 shared negatives, batch 512: ~10 s an epoch on 2 busy
        # cores; cornac's defaults (50, 2048, 256) took 265 s an epoch
        self.model = SASRec(embedding_dim=dim, n_epochs=epochs, batch_size=512, max_len=20, n_sample=512, loss="ce", seed=SEED,
                            dropout=0.2)
        self.model.fit(self.train)
        self.items = data.items
        self.params = {"epochs": epochs, "embedding_dim": dim, "loss": "ce", "max_len": 20, "n_sample": 512, "batch_size": 512}

    def scores(self, histories):
        import torch

        imap, m = self.train.iid_map, self.model
        n_known, pad, L = len(imap), m.pad_idx, m.max_len
        cols = np.asarray([imap.get(i, -1) for i in self.items])
        seqs = [[imap[i] for i in h if i in imap][-L:] for h in histories]
        batch = torch.tensor([[pad] * (L - len(q)) + q for q in seqs], dtype=torch.long)
        m.model.eval()
        with torch.no_grad():  # one forward pass for the whole batch (cornac's score() runs one user at a time)
            s = np.asarray(m.model.predict(None, batch), np.float32).reshape(len(histories), -1)[:, :n_known]
        s[[k for k, q in enumerate(seqs) if not q]] = 1.0  # no known history: cornac's all-ones
        return np.where(cols[None] >= 0, s[:, np.maximum(cols, 0)], -np.inf).astype(np.float32)


def encode_items(data: SeqData, batch_size: int = 64) -> np.ndarray:
    """Every item's text through the ranker's encoder (bundled MiniLM, frozen, 64 tokens)."""
    from ranker.model import Encoder, resolve_base

    enc = Encoder(resolve_base(), max_length=64)
    return enc.encode_many([data.text[i] for i in data.items], batch_size=batch_size)


# -- evaluation -------------------------------------------------------------------------------


def _ranks_of(scorer: Scorer, rows: list[tuple[str, list[str], str]], col: dict[str, int], batch: int = 512) -> np.ndarray:
    out = []
    for s in range(0, len(rows), batch):
        part = rows[s : s + batch]
        sc = scorer.scores([h for _, h, _ in part])
        out.append(full_ranks(sc, np.asarray([col[t] for _, _, t in part])))
    return np.concatenate(out)


class BlendScorer(Scorer):
    """sum_m w_m * zscore(scores_m): text and co-occurrence signals on one scale."""

    name = "ours"

    def __init__(self, parts: dict[str, Scorer], weights: dict[str, float]):
        self.parts, self.weights = parts, weights

    def scores(self, histories):
        return sum(w * _zscore(self.parts[m].scores(histories)) for m, w in self.weights.items() if w)


BLEND_GRID = (0.0, 0.25, 0.5, 1.0, 2.0)  # weight of each co-occurrence signal next to text (weight 1)


def choose_blend(parts: dict[str, Scorer], val_rows, col, k: int = 10) -> tuple[dict[str, float], dict]:
    """Weights of item_knn and transitions next to text (weight 1), by validation NDCG@k over ``BLEND_GRID``."""
    hist = [h for _, h, _ in val_rows]
    z = {m: _zscore(parts[m].scores(hist)).astype(np.float32) for m in ("text", "item_knn", "transitions")}  # once, not per weight
    targets = np.asarray([col[t] for _, _, t in val_rows])
    grid = {}
    best, best_w = -1.0, {}
    for wk in BLEND_GRID:
        for wt in BLEND_GRID:
            w = {"text": 1.0, "item_knn": wk, "transitions": wt}
            r = full_ranks(z["text"] + wk * z["item_knn"] + wt * z["transitions"], targets)
            v = float(metric_rows(r, k)[1].mean())
            grid[f"{wk:g}/{wt:g}"] = round(v, 4)
            if v > best:
                best, best_w = v, w
    return best_w, grid


def _table(ranks: dict[str, np.ndarray], n_items: int) -> dict:
    out = {"random": {f"{m}@{k}": round(f(n_items, k), 5) for k in KS for m, f in (("recall", random_recall), ("ndcg", random_ndcg))},
           "methods": {}}
    rows = {}
    for name, r in ranks.items():
        m = {}
        for k in KS:
            rec, nd = metric_rows(r, k)
            rows[(name, k)] = nd
            m.update({f"recall@{k}": round(float(rec.mean()), 4), f"recall@{k}_ci95": mean_ci(rec),
                      f"ndcg@{k}": round(float(nd.mean()), 4), f"ndcg@{k}_ci95": mean_ci(nd)})
        out["methods"][name] = m
    if "ours" in ranks:
        out["ours_minus_ndcg@10"] = {n: bootstrap_mean_diff(rows[("ours", 10)], rows[(n, 10)]) for n in ranks if n != "ours"}
        r10 = metric_rows(ranks["ours"], 10)[0]
        out["ours_minus_recall@10"] = {n: bootstrap_mean_diff(r10, metric_rows(ranks[n], 10)[0]) for n in ranks if n != "ours"}
    return out


ALS_GRID = ((64, 0.05, 1.0), (128, 0.05, 1.0), (64, 0.5, 10.0), (128, 0.5, 10.0))  # (factors, regularisation, alpha)


def evaluate_nextitem(data: SeqData, users: int = 0, sasrec_epochs: int = 0, seed: int = SEED) -> dict:
    """Every method fitted on the training prefixes, chosen on validation, scored on test (module docstring).

    ``users``: evaluate a seeded sample of this many users (0 = all); training always uses all.
    """
    t0 = time.time()
    col = {i: k for k, i in enumerate(data.items)}
    val_rows, test_rows = data.split("val"), data.split("test")
    if users and users < len(test_rows):
        keep = set(np.random.default_rng(seed).choice(len(test_rows), size=users, replace=False).tolist())
        val_rows = [r for k, r in enumerate(val_rows) if k in keep]
        test_rows = [r for k, r in enumerate(test_rows) if k in keep]
    events = data.train_events()
    notes: dict = {"users_evaluated": len(test_rows), "users_total": len(data.sequences), "items": len(data.items),
                   "train_events": len(events), "seed": seed}
    seconds: dict[str, float] = {}
    scorers: dict[str, Scorer] = {}

    def timed(name, make):
        t = time.time()
        s = make()
        seconds[name] = round(time.time() - t, 1)
        return s

    scorers["popularity"] = timed("popularity", lambda: PeerScorer(Popularity().fit(events), data.items))
    scorers["item_knn"] = timed("item_knn", lambda: PeerScorer(ItemKNN().fit(events), data.items))
    scorers["transitions"] = timed("transitions", lambda: PeerScorer(Transitions().fit(events), data.items))
    # ALS: a small grid chosen on validation NDCG@10
    als_val = {}
    for f, reg, a in ALS_GRID:
        m = timed(f"als_{f}_{reg}_{a}", lambda f=f, reg=reg, a=a: ALSScorer(events, data.items, f, reg, a))
        als_val[f"{f}/{reg}/{a}"] = (float(metric_rows(_ranks_of(m, val_rows, col), 10)[1].mean()), m)
    best = max(als_val, key=lambda k: als_val[k][0])
    scorers["als"] = als_val[best][1]
    notes["als"] = {"chosen": scorers["als"].params, "val_ndcg@10": {k: round(v[0], 4) for k, v in als_val.items()}}
    try:
        if sasrec_epochs:
            scorers["sasrec"] = timed("sasrec", lambda: SASRecScorer(data, epochs=sasrec_epochs))
            notes["sasrec"] = {**scorers["sasrec"].params, "library": "cornac 3.0.1"}
    except ImportError as e:  # cornac is a dev extra: without it the table says so instead of failing
        notes["sasrec"] = f"skipped: {e}"
    vecs = timed("encode_items", lambda: encode_items(data))
    scorers["text"] = TextScorer(vecs, data.items)
    w, grid = choose_blend(scorers, val_rows, col)
    scorers["ours"] = BlendScorer(scorers, w)
    notes["ours_blend"] = {"weights": w, "val_ndcg@10_by_item_knn/transitions_weight": grid}
    val_ranks = {n: _ranks_of(s, val_rows, col) for n, s in scorers.items()}
    test_ranks = {}
    for n, s in scorers.items():
        t = time.time()
        test_ranks[n] = _ranks_of(s, test_rows, col)
        seconds[f"score_{n}"] = round(time.time() - t, 1)
    notes["seconds"] = {**seconds, "total": round(time.time() - t0, 1)}
    return {"dataset": data.name, "protocol": "leave-one-out (the split's own), full ranking over all items, history not removed",
            "test": _table(test_ranks, len(data.items)), "val": _table(val_ranks, len(data.items)), "notes": notes}
