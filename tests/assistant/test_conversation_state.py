"""The conversation state tracker on real catalogs: the bundled demo catalog and the first 400
Icecat products (no categories, unitless ``attr_n_*`` specs). Pure functions, no store."""

from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path

import pytest

from assistant.attributes import order_key, read, satisfies
from assistant.carryover import negated_categories, unknown_brands
from assistant.references import named_products, ordinal_refs, price_rank_refs
from assistant.state import State
from assistant.understand import understand
from assistant.vocabulary import CatalogVocabulary
from retrieval.catalog import Product
from retrieval.demo import DEMO_DIR
from retrieval.query import Vocabulary, parse_query
from retrieval.sources import product_from_icecat

ICECAT = Path(__file__).resolve().parents[2] / "../shared/datasets/chorus_icecat_product_search_judgments_135q/products.jsonl.gz"


def _demo() -> list[Product]:
    fields = set(Product.__dataclass_fields__)
    with open(DEMO_DIR / "products.jsonl", encoding="utf-8") as f:
        return [Product(**{k: v for k, v in json.loads(line).items() if k in fields}) for line in f]


DEMO = _demo()
BY_ID = {p.id: p for p in DEMO}
VOCAB = CatalogVocabulary.build(DEMO)
BRANDS = VOCAB.brands
PARSE_VOCAB = Vocabulary(brands=BRANDS, categories=VOCAB.categories,
                         colours=sorted({p.attributes["colour"] for p in DEMO if p.attributes.get("colour")}))


def parse(text: str):
    return parse_query(text, PARSE_VOCAB)


def say(message: str, state: State | None = None):
    state = state or State()
    shown = [BY_ID[i] for i in state.shown]
    return understand(message, state, shown, parse, BRANDS, None, VOCAB)


def showing(u, ids: list[str]) -> State:
    """The state after a turn whose cards were ``ids`` (what ``Assistant.respond`` stores)."""
    s = u.state.copy()
    s.shown, s.focus = list(ids), ids[0]
    return s


def ids_of(category: str, n: int = 4) -> list[str]:
    return [p.id for p in DEMO if category in p.categories][:n]


# -- the vocabulary: attributes, units and dimensions come from the catalog ----------------------
def test_demo_vocabulary_reads_units_from_values():
    a = VOCAB.attributes
    assert (a["noise"].dimension, a["weight"].dimension, a["capacity"].dimension) == ("sound", "mass", "volume")
    assert a["battery_life"].dimension == "time" and a["wattage"].dimension == "power"
    assert not a["colour"].numeric and not a["material"].numeric
    assert VOCAB.coverage("noise", ["Blenders"]) > 0.5 and VOCAB.coverage("noise", ["Headphones"]) == 0


@pytest.mark.skipif(not ICECAT.exists(), reason="the Icecat dataset is not checked out")
def test_icecat_vocabulary_without_categories_scopes_by_title_words():
    with gzip.open(ICECAT, "rt", encoding="utf-8") as f:
        products = [product_from_icecat(json.loads(line)) for line in itertools.islice(f, 400)]
    v = CatalogVocabulary.build(products)
    assert v.categories == [] and v.attributes["weight"].numeric  # unitless numbers: orders only
    r = read("the lightest laptop", [], v)
    assert r.order is not None and r.order["key"].endswith("weight") and r.order["direction"] == "asc"
    assert read("the most expensive processor", [], v).order is None  # price, not processor_* specs
    # plain-number specs: the unit is read from the products' own text or chosen by magnitude
    cable = read("hdmi cable at least 3 m long", [], v).constraints
    assert cable and cable[0]["key"] == "cable_length" and cable[0]["scale"] == 1000.0
    heavy = read("laptop under 2 kg", [], v).constraints
    assert heavy and heavy[0]["key"] == "weight" and heavy[0]["scale"] == 1.0  # Icecat weighs in grams
    assert satisfies(Product(id="x", title="x", attributes={"weight": "1500"}), heavy)
    assert not satisfies(Product(id="y", title="y", attributes={"weight": "2500"}), heavy)


