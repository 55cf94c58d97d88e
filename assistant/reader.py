"""Which of a product's passages answers a shopper's question: a small trained head over MiniLM.

The bi-encoder alone (cosine of question and passage) finds passages *about* the question's
topic. The head sees, per passage, the cosine and a few cheap lexical signals measured against
the other passages of the same product (the cosine's gap to the best one, BM25 within the set,
content-word overlap, an attribute name the question names, length) and, for the 'lr'/'mlp'
shapes, the frozen MiniLM vectors' interaction ``[q*p, |q-p|]``. It was trained on the hetPQA
*training* split only (``assistant/reader_train.py``); the shape was chosen on semiPQA dev.
Numbers: BENCHMARKS.md, "Product-QA evidence ranking".

Cost: one MiniLM encode of the question and the passages (the dominant cost: ~10-40 short
passages/s on the two shared CPU cores, so a 200-passage product is 5-20 s cold, and instant when
the passage vectors are cached, e.g. from the vector store), then a (n x 8) or (n x 776) matmul.
The weights are a few-kB ``.npz`` beside this file.

Example::

    >>> attribute_name("batteries required: false")
    'batteries required'
    >>> content_words("Does it need 2 AA batteries?")
    ['need', '2', 'aa', 'battery']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from retrieval.bm25 import lucene_idf, tf_component

WEIGHTS = Path(__file__).with_name("data") / "reader.npz"

# words that carry no topic in a shopper's question ("does it come with ...")
_STOP = frozenset(
    "a an the is it this that these those does do did how what which who are was were be been of to in on for "
    "and or with my i me you your can will would should could any there its it's about have has had they them "
    "their one if at by as so but not no yes from up out get got than then too very just also".split()
)
_WORD = re.compile(r"[a-z0-9]+")
# "name: value" with a short name: how a spec line (and an attribute) reads
_ATTRIBUTE = re.compile(r"^\s*([a-z][a-z0-9 _/-]{1,40}?)\s*:\s*\S")

# the scalar features after the embedding interaction, in this order (saved with the weights)
SCALARS = ("cos", "cos_gap", "bm25_rel", "bm25_log", "overlap", "name_match", "is_attribute", "log_len")

Embed = Callable[[list[str]], np.ndarray]

# the head's logit above which the best review sentence is quoted, else "the reviews don't say":
# 0 is where the class-balanced head is indifferent; not tuned (the SubjQA sweep is in BENCHMARKS.md)
READER_MIN = 0.0


def content_words(text: str) -> list[str]:
    """Lower-cased words minus stop words, plural 's' dropped (a light stemmer: no extra package)."""
    out = []
    for w in _WORD.findall(text.lower()):
        if w in _STOP:
            continue
        if len(w) > 3 and w.endswith("ies"):
            w = w[:-3] + "y"
        elif len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


def attribute_name(passage: str) -> str | None:
    """The name of a 'name: value' passage (underscores read as spaces), else None."""
    m = _ATTRIBUTE.match(passage.lower())
    return m.group(1).replace("_", " ").strip() if m else None


def bm25_scores(query: Sequence[str], docs: Sequence[Sequence[str]]) -> np.ndarray:
    """BM25 (bm25s' Lucene variant, k1 0.9, b 0.5) of each tokenised doc for the query, with
    the statistics of this small set: a product's passages are their own collection.

    >>> [round(float(s), 3) for s in bm25_scores(["tent"], [["tent", "pole"], ["stove"]])]
    [0.338, 0.0]
    """
    n = len(docs)
    if n == 0:
        return np.zeros(0)
    lens = np.array([len(d) for d in docs], dtype=np.float64)
    avgdl = max(lens.mean(), 1.0)
    out = np.zeros(n)
    for t in dict.fromkeys(query):
        tf = np.array([d.count(t) for d in docs], dtype=np.float64)
        df = int((tf > 0).sum())
        if df:
            out += lucene_idf(df, n) * tf_component(tf, lens, avgdl)
    return out


def features(question: str, passages: Sequence[str], q_vec: np.ndarray, p_vecs: np.ndarray) -> np.ndarray:
    """One row per passage: ``[q*p, |q-p|, scalars...]`` (see SCALARS); vectors are normalised."""
    n = len(passages)
    cos = p_vecs @ q_vec
    q_words = content_words(question)
    q_set = set(q_words)
    docs = [content_words(p) for p in passages]
    bm = bm25_scores(q_words, docs)
    top = bm.max() if n else 0.0
    scal = np.zeros((n, len(SCALARS)), dtype=np.float32)
    for i, (p, words) in enumerate(zip(passages, docs, strict=True)):
        name = attribute_name(p)
        name_words = set(content_words(name)) if name else set()
        scal[i] = (
            cos[i],
            cos[i] - cos.max(),
            bm[i] / top if top > 0 else 0.0,
            np.log1p(bm[i]),
            len(q_set & set(words)) / len(q_set) if q_set else 0.0,
            len(q_set & name_words) / len(name_words) if name_words else 0.0,
            float(name is not None and len(words) <= 12),
            np.log1p(len(words)),
        )
    inter = np.hstack([p_vecs * q_vec, np.abs(p_vecs - q_vec)]).astype(np.float32)
    return np.hstack([inter, scal])


@dataclass(slots=True)
class Head:
    """A standardised MLP (or, with no hidden layer, logistic regression) over ``features``;
    a ``kind`` ending in 'scalars' reads only the SCALARS columns."""

    mean: np.ndarray
    scale: np.ndarray
    layers: list[tuple[np.ndarray, np.ndarray]]  # (W, b) per layer; ReLU between, logit out
    kind: str = "mlp"

    def logits(self, x: np.ndarray) -> np.ndarray:
        if self.kind.endswith("scalars"):  # a head fitted on the scalar features only
            x = x[:, -len(SCALARS):]
        h = (x - self.mean) / self.scale
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return h.reshape(-1)

    def save(self, path: Path) -> None:
        arrays = {"mean": self.mean, "scale": self.scale, "kind": np.array(self.kind)}
        for i, (w, b) in enumerate(self.layers):
            arrays[f"w{i}"], arrays[f"b{i}"] = w.astype(np.float32), b.astype(np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> Head:
        if not path.exists():
            raise FileNotFoundError(f"reader weights missing at {path}: run `shopassist eval product-qa --train`")
        z = np.load(path)
        layers, i = [], 0
        while f"w{i}" in z:
            layers.append((z[f"w{i}"], z[f"b{i}"]))
            i += 1
        return cls(z["mean"], z["scale"], layers, str(z["kind"]))


@dataclass(slots=True)
class Reader:
    """Scores passages for a question; ``embed(texts)`` returns normalised MiniLM vectors."""

    head: Head
    embed: Embed

    def rank_evidence(self, question: str, passages: list[str]) -> list[float]:
        """A score per passage, higher = answers the question more (a logit: > 0 leans 'answers').
        Scores compare within one call: some features are relative to the other passages."""
        if not passages:
            return []
        vecs = self.embed([question, *passages])
        return [float(s) for s in self.head.logits(features(question, passages, vecs[0], vecs[1:]))]


def minilm_embed(model) -> Embed:
    """``embed`` for a SentenceTransformer: normalised vectors, one batch call."""

    def embed(texts: list[str]) -> np.ndarray:
        return np.asarray(model.encode(list(texts), normalize_embeddings=True, batch_size=64, show_progress_bar=False))

    return embed


def load_reader(settings=None, weights: Path = WEIGHTS) -> Reader:
    """The shipped head with the configured embedder (the head was trained on MiniLM vectors)."""
    from retrieval.models import load_embedder

    model = load_embedder(settings.embedding_model, settings.device) if settings else load_embedder()
    return Reader(Head.load(weights), minilm_embed(model))


@lru_cache(maxsize=1)
def _default() -> Reader:
    return load_reader()


def rank_evidence(question: str, passages: list[str], reader: Reader | None = None) -> list[float]:
    """Scores of ``passages`` for ``question`` (higher = more answering) with the shipped reader."""
    return (reader or _default()).rank_evidence(question, passages)


def select_evidence(reader: Reader, min_logit: float | None = None):
    """``select(question, [(sentence, review)]) -> [(sentence, review)]``: the best-scored sentence
    when its logit reaches ``min_logit`` (default READER_MIN), else [] (abstain)."""
    floor = READER_MIN if min_logit is None else min_logit

    def select(question: str, sents: list) -> list:
        if not sents:
            return []
        scores = reader.rank_evidence(question, [s for s, _ in sents])
        i = int(np.argmax(scores))
        return [sents[i]] if scores[i] >= floor else []

    return select
