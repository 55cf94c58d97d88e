"""BM25 over the catalog: the tokens, the field weights, and an index that follows catalog changes
without rebuilding.

bm25s builds an immutable index, and building it for 100k products takes ~26 s (reading and
tokenizing every product is most of it). Every catalog change (a price update too) used to
trigger that rebuild on the next search. The index is now a **base** plus a small **delta**:

- the base is a bm25s index built once and saved under ``data_dir/bm25``, with, per row, the
  product's ``seq``, its content hash and a *key* (hash of its BM25 tokens and of its embedded
  text);
- when the catalog changed, only products whose content hash differs from the base's are read
  and tokenized again. Those whose key is unchanged (a price or rating change) stay in their base
  row; changed and new products go to the delta, and the base rows of changed and deleted
  products are masked out ("dead");
- the delta is scored with the base's corpus statistics (IDF of base words, average length; a
  word the base never saw gets its IDF from the delta), so its scores sit on the base's scale.
  This is an approximation that grows with the delta, so once the delta passes ``DELTA_SHARE`` of
  the base (and ``DELTA_MIN`` rows), the base is rebuilt and saved.

Rows: base rows ``0..nb-1``, then delta rows; ``seqs[row]`` is the product's ``seq``, ``live[row]``
says whether the row is current; ``row_of[seq]`` is the live row of a product.

Example::

    >>> tokenize("Brother TN-2110 toner cartridges")
    ['brother', 'tn-2110', 'tn', '2110', 'tn2110', 'toner', 'cartridge']
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import uuid
from collections import Counter
from pathlib import Path

import numpy as np

from retrieval.catalog import Product

log = logging.getLogger(__name__)

# -- text for BM25 ---------------------------------------------------------------------------------
_TOKEN = re.compile(r"[a-z0-9]+(?:[-/.][a-z0-9]+)*")
STOPWORDS = frozenset(
    "a an and are as at be by for from has in is it its of on or that the to with this these those "
    "i me my we you your our show find want need looking look some any please".split()
)
BM25_VERSION = "4"  # bump when tokenize/bm25_text/the saved layout change: the index is rebuilt


def _stem(t: str) -> str:
    """A very light plural stemmer: "headphones" -> "headphone", "batteries" -> "battery".

    An abbreviation's plural folds too ("tvs", "cds"; not "gas", "bus", "ups"), and the British
    doubled l of a long word ("cancelling", not "filling"):

    >>> [_stem(w) for w in ["headphones", "batteries", "glass", "boxes", "aaa", "series", "tvs", "gas", "ups"]]
    ['headphone', 'battery', 'glass', 'box', 'aaa', 'series', 'tv', 'gas', 'ups']
    >>> [_stem(w) for w in ["cancelling", "canceling", "filling"]]
    ['canceling', 'canceling', 'filling']
    """
    if len(t) >= 9 and t.endswith("lling"):  # British doubling: "cancelling" is "canceling", "travelling" "traveling"
        return t[:-5] + "ling"
    if len(t) == 3 and t.isalpha() and t[2] == "s" and not set(t[:2]) & set("aeiouy"):
        return t[:2]
    if len(t) <= 3 or not t.isalpha() or t.endswith(("ss", "us", "is", "series")):
        return t
    if t.endswith("ies") and len(t) > 4:
        return t[:-3] + "y"
    if t.endswith(("xes", "ches", "shes", "sses")):
        return t[:-2]
    if t.endswith("s"):
        return t[:-1]
    return t


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens, stop words out, plurals folded; a hyphenated model number also
    yields its parts and its joined form ("TN-2110" -> tn-2110, tn, 2110, tn2110).

    >>> tokenize("Brother TN-2110 toner cartridges")
    ['brother', 'tn-2110', 'tn', '2110', 'tn2110', 'toner', 'cartridge']
    """
    out: list[str] = []
    for tok in _TOKEN.findall(text.lower()):
        if tok in STOPWORDS:
            continue
        if any(c in tok for c in "-/."):
            parts = [p for p in re.split(r"[-/.]", tok) if p]
            out.append(tok)
            out.extend(_stem(p) for p in parts if p not in STOPWORDS)
            out.append("".join(parts))
        else:
            out.append(_stem(tok))
    return out


