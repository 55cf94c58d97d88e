"""Intent rules, reference resolution and the grounding validator: pure functions."""

from __future__ import annotations

import pytest

from assistant.grounding import check, split_sentences
from assistant.understand import (
    State,
    detect_intent,
    is_browse,
    is_superlative,
    negated_brands,
    ordinal_refs,
    resolve_refs,
    understand,
)
from retrieval.catalog import Product
from retrieval.query import StructuredQuery

SHOWN = [
    Product(id="b1", title="Acme Quiet Blender 600W", brand="Acme", price=49.0, attributes={"colour": "black"}),
    Product(id="k1", title="Zeta Glass Kettle 1.7 l", brand="Zeta", price=29.5, average_rating=4.4, rating_count=88),
    Product(id="b2", title="Nimbus Power Blender", brand="Nimbus", price=89.99),
]


@pytest.mark.parametrize(
    "message,state,refs,intent",
    [
        ("I want to talk to a human", False, False, "handoff"),
        ("can I speak with someone please", True, False, "handoff"),
        ("hello!", False, False, "chitchat"),
        ("thanks", True, False, "chitchat"),
        ("what's the weather in Paris tomorrow?", False, False, "out_of_scope"),
        ("write me a poem about cats", True, False, "out_of_scope"),
        ("compare the first two", True, True, "compare"),
        ("what do the reviews say about it", True, True, "reviews"),
        ("is the second one loud?", True, True, "ask"),
        ("cheaper", True, False, "refine"),
        ("in black", True, False, "refine"),
        ("not that brand", True, False, "refine"),
        ("under $30", True, False, "refine"),
        ("a quiet blender", False, False, "find"),
        ("show me headphones", True, False, "find"),
    ],
)
def test_detect_intent(message, state, refs, intent):
    assert detect_intent(message, state, refs) == intent


def test_ordinal_refs():
    assert ordinal_refs("the second one", 3) == [1]
    assert ordinal_refs("compare the first and the last", 3) == [0, 2]
    assert ordinal_refs("option 3 please", 3) == [2]
    assert ordinal_refs("the fifth", 3) == []  # only shown items
    assert ordinal_refs("compare 1 and 3", 3) == [0, 2]
    assert ordinal_refs("the top two", 3) == [0, 1]


def test_resolve_refs_by_position_name_brand_pronoun():
    assert resolve_refs("is the second one any good?", SHOWN, None) == ["k1"]
    assert resolve_refs("does that kettle switch off by itself?", SHOWN, None) == ["k1"]
    assert resolve_refs("that blender, is it loud", SHOWN, "b2") == ["b2"]
    assert resolve_refs("tell me about the Nimbus one", SHOWN, None) == ["b2"]
    assert resolve_refs("is it loud?", SHOWN, "k1") == ["k1"]
    assert resolve_refs("compare them", SHOWN, None) == ["b1", "k1", "b2"]
    assert resolve_refs("a quiet blender", [], None) == []


def test_a_model_number_names_the_shown_product_that_has_it():
    """Three shown models share the line's name: the number picks one, whatever is in focus."""
    shown = [Product(id=i, title=f"iRobot Roomba {n} Robot Vacuum", brand="iRobot") for i, n in [("a", 860), ("b", 614), ("c", 980)]]
    assert resolve_refs("tell me about the roomba 980", shown, "a") == ["c"]
    assert resolve_refs("tell me about the roomba", shown, "a") == ["a"]
    yarn = [Product(id="y1", title="Velvet Yarn 100 gr"), Product(id="y2", title="Cloud Nine Yarn 2 Pack of 300g/10.5oz")]
    assert resolve_refs("anything under 10$", yarn, "y1") == []  # a budget, not the "10.5oz" one


def test_it_is_the_focus_even_when_another_title_has_the_asked_word():
    """"is it loud?" about the iFox in focus, although the OontZ's title says "Loud": the pronoun
    names the focus; only a name ("is the OontZ loud?") moves it."""
    shown = [Product(id="i", title="iFox Shower Speaker"), Product(id="o", title="OontZ Angle 3 Loud Speaker")]
    assert resolve_refs("is it loud", shown, "i") == ["i"]
    assert resolve_refs("is the oontz loud?", shown, "i") == ["o"]


def test_brands_and_superlatives():
    assert negated_brands("blenders but not Acme please", ["Acme", "Zeta"]) == ["Acme"]
    assert negated_brands("Acme blenders", ["Acme"]) == []
    assert is_superlative("your cheapest kettle") == "price_asc"
    assert is_superlative("the most expensive laptop") == "price_desc"
    assert is_superlative("best rated headphones") == "rating_desc"
    assert is_superlative("a good kettle") is None