# -- constraints and orders ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "message, categories, key, op, value",
    [
        ("a tent under 2 kg", ["Tents"], "weight", "<", 2000.0),
        ("a kettle of at least 1.5 l", ["Kettles"], "capacity", ">=", 1500.0),
        ("headphones with more than 30 hours of battery", ["Headphones"], "battery_life", ">", 108000.0),
        ("a blender over 500 W", ["Blenders"], "wattage", ">", 500.0),
        ("a monitor, 27 inch or bigger", ["Monitors"], "size", ">=", 685.8),  # "size" is mixed catalog-wide
        ("i need a tent for 4 people", ["Tents"], "capacity", ">=", 4.0),
        ("a backpack of 900 g or less", ["Backpacks"], "weight", "<=", 900.0),
    ],
)
def test_bounds_map_to_the_attribute_of_their_dimension(message, categories, key, op, value):
    r = read(message, categories, VOCAB)
    assert [(c["key"], c["op"], c["value"]) for c in r.constraints] == [(key, op, value)]


@pytest.mark.parametrize(
    "message, categories, key, direction",
    [
        ("which one is the quietest?", ["Blenders"], "noise", "asc"),
        ("a quiet blender", ["Blenders"], "noise", "asc"),
        ("the lightest tent", ["Tents"], "weight", "asc"),
        ("the longest battery life", ["Fitness Trackers"], "battery_life", "desc"),
        ("a powerful blender", ["Blenders"], "wattage", "desc"),
        ("the biggest backpack", ["Backpacks"], "capacity", "desc"),
    ],
)
def test_adjectives_and_superlatives_order_by_the_catalog_attribute(message, categories, key, direction):
    order = read(message, categories, VOCAB).order
    assert order is not None and (order["key"], order["direction"]) == (key, direction)


def test_an_adjective_no_attribute_measures_stays_free_text():
    # headphones have no noise spec in the demo catalog: "quiet" is left to the search text
    assert read("quiet headphones", ["Headphones"], VOCAB).order is None
    assert read("a light blue kettle", ["Kettles"], VOCAB).order is None  # a colour, not a weight


def test_constraints_convert_units_and_drop_products_without_the_attribute():
    light = Product(id="a", title="A", attributes={"weight": "900 g"})
    heavy = Product(id="b", title="B", attributes={"weight": "1.2 kg"})
    bare = Product(id="c", title="C")
    under_1kg = [{"key": "weight", "op": "<=", "value": 1000.0}]
    assert [satisfies(p, under_1kg) for p in (light, heavy, bare)] == [True, False, False]
    order = {"key": "weight", "direction": "asc"}
    assert [p.id for p in sorted([bare, heavy, light], key=lambda p: order_key(p, order))] == ["a", "b", "c"]


# -- carry-over: refinement vs topic switch -----------------------------------------------------
def test_a_budget_only_follow_up_keeps_the_category():
    first = say("I need a new office chair")
    assert first.state.query.categories == ["Office Chairs"]
    then = say("something under $300", showing(first, ids_of("Office Chairs")))
    assert then.intent == "refine" and then.state.query.categories == ["Office Chairs"]
    assert then.state.query.price_max == 300.0


def test_not_a_kettle_excludes_the_category_and_what_was_shown():
    first = say("a gift for my dad who likes coffee, around $50")
    shown = ids_of("Kettles", 2)
    then = say("something different, not a kettle", showing(first, shown))
    assert then.intent == "refine"
    assert "Kettles" in then.state.exclude_categories and "Kettles" not in then.state.query.categories
    assert set(shown) <= set(then.state.query.exclude_ids)
    assert negated_categories("no kettles please", VOCAB.categories) == ["Kettles"]


def test_quiet_blender_then_the_quietest_refines_the_same_search():
    first = say("a quiet blender under $80")
    assert first.state.order["key"] == "noise" and first.state.query.text == "blender"  # "quiet" is read, not searched
    then = say("which one is the quietest?", showing(first, ids_of("Blenders")))
    assert then.intent == "refine" and then.state.order["key"] == "noise"
    assert then.state.query.price_max == 80.0 and then.state.query.categories == ["Blenders"]