# field weights: repeating a field is BM25's way of boosting it (measured, BENCHMARKS.md)
FIELD_WEIGHTS = {"title": 4, "brand": 2, "categories": 2, "description": 1, "features": 1, "attributes": 1}
# k1 < 1.2 and b < 0.75: Icecat titles are long spec lists; saturate term counts early and
# punish length less (measured grid in BENCHMARKS.md)
BM25_K1, BM25_B = 0.9, 0.5
_ATTR_SKIP = re.compile(r"(^|_)(ean|released|weight|width|depth|height|temperature|humidity|altitude|id)($|_)")
# rebuild the base once the delta holds more than this share of it (and more than DELTA_MIN rows):
# the delta costs a re-tokenize at every process start and drifts from exact BM25 statistics
DELTA_SHARE, DELTA_MIN = 0.05, 2000


def bm25_text(p: Product) -> list[str]:
    """The tokens BM25 indexes for a product, each field repeated by its weight.

    >>> bm25_text(Product(id="1", title="Mixer", brand="Acme"))
    ['mixer', 'mixer', 'mixer', 'mixer', 'acme', 'acme']
    """
    fields = {
        "title": p.title,
        "brand": p.brand or "",
        "categories": " ".join(p.categories),
        "description": p.description[:1000],
        "features": " ".join(p.features)[:1000],
        "attributes": " ".join(
            str(v) for k, v in list(p.attributes.items())[:40]
            if not _ATTR_SKIP.search(k) and v not in ("yes", "no") and len(str(v)) < 60
        ),
    }
    tokens: list[str] = []
    for name, text in fields.items():
        if text:
            tokens.extend(tokenize(text) * FIELD_WEIGHTS[name])
    return tokens


def index_key(tokens: list[str], text_hash: str) -> bytes:
    """What a row of the index depends on: the product's BM25 tokens and its embedded text (the
    dense matrix shares the rows). Equal keys: the row is still current.

    >>> index_key(["a", "b"], "t") == index_key(["a", "b"], "t") != index_key(["a", "b"], "u")
    True
    """
    return hashlib.sha1(("\x1f".join(tokens) + "\x1e" + text_hash).encode("utf-8")).hexdigest().encode()


def lucene_idf(df: float | np.ndarray, n: int) -> float | np.ndarray:
    """IDF as bm25s (and Lucene) compute it: log(1 + (N - df + 0.5) / (df + 0.5)).

    Worked example, a word in 1 of 3 documents: log(1 + 2.5 / 1.5) = log(2.667) = 0.9808.

    >>> round(float(lucene_idf(1, 3)), 4)
    0.9808
    """
    return np.log(1 + (n - np.asarray(df, dtype=np.float64) + 0.5) / (np.asarray(df, dtype=np.float64) + 0.5))


def tf_component(tf: np.ndarray, dl: float, avgdl: float, k1: float = BM25_K1, b: float = BM25_B) -> np.ndarray:
    """BM25's term-frequency part as bm25s computes it (Lucene variant, no (k1 + 1) factor):
    tf / (k1 * (1 - b + b * dl / avgdl) + tf).

    Worked example, k1 = 0.9, b = 0.5, a word twice in a document of average length:
    2 / (0.9 * 1 + 2) = 0.6897.

    >>> round(float(tf_component(np.array([2.0]), 10, 10)[0]), 4)
    0.6897
    """
    return tf / (k1 * ((1 - b) + b * dl / avgdl) + tf)


class _Delta:
    """Products changed since the base was built, scored with the base's statistics.

    ``postings[token] = (delta doc positions, scores)``: the BM25 contribution of the token to
    each delta document, so a query costs one ``np.add.at`` per query token."""

    def __init__(self, docs: list[list[str]], base_df: dict[str, int], n_base: int, avgdl: float):
        self.size = len(docs)
        df_new: Counter[str] = Counter()
        for tokens in docs:
            df_new.update(t for t in set(tokens) if t not in base_df)
        post: dict[str, tuple[list[int], list[float]]] = {}
        idf_cache: dict[str, float] = {}
        for i, tokens in enumerate(docs):
            counts = Counter(tokens)
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            tfc = tf_component(tf, len(tokens), avgdl)
            for (t, _), s in zip(counts.items(), tfc):
                idf = idf_cache.get(t)
                if idf is None:
                    idf = idf_cache[t] = float(lucene_idf(base_df.get(t) or df_new[t], n_base))
                entry = post.setdefault(t, ([], []))
                entry[0].append(i)
                entry[1].append(idf * float(s))
        self.postings = {
            t: (np.asarray(d, dtype=np.int64), np.asarray(s, dtype=np.float32)) for t, (d, s) in post.items()
        }

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        out = np.zeros(self.size, dtype=np.float32)
        for t in query_tokens:
            hit = self.postings.get(t)
            if hit is not None:
                np.add.at(out, hit[0], hit[1])
        return out


