"""Redaction rules on realistic shopper messages both ways, and on real catalog text.

Positives: personal data in the formats of several countries is replaced by its placeholder and
nothing else of the message changes. Negatives: product talk (prices, model numbers, capacities,
years, EANs, part numbers) and thousands of real catalog titles come through unchanged.
"""

from __future__ import annotations

import gzip
import json
import logging
import random

import pytest

from assistant.redaction import RULES, RedactingFilter, findings, redact, redact_tree
from tests.conftest import dataset

# (message, kind, the personal datum in it)
POSITIVES = [
    # e-mail
    ("Hi, I'm looking for a quiet blender, my email is sarah.o'connor@gmail.com", "email", "sarah.o'connor@gmail.com"),
    ("please send the invoice to j.smith+shop@company.co.uk thanks", "email", "j.smith+shop@company.co.uk"),
    ("Sure, my email is d435@rute.no", "email", "d435@rute.no"),
    # US / Canada
    ("call me on (415) 555-0132 if the WH-1000XM4 is back in stock", "phone", "(415) 555-0132"),
    ("my number is 415-555-0132", "phone", "415-555-0132"),
    ("text me at +1 415 555 0132 when it ships", "phone", "+1 415 555 0132"),
    ("or 1-800-555-0199 after 5pm", "phone", "1-800-555-0199"),
    # UK
    ("ring me on 020 7946 0958 about the kettle", "phone", "020 7946 0958"),
    ("my mobile is 07700900123", "phone", "07700900123"),
    ("UK office: +44 20 7946 0958", "phone", "+44 20 7946 0958"),
    # Germany
    ("meine Handynummer ist 0151 23456789, bitte zurückrufen", "phone", "0151 23456789"),
    ("Tel.: +49 (0)30 1234567", "phone", "+49 (0)30 1234567"),
    ("Rufnummer (030) 1234567 tagsüber", "phone", "(030) 1234567"),
    ("0049 30 1234567 is my office", "phone", "0049 30 1234567"),
    # France
    ("mon portable: 06 12 34 56 78", "phone", "06 12 34 56 78"),
    ("appelez-moi au +33 6 12 34 56 78 svp", "phone", "+33 6 12 34 56 78"),
    ("mon numéro 06.12.34.56.78", "phone", "06.12.34.56.78"),
    # India
    ("my whatsapp is +91 98765 43210", "phone", "+91 98765 43210"),
    ("call 98765 43210 for delivery", "phone", "98765 43210"),
    ("phone 9876543210", "phone", "9876543210"),
    # cards (test numbers of each issuer) and IBANs
    ("pay with 4111 1111 1111 1111 exp 12/26", "card", "4111 1111 1111 1111"),
    ("card 5500-0000-0000-0004 please", "card", "5500-0000-0000-0004"),
    ("amex 3782 822463 10005", "card", "3782 822463 10005"),
    ("my card 4111111111111111 was declined", "card", "4111111111111111"),
    ("discover 6011 1111 1111 1117", "card", "6011 1111 1111 1117"),
    ("IBAN DE89 3704 0044 0532 0130 00 for the refund", "iban", "DE89 3704 0044 0532 0130 00"),
    ("refund to GB29 NWBK 6016 1331 9268 19", "iban", "GB29 NWBK 6016 1331 9268 19"),
    ("FR14 2004 1010 0505 0001 3M02 606 please", "iban", "FR14 2004 1010 0505 0001 3M02 606"),
    # street addresses
    ("ship to 12 Baker Street, London", "address", "12 Baker Street"),
    ("deliver to 221B Baker Street", "address", "221B Baker Street"),
    ("my address is 1600 Pennsylvania Avenue NW, Washington", "address", "1600 Pennsylvania Avenue"),
    ("send it to 42 oak road please", "address", "42 oak road"),
    ("Lieferung an Hauptstraße 5, 10115 Berlin", "address", "Hauptstraße 5"),
    ("Adresse: Berliner Straße 12a", "address", "Berliner Straße 12a"),
    ("livrez au 221B rue de Rivoli, Paris", "address", "221B rue de Rivoli"),
    ("8, place de la Concorde", "address", "8, place de la Concorde"),
    ("12 avenue des Champs-Élysées", "address", "12 avenue des Champs-Élysées"),
    ("Calle Mayor 12, Madrid", "address", "Calle Mayor 12"),
    ("Via Roma 10, Milano", "address", "Via Roma 10"),
    # names after the words that introduce one
    ("my name is John Smith and I want a kettle", "name", "John Smith"),
    ("my name is sarah, need headphones", "name", "sarah"),
    ("Hi! My name is María José García", "name", "María José García"),
    ("je m'appelle Jean Dupont", "name", "Jean Dupont"),
    ("ich heiße Jonas Weber", "name", "Jonas Weber"),
    ("I'm called Priya Sharma", "name", "Priya Sharma"),
    ("Mein Name ist Müller", "name", "Müller"),
]