def test_a_new_topic_drops_the_old_constraints():
    first = say("a tent under 2 kg")
    then = say("show me headphones", showing(first, ids_of("Tents")))
    assert then.intent == "find" and then.state.constraints == [] and then.state.query.categories == ["Headphones"]


# -- references -----------------------------------------------------------------------------------
def test_second_cheapest_is_the_second_by_price_among_shown():
    shown = [BY_ID[i] for i in ids_of("Headphones")]
    by_price = sorted((p for p in shown if p.price is not None), key=lambda p: p.price)
    assert price_rank_refs("show me the second cheapest one", shown) == [by_price[1].id]
    assert price_rank_refs("the most expensive of those", shown) == [by_price[-1].id]
    assert price_rank_refs("which is the cheapest?", shown) == []  # the topic's cheapest: a new order


def test_battery_last_is_a_verb_not_the_last_card():
    assert ordinal_refs("how long does the battery last on the first one?", 3) == [0]
    first = say("fitness tracker")
    shown = ids_of("Fitness Trackers", 3)
    u = say("how long does the battery last on the first one?", showing(first, shown))
    assert u.intent == "ask" and u.refs == [shown[0]]


def test_references_resolve_only_to_shown_products():
    first = say("headphones")
    shown = ids_of("Headphones", 3)
    u = say("tell me about the fifth one", showing(first, shown))
    assert not set(u.refs) - set(shown)


def test_named_products_are_compared_over_the_whole_catalog():
    u = say("compare the Sonvia Pulse ANC and the Sonvia Beat 200")
    assert u.intent == "compare" and len(u.refs) == 2
    titles = [BY_ID[i].title for i in u.refs]
    assert "Pulse ANC" in titles[0] and "Beat 200" in titles[1]
    assert u.state.shown == u.refs  # "which is better for running?" then compares these two
    ids, ambiguous = named_products("compare the Sonvia and the Aurelian", VOCAB)
    assert ids == []


# -- whole-catalog questions ----------------------------------------------------------------------
def test_superlatives_over_the_whole_catalog():
    u = say("What's the most expensive thing you sell?")
    assert u.intent == "find" and u.state.query.sort == "price_desc" and u.state.query.text == ""
    u = say("which keyboard costs the most")
    assert u.state.query.sort == "price_desc" and u.state.query.categories == ["Keyboards"]


def test_a_brand_we_do_not_carry_is_said():
    u = say("Do you have anything from Zorblax?")
    assert u.notes and "Zorblax" in u.notes[0]
    assert unknown_brands("headphones from Sonvia", BRANDS, VOCAB.token_ids) == []
    assert unknown_brands("can it arrive by Friday?", BRANDS, VOCAB.token_ids) == []


def test_an_adjective_about_the_product_in_focus_stays_a_question():
    first = say("blenders")
    shown = ids_of("Blenders")
    asked = say("is it loud?", showing(first, shown))
    assert asked.intent == "ask" and asked.refs == [shown[0]] and asked.state.order is None


def test_a_comparative_goes_past_the_product_in_focus():
    first = say("blenders")
    shown = ids_of("Blenders")
    u = say("a lighter one", showing(first, shown))
    assert u.intent == "refine" and u.state.order["key"] == "weight"
    bound = [c for c in u.state.constraints if c["key"] == "weight"]
    assert bound and bound[0]["op"] == "<" and satisfies(BY_ID[shown[0]], bound) is False


def test_repeating_the_topic_words_makes_them_required():
    first = say("noise cancelling headphones")
    then = say("any cheaper noise cancelling ones?", showing(first, ids_of("Headphones", 2)))
    assert then.intent == "refine" and then.state.strict and then.state.query.price_max is not None


