"""The conversation suite: format errors, every gate on the test shop, the CLI contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.suite import GATES, SuiteError, load_suite
from shopassist.cli import main

SUITES = Path(__file__).parent / "suites"


def test_bad_suite_files_say_what_is_wrong(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("conversations:\n  - id: x\n    turns:\n      - say: hi\n        expect: {colour_of_sky: blue}\n")
    with pytest.raises(SuiteError, match="unknown checks"):
        load_suite(bad)
    with pytest.raises(SuiteError, match="not found"):
        load_suite(tmp_path / "missing.yaml")


def test_every_suite_file_loads_with_enough_conversations():
    suites = [load_suite(p) for p in sorted(SUITES.glob("*.yaml"))]
    assert sum(len(s.conversations) for s in suites) >= 40


def test_shop_suite_passes_every_gate_with_the_scripted_backend(capsys):
    assert main(["eval", "conversations", "--suite", str(SUITES / "shop.yaml"), "--json"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    report = json.loads(last)
    assert set(report) == {"conversations", "gates", "pass_rate", "turns", "suites"}
    assert report["conversations"] >= 30
    # a turn passes when all its checks pass: here all of them, counted by check type too
    turns = report["turns"]
    assert turns["passed"] == turns["total"] == report["suites"]["test-shop"]["turns"]["total"] >= 40
    assert turns["accuracy"] == 1.0
    assert turns["by_check"]["superlative"] == {"passed": 5, "total": 5, "check_passed": 5}
    assert turns["by_check"]["no_invented_facts"]["total"] > 30
    for gate in ("superlatives", "price_range", "cheaper", "no_invented_facts", "references",
                 "deleted_never_shown", "injection_ignored", "handoff"):  # fmt: skip
        assert report["gates"][gate]["total"] > 0, gate
    assert set(report["gates"]) <= set(GATES)
    failed = {g: v for g, v in report["gates"].items() if v["passed"] != v["total"]}
    assert not failed and report["pass_rate"] == 1.0


@pytest.mark.slow
def test_demo_and_icecat_suites_pass_with_the_scripted_backend(capsys):
    pytest.importorskip("retrieval.demo")
    from tests.conftest import dataset

    dataset("chorus_icecat_product_search_judgments_135q")
    argv = ["eval", "conversations", "--suite", str(SUITES / "demo.yaml"), "--suite", str(SUITES / "icecat.yaml"), "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["conversations"] >= 30
    assert report["gates"]["injection_ignored"]["passed"] == report["gates"]["injection_ignored"]["total"] > 0
    assert report["gates"]["deleted_never_shown"]["passed"] == report["gates"]["deleted_never_shown"]["total"] > 0
    assert report["pass_rate"] >= 0.95


def test_template_answers_alone_pass_every_gate(settings):
    """When the LLM's text misses the turn's deadline every answer is the template: it must pass
    every gate on its own (a model that never finishes a sentence forces it here)."""
    from assistant.chat import Assistant
    from assistant.llm import ScriptedLLM
    from assistant.store import ConversationStore
    from assistant.suite import build_catalog, run_suite
    from ranker.serve import load_ranker

    suite = load_suite(SUITES / "shop.yaml")
    s = settings.model_copy(update={"llm_backend": "scripted"})
    s.data_dir.mkdir(parents=True, exist_ok=True)
    a = Assistant(s, build_catalog(suite, s), load_ranker(s), ScriptedLLM(replies=["The first one"]),
                  ConversationStore(s.events_db_url))  # fmt: skip
    report = run_suite(suite, a)
    assert set(report["answer_sources"]) == {"template"}
    assert report["pass_rate"] == 1.0, report["failures"]
    assert report["turns"]["accuracy"] == 1.0


# -- the everyday dev set (issues 11/12) -------------------------------------------------------


def test_the_everyday_dev_set_covers_three_catalogs_and_every_new_check():
    suites = [load_suite(SUITES / f"everyday_{n}.yaml") for n in ("demo", "amazon2023", "icecat")]
    assert {s.name for s in suites} == {"everyday-demo", "everyday-amazon2023", "everyday-icecat"}
    turns = [t for s in suites for c in s.conversations for t in c["turns"]]
    assert len(turns) >= 150
    used = {k for t in turns for k in t.get("expect", {})}
    new = {"category", "not_category", "title_has", "not_title_has", "categories_min", "first_card",
           "first_card_in", "cards_include", "cards_exactly", "no_cards", "no_repeat", "attribute",
           "answer_has", "answer_has_any", "not_fallback", "handoff_offer", "answer_or_handoff"}  # fmt: skip
    assert new <= used, new - used
    ids = [c["id"] for s in suites for c in s.conversations]
    assert len(ids) == len(set(ids))


def test_a_first_card_extreme_must_name_one_attribute(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("conversations:\n  - id: x\n    turns:\n      - say: hi\n"
                   "        expect: {first_card: {price: min, noise: max}}\n")  # fmt: skip
    with pytest.raises(SuiteError, match="exactly one attribute"):
        load_suite(bad)


def _ctx(catalog, ids, say="", text="", prev=(), shown=(), events=()):
    """A played turn over the real test shop: these cards, this answer text."""
    from types import SimpleNamespace

    from assistant.events import Answer, Card, Cards
    from assistant.suite_facts import Ctx

    def cards(xs):
        return [Card(product_id=p.id, title=p.title, price=p.price, brand=p.brand) for p in catalog.store.get_many(list(xs))]

    now = cards(ids)
    evs = [Cards(now), Answer(text), *events]
    return Ctx(SimpleNamespace(catalog=catalog), "c1", say, evs, now, cards(prev), set(shown), {})


def _ok(name, ctx, arg):
    from assistant.suite_checks import CHECKS

    return CHECKS[name](ctx, arg)[1]


def test_card_checks_compute_the_right_products_from_the_catalog(shop):
    _, catalog, _ = shop
    # the biggest blender over the whole catalog: bl-02 and bl-04 hold 2 l (a tie: either passes)
    assert _ok("first_card", _ctx(catalog, ["bl-04", "bl-07"]), {"capacity": "max", "category": "Blenders"})
    assert not _ok("first_card", _ctx(catalog, ["bl-07"]), {"capacity": "max", "category": "Blenders"})
    # the cheapest thing in the shop is the kids' headphones, not the cheapest blender
    assert _ok("first_card", _ctx(catalog, ["hp-05"]), {"price": "min"})
    assert not _ok("first_card", _ctx(catalog, ["bl-06"]), {"price": "min"})
    # scopes: category, title words, a constraint
    assert _ok("first_card", _ctx(catalog, ["kt-04"]), {"price": "max", "title_has": ["kettle"], "colour": "black"})
    assert _ok("category", _ctx(catalog, ["bl-01", "bl-02"]), "Blenders")
    assert _ok("category", _ctx(catalog, ["bl-01", "kt-01"]), ["Blenders", "Kettles"])
    assert not _ok("category", _ctx(catalog, ["bl-01", "kt-01"]), "Blenders")
    assert not _ok("category", _ctx(catalog, []), "Blenders")  # no cards is no blender
    assert _ok("not_category", _ctx(catalog, ["bl-01", "cf-01"]), "Kettles")
    assert _ok("title_has", _ctx(catalog, ["hp-01", "hp-03"]), ["headphones", "earbuds"])
    assert not _ok("not_title_has", _ctx(catalog, ["hp-01", "hp-03"]), ["earbud"])
    assert _ok("categories_min", _ctx(catalog, ["bl-01", "kt-01", "bl-02"]), 2)
    # "#1" is the previous turn's first card; comparisons show exactly the named products
    assert _ok("cards_exactly", _ctx(catalog, ["bl-02", "bl-01"]), ["bl-01", "bl-02"])
    assert not _ok("cards_exactly", _ctx(catalog, ["bl-02", "bl-01", "bl-03"]), ["bl-01", "bl-02"])
    assert _ok("cards_include", _ctx(catalog, ["bl-03", "bl-01"], prev=["bl-01"]), ["#1"])
    assert _ok("first_card_in", _ctx(catalog, ["kt-02"]), ["kt-01", "kt-02"])
    assert _ok("no_repeat", _ctx(catalog, ["bl-03"], shown=["bl-01", "bl-02"]), True)
    assert not _ok("no_repeat", _ctx(catalog, ["bl-03", "bl-01"], shown=["bl-01"]), True)
    assert _ok("no_cards", _ctx(catalog, []), True)


def test_attribute_checks_convert_units_and_read_orders(shop):
    _, catalog, _ = shop
    assert _ok("attribute", _ctx(catalog, ["bl-01", "kt-01"]), {"capacity": ">=1.5 l"})
    assert _ok("attribute", _ctx(catalog, ["bl-01", "kt-01"]), {"capacity": ">=1500 ml"})
    assert not _ok("attribute", _ctx(catalog, ["bl-01", "bl-03"]), {"capacity": ">=1.5 l"})
    assert _ok("attribute", _ctx(catalog, ["bl-03", "bl-01", "bl-02"]), {"capacity": "asc"})
    assert not _ok("attribute", _ctx(catalog, ["bl-02", "bl-01", "bl-03"]), {"capacity": "asc"})
    # a card without the spec may follow the ones with it, never come before them
    assert _ok("attribute", _ctx(catalog, ["hp-03", "hp-02", "hp-04"]), {"battery": "asc"})
    assert not _ok("attribute", _ctx(catalog, ["hp-04", "hp-03", "hp-02"]), {"battery": "asc"})
    assert _ok("attribute", _ctx(catalog, ["bl-01", "kt-02"]), {"colour": "black"})
    assert not _ok("attribute", _ctx(catalog, ["bl-01", "bl-02"]), {"colour": "black"})


def test_cheaper_within_a_scope_keeps_the_kind_and_knows_when_nothing_is_cheaper(shop):
    _, catalog, _ = shop
    blenders = {"category": "Blenders"}
    assert _ok("cheaper", _ctx(catalog, ["bl-01"], prev=["bl-02"]), blenders)
    assert not _ok("cheaper", _ctx(catalog, ["kt-01"], prev=["bl-02"]), blenders)  # cheaper, but a kettle
    # no card at all is right only when the catalog has no cheaper blender
    assert _ok("cheaper", _ctx(catalog, [], prev=["bl-06"]), blenders)
    assert not _ok("cheaper", _ctx(catalog, [], prev=["bl-03"]), blenders)


def test_answer_checks_read_facts_from_the_catalog(shop):
    from assistant.events import Handoff

    _, catalog, _ = shop
    spec = [{"value_of": "capacity", "product": "kt-01"}]
    assert _ok("answer_has", _ctx(catalog, [], text="It holds 1.7 l of water."), spec)
    assert not _ok("answer_has", _ctx(catalog, [], text="It holds 1.5 l of water."), spec)
    # "which is the cheapest of these": the name of the cheapest card shown before
    prev = ["bl-01", "bl-03", "bl-02"]
    assert _ok("answer_has", _ctx(catalog, [], prev=prev, text="The Nimbus Personal Blender at $24.50."), [{"name_of": {"price": "min"}}])
    assert not _ok("answer_has", _ctx(catalog, [], prev=prev, text="The Acme QuietBlend 600."), [{"name_of": {"price": "min"}}])
    # after "compare bl-01 and bl-02", "which is cheaper" is about those two, whatever else was shown
    among = [{"name_of": {"price": "min"}, "among": ["bl-01", "bl-02"]}]
    assert _ok("answer_has", _ctx(catalog, [], prev=prev, text="The Acme QuietBlend 600."), among)
    assert _ok("answer_has_any", _ctx(catalog, [], text="Sorry, we don't carry Bose."), ["don't carry", "do not carry"])
    fallback = "I couldn't find anything in the catalog matching that."
    assert not _ok("not_fallback", _ctx(catalog, [], text=fallback), True)
    assert _ok("not_fallback", _ctx(catalog, [], text="Returns are free within 30 days."), True)
    assert _ok("handoff_offer", _ctx(catalog, [], text="Shall I ask a colleague to help?"), True)
    assert _ok("handoff_offer", _ctx(catalog, [], events=[Handoff("c1")]), True)
    assert not _ok("handoff_offer", _ctx(catalog, [], text=fallback), True)
    assert _ok("answer_or_handoff", _ctx(catalog, [], text="Returns are free within 30 days."), ["return"])
    assert _ok("answer_or_handoff", _ctx(catalog, [], text="A person from our team will answer that."), ["return"])
    assert not _ok("answer_or_handoff", _ctx(catalog, [], text=fallback), ["return"])


# -- delete: on sources that name products by parent_asin (issue 11 "Also fix") ------------------


def _amazon_items(path):
    rows = [
        {"parent_asin": "B001", "title": "Steel Camping Kettle", "main_category": "Sports & Outdoors", "price": 25.0},
        {"parent_asin": "B002", "title": "Folding Camp Stove", "main_category": "Sports & Outdoors", "price": 40.0},
        {"parent_asin": "B003", "title": "Enamel Camp Mug", "main_category": "Sports & Outdoors", "price": None},
        {"user_id": "U1", "parent_asin": "B002", "rating": 5.0, "title": "good", "text": "works", "timestamp": 1},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_slice_drops_deleted_ids_by_the_readers_id_rules(tmp_path):
    from assistant.suite import _slice

    src = _amazon_items(tmp_path / "items.jsonl")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    kept = [json.loads(x) for x in _slice(src, out_dir, None, {"B002"}).read_text().splitlines()]
    assert [r["parent_asin"] for r in kept if "user_id" not in r] == ["B001", "B003"]
    assert any("user_id" in r for r in kept)  # a review of B002 is no product: it stays


def test_delete_removes_amazon_products_from_the_suite_catalog(tmp_path, settings):
    from assistant.suite import build_catalog

    _amazon_items(tmp_path / "items.jsonl")
    suite_file = tmp_path / "s.yaml"
    suite_file.write_text("catalog: {source: items.jsonl, delete: [B002]}\n"
                          "conversations:\n  - id: x\n    turns:\n      - say: camp stove\n")  # fmt: skip
    settings.data_dir.mkdir(parents=True)
    store = build_catalog(load_suite(suite_file), settings).store
    assert store.get("B002") is None
    assert sorted(store.all_ids()) == ["B001", "B003"]
