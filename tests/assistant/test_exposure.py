"""Fairness: the brand cap on the cards, and the exposure report from a real store's impressions
(recounted from the raw SQLite rows, the Gini against its mean-absolute-difference definition)."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter

import pytest

from assistant.chat import Assistant, Turn
from assistant.events import Cards
from assistant.exposure import NO_BRAND, exposure_report
from assistant.llm import ScriptedLLM
from assistant.store import ConversationStore
from shopassist.cli import main


def _cards(a: Assistant, message: str, user: str | None = None):
    cid = a.start(user)
    return next(e for e in list(a.respond(Turn(cid, user, message))) if isinstance(e, Cards)).cards


def _brands(a: Assistant, cards) -> list[str]:
    return [p.brand for p in a.catalog.store.get_many([c.product_id for c in cards])]


def test_brand_cap_limits_each_brand_unless_the_shopper_named_one(make_assistant):
    plain = make_assistant(cards_per_turn=6)
    capped = make_assistant(cards_per_turn=6, brand_cap=0.17)  # int(0.17 * 6) = 1 card per brand
    before, after = _brands(plain, _cards(plain, "a blender")), _brands(capped, _cards(capped, "a blender"))
    n_brands = len(set(before))
    assert len(before) > n_brands  # 6 cards, fewer brands: the uncapped list repeats one
    assert len(set(after[:n_brands])) == n_brands  # capped: every brand once before any repeats
    assert sorted(after) == sorted(before)  # the same products, reordered: nothing dropped
    named = _brands(capped, _cards(capped, "an Acme blender"))
    assert set(named) == {"Acme"} and len(named) > 1  # asked for Acme: no cap


def _gini_mad(xs: list[float]) -> float:
    """Gini as the relative mean absolute difference: sum_ij |xi - xj| / (2 n² mean)."""
    n, m = len(xs), sum(xs) / len(xs)
    return sum(abs(a - b) for a in xs for b in xs) / (2 * n * n * m)


def test_exposure_report_from_real_impressions(shop, tmp_path, capsys):
    base, catalog, ranker = shop
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    a = Assistant(base.model_copy(update={"llm_backend": "scripted"}), catalog, ranker, ScriptedLLM(), ConversationStore(url))
    for message in ("a blender", "a kettle", "headphones", "a quiet blender", "a lamp"):
        _cards(a, message)
    products = list(catalog.store.iter_products())
    rep = exposure_report(a.store.events(), products)

    rows = sqlite3.connect(tmp_path / "events.sqlite").execute(
        "select product_id from events where kind = 'impression'").fetchall()
    shown = Counter(pid for (pid,) in rows)
    brand = {p.id: p.brand or NO_BRAND for p in products}
    by_brand = Counter()
    for pid, n in shown.items():
        by_brand[brand[pid]] += n
    assert rep["impressions"] == len(rows) > 0 and rep["products_shown"] == len(shown)
    assert {b["brand"]: b["impressions"] for b in rep["brands"]} == dict(by_brand)
    assert sum(b["share"] for b in rep["brands"]) == pytest.approx(1.0, abs=1e-3)
    assert rep["gini_products"] == round(_gini_mad([shown.get(p.id, 0) for p in products]), 4)
    assert rep["gini_brands"] == round(_gini_mad([by_brand.get(b, 0) for b in set(brand.values())]), 4)

    cfg = tmp_path / "s.toml"
    cfg.write_text(f'data_dir = "{base.data_dir}"\nevents_url = "{url}"\n')
    assert main(["--config", str(cfg), "report", "exposure", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == json.loads(json.dumps(rep))