def _cosine_embed():
    """MiniLM, the model the assistant uses (skips when it is not downloaded)."""
    from retrieval.models import ModelMissing, load_embedder
    from shopassist.settings import Settings

    s = Settings()
    try:
        model = load_embedder(s.embedding_model, "cpu")
    except ModelMissing:
        pytest.skip("MiniLM is not downloaded")
    cache: dict = {}

    def embed(text: str):
        if text not in cache:
            cache[text] = model.encode([text], normalize_embeddings=True, show_progress_bar=False)[0]
        return cache[text]

    return embed


def test_a_need_becomes_the_categories_that_serve_it():
    from assistant.needs import serving_categories

    embed = _cosine_embed()
    camping = serving_categories("I'm going camping in the rain, what do I need?", VOCAB, embed)
    assert "Tents" in camping and len(camping) >= 3 and not {"Kettles", "Blenders"} & set(camping)
    coffee = serving_categories("a gift for my dad who likes coffee", VOCAB, embed)
    assert coffee and all(c in ("Coffee Beans", "Brewing Gear", "Grinders", "Coffee Makers", "Tea") for c in coffee)
    assert serving_categories("my back hurts from my chair", VOCAB, embed) == ["Office Chairs"]
    assert serving_categories("a blender for smoothies", VOCAB, embed) == []  # a product, not a need
    u = understand("I'm going camping in the rain, what do I need?", State(), [], parse, BRANDS, None, VOCAB, embed)
    assert u.state.need and u.state.query.categories == camping


def test_which_is_quieter_names_the_winner_among_the_compared():
    compared = say("compare the cuisino quietblend 1000 and the nordvik vortex pro 1500")
    assert compared.intent == "compare" and len(compared.refs) == 2
    quieter = say("which one is quieter", compared.state)
    noise = {i: BY_ID[i].attributes["noise"] for i in compared.refs}
    assert quieter.intent == "ask" and quieter.refs == [min(compared.refs, key=lambda i: float(noise[i].split()[0]))]
    cheaper = say("which of these is cheapest", compared.state)
    assert cheaper.refs == [min(compared.refs, key=lambda i: BY_ID[i].price)]


def test_follow_ups_that_only_describe_keep_the_topic():
    first = say("kettle")
    steel = say("stainless steel ones only", showing(first, ids_of("Kettles")))
    assert steel.intent == "refine" and steel.state.query.categories == ["Kettles"]
    assert [c["value"] for c in steel.state.constraints] == ["stainless steel"]  # the kettles' material
    fryer = say("an air fryer")
    quieter = say("one thats quieter than 60 dB", showing(fryer, ids_of("Air Fryers")))
    assert quieter.intent == "refine" and quieter.state.query.categories == ["Air Fryers"]
    assert quieter.state.constraints[0]["key"] == "noise"


def test_irregular_plurals_and_material_words():
    assert say("a wireless mouse").state.query.categories == ["Mice"]
    mat = say("yoga mat made of natural rubber")  # "natural" is a catalog colour, here a material
    assert mat.state.colours == [] and mat.state.query.categories == ["Yoga Mats"]


def test_lower_case_brands_we_do_not_carry():
    assert "Bose" in say("do you have bose headphones").notes[0]
    assert "Dyson" in say("any dyson stuff?").notes[0]
    assert say("do you have wireless headphones").notes == []
    assert say("any sonvia headphones?").notes == []


def test_an_ambiguous_name_shows_the_models_and_asks_which():
    message = "compare the nordvik blender and the cuisino quietblend 1000"  # Nordvik makes two blenders
    ids, ambiguous = named_products(message, VOCAB)
    assert ambiguous == ["nordvik blender"] and len(ids) == 1
    u = say(message)
    assert u.intent == "find" and "Which" in u.notes[0] and u.state.query.brands == ["Nordvik"]


def test_a_colour_question_about_the_focus_shows_that_model_in_that_colour():
    white = next(p for p in DEMO if p.title == "Nordvik Pulse 600 Personal Blender, White")
    first = say("the pulse 600 blender in white")
    u = say("is there a green one", showing(first, [white.id]))
    assert u.intent == "find" and u.variant and all("green" in BY_ID[i].title.lower() for i in u.variant)
    assert all(BY_ID[i].title.startswith("Nordvik Pulse 600") for i in u.variant)
    stays = say("in black", showing(say("blenders"), ids_of("Blenders")))
    assert stays.intent == "refine" and stays.variant == [] and stays.state.colours == ["black"]