def test_grounding_accepts_catalog_facts():
    text = "The Acme Quiet Blender 600W costs $49.00 [1], and the Zeta Glass Kettle is rated 4.4 by 88 reviewers [2]."
    assert check(text, SHOWN, brands=["Acme", "Zeta", "Nimbus", "Orbit"]).ok


@pytest.mark.parametrize(
    "text,problem",
    [
        ("Try the blender at $39.00 [1].", "price $39.00"),
        ("It comes in red [1].", "colour red"),
        ("Option [7] is best.", "citation [7]"),
        ("It has a 900W motor [1].", None),  # 900W is one token with the unit: covered by the name/number rules below
        ("Orbit makes a great one too.", "brand Orbit"),
        ("You could also try the Vortex Pro [1].", 'name "Vortex"'),
        ("It holds 2.5 litres [2].", "number 2.5"),
        ("Available in XL [1].", "size XL"),
    ],
)
def test_grounding_rejects_inventions(text, problem):
    c = check(text, SHOWN, user_text="a blender", brands=["Acme", "Zeta", "Nimbus", "Orbit"])
    if problem is None:
        return
    assert not c.ok
    assert any(problem in p for p in c.problems), c.problems


def test_grounding_allows_what_the_shopper_said():
    assert check("Here are blenders under $100 [1].", SHOWN, user_text="blenders under $100").ok
    assert check("Nothing in grey, but [1] is black.", SHOWN, user_text="in grey").ok


def test_split_sentences_for_streaming():
    assert split_sentences("First one. Second one! Thi") == (["First one. ", "Second one! "], "Thi")
    assert split_sentences("no end") == ([], "no end")


def test_template_answer_is_grounded_even_with_ranker_explanations():
    from assistant.answers import template_answer

    why = {"b1": ["rated 4.2 by 80 reviewers (shrunk toward the 4.30 average)", "matches blender"]}
    text = template_answer(SHOWN, why)
    assert "4.30" not in text and "matches blender" in text
    assert check(text, SHOWN, brands=["Acme", "Zeta", "Nimbus"]).ok


def test_state_holds_a_structured_query_and_reads_the_old_flat_layout():
    state = State(StructuredQuery(text="kettle", price_max=30.0, exclude_brands=["Zeta"]), colours=["red"], shown=["k1"])
    stored = state.to_dict()
    assert stored["query"]["price_max"] == 30.0 and stored["colours"] == ["red"] and "price_max" not in stored
    assert State.from_dict(stored) == state
    # conversations stored before State held a StructuredQuery: the filters were top-level keys
    old = {"text": "kettle", "price_max": 30.0, "exclude_brands": ["Zeta"], "sort": "price_asc",
           "colours": ["red"], "shown": ["k1"], "focus": "k1", "liked": [], "disliked": []}
    loaded = State.from_dict(old)
    assert loaded.query == StructuredQuery(text="kettle", price_max=30.0, exclude_brands=["Zeta"], sort="price_asc")
    assert (loaded.colours, loaded.shown, loaded.focus) == (["red"], ["k1"], "k1")
    assert State.from_dict(None) == State() and not State().active and loaded.active
    copy = loaded.copy()
    copy.query.exclude_brands.append("Acme")
    copy.query.price_max = 10.0
    assert loaded.query.exclude_brands == ["Zeta"] and loaded.query.price_max == 30.0


def test_understand_carries_filters_over_and_modifies_them():
    from retrieval.query import Vocabulary, parse_query

    vocab = Vocabulary(brands=["Acme", "Zeta", "Nimbus"], categories=["Blenders", "Kettles"], colours=["black"])
    brands = ["Nimbus", "Acme", "Zeta"]

    def parse(text):
        return parse_query(text, vocab)

    first = understand("a blender under $100 not Zeta", State(), [], parse, brands)
    assert first.intent == "find" and first.state.query.price_max == 100.0 and first.state.query.exclude_brands == ["Zeta"]
    shown = [SHOWN[0], SHOWN[2]]  # the blenders, $49.00 and $89.99
    state = State(first.state.query, shown=[p.id for p in shown], focus="b1")
    cheaper = understand("cheaper", state, shown, parse, brands)
    assert cheaper.intent == "refine" and cheaper.state.query.price_max == 48.99
    assert cheaper.state.query.exclude_brands == ["Zeta"] and cheaper.changes == ["cheaper than $49.00"] and cheaper.cheaper_than == 49.0
    other = understand("not that brand", state, shown, parse, brands)
    assert other.state.query.exclude_brands == ["Zeta", "Acme"] and state.query.exclude_brands == ["Zeta"]
    asked = understand("is the second one loud?", state, shown, parse, brands)
    assert asked.intent == "ask" and asked.refs == ["b2"] and asked.state.focus == "b2"


