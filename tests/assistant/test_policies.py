"""Shop policies: parsed from Markdown/YAML, installed by ingest, quoted for policy questions
(real MiniLM), and the agent console's draft that answers the shopper's last message."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import policies
from assistant.drafts import reason
from assistant.events import Answer, Cards
from assistant.turn import Turn
from retrieval.demo import DEMO_DIR

DEMO_POLICIES = DEMO_DIR / "policies.md"


@pytest.fixture(scope="module")
def embed(embedder):
    return lambda texts: embedder.encode(texts, normalize_embeddings=True, show_progress_bar=False)


@pytest.fixture(scope="module")
def demo_index():
    return policies.PolicyIndex(policies.load(DEMO_POLICIES))


def test_markdown_and_yaml_become_passages(tmp_path):
    md = policies.parse_markdown("Intro.\n## Shipping\nWe ship to Canada.\nIn 5 days.\n\n- Free over $50.\n## Returns\n30 days.")
    assert md == [policies.Passage("Shipping", "We ship to Canada. In 5 days."), policies.Passage("Shipping", "Free over $50."),
                  policies.Passage("Returns", "30 days.")]  # fmt: skip
    y = tmp_path / "policies.yaml"
    y.write_text("Shipping: We ship to Canada.\nReturns:\n  - 30 days.\n  - Free returns.\n", encoding="utf-8")
    assert [p.section for p in policies.load(y)] == ["Shipping", "Returns", "Returns"]


def test_install_checks_the_file_first_and_replaces_the_old_copy(tmp_path):
    data = tmp_path / "data"
    assert policies.install(data, DEMO_POLICIES) == len(policies.load(DEMO_POLICIES)) > 10
    bad = tmp_path / "policies.md"
    bad.write_text("no sections here", encoding="utf-8")
    with pytest.raises(policies.PolicyError, match="no policy passages"):
        policies.install(data, bad)
    assert (data / "policies.md").read_text(encoding="utf-8") == DEMO_POLICIES.read_text(encoding="utf-8")
    assert policies.beside(DEMO_DIR / "products.jsonl") == DEMO_POLICIES


@pytest.mark.parametrize(
    ("question", "section", "word"),
    [
        ("do you ship to Canada?", "Shipping", "canada"),
        ("what is your return policy?", "Returns and refunds", "30 days"),
        ("how long is the warranty on a blender?", "Warranty", "2-year"),
        ("can I pay with PayPal?", "Payment", "paypal"),
        ("are you open on Sundays?", "Customer service hours", "sunday"),
    ],
)
def test_policy_questions_quote_the_passage_that_answers(demo_index, embed, question, section, word):
    text = policies.answer_text(question, demo_index, embed)
    assert text.startswith(f"From our {section.lower()}") and word in text.lower()


def test_product_requests_and_unknown_topics_get_no_policy(demo_index, embed):
    assert policies.answer_text("a quiet blender under $80", demo_index, embed) is None
    assert policies.answer_text("do you have a loyalty programme for students?", demo_index, embed, strict=True) is None


def _run(a, cid, message):
    return list(a.respond(Turn(cid, None, message)))


@pytest.fixture
def shop_with_policies(make_assistant, tmp_path):
    """The test shop with the demo shop's policies installed beside its catalog."""
    data = tmp_path / "shop-with-policies"
    policies.install(data, DEMO_POLICIES)
    return make_assistant(data_dir=data)


def test_the_assistant_answers_policy_questions_before_searching(shop_with_policies):
    a = shop_with_policies
    cid = a.start(None)
    _run(a, cid, "a kettle")
    shown = a.state(cid).shown
    events = _run(a, cid, "do you ship to Canada?")
    ans = next(e for e in events if isinstance(e, Answer))
    assert ans.intent == "policy" and ans.text.startswith("From our shipping policy:") and "Canada" in ans.text
    assert not [e for e in events if isinstance(e, Cards)] and a.state(cid).shown == shown
    assert next(e for e in _run(a, cid, "an Acme blender") if isinstance(e, Answer)).intent == "find"


def test_a_policy_question_about_the_product_on_screen_is_answered_by_the_policy(shop_with_policies):
    """"can I return it if it doesn't fit?" points at the shown kettle, but returns are the shop's:
    the product's own data says nothing, so the returns passage answers, at its usual score."""
    a = shop_with_policies
    cid = a.start(None)
    _run(a, cid, "a kettle")
    ans = next(e for e in _run(a, cid, "can i return it if it doesn't fit?") if isinstance(e, Answer))
    section = next(p.section for p in policies.parse_markdown(DEMO_POLICIES.read_text()) if "return" in p.section.lower())
    assert ans.text.startswith(f"From our {section.lower()} policy:"), ans.text


def test_a_returns_question_about_the_shown_product_without_policies_says_so(assistant):
    """No policies file: "can I return it?" is about the shop, so the answer says the policies
    don't cover it and offers a person, not that the product's spec sheet is silent."""
    cid = assistant.start(None)
    _run(assistant, cid, "a kettle")
    ans = next(e for e in _run(assistant, cid, "can i return it if i don't like it?") if isinstance(e, Answer))
    assert ans.text == policies.NO_POLICY_TEXT


def test_without_a_policies_file_the_shopper_is_offered_a_person(assistant):
    ans = next(e for e in _run(assistant, assistant.start(None), "what is your return policy?") if isinstance(e, Answer))
    assert ans.text == policies.NO_POLICY_TEXT and "catalog" not in ans.text


def test_the_suggested_reply_addresses_the_handoff_reason(shop_with_policies):
    a = shop_with_policies
    cid = a.start(None)
    _run(a, cid, "a blender")
    _run(a, cid, "can I speak to a human about a refund?")
    draft = a.desk.suggest_reply(cid)
    assert "About a refund: From our returns and refunds policy:" in draft and "[1]" not in draft
    assert reason("Can I speak to a human about a refund?") == "a refund"
    _run(a, cid, "a kettle")
    assert "[1]" in a.desk.suggest_reply(cid)  # a product search: the products considered


def test_ingest_copies_the_policies_and_a_bad_file_stops_it_first(tmp_path, capsys):
    from shopassist.cli import main

    data = tmp_path / "cli-data"
    products = Path(__file__).parent / "data" / "products.jsonl"
    bad = tmp_path / "policies.md"
    bad.write_text("just a line", encoding="utf-8")
    assert main(["--data-dir", str(data), "ingest", str(products), "--policies", str(bad), "--no-progress"]) == 2
    assert "no policy passages" in capsys.readouterr().err and not (data / "catalog.sqlite").exists()
    assert main(["--data-dir", str(data), "ingest", str(products), "--policies", str(DEMO_POLICIES), "--no-progress"]) == 0
    assert policies.index_for(data).passages == policies.load(DEMO_POLICIES)
