"""Measuring review Q&A on SubjQA: quote when the review answers, abstain when it doesn't.

Each SubjQA row pairs a shopper question with one review and a human answer span, or
``ANSWERNOTFOUND``. ``evaluate`` runs the same evidence selection the assistant uses
(``assistant.evidence.best_evidence``) on each row and reports:

- ``answerable_hit``: share of answerable rows whose quoted sentence overlaps the human span;
- ``answerable_answered``: share of answerable rows where a quote was given at all;
- ``unanswerable_abstained``: share of unanswerable rows answered "the reviews don't say";
- ``balanced`` = mean of ``answerable_hit`` and ``unanswerable_abstained``.

Example::

    >>> overlaps("The battery lasts two days.", "lasts two days")
    True
"""

from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass
from pathlib import Path

from assistant import evidence
from assistant.answers import review_sentences


@dataclass(slots=True)
class _Review:
    id: str
    title: str
    text: str
    rating: float = 0.0


def read_subjqa(path: Path, limit: int | None = None) -> list[dict]:
    """Rows of a SubjQA split (``.csv`` or ``.csv.gz``)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return rows[:limit] if limit else rows


def overlaps(sentence: str, span: str) -> bool:
    """The quoted sentence contains (most of) the human answer span."""
    s = set(re.findall(r"[a-z0-9]+", sentence.lower()))
    a = re.findall(r"[a-z0-9]+", span.lower())
    return bool(a) and sum(w in s for w in a) / len(a) >= 0.6


def evaluate(rows: list[dict], embed, min_sim: float | None = None, select=None) -> dict:
    """Score evidence selection on SubjQA rows; ``min_sim`` overrides EVIDENCE_MIN;
    ``select(question, sents) -> [(sentence, review)]`` replaces the assistant's selection
    (e.g. ``assistant.reader.select_evidence``)."""
    old = evidence.EVIDENCE_MIN
    if min_sim is not None:
        evidence.EVIDENCE_MIN = min_sim
    try:
        ans = hit = answered = unans = abstained = 0
        for i, row in enumerate(rows):
            review = row["review"].replace("ANSWERNOTFOUND", "").strip()
            sents = review_sentences([_Review(str(i), "", review)], limit_per_review=40)
            quotes = select(row["question"], sents) if select else evidence.best_evidence(row["question"], sents, embed, k=1)
            span = row["human_ans_spans"]
            if span == "ANSWERNOTFOUND":
                unans += 1
                abstained += int(not quotes)
            else:
                ans += 1
                answered += int(bool(quotes))
                hit += int(bool(quotes) and overlaps(quotes[0][0], span))
    finally:
        evidence.EVIDENCE_MIN = old
    a_hit = hit / ans if ans else 0.0
    u_abs = abstained / unans if unans else 0.0
    return {
        "rows": len(rows),
        "answerable": ans,
        "unanswerable": unans,
        "answerable_hit": round(a_hit, 4),
        "answerable_answered": round(answered / ans, 4) if ans else 0.0,
        "unanswerable_abstained": round(u_abs, 4),
        "balanced": round((a_hit + u_abs) / 2, 4),
        "min_sim": min_sim if min_sim is not None else old,
    }


def gated_reader_select(reader, embed, among_all: bool = False):
    """``select`` for ``evaluate``: the assistant's own evidence gate (MiniLM cosine >= EVIDENCE_STRONG,
    or >= EVIDENCE_MIN with a shared content word) decides *whether* to quote; among the sentences
    that pass it (``among_all``: among all of the product's sentences), the reader
    (``assistant.reader``) decides *which*. Abstention is unchanged either way."""
    from assistant.answers import question_terms

    def select(question: str, sents: list) -> list:
        if not sents:
            return []
        texts = [s for s, _ in sents]
        vecs = embed([question, *texts])
        sims = vecs[1:] @ vecs[0]
        terms = set(question_terms(question))
        ok = []
        for i, (text, sim) in enumerate(zip(texts, sims, strict=True)):
            words = set(re.findall(r"[a-z0-9]+", text.lower()))
            overlap = any(t in words or t.rstrip("s") in words for t in terms)
            if sim >= evidence.EVIDENCE_STRONG or (sim >= evidence.EVIDENCE_MIN and overlap):
                ok.append(i)
        if not ok:
            return []
        scores = reader.rank_evidence(question, texts)
        return [sents[max(range(len(texts)) if among_all else ok, key=lambda i: scores[i])]]

    return select

