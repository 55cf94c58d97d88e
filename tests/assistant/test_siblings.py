"""Siblings of the product in focus by the words asked ("same thing in red", "the male ones",
"do they do xl"), read from the real Amazon 2018 Industrial & Scientific titles
(../shared/datasets/amazon_reviews_2018_scientific_seqrec_unisrec): every pair of titles that differ
only by one colour word each way is found from either side, and whatever is found has the asked word."""

from __future__ import annotations

import functools
import gzip
import json
from itertools import combinations

from assistant.references import COLOURS
from assistant.understand import STOP
from assistant.variants import SIBLING_ALIKE, _alike, asked_sibling, variant_words
from assistant.vocabulary import CatalogVocabulary
from retrieval.catalog import Product
from tests.conftest import dataset


@functools.cache
def _vocab() -> CatalogVocabulary:
    with gzip.open(dataset("amazon_reviews_2018_scientific_seqrec_unisrec") / "items.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return CatalogVocabulary.build([Product(id=r["asin"], title=r["text"].split(". ")[0]) for r in rows])


def _colour_swaps(vocab) -> list[tuple[str, str, str]]:
    """(product, sibling, the sibling's colour) for titles equal but for one colour word each way."""
    by_rest: dict[frozenset, list[tuple[str, str]]] = {}
    for i, title in vocab.titles.items():
        words = variant_words(title)
        colours = [c for c in COLOURS if c in words]
        if len(colours) == 1:
            by_rest.setdefault(frozenset(words - {colours[0]}), []).append((i, colours[0]))
    return [(a, b, cb) for group in by_rest.values() for (a, ca), (b, cb) in combinations(group, 2) if ca != cb]


def test_a_colour_swap_is_found_from_either_side():
    vocab = _vocab()
    swaps = _colour_swaps(vocab)
    assert len(swaps) >= 5
    for a, _b, colour in swaps:
        got = asked_sibling(f"same thing in {colour}", a, vocab, frozenset(STOP))
        assert got is not None and colour in variant_words(vocab.titles[got]), (vocab.titles[a], colour)


def test_what_is_found_has_the_asked_word_and_most_of_the_title():
    vocab = _vocab()
    found = 0
    for i, title in list(vocab.titles.items())[:1500]:
        for word in ("male", "female", "red", "clear", "xl", "large"):
            got = asked_sibling(f"the {word} ones", i, vocab, frozenset(STOP))
            if got is not None:
                found += 1
                words = variant_words(vocab.titles[got])
                assert word in words and word not in variant_words(title)
                assert _alike(variant_words(title), words) >= SIBLING_ALIKE
    assert found >= 3


def test_a_new_request_or_a_question_about_it_is_no_sibling():
    vocab = _vocab()
    a, _, colour = _colour_swaps(vocab)[0]
    assert asked_sibling(f"a {colour} one", a, vocab, frozenset(STOP)) is None
    assert asked_sibling(f"is it {colour}", a, vocab, frozenset(STOP)) is None
