"""A catalog that lists no prices (the Amazon 2018 Industrial & Scientific items: titles,
categories and brands only): a budget or "cheaper?" is said to be uncheckable, never answered
with "nothing matches" or the same cards in silence. Real ingest, real MiniLM, scripted LLM."""

from __future__ import annotations

import pytest

from assistant.events import Answer, Cards
from shopassist.settings import Settings
from tests.conftest import dataset

N = 400  # the first items: filaments, solder, lab supplies (a few seconds to embed)


@pytest.fixture(scope="module")
def unpriced(tmp_path_factory, embedder):
    import gzip

    from assistant.chat import Assistant
    from retrieval.ingest import ingest

    src = dataset("amazon_reviews_2018_scientific_seqrec_unisrec") / "items.jsonl.gz"
    tmp = tmp_path_factory.mktemp("unpriced")
    part = tmp / "items.jsonl"
    with gzip.open(src, "rt", encoding="utf-8") as f, part.open("w", encoding="utf-8") as out:
        for _, line in zip(range(N), f):
            out.write(line)
    s = Settings(data_dir=tmp / "data", llm_backend="scripted")
    ingest(s, part, progress=False, embedder=embedder)
    a = Assistant.from_settings(s)
    assert all(p.price is None for p in a.catalog.store.iter_products())  # the premise: no prices at all
    return a


def _conversation(a, *messages):
    from assistant.turn import Turn

    cid, out = a.start(None), []
    for m in messages:
        events = list(a.respond(Turn(cid, None, m)))
        cards = next((e.cards for e in reversed(events) if isinstance(e, Cards)), [])
        out.append((cards, next(e for e in events if isinstance(e, Answer)).text))
    return out


def test_a_budget_over_unpriced_products_shows_them_and_says_it_could_not_be_checked(unpriced):
    from assistant.chat import UNPRICED_TEXT

    [(cards, text)] = _conversation(unpriced, "3d printer filament under $25")
    titles = [unpriced.catalog.store.get(c.product_id).title.lower() for c in cards]
    assert cards and all("filament" in t for t in titles)
    assert text.startswith(UNPRICED_TEXT)


def test_cheaper_over_unpriced_cards_is_said_not_ignored(unpriced):
    from assistant.chat import CHEAPER_UNPRICED_TEXT

    [(first, _), (again, text)] = _conversation(unpriced, "3d printer filament", "something cheaper")
    assert first and again and text.startswith(CHEAPER_UNPRICED_TEXT)
