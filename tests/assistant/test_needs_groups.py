"""Needs on a catalog filed by shared descriptions instead of categories (the Amazon 2018
Industrial & Scientific set in UniSRec's form: each item is "title. run-together category path.
brand.", the path landing in the description): ``CatalogVocabulary.groups`` and
``assistant.needs.need_kinds`` / ``serving_categories`` over real items and the real MiniLM.

Expectations are computed from the titles and paths with regular expressions, independently of
the code under test: the group a need selects must be one whose products' titles say what serves it."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from assistant.needs import need_kinds, serving_categories
from assistant.vocabulary import CatalogVocabulary
from retrieval.sources import product_from_unisrec
from tests.conftest import dataset


@pytest.fixture(scope="module")
def scientific() -> CatalogVocabulary:
    path = dataset("amazon_reviews_2018_scientific_seqrec_unisrec") / "items.jsonl.gz"
    with gzip.open(path, "rt") as f:
        return CatalogVocabulary.build([product_from_unisrec(json.loads(line)) for line in f])


@pytest.fixture(scope="module")
def minilm(embedder):
    return (lambda t: embedder.encode([t], normalize_embeddings=True, show_progress_bar=False)[0],
            lambda ts: embedder.encode(ts, normalize_embeddings=True, batch_size=128, show_progress_bar=False))


def _titles_in(vocab: CatalogVocabulary, products_by_group: dict, groups: list[str]) -> list[str]:
    return [vocab.titles[i] for g in groups for i in products_by_group.get(g, [])]


@pytest.fixture(scope="module")
def by_group(scientific) -> dict:
    path = dataset("amazon_reviews_2018_scientific_seqrec_unisrec") / "items.jsonl.gz"
    out: dict = {}
    with gzip.open(path, "rt") as f:
        for line in f:
            p = product_from_unisrec(json.loads(line))
            out.setdefault(p.description, []).append(p.id)
    return out


def test_shared_descriptions_file_the_catalog_without_its_department_words(scientific):
    assert not scientific.leaves and len(scientific.groups) > 100
    dept = "Industrial & Scientific"
    assert sum(dept in d for d in scientific.groups) > 0.5 * len(scientific.groups)
    assert not any("scientific" in text.split() for text in scientific.groups.values())


@pytest.mark.parametrize("message, serving", [
    ("my upstairs neighbours are super loud at night, i want to measure how loud it actually is", r"decibel|sound level"),
    ("want to hang a heavy mirror on drywall, what do i need", r"anchor|toggle"),
    ("my fish keep dying and i think its the water ph, how do i check it", r"\bph\b"),
])
def test_a_need_gets_the_group_of_products_that_serves_it(scientific, by_group, minilm, message, serving):
    groups = serving_categories(message, scientific, minilm[0]) or need_kinds(message, scientific, *minilm)
    titles = _titles_in(scientific, by_group, groups[:1])  # the best group ("what do i need" may bundle more)
    assert groups and titles, message
    named = [t for t in titles if re.search(serving, t)]
    assert len(named) >= len(titles) / 2, (groups, titles[:4])


def test_a_catalog_with_unshared_descriptions_has_no_groups():
    from retrieval.catalog import Product

    shop = [Product(str(i), f"Acme thing {i}", description=f"The {i}th thing, made well.") for i in range(6)]
    assert CatalogVocabulary.build(shop).groups == {}