class BM25Base:
    """A bm25s index of the catalog as it was at build time, with what ``refresh`` compares."""

    def __init__(self, retriever, seqs: np.ndarray, hashes: np.ndarray, keys: np.ndarray, avgdl: float,
                 build_id: str = ""):
        if not len(seqs) == len(hashes) == len(keys):
            raise ValueError(f"BM25 base arrays disagree: {len(seqs)} rows, {len(hashes)} hashes, {len(keys)} keys")
        self.build_id = build_id or uuid.uuid4().hex  # which build: another process may save a newer one
        self.retriever = retriever
        self.seqs = seqs  # sorted (built in seq order)
        self.hashes = hashes  # content hash per row (S40); updated in place for price-only changes
        self.keys = keys  # index_key per row (S40)
        self.avgdl = avgdl
        self._df: dict[str, int] | None = None

    @classmethod
    def build(cls, store) -> "BM25Base":
        import bm25s

        seqs, corpus, hashes, keys = [], [], [], []
        for seq, p, h, th in store.indexed_rows():
            tokens = bm25_text(p) or ["_empty_"]
            seqs.append(seq)
            corpus.append(tokens)
            hashes.append(h)
            keys.append(index_key(tokens, th))
        retriever = bm25s.BM25(k1=BM25_K1, b=BM25_B)
        if corpus:
            retriever.index(corpus, show_progress=False)
        avgdl = float(np.mean([len(c) for c in corpus])) if corpus else 1.0
        return cls(retriever, np.asarray(seqs, dtype=np.int64), np.asarray(hashes, dtype="S40"),
                   np.asarray(keys, dtype="S40"), avgdl)

    def doc_freqs(self) -> dict[str, int]:
        """Documents per word in the base (the bm25s score matrix is column = word)."""
        if self._df is None:
            if not len(self.seqs):  # an empty catalog: bm25s was never indexed
                self._df = {}
                return self._df
            indptr = np.asarray(self.retriever.scores["indptr"])
            counts = np.diff(indptr)
            vocab = getattr(self.retriever, "vocab_dict", {}) or {}
            self._df = {t: int(counts[i]) for t, i in vocab.items() if i < len(counts)}
        return self._df

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        n = len(self.seqs)
        vocab = getattr(self.retriever, "vocab_dict", {}) or {}
        ids = [vocab[t] for t in query_tokens if t in vocab]
        if not n or not ids:
            return np.zeros(n, dtype=np.float32)
        return np.asarray(self.retriever.get_scores_from_ids(ids), dtype=np.float32)

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        self.retriever.save(str(tmp), show_progress=False)
        np.save(tmp / "seqs.npy", self.seqs)
        np.save(tmp / "hashes.npy", self.hashes)
        np.save(tmp / "keys.npy", self.keys)
        (tmp / "base.json").write_text(json.dumps({"bm25_version": BM25_VERSION, "avgdl": self.avgdl,
                                                   "build_id": self.build_id}))
        shutil.rmtree(path, ignore_errors=True)
        tmp.rename(path)  # atomic swap: a reader never sees a half-written index

    def save_hashes(self, path: Path) -> None:
        """Rewrite only the content hashes (after price-only changes), atomically; skipped when
        another process has saved a newer base there meanwhile (its hashes are its own)."""
        try:
            if json.loads((path / "base.json").read_text()).get("build_id") != self.build_id:
                return
        except (OSError, ValueError):
            return
        tmp = path / "hashes.tmp.npy"
        np.save(tmp, self.hashes)
        tmp.replace(path / "hashes.npy")

    @classmethod
    def load(cls, path: Path) -> "BM25Base | None":
        """The saved base, or None when there is none or it is of an older layout/version."""
        import bm25s

        meta = path / "base.json"
        if not meta.exists():
            return None
        info = json.loads(meta.read_text())
        if info.get("bm25_version") != BM25_VERSION:
            return None
        retriever = bm25s.BM25.load(str(path), show_progress=False)
        return cls(retriever, np.load(path / "seqs.npy"), np.load(path / "hashes.npy"), np.load(path / "keys.npy"),
                   float(info["avgdl"]), build_id=str(info.get("build_id", "")))


