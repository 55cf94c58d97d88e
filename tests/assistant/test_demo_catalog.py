"""The assistant on the bundled demo catalog (real ingest, real embeddings, scripted LLM):
behaviour that needs a catalog with departments and substitute categories."""

from __future__ import annotations

import pytest

from assistant.events import Answer, Cards
from shopassist.settings import Settings


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from assistant.chat import Assistant
    from retrieval.demo import DEMO_DIR
    from retrieval.ingest import ingest

    s = Settings(data_dir=tmp_path_factory.mktemp("demo") / "data", llm_backend="scripted")
    ingest(s, DEMO_DIR)
    return Assistant.from_settings(s)


def turn(a, message):
    from assistant.chat import Turn

    events = list(a.respond(Turn(a.start(None), None, message)))
    cards = [c for e in events if isinstance(e, Cards) for c in e.cards]
    return cards, next(e for e in events if isinstance(e, Answer)).text


def test_gym_headphones_get_sport_earbuds_as_a_labelled_last_card(demo):
    cards, text = turn(demo, "I need headphones for the gym")
    *headphones, last = cards
    assert headphones and all("Headphones" in demo.catalog.store.get(c.product_id).categories for c in headphones)
    product = demo.catalog.store.get(last.product_id)
    assert "Earbuds" in product.categories and "gym" in (product.description + " ".join(product.features)).lower()
    assert "matches gym (from Earbuds, not Headphones)" in last.why
    assert text.startswith(f"None of the Headphones mention “gym”; [{len(cards)}] does, from Earbuds. ")


def test_no_alternative_from_a_category_that_is_no_substitute(demo):
    cards, text = turn(demo, "a tent for heavy rain")  # a backpack's rain cover is not a tent
    assert cards and all("Tents" in demo.catalog.store.get(c.product_id).categories for c in cards)
    assert "; [" not in text.split(".")[0]