def test_a_named_material_is_required():
    mat = say("yoga mat made of natural rubber")
    assert {"key": "material", "op": "has", "value": "natural rubber", "text": "natural rubber"} in mat.state.constraints
    rubber = [p for p in DEMO if "Yoga Mats" in p.categories and satisfies(p, mat.state.constraints)]
    assert rubber and all("natural rubber" in p.attributes["material"].lower() for p in rubber)


def test_ruled_out_words_drop_products_naming_them():
    u = say("a blender but not a personal one")
    assert u.state.exclude_words == ["personal"] and "personal" not in u.state.query.text
    kept = [p for p in DEMO if "Blenders" in p.categories and allowed_by_attributes(p, u.state)]
    assert kept and not any("personal" in p.title.lower() for p in kept)
    loud = say("a blender, not too loud")  # a negated adjective turns the order round
    assert loud.state.order["key"] == "noise" and loud.state.order["direction"] == "asc"


def allowed_by_attributes(p, state):
    from assistant.attributes import allowed

    return allowed(p, state)


def test_the_cheaper_of_those_is_a_shown_product():
    first = say("headphones")
    shown = ids_of("Headphones")
    u = say("the cheaper of those", showing(first, shown))
    cheapest = min((BY_ID[i] for i in shown if BY_ID[i].price is not None), key=lambda p: p.price)
    assert u.intent == "ask" and u.refs == [cheapest.id] and u.state.query.price_max is None


def test_more_pls_pages_and_brands_before_any_kind_of_product():
    u = say("more pls", showing(say("blenders"), ids_of("Blenders")))
    assert u.intent == "refine" and set(ids_of("Blenders")) <= set(u.state.query.exclude_ids)
    assert "Dyson" in say("do you sell dyson vacuums").notes[0]
    assert say("do you have noise cancelling headphones").notes == []


def test_a_greeting_that_opens_a_request_is_not_searched_for():
    """'hi, …' is said before the request, not about it: on the demo catalog a product whose text
    has "hi" ("Hi-Fi") must not be matched by it; a greeting alone stays chitchat."""
    plain, greeted = say("a blender for smoothies"), say("hi, a blender for smoothies")
    assert greeted.state.query.text == plain.state.query.text and greeted.intent == plain.intent == "find"
    assert say("hello there!").intent == "chitchat"


def test_any_good_for_a_use_asks_about_the_product_in_focus():
    """"any good for camping?" after speakers were shown is a question about the one in focus,
    not a new search for camping gear; without a product on screen it is a search."""
    first = say("a bluetooth speaker")
    shown = [p.id for p in DEMO if "Speakers" in p.categories][:3]
    u = say("any good for camping?", showing(first, shown))
    assert (u.intent, u.refs) == ("ask", [shown[0]])
    assert say("any good for camping?").intent == "find"


@pytest.mark.parametrize("message, lacking", [
    ("do you have anything from bose?", "Bose"),
    ("do you sell zorblax", "Zorblax"),
    ("do you have anything cheaper?", None),
    ("do you have anything similar?", None),
    ("do you have something lighter?", None),
    ("do you have kettles?", None),
])  # fmt: skip
def test_a_brand_the_demo_lacks_is_said_and_ordinary_words_are_not_brands(message, lacking):
    notes = say(message).notes
    assert (notes[0].split(";")[0].split(".")[0] if notes else None) == (f"We don't carry {lacking}" if lacking else None)


def test_a_budget_asked_as_a_question_refines_the_list():
    """"anything under 100?" after headphones is a budget on them, not a question about the first."""
    first = say("show me headphones")
    u = say("hmm, anything under 100?", showing(first, ids_of("Headphones")))
    assert u.intent == "refine" and u.state.query.price_max == 100 and u.state.query.categories == ["Headphones"]
