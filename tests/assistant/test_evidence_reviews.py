"""Opinion and quality questions answered from real reviews (the Amazon Reviews 2023 sample, real
MiniLM): "is it durable?" by the reviews that say it broke or held up, "do people like it?" by the
star ratings and a representative quote from each side, and the non-answer kept where no review
speaks to the question. Products are found in the data by what their reviews say, never by id."""

from __future__ import annotations

import gzip
import json
import re
from collections import defaultdict

import pytest

from assistant.answers import clean
from assistant.evidence import (
    NO_ANSWER,
    QUALITY_CUES,
    SHORT_REVIEW,
    answer_question,
    complaint_score,
    is_opinion_question,
    passage,
    plain_question,
    summarise_reviews,
)
from retrieval.sources import product_from_amazon2023, review_from_amazon2023
from tests.conftest import dataset


@pytest.fixture(scope="module")
def sample():
    """(products by id, reviews by product id) of the Amazon 2023 sample."""
    root = dataset("amazon_reviews_2023_user_history_sample")
    products, reviews = {}, defaultdict(list)
    with gzip.open(root / "items.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if d.get("title"):
                products[d["parent_asin"]] = product_from_amazon2023(d)
    with gzip.open(root / "reviews.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            r = review_from_amazon2023(json.loads(line))
            reviews[r.product_id].append(r)
    return products, reviews


@pytest.fixture(scope="module")
def embed(embedder):
    return lambda texts: embedder.encode(texts, normalize_embeddings=True, show_progress_bar=False)


def _says(text: str, phrase: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", text.lower()) is not None


def _quotes(text: str) -> list[str]:
    return re.findall(r"“(.+?)”", text)


def _all_text(reviews) -> str:
    """The reviews as the assistant quotes them: HTML tags (``<br />``) removed."""
    return " ".join(clean(f"{r.title}{'' if r.title[-1:] in '.!?' else '.'} {r.text}") for r in reviews)


def test_is_it_durable_is_answered_by_reviews_that_say_it_stopped_working(sample, embed):
    products, reviews = sample
    broke = [pid for pid, rs in reviews.items() if pid in products and _says(_all_text(rs), "stopped working")]
    assert len(broke) >= 3
    for pid in broke[:4]:
        text = answer_question("is it durable?", products[pid], reviews[pid], embed)
        assert NO_ANSWER not in text, text
        quoted = _quotes(text)
        cues = QUALITY_CUES["durability"][1]
        assert quoted and any(_says(q, c) for q in quoted for c in cues)
        assert all(q.rstrip("!?.") in _all_text(reviews[pid]) for q in quoted)  # quoted, never invented


def test_is_it_loud_is_answered_by_a_review_about_the_volume(sample, embed):
    products, reviews = sample
    quiet = [pid for pid, rs in reviews.items() if pid in products and _says(_all_text(rs), "not loud enough")]
    assert quiet
    for question in ("is it loud?", "is it loud enough?"):
        text = answer_question(question, products[quiet[0]], reviews[quiet[0]], embed)
        assert NO_ANSWER not in text and re.search(r"loud|volume", " ".join(_quotes(text)), re.I), text


def test_do_people_like_it_gives_the_star_shares_and_a_quote_from_each_side(sample, embed):
    products, reviews = sample
    mixed = next(pid for pid, rs in reviews.items() if pid in products and len(rs) >= 2
                 and any(r.rating >= 4 for r in rs) and any(r.rating <= 2 for r in rs))  # fmt: skip
    rs = reviews[mixed]
    n, good, bad = len(rs), [r for r in rs if r.rating >= 4], [r for r in rs if r.rating <= 2]
    for question in ("do people like it?", "do ppl like it", "is it any good?", "what do reviewers think?"):
        assert is_opinion_question(question)
        text = answer_question(question, products[mixed], rs, embed)
        assert f"Of the {n} reviews" in text and f"Positive ({len(good)} of {n})" in text and f"Critical ({len(bad)} of {n})" in text
        for stars in {r.rating for r in rs}:
            count = sum(r.rating == stars for r in rs)
            assert f"{count} of {n} give{'s' if count == 1 else ''} {stars:g}★" in text
        pos, neg = _quotes(text)
        assert pos.rstrip("!?.") in _all_text(good) and neg.rstrip("!?.") in _all_text(bad)


def test_a_use_question_is_answered_when_a_review_mentions_the_use(sample, embed):
    products, reviews = sample
    camping = [pid for pid, rs in reviews.items() if pid in products and _says(_all_text(rs), "camping")]
    answered = [answer_question("any good for camping?", products[pid], reviews[pid], embed) for pid in camping[:5]]
    assert sum(NO_ANSWER not in t and "camping" in " ".join(_quotes(t)).lower() for t in answered) >= 3, answered


def test_the_non_answer_stays_when_no_review_speaks_to_the_quality(sample, embed):
    products, reviews = sample
    cues = QUALITY_CUES["durability"][1]
    silent = [pid for pid, rs in reviews.items() if pid in products and len(rs) >= 3
              and not any(_says(_all_text(rs), c) for c in cues)]  # fmt: skip
    assert silent
    text = answer_question("is it durable?", products[silent[0]], reviews[silent[0]], embed)
    assert NO_ANSWER in text and text.count("say") == 1


def test_a_summary_without_a_catalog_rating_counts_the_stars_of_its_reviews(sample):
    products, reviews = sample
    pid = next(pid for pid, rs in reviews.items() if pid in products and len(rs) >= 2 and products[pid].average_rating is None)
    text = summarise_reviews(products[pid], reviews[pid])
    assert "no ratings yet" not in text and f"has {len(reviews[pid])} reviews here" in text


def _first_word(product) -> str:
    return re.findall(r"[a-z0-9]+", product.title.lower())[0]


def test_complaints_quote_the_critical_reviews_most_complaining_sentence(sample, embed):
    """"what do people complain about?" quotes, from a review under 5 stars, a sentence that says a
    fault (``COMPLAINT_STRONG``), taken from that review's own text."""
    products, reviews = sample
    faulty = [pid for pid, rs in reviews.items() if pid in products and any(
        r.rating <= 2 and any(_says(f"{r.title}. {r.text}", w) for w in ("disappointed", "broke", "waste")) for r in rs)]
    assert len(faulty) >= 5
    for pid in faulty[:8]:
        text = answer_question("what do people complain about?", products[pid], reviews[pid], embed)
        quotes = _quotes(text)
        assert quotes, text
        critical = " ".join(f"{r.title}. {r.text}" for r in reviews[pid] if r.rating < 5)
        assert quotes[0].rstrip(".!?")[:40] in critical.replace("<br />", " ") or complaint_score(quotes[0]) > 0, text
        assert complaint_score(quotes[0]) >= 1, text


def test_a_denied_fault_is_not_a_complaint(sample, embed):
    """A 5-star review's "no problem" / "never had an issue" is praise: never quoted as a complaint."""
    products, reviews = sample
    happy = [pid for pid, rs in reviews.items() if pid in products and all(r.rating == 5 for r in rs)
             and any(_says(r.text, "no problem") or _says(r.text, "no problems") for r in rs)]
    assert happy
    for pid in happy[:6]:
        text = answer_question("any downsides?", products[pid], reviews[pid], embed)
        assert not any("no problem" in q.lower() for q in _quotes(text)), text


def test_the_phrase_naming_the_product_is_not_part_of_the_question(sample, embed):
    """"what about the <name> one, is it durable?" is answered as "is it durable?" is."""
    products, reviews = sample
    broke = [pid for pid, rs in reviews.items() if pid in products and _says(_all_text(rs), "stopped working")]
    for pid in broke[:4]:
        p = products[pid]
        named = f"what about the {_first_word(p)} one, is it durable?"
        assert plain_question(named, p) == "what about it, is it durable?"
        assert answer_question(named, p, reviews[pid], embed) == answer_question("is it durable?", p, reviews[pid], embed)


def test_a_short_review_is_quoted_whole(sample, embed):
    """A one-review product whose short review answers the question is quoted with its other
    sentences (they explain each other), never past ``SHORT_REVIEW`` characters."""
    products, reviews = sample
    short = [pid for pid, rs in reviews.items() if pid in products and len(rs) == 1 and rs[0].title
             and 80 < len(f"{rs[0].title}. {rs[0].text}") <= SHORT_REVIEW and "<" not in rs[0].text]
    assert len(short) >= 5
    for pid in short[:10]:
        r = reviews[pid][0]
        sentence = r.text.split(". ")[0]
        title = r.title if r.title[-1] in ".!?" else f"{r.title}."
        assert passage(sentence, r) == clean(f"{title} {r.text}")
