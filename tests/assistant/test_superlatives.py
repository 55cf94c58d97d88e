"""Questions over the products on screen ("which one is the lightest?"), real MiniLM, demo catalog data."""

from __future__ import annotations

import json

import pytest

from assistant.superlatives import quantity, spec_superlative, use_superlative
from retrieval.catalog import Product
from retrieval.demo import DEMO_DIR


@pytest.fixture(scope="module")
def demo():
    with (DEMO_DIR / "products.jsonl").open(encoding="utf-8") as f:
        return [Product(**json.loads(line)) for line in f]


@pytest.fixture(scope="module")
def embed(embedder):
    return lambda texts: embedder.encode(texts, normalize_embeddings=True, show_progress_bar=False)


def _in(demo, category, n=4):
    """One product per family of a category (colour variants share a title before the comma)."""
    seen, out = set(), []
    for p in demo:
        name = p.title.split(",")[0]
        if category in p.categories and name not in seen:
            seen.add(name)
            out.append(p)
    return out[:n]


def test_quantities_are_comparable_across_units():
    assert quantity("255 g")[0] < quantity("1.1 kg")[0]
    assert quantity("14 days") == (14 * 24.0, "time") and quantity("40 h on low") == (40.0, "time")
    assert quantity("over-ear, closed-back") is None


@pytest.mark.parametrize(
    ("category", "key", "question", "pick"),
    [("Headphones", "weight", "which one is the lightest?", min), ("Blenders", "noise", "which one is the quietest?", min),
     ("Blenders", "wattage", "which is the most powerful?", max), ("Sleeping Bags", "temperature_rating", "which of these is the warmest?", min)],
)  # fmt: skip
def test_spec_superlatives_name_the_winner_with_the_numbers_side_by_side(demo, embed, category, key, question, pick):
    shown = _in(demo, category)
    text = spec_superlative(question, shown, embed)
    listed = [(i, p) for i, p in enumerate(shown) if key in p.attributes]
    i, p = pick(listed, key=lambda ip: quantity(ip[1].attributes[key])[0])
    assert text.startswith("The ") and f"is [{i + 1}] " in text and p.attributes[key] in text
    assert all(q.attributes[key] in text for _, q in listed)


def test_a_use_is_answered_from_the_product_that_fits_it(demo, embed):
    earbuds = _in(demo, "Earbuds")
    text = use_superlative("which one is best for running?", earbuds, lambda pid: [], embed)
    runner = next(i for i, p in enumerate(earbuds) if " run" in p.description.lower())
    assert text.startswith(f"For running, [{runner + 1}] ")
    assert spec_superlative("which one is best for running?", earbuds, embed) is None


def test_comparatives_name_the_same_dimension():
    from assistant.superlatives import _adjective

    assert _adjective("which one is quieter?") == ("quiet", -1)
    assert _adjective("which is heavier") == ("heavy", 1)
    assert _adjective("which one is bigger") == ("big", 1)
    assert _adjective("which is more powerful") == ("powerful", 1)
    assert _adjective("which one is cheaper") is None  # a price: the search's superlatives
