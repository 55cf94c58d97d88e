"""Liked and disliked aspects from a user's reviews, for the user context and the agent console.

An aspect is a short noun phrase from a review sentence ("the sound", "tuning pegs").
Its polarity comes from the review-sentiment model (review text -> stars, same recipe
as the rating model, ``ranker.train.train_sentiment``) when one is given, else from the
review's own stars (>= 4 liked, <= 2 disliked; 3-star reviews say nothing).
"""

from __future__ import annotations

import re
from collections import Counter

_SENT = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[a-z][a-z'-]+")
_STOP = set(
    """a an the this that these those it its it's i i'm im me my we our you your they them their he she his her
    and or but so if then than as at by for from in into of on onto to with without about over under after before
    is are was were be been being am do does did done have has had having will would can could should may might must
    not no nor very really quite just also too more most much many some any all each every other such only own same
    good great nice bad poor well better best worse worst love loved like liked hate hated recommend product item
    buy bought one two get got use used using work works worked working thing things lot little bit
    what which who whom when where why how there here up down out off again once
    didn't doesn't don't won't isn't wasn't takes took half
    hold holds feel feels felt sound sounds look looks seem seems make makes made keep keeps stay stays""".split()
)
_NEG = set("broke broken cheap cheaply flimsy noisy noise hum buzz loose weak returned return disappointed junk poor fails failed".split())


def candidate_aspects(text: str, top: int = 3) -> list[str]:
    """Frequent content bigrams/unigrams of a review: crude noun-phrase stand-ins.

    >>> candidate_aspects("The tuning pegs hold well. Tuning pegs feel solid, sound is warm.")
    ['tuning pegs', 'solid', 'warm']
    """
    counts: Counter[str] = Counter()
    words: list[str] = []
    for chunk in re.split(r"[,;:()]", text.lower()):  # no bigram across punctuation
        ws = _WORD.findall(chunk)
        words += ws
        for a, b in zip(ws, ws[1:]):
            if a not in _STOP and b not in _STOP:
                counts[f"{a} {b}"] += 2
    covered = {w for bg in counts for w in bg.split()}
    for w in words:
        if w not in _STOP and w not in covered and len(w) > 3:
            counts[w] += 1
    return [a for a, _ in counts.most_common(top)]


MAX_REVIEWS = 12  # the most recent reviews read per user: tastes drift, and the model costs per sentence
MAX_SENTENCES = 6  # sentences per review


def review_sentences(reviews, max_reviews: int = MAX_REVIEWS, max_sentences: int = MAX_SENTENCES) -> list[tuple[float, str, list[str], bool]]:
    """(review stars, sentence, its aspects, has a complaint word) for the sentences that name
    an aspect, over the user's ``max_reviews`` most recent reviews.

    >>> class R: rating, title, text = 2.0, "", "Strap broke after a week. It is what it is."
    >>> review_sentences([R()])
    [(2.0, 'Strap broke after a week.', ['strap broke', 'week'], True)]
    """
    out = []
    for r in list(reviews)[-max_reviews:]:
        text = f"{r.title}. {r.text}" if r.title else r.text
        for s in [s for s in _SENT.split(text or "") if len(s) > 12][:max_sentences]:
            aspects = candidate_aspects(s, top=2)
            if aspects:  # a sentence that names nothing cannot add a like or a dislike
                out.append((float(r.rating), s, aspects, bool(set(_WORD.findall(s.lower())) & _NEG)))
    return out


def aspects_from_reviews(reviews, model=None, top: int = 6, max_reviews: int = MAX_REVIEWS,
                         max_sentences: int = MAX_SENTENCES) -> tuple[list[str], list[str]]:
    """(likes, dislikes) over a user's reviews, most frequent first.

    ``model``: anything with ``predict(texts) -> list[float]`` stars (the review-sentiment
    model); each sentence is scored on its own so a 4-star review can still name a dislike.
    It is asked only about the sentences whose polarity it can change (one batched call):
    sentences without an aspect, and complaint sentences (always a dislike), skip it.
    """
    sentences = review_sentences(reviews, max_reviews, max_sentences)
    asked = list(dict.fromkeys(s for _, s, _, complaint in sentences if not complaint)) if model is not None else []
    tone = dict(zip(asked, model.predict(asked))) if asked else {}
    likes: Counter[str] = Counter()
    dislikes: Counter[str] = Counter()
    for rating, s, aspects, complaint in sentences:
        st = (float(tone[s]) + rating) / 2 if s in tone else rating  # the sentence's tone, anchored by the review's stars
        if complaint:  # a complaint word inside a happy review is still a complaint
            st = min(st, 2.0)
        target = likes if st >= 4.0 else dislikes if st <= 2.0 else None
        if target is not None:
            for a in aspects:
                target[a] += 1
    both = set(likes) & set(dislikes)
    lk = [a for a, _ in likes.most_common() if a not in both or likes[a] > dislikes[a]][:top]
    dk = [a for a, _ in dislikes.most_common() if a not in both or dislikes[a] >= likes[a]][:top]
    return lk, dk
