"""Needs stated as a problem or a goal (``assistant.needs.need_kinds``), matched to the kinds of
product the catalog's titles name, over real catalog data and the real MiniLM: the Icecat slice
of the everyday suite (no categories at all) and the Amazon Reviews 2023 slice (coarse
categories, so the kind lives in the title).

Expectations are computed from the titles with regular expressions, independently of the code
under test: the products a need's kinds select must be the ones whose titles say what serves it."""

from __future__ import annotations

import re

import pytest

from assistant.needs import context_words, is_need, need_kinds, title_phrases
from assistant.vocabulary import CatalogVocabulary
from tests.conftest import dataset_products


def _vocab(name: str, file: str, limit: int) -> CatalogVocabulary:
    return CatalogVocabulary.build(dataset_products(name, file, limit))


@pytest.fixture(scope="module")
def icecat() -> CatalogVocabulary:
    return _vocab("chorus_icecat_product_search_judgments_135q", "products.jsonl.gz", 1500)


@pytest.fixture(scope="module")
def amazon() -> CatalogVocabulary:
    return _vocab("amazon_reviews_2023_user_history_sample", "items.jsonl.gz", 1727)


@pytest.fixture(scope="module")
def minilm(embedder):
    return (lambda t: embedder.encode([t], normalize_embeddings=True, show_progress_bar=False)[0],
            lambda ts: embedder.encode(ts, normalize_embeddings=True, batch_size=128, show_progress_bar=False))


def _selected(vocab: CatalogVocabulary, kinds: list[str]) -> set[str]:
    """The products whose titles name one of the kinds (as ``candidates.in_categories`` keeps them)."""
    return {pid for pid, t in vocab.titles.items() for k in kinds if re.search(rf"\b{re.escape(k.rstrip('s'))}", t)}


def _titled(vocab: CatalogVocabulary, rx: str) -> set[str]:
    return {pid for pid, t in vocab.titles.items() if re.search(rx, t, re.I)}


@pytest.mark.parametrize("message, serving", [
    ("i want to connect my laptop to my tv", r"\bhdmi\b"),
    ("something to keep my pc running when the power goes out", r"\bups\b|uninterruptible"),
    ("i need to print address labels for wedding invitations", r"\blabel"),
])
def test_a_need_on_a_catalog_without_categories_gets_the_kind_that_serves_it(icecat, minilm, message, serving):
    kinds = need_kinds(message, icecat, *minilm)
    picked = _selected(icecat, kinds)
    assert kinds and picked, message
    assert picked <= _titled(icecat, serving), (kinds, sorted(icecat.titles[i] for i in picked - _titled(icecat, serving))[:3])


def test_what_the_shopper_already_has_is_not_what_they_want(icecat, minilm):
    """"connect my laptop to my tv": Icecat has notebooks, TVs and laptop cases; none of them."""
    message = "i want to connect my laptop to my tv"
    assert context_words(message) == {"laptop", "tv"}
    picked = _selected(icecat, need_kinds(message, icecat, *minilm))
    assert not picked & _titled(icecat, r"\b(?:laptop|notebook|tv|television)\b")


def test_a_need_on_a_coarse_catalog_gets_the_products_that_serve_it(amazon, minilm):
    """Amazon's "Pet Supplies" says too little: the anxious dog gets what its titles call calming."""
    kinds = need_kinds("my dog gets really anxious during storms, anything that helps?", amazon, *minilm)
    picked = _selected(amazon, kinds)
    calming = _titled(amazon, r"calming|anxiety|anxious")
    assert picked and picked <= calming
    assert _titled(amazon, r"\bdog") & calming <= picked  # both calming dog products are among them


@pytest.mark.parametrize("message", ["hdmi cable", "i want to buy a laptop", "a blender for smoothies", "something under $50",
                                     "cheapest toner"])
def test_a_product_request_is_no_need(icecat, minilm, message):
    assert not is_need(message)
    assert need_kinds(message, icecat, *minilm) == []


def test_title_phrases_are_the_phrases_at_least_three_titles_have(icecat):
    phrases = set(title_phrases(icecat.titles.values(), icecat.brands))
    for phrase in ("uninterruptible power supply", "hdmi cable", "toner cartridge"):
        assert len(_titled(icecat, rf"\b{phrase}\b")) >= 3 and phrase in phrases
    assert "startech" not in phrases  # a brand names no kind of product
