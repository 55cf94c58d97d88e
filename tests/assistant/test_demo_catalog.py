"""The assistant on the bundled demo catalog (real ingest, real embeddings, scripted LLM):
behaviour that needs a catalog with departments and substitute categories."""

from __future__ import annotations

import pytest

from assistant.events import Answer, Cards
from assistant.understand import State
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


def test_candidate_selection_alone_finds_the_substitute_for_words_the_shown_ones_lack(demo):
    """The same as the gym turn above, without an LLM or a conversation: candidates.py alone."""
    from assistant.candidates import Ranked, allowed

    state = demo.understand("I need headphones for the gym", State()).state
    hits = demo.candidates.retrieve(state)
    assert hits and all(allowed(h.product, state) for h in hits)
    top = [Ranked(h.product, h.score, None, h.score) for h in hits[:3]]
    unmatched = demo.candidates.unmatched(state, [r.product for r in top])
    assert unmatched == ["gym"]
    alt = demo.candidates.alternative(state, top, unmatched)
    assert alt is not None and alt.alternative and alt.product.id not in {r.product.id for r in top}
    assert alt.product.categories[0] == top[0].product.categories[0]  # the same department
    assert demo.candidates.substitute(alt.product.categories[-1], state.query.categories)
    assert not demo.candidates.substitute("Backpacks", ["Tents"])
