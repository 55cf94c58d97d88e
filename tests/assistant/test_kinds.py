"""The kind of product a request names and a follow-up keeps (``assistant.carryover.keep_kind``),
and "not that one" (``assistant.refinement.refine``), over real catalog titles: the Amazon
Reviews 2023 slice of the everyday suite (coarse categories, so the kind lives in the title) and
the Icecat slice (a laptop is a "notebook" there, and "laptop" names the accessories).

Hits are the catalog's products ranked by how many of the request's tokens their title has (a
plain lexical ranking, ties in file order); expectations are computed from the titles with
regular expressions, independently of the code under test."""

from __future__ import annotations

import re
from types import SimpleNamespace as NS

import pytest

from assistant.carryover import keep_kind, kind_of
from assistant.refinement import refine
from assistant.state import State
from retrieval.bm25 import tokenize
from retrieval.catalog import Product
from retrieval.query import StructuredQuery, parse_query
from tests.conftest import dataset_products


def _products(name: str, file: str, limit: int) -> list[Product]:
    return dataset_products(name, file, limit)


@pytest.fixture(scope="module")
def amazon() -> list[Product]:
    return _products("amazon_reviews_2023_user_history_sample", "items.jsonl.gz", 1727)


@pytest.fixture(scope="module")
def icecat() -> list[Product]:
    return _products("chorus_icecat_product_search_judgments_135q", "products.jsonl.gz", 1500)


def _hits(products: list[Product], text: str) -> list:
    want = set(tokenize(text))
    scored = [(len(want & set(tokenize(p.title))), i, p) for i, p in enumerate(products)]
    return [NS(product=p) for n, i, p in sorted(scored, key=lambda x: (-x[0], x[1])) if n]


def _titles(products, rx: str) -> set[str]:
    return {p.id for p in products if re.search(rx, p.title, re.I)}


def test_a_compound_request_keeps_the_compound_not_a_modifier(amazon):
    """"dry dog food": dry cat food matches two of the three words, but is no dog food."""
    hits = _hits(amazon, "dry dog food")
    state = State(StructuredQuery(text="dry dog food"))
    kept = {h.product.id for h in keep_kind(hits, state)}
    assert kept and kept <= _titles(amazon, r"\bdog food\b")
    assert _titles(amazon, r"\bdry dog food\b") <= kept
    assert not kept & _titles(amazon, r"\bcat food\b")


def test_the_head_noun_decides_printer_ink_is_ink(amazon):
    hits = _hits(amazon, "printer ink")
    kept = keep_kind(hits, State(StructuredQuery(text="actually i need printer ink")))
    assert kept and all(re.search(r"\bink", h.product.title, re.I) for h in kept)
    printers = _titles(amazon, r"\bprinter\b") - _titles(amazon, r"\bink")
    assert printers and not {h.product.id for h in kept} & printers


def test_a_follow_up_keeps_the_kind_even_when_nothing_is_left(amazon):
    """"hmm cheaper ones?" after dog beds: cheaper dog beds or nothing, never cheaper dog clothes."""
    first = State(StructuredQuery(text="dog bed"))
    shown = keep_kind(_hits(amazon, "dog bed"), first)
    assert first.kind == "dog bed"
    cap = min(h.product.price for h in shown[:4] if h.product.price is not None)
    follow = first.copy()
    follow.shown = [h.product.id for h in shown[:4]]
    cheaper = [h for h in _hits(amazon, "dog bed") if h.product.price is not None and h.product.price < cap]
    assert cheaper  # dog clothes, diapers, ... are cheaper
    beds = {p.id for p in amazon if p.price is not None and p.price < cap and re.search(r"\bdog beds?\b", p.title, re.I)}
    assert {h.product.id for h in keep_kind(cheaper, follow)} == beds


def test_no_kind_when_the_titles_do_not_agree(icecat):
    """Icecat sells notebooks and "laptop cases": when the top hits are notebooks, "laptop" is no kind."""
    notebooks = [NS(product=p) for p in icecat if re.search(r"\bnotebook\b", p.title, re.I)
                 and not re.search(r"case|bag|sleeve", p.title, re.I)]
    accessories = [h for h in _hits(icecat, "laptop") if re.search(r"\blaptop\b", h.product.title, re.I)]
    assert len(notebooks) >= 4 and accessories
    hits = notebooks[:4] + accessories
    assert kind_of(hits, "laptop") is None
    assert keep_kind(hits, State(StructuredQuery(text="laptop"))) == hits


def test_not_that_one_rules_out_only_the_one_referred_to(amazon):
    harnesses = [p for p in amazon if re.search(r"\bdog harness\b", p.title, re.I)]
    assert len(harnesses) >= 2
    old = State(StructuredQuery(text="dog harness"), shown=[p.id for p in harnesses], focus=harnesses[0].id)
    new, changes, _ = refine("not that one, something else", old, harnesses, [harnesses[0].id], parse_query, [])
    assert new.query.exclude_ids == [harnesses[0].id]
    new, _, _ = refine("something else", old, harnesses, [], parse_query, [])
    assert new.query.exclude_ids == [p.id for p in harnesses]