@pytest.mark.parametrize(
    "query,browse",
    [
        (StructuredQuery(text="headphones", categories=["Headphones"]), True),
        (StructuredQuery(text="recommend me some coffee makers", categories=["Coffee Makers"]), True),
        (StructuredQuery(text="acme blenders", categories=["Blenders"], brands=["Acme"], price_max=80.0), True),
        (StructuredQuery(text="quiet blender", categories=["Blenders"]), False),
        (StructuredQuery(text="blender for smoothies", categories=["Blenders"]), False),
        (StructuredQuery(text="headphones"), False),  # no catalog category named: relevance decides
    ],
)
def test_browse_means_only_a_category_was_named(query, browse):
    # a browse query lets the predicted rating order the candidates (Settings.rating_weight_browse)
    assert is_browse(query) is browse


def test_brand_only_follow_ups_refine_the_topic_on_screen():
    from retrieval.query import Vocabulary, parse_query

    vocab = Vocabulary(brands=["Acme", "Zeta", "Nimbus"], categories=["Blenders", "Kettles"])
    brands = ["Nimbus", "Acme", "Zeta"]

    def parse(text):
        return parse_query(text, vocab)

    shown = [SHOWN[0], SHOWN[2]]  # the blenders: Acme, Nimbus
    state = State(StructuredQuery(text="quiet blender"), shown=[p.id for p in shown], focus="b1")
    ruled_out = understand("anything thats not acme?", state, shown, parse, brands)
    assert ruled_out.intent == "refine" and ruled_out.state.query.exclude_brands == ["Acme"] and ruled_out.refs == []
    nothing_from = understand("nothing from nimbus", state, shown, parse, brands)
    assert nothing_from.state.query.exclude_brands == ["Nimbus"] and not nothing_from.lacking
    only = understand("zeta ones only", state, shown, parse, brands)
    assert only.intent == "refine" and only.state.query.brands == ["Zeta"] and only.state.query.text == "quiet blender"
    switched = understand("what about zeta", State(StructuredQuery(text="acme blender", brands=["Acme"]), shown=["b1"], focus="b1"),
                          shown[:1], parse, brands)
    assert switched.state.query.brands == ["Zeta"] and switched.state.query.text == "blender"


def test_a_brand_switch_keeps_the_kind_on_a_catalog_without_categories():
    """'what about nimbus' after acme blenders: nimbus blenders, not whatever nimbus sells."""
    from retrieval.query import Vocabulary, parse_query

    vocab = Vocabulary(brands=["Acme", "Zeta", "Nimbus"], categories=[], colours=["black"])
    brands = ["Nimbus", "Acme", "Zeta"]
    first = understand("acme blender", State(), [], lambda t: parse_query(t, vocab), brands)
    shown = [SHOWN[0]]
    state = State(first.state.query, shown=["b1"], focus="b1")
    switched = understand("what about nimbus", state, shown, lambda t: parse_query(t, vocab), brands)
    assert switched.intent == "refine" and switched.state.query.brands == ["Nimbus"]
    assert "blender" in switched.state.query.text and "acme" not in switched.state.query.text


def test_a_question_about_the_focus_is_not_a_search_even_when_it_names_a_category():
    """"i wear glasses, is it comfy with them" names the catalog's category Glasses, and "any downsides?"
    reads like a search ("any ..."): both ask about the product in focus."""
    from retrieval.query import Vocabulary, parse_query

    vocab = Vocabulary(brands=["Acme", "Zeta", "Nimbus"], categories=["Blenders", "Kettles", "Glasses"], colours=["black"])

    def parse(text):
        return parse_query(text, vocab)

    shown = [SHOWN[0], SHOWN[2]]
    state = State(parse("blender"), shown=[p.id for p in shown], focus="b2")
    for message in ("i wear glasses, is it comfy with them", "any downsides?", "what do people complain about"):
        got = understand(message, state, shown, parse, ["Nimbus", "Acme", "Zeta"])
        assert got.intent == "ask" and got.refs == ["b2"], message
    assert understand("glasses", state, shown, parse, ["Nimbus", "Acme", "Zeta"]).intent == "find"