# product talk a shopper types: none of it is personal
NEGATIVES = [
    "do you have the Sony WH-1000XM4 for under $300?", "I need a 2000 mAh power bank", "anything quieter than 72 dB?",
    "looking for a 55 inch TV from 2023", "I want 2 packs of AA batteries", "compare 1 and 3", "under 1,299.99",
    "between 100 and 200 euros", "a 3 way splitter", "do you carry the HP 62XL", "my order #123456789 hasn't arrived",
    "EAN 4008705042628", "is the C540H2MG in stock", "12 place settings dishwasher",
    "my name is on the order but it never came", "a 1 TB hard drive", "2 TB External Hard Drive under £80",
    "4K TV 65\" 120 Hz", "USB 3.0 flash drive 64 GB", "order 100-200-3000", "size 10 1/2 shoes",
    "Bosch 9000077104 filter", "a 12V 7Ah battery", "between 10:30 and 12:00", "on 01/02/2024",
    "iPhone 15 Pro Max 256 GB", "Samsung 990 PRO 2 TB", "HDMI 2.1 cable 3 m", "1600 W kettle", "a phone under 300",
    "what's the phone number for support?", "dimensions 210 x 297 mm", "price 1 299,00 €", "Xerox 006R90321",
    "ISBN 978-3-16-148410-0", "item 4396562 4396563", "5.1 surround 500 W", "25 Degree Street Elbow",
    "part # 00750673 will this work?", "Garmin 010-01769-01 Vivoactive 3", "3M 90128-00001 safety cone",
    "John Deere 160 210 212 214 216 240 245 260 261 265 285 316", "Via Eden 400 MHz thin client",
]


@pytest.mark.parametrize(("message", "kind", "datum"), POSITIVES, ids=[p[0][:40] for p in POSITIVES])
def test_personal_data_is_replaced_and_nothing_else(message, kind, datum):
    out = redact(message)
    assert datum not in out
    assert out.count(f"[{kind}]") == 1
    assert out.replace(f"[{kind}]", datum, 1) == message  # every other character kept
    assert findings(message) == [(kind, datum)]


def test_every_rule_has_a_positive_example():
    kinds = {p[1] for p in POSITIVES}
    assert {r.kind for r in RULES} <= kinds


@pytest.mark.parametrize("message", NEGATIVES)
def test_product_talk_is_left_alone(message):
    assert redact(message) == message


def test_several_kinds_in_one_message():
    msg = ("Hi, my name is Anna Schmidt, ship the WH-1000XM4 ($349.99) to Hauptstraße 5, "
           "mail anna@web.de or call +49 151 2345 6789, card 4111 1111 1111 1111")
    out = redact(msg)
    assert out == ("Hi, my name is [name], ship the WH-1000XM4 ($349.99) to [address], "
                   "mail [email] or call [phone], card [card]")


def _titles(name: str, file: str, field: str) -> list[str]:
    with gzip.open(dataset(name) / file, "rt") as f:
        return [json.loads(line).get(field) or "" for line in f]