class BM25Index:
    """The searchable index: a base and a delta over one row space (see the module docstring)."""

    def __init__(self, base: BM25Base, delta_seqs: list[int] | None = None, delta: _Delta | None = None,
                 dead: np.ndarray | None = None):
        self.base = base
        self.delta = delta
        nb = len(base.seqs)
        self.n_base = nb
        self.seqs = np.concatenate([base.seqs, np.asarray(delta_seqs or [], dtype=np.int64)])  # row -> seq
        self.live = np.ones(len(self.seqs), dtype=bool)
        if dead is not None and len(dead):
            self.live[:nb][dead] = False
        self.all_live = bool(self.live.all())
        live_rows = np.flatnonzero(self.live)
        order = np.argsort(self.seqs[live_rows], kind="stable")
        self._sorted_seqs = self.seqs[live_rows][order]
        self._sorted_rows = live_rows[order]
        self.row_of = dict(zip(self._sorted_seqs.tolist(), self._sorted_rows.tolist()))

    @property
    def delta_size(self) -> int:
        return self.delta.size if self.delta else 0

    def mask(self, seqs: list[int]) -> np.ndarray:
        """Boolean mask over rows: the live rows of the given ``seq`` values."""
        m = np.zeros(len(self.seqs), dtype=bool)
        if not len(seqs) or not len(self._sorted_seqs):
            return m
        want = np.asarray(seqs, dtype=np.int64)
        pos = np.clip(np.searchsorted(self._sorted_seqs, want), 0, len(self._sorted_seqs) - 1)
        m[self._sorted_rows[pos[self._sorted_seqs[pos] == want]]] = True
        return m

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 of every row (dead rows 0; zeros when no query word is indexed)."""
        s = self.base.scores(query_tokens)
        if self.delta is not None:
            s = np.concatenate([s, self.delta.scores(query_tokens)])
        if not self.all_live:
            s = np.where(self.live, s, 0.0).astype(np.float32)
        return s

    # -- building and following the catalog ------------------------------------------------------
    @classmethod
    def build(cls, store) -> "BM25Index":
        return cls(BM25Base.build(store))

    def refresh(self, store) -> tuple["BM25Index", int]:
        """This index's base brought up to the catalog in ``store``: ``(index, hash-only changes)``.

        Reads every row's ``(seq, hash)`` (cheap), then loads and tokenizes only the products
        whose content hash differs from the base's."""
        base = self.base
        rows = store.seq_hashes()
        cur_seq = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        cur_hash = np.asarray([r[1] for r in rows], dtype="S40")
        nb = len(base.seqs)
        if nb:
            pos = np.clip(np.searchsorted(base.seqs, cur_seq), 0, nb - 1)
            in_base = base.seqs[pos] == cur_seq
            same = in_base & (base.hashes[pos] == cur_hash)
        else:
            pos = np.zeros(len(cur_seq), dtype=np.int64)
            in_base = same = np.zeros(len(cur_seq), dtype=bool)
        dead = np.ones(nb, dtype=bool)
        dead[pos[in_base]] = False  # still in the catalog
        todo = np.flatnonzero(~same)
        row_of_seq = {int(cur_seq[i]): int(i) for i in todo}
        delta_seqs, docs, hash_only = [], [], 0
        for seq, product, _, text_hash in store.indexed_rows(list(row_of_seq)):
            i = row_of_seq[seq]
            tokens = bm25_text(product) or ["_empty_"]
            if in_base[i] and base.keys[pos[i]] == index_key(tokens, text_hash):
                base.hashes[pos[i]] = cur_hash[i]  # same tokens and vector: only the hash moves on
                hash_only += 1
                continue
            if in_base[i]:
                dead[pos[i]] = True
            delta_seqs.append(seq)
            docs.append(tokens)
        delta = _Delta(docs, base.doc_freqs(), max(nb, 1), base.avgdl) if docs else None
        return BM25Index(base, delta_seqs, delta, np.flatnonzero(dead)), hash_only

    def stale(self) -> bool:
        """True when the base should be rebuilt: the delta outgrew it, or the base is empty (its
        statistics would mean nothing)."""
        if self.n_base == 0:
            return self.delta_size > 0
        return self.delta_size > max(DELTA_MIN, DELTA_SHARE * self.n_base)
