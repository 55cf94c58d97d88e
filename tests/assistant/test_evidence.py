"""Product questions answered from the product's own data first (real MiniLM): the demo catalog's
spec sheets, Icecat's ``attr_*`` specs, and the honest non-answer said once."""

from __future__ import annotations

import gzip
import itertools
import json

import pytest

from assistant.evidence import answer_question, aspect_counts, aspect_words, reviewers_say, summarise_reviews
from assistant.product_qa import convert, device_answer, facts, spec_answer, variant_answer
from retrieval.catalog import Product, Review
from retrieval.demo import DEMO_DIR


@pytest.fixture(scope="module")
def demo_products():
    with (DEMO_DIR / "products.jsonl").open(encoding="utf-8") as f:
        return {p.id: p for p in (Product(**json.loads(line)) for line in f)}


@pytest.fixture(scope="module")
def embed(embedder):
    return lambda texts: embedder.encode(texts, normalize_embeddings=True, show_progress_bar=False)


def _with(demo, category: str, key: str) -> Product:
    """The first demo product of a category that has the spec ``key`` (found, not hard-coded)."""
    return next(p for p in demo.values() if category in p.categories and key in p.attributes)


@pytest.mark.parametrize(
    ("category", "key", "question"),
    [
        ("Blenders", "noise", "how loud is it in dB?"),
        ("Headphones", "battery_life", "how long does the battery last?"),
        ("Tents", "weight", "is it heavy?"),
        ("Sleeping Bags", "temperature_rating", "how warm is it?"),
    ],
)
def test_spec_questions_are_answered_from_the_spec_sheet(demo_products, embed, category, key, question):
    p = _with(demo_products, category, key)
    text = spec_answer(question, p, embed)
    assert text is not None and p.attributes[key] in text and "(the listing's spec sheet)" in text


def test_a_conversion_is_given_when_asked(demo_products, embed):
    tent = _with(demo_products, "Tents", "weight")
    text = spec_answer("how heavy is it in pounds?", tent, embed)
    kg = float(tent.attributes["weight"].split()[0])
    assert f"{kg * 2.20462:.1f} lb" in text and tent.attributes["weight"] in text
    assert convert("-5 °C comfort", "fahrenheit") == "23 °F" and convert("72 dB", "pounds") is None


def test_a_feature_question_is_yes_only_when_the_data_says_it(demo_products, embed):
    with_usb = next(p for p in demo_products.values() if any("usb" in f.lower() for f in p.features))
    assert spec_answer("does it have a USB port?", with_usb, embed).startswith("Yes: ")
    without = next(p for p in demo_products.values()
                   if "Blenders" in p.categories and "usb" not in json.dumps(p.to_json()).lower())  # fmt: skip
    assert spec_answer("does it have a USB port?", without, embed) is None


def test_device_compatibility_uses_the_connection_and_general_facts_only(demo_products):
    bt = next(p for p in demo_products.values() if "bluetooth 5.2" in p.attributes.get("connectivity", "").lower())
    assert device_answer("do they work with an iPhone?", bt) == (
        f"Yes: it connects over {bt.attributes['connectivity']}, which iPhones support (the listing's spec sheet).")
    wired = Product(id="w", title="Wired Cans", attributes={"connectivity": "wired 3.5 mm"})
    assert "need an adapter" in device_answer("will these work with my iphone?", wired)
    assert device_answer("how long is the cable?", bt) is None


def test_icecat_specs_answer_questions_on_a_second_catalog(embed):
    from retrieval.sources import product_from_icecat
    from tests.conftest import dataset

    path = dataset("chorus_icecat_product_search_judgments_135q") / "products.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [product_from_icecat(json.loads(line)) for line in itertools.islice(f, 400)]
    toner = next(p for p in rows if "page_yield" in " ".join(p.attributes) and "compatibility" in p.attributes)
    yield_key = next(k for k in toner.attributes if "page_yield" in k)
    assert toner.attributes[yield_key] in spec_answer("how many pages does it print?", toner, embed)
    assert toner.attributes["compatibility"] in spec_answer("is it compatible with my printer?", toner, embed)
    with_bt = next(p for p in rows if p.attributes.get("bluetooth", "").lower() == "yes")
    assert spec_answer("does it have bluetooth?", with_bt, embed).startswith("Yes: ")


def _review(i: int, rating: float, text: str) -> Review:
    return Review(id=f"r{i}", product_id="p", user_id=f"u{i}", rating=rating, text=text)


def test_the_non_answer_is_said_once_and_only_when_nothing_answers(embed):
    p = Product(id="p", title="Acme Kettle", attributes={"capacity": "1.7 l"})
    reviews = [_review(1, 5, "Boils fast and looks great on the counter."), _review(2, 4, "Nice handle.")]
    text = answer_question("does it come with a warranty?", p, reviews, embed)
    assert text == "The spec sheet and the reviews of Acme Kettle don't say anything about that."
    assert text.count("say") == 1
    assert "1.7 l" in answer_question("how much water does it hold?", p, reviews, embed)


def test_reviewers_are_counted_with_their_tone():
    quotes = [("Battery lasts days.", _review(1, 5, "")), ("Battery is great.", _review(2, 4, ""))]
    assert reviewers_say(quotes, 8).startswith("2 of 8 reviewers mention it, all positively: “Battery lasts days.” (5★)")
    assert reviewers_say(quotes[:1], 8).startswith("1 of 8 reviewers mentions it: ")


def test_a_summary_never_claims_no_negatives_from_too_few_reviews():
    p = Product(id="p", title="Acme Lamp", features=["Warm light", "USB-C charging"])
    two = [_review(1, 5, "Lovely warm light."), _review(2, 4, "Warm light, charges by USB-C.")]
    text = summarise_reviews(p, two)
    assert "None of the reviews" not in text and "too few" in text
    assert aspect_counts(two, aspect_words(p)) == ["warm light (2 of 2, all positive)"]  # said together: one aspect


def test_variants_answer_colour_questions_from_the_family(demo_products):
    pink = next(p for p in demo_products.values() if p.attributes.get("colour") == "pink" and "Headphones" in p.categories)
    family = [pink, *(p for p in demo_products.values() if p.id != pink.id and p.title.split(",")[0] == pink.title.split(",")[0])]
    colours = [p.attributes["colour"] for p in family]
    price = lambda p: f"${p.price:.2f}"  # noqa: E731
    if "black" not in colours:
        got = variant_answer("does it come in black?", family, ["black", *colours], price)
        assert got.variant is None and got.text.startswith("No: it comes in ") and all(c in got.text for c in colours)
    other = colours[1]
    got = variant_answer(f"does it come in {other}?", family, colours, price)
    assert got.variant is family[1] and got.text == f"Yes, the {other} one is {price(family[1])} (card above)."
    assert variant_answer("how loud is it?", family, colours, price) is None
    assert [f.source for f in facts(pink)][:1] == ["spec sheet"]