CATALOGS = [
    ("chorus_icecat_product_search_judgments_135q", "products.jsonl.gz", "title"),
    ("chorus_icecat_product_search_judgments_135q", "products.jsonl.gz", "short_description"),
    ("amazon_reviews_2023_user_history_sample", "items.jsonl.gz", "title"),
    ("amazon_reviews_2018_scientific_seqrec_unisrec", "items.jsonl.gz", "text"),
    ("amazon_qa_2016_appliances", "qa_Appliances.jsonl.gz", "question"),
]


@pytest.mark.parametrize(("name", "file", "field"), CATALOGS, ids=[f"{c[0][:20]}:{c[2]}" for c in CATALOGS])
def test_no_catalog_text_is_redacted(name, file, field):
    """A seeded sample of 2,000 real titles (or questions) per source: the false-positive count is 0.

    (Measured on all of them: 0 of 19,406 Icecat titles, 19,406 short descriptions and 51,459 EANs,
    3,228 Amazon 2023 titles, 4,385 Amazon 2018 item texts, 9,011 appliance questions.)"""
    texts = _titles(name, file, field)
    sample = random.Random(16).sample(texts, min(2000, len(texts)))
    changed = [t for t in sample if redact(t) != t]
    assert changed == [], f"{len(changed)} of {len(sample)} catalog texts redacted, e.g. {changed[:3]}"


def test_icecat_eans_and_ids_are_product_codes():
    with gzip.open(dataset("chorus_icecat_product_search_judgments_135q") / "products.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f]
    codes = [e for r in rows[:3000] for e in (r.get("ean") or [])] + [r["id"] for r in rows[:3000]]
    assert len(codes) > 3000
    assert [c for c in codes if redact(c) != c] == []


def test_shopper_dialogues_only_lose_their_contact_details():
    """MG-ShopDial's 2,196 real shopping utterances: what is redacted is an e-mail, nothing else."""
    with gzip.open(dataset("mg_shopdial") / "MGShopDial.json.gz", "rt") as f:
        utterances = [u["utterance"] for d in json.load(f) for u in d["utterances"]]
    found = [f for u in utterances for f in findings(u)]
    assert found and all(kind == "email" and "@" in text for kind, text in found)


def test_answers_that_quote_contact_details_are_caught():
    """Community answers to appliance questions quote support lines and e-mails; every finding is
    shaped like one (digits with separators of a phone, an @, or a street)."""
    answers = _titles("amazon_qa_2016_appliances", "qa_Appliances.jsonl.gz", "answer")
    found = [f for a in answers for f in findings(a)]
    assert len(found) >= 50
    for kind, text in found:
        if kind == "phone":
            assert 10 <= sum(c.isdigit() for c in text) <= 11 and any(c in text for c in " -.()"), text
        elif kind == "email":
            assert "@" in text
        else:
            assert kind == "address" and text[0].isdigit(), text


def test_tree_redacts_strings_and_keeps_ids_and_numbers():
    meta = {"state": {"query": {"text": "kettle, mail me at bo@example.org"}, "shown": ["3920564", "B095RWJJB8"]},
            "rank": 2, "grounded": True, "reason": ["call 07700 900123"]}
    out = redact_tree(meta)
    assert out == {"state": {"query": {"text": "kettle, mail me at [email]"}, "shown": ["3920564", "B095RWJJB8"]},
                   "rank": 2, "grounded": True, "reason": ["call [phone]"]}


def test_log_records_are_redacted(caplog):
    logger = logging.getLogger("test.redaction")
    handler_filter = RedactingFilter()
    caplog.handler.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.INFO, logger="test.redaction"):
            logger.info("turn %s said %r", "c1", "ping me at +44 20 7946 0958 or x@y.com")
            logger.info("no personal data in %d words", 5)
    finally:
        caplog.handler.removeFilter(handler_filter)
    text = caplog.text
    assert "7946" not in text and "x@y.com" not in text
    assert "[phone]" in text and "[email]" in text and "no personal data in 5 words" in text
