"""``shopassist eval product-qa``: BM25, MiniLM zero-shot and our reader on real product QA.

Tasks (``assistant.qa_data``): semiPQA attribute ranking (dev, test-seen, test-unseen; P@1 = the
top attribute is a right one, MAP) and ePQA dev evidence ranking (NDCG over labels 0/1/2, P@1 =
the top passage fully answers). Every scorer sees the same passages; ties are broken by a fixed
random order per question, never by the file's order (which a scorer with many equal scores,
such as BM25 with no shared word, would otherwise inherit). ``ours - best baseline`` comes with
a paired bootstrap 95 % interval over questions.

Example::

    >>> round(average_precision([0.9, 0.8, 0.1], [0, 1, 1]), 3)
    0.583
    >>> top_is([0.2, 0.9, 0.5], [2, 0, 1], 2)
    0.0
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from assistant import qa_data
from assistant.qa_data import Group
from assistant.reader import Reader
from retrieval.evaluate import ndcg_at_k

Scorer = Callable[[Group], np.ndarray]
BOOTSTRAP_SEED = 0


def order(scores, seed: int = 0) -> np.ndarray:
    """Indices best first; equal scores in a fixed random order (not the input order)."""
    s = np.asarray(scores, dtype=np.float64)
    tie = np.random.default_rng(seed).permutation(len(s))
    return np.lexsort((tie, -s))


def top_is(scores, labels, grade: int, seed: int = 0) -> float:
    """1.0 when the best-scored passage has at least ``grade``."""
    return float(labels[order(scores, seed)[0]] >= grade)


def average_precision(scores, labels, seed: int = 0) -> float:
    """Mean of precision@rank over the ranks of the relevant (label > 0) passages.

    Worked example: relevance in ranked order [0, 1, 1] -> (1/2 + 2/3) / 2 = 0.583."""
    rel = np.asarray(labels)[order(scores, seed)] > 0
    if not rel.any():
        return 0.0
    hits = np.cumsum(rel)
    return float((hits[rel] / (np.flatnonzero(rel) + 1)).mean())


def ndcg(scores, labels, seed: int = 0) -> float:
    """NDCG over the whole candidate list with the graded labels as gains (retrieval.evaluate)."""
    ranked = [str(i) for i in order(scores, seed)]
    return ndcg_at_k(ranked, {str(i): float(v) for i, v in enumerate(labels) if v > 0}, k=len(labels))


def bootstrap_diff(a: np.ndarray, b: np.ndarray, n: int = 1000, seed: int = BOOTSTRAP_SEED) -> list[float]:
    """95 % interval of mean(a - b), resampling questions (paired)."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(n, len(d)))].mean(axis=1)
    return [round(float(np.percentile(means, 2.5)), 4), round(float(np.percentile(means, 97.5)), 4)]


def bm25_scorer() -> Scorer:
    """BM25 by bm25s over the question's own candidates (English stop words, no stemmer)."""
    import bm25s

    def score(g: Group) -> np.ndarray:
        docs = bm25s.tokenize(g.passages, stopwords="en", return_ids=False, show_progress=False)
        query = bm25s.tokenize([g.question], stopwords="en", return_ids=False, show_progress=False)[0]
        docs = [d or ["\x00"] for d in docs]  # bm25s refuses an empty document
        r = bm25s.BM25()
        r.index(docs, show_progress=False)
        return np.asarray(r.get_scores(query or ["\x00"]), dtype=np.float64)

    return score


def minilm_scorer(embed) -> Scorer:
    def score(g: Group) -> np.ndarray:
        v = embed([g.question, *g.passages])
        return v[1:] @ v[0]

    return score


def reader_scorer(reader: Reader) -> Scorer:
    return lambda g: np.asarray(reader.rank_evidence(g.question, g.passages))


def _metrics(kind: str) -> dict[str, Callable]:
    if kind == "semipqa":
        return {"p@1": lambda s, lab, i: top_is(s, lab, 1, i), "map": lambda s, lab, i: average_precision(s, lab, i)}
    return {"ndcg": lambda s, lab, i: ndcg(s, lab, i), "p@1_full": lambda s, lab, i: top_is(s, lab, 2, i)}


def evaluate_task(groups: list[Group], kind: str, scorers: dict[str, Scorer], bootstrap: int = 1000) -> dict:
    """Per scorer the mean of each metric; 'ours' vs the best baseline per metric with an interval.

    semiPQA counts questions with a right attribute; ePQA's NDCG those with any helpful passage,
    its P@1 those with a fully answering one."""
    metrics = _metrics(kind)
    need = {"p@1": 1, "map": 1, "ndcg": 1, "p@1_full": 2}
    per: dict[str, dict[str, list[float]]] = {n: {m: [] for m in metrics} for n in scorers}
    for i, g in enumerate(groups):
        labels = np.asarray(g.labels)
        scored = {n: f(g) for n, f in scorers.items()}
        for m, fn in metrics.items():
            if labels.max(initial=0) < need[m]:
                continue
            for n, s in scored.items():
                per[n][m].append(fn(s, labels, i))
    out: dict = {"questions": len(groups)}
    for m in metrics:
        out[m] = {n: round(float(np.mean(per[n][m])), 4) for n in scorers}
        out[m]["n"] = len(per["ours"][m])
        base = max((n for n in scorers if n != "ours"), key=lambda n: np.mean(per[n][m]))
        out[m]["ours_minus_" + base] = round(float(np.mean(per["ours"][m]) - np.mean(per[base][m])), 4)
        out[m]["ci95"] = bootstrap_diff(np.array(per["ours"][m]), np.array(per[base][m]), bootstrap)
    return out


def prefetch(embed, groups: list[Group]) -> None:
    """Encode every text of the task in one call: sorted by length across the whole task, the
    encoder pads far less than it does question by question (about twice as fast on CPU)."""
    embed(list(dict.fromkeys(t for g in groups for t in (g.question, *g.passages))))
    if hasattr(embed, "save"):
        embed.save()  # a long run that is stopped later keeps what it encoded


def evaluate_all(folder, embed, reader: Reader, epqa_questions: int | None = 200, bootstrap: int = 1000, log=print) -> dict:
    """Every task, the three scorers side by side; ``embed`` is the (cached) MiniLM."""
    scorers = {"bm25": bm25_scorer(), "minilm": minilm_scorer(embed), "ours": reader_scorer(reader)}
    tasks = {f"semipqa_{s}": ("semipqa", lambda s=s: qa_data.semipqa(folder, s)) for s in qa_data.SEMIPQA_SPLITS}
    tasks["epqa_dev"] = ("epqa", lambda: qa_data.epqa_dev(folder, epqa_questions))
    out = {}
    for name, (kind, load) in tasks.items():
        t0 = time.perf_counter()
        groups = load()
        prefetch(embed, groups)
        out[name] = evaluate_task(groups, kind, scorers, bootstrap)
        out[name]["seconds"] = round(time.perf_counter() - t0, 1)
        log(f"{name}: {out[name]}")
    return out
