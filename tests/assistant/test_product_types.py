"""Product types read from a real catalog without categories (Icecat, the first products of
../shared/datasets/chorus_icecat_product_search_judgments_135q), real MiniLM, a real Chroma for
candidate selection. Every expectation is computed from the product rows themselves."""

from __future__ import annotations

import gzip
import itertools
import json
import re

import pytest

from assistant.candidates import Candidates
from assistant.product_types import TYPE_SIMILARITY, ProductTypes, declared_phrase, head, types_of
from assistant.state import State
from retrieval.query import StructuredQuery
from retrieval.sources import product_from_icecat
from tests.conftest import dataset

ICECAT = "chorus_icecat_product_search_judgments_135q"
N = 1500  # the everyday Icecat suite's catalog


def _rows(n: int = N) -> list[dict]:
    with gzip.open(dataset(ICECAT) / "products.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in itertools.islice(f, n)]


@pytest.fixture(scope="module")
def icecat():
    return [product_from_icecat(r) for r in _rows()]


@pytest.fixture(scope="module")
def types(icecat):
    return ProductTypes.build(icecat)


@pytest.fixture(scope="module")
def embed(embedder):
    cache: dict = {}

    def one(text: str):
        if text not in cache:
            cache[text] = embedder.encode([text], normalize_embeddings=True, show_progress_bar=False)[0]
        return cache[text]

    return one


def _lower_after_model(p) -> str | None:
    """An independent reading of Icecat's declared type: the lower-case words right after the
    model number in the title ("Xerox 006R90321 toner cartridge Original" -> "toner cartridge")."""
    model = p.attributes.get("model")
    if not model or model not in p.title:
        return None
    m = re.match(r"\s+((?:[a-z][a-z/-]+\s?)+)", p.title[p.title.index(model) + len(model):] + " ")
    return m.group(1).strip() if m else None


def test_every_product_declaring_a_shared_phrase_is_typed_so(icecat, types):
    declared = {p.id: _lower_after_model(p) for p in icecat}
    shared = {ph for ph, n in types.size.items() if n >= 5}
    checked = [p for p in icecat if declared[p.id] in shared]
    assert len(checked) > 200  # most of the catalog's typed products say their type this way
    assert all(types.of[p.id] == declared[p.id] for p in checked)


def test_a_case_for_a_notebook_is_a_case(icecat, types):
    cases = [p for p in icecat if _lower_after_model(p) == "notebook case"]
    notebooks = [p for p in icecat if declared_phrase(p) == "notebook"]
    assert cases and notebooks
    assert {types.of[p.id] for p in cases} == {"notebook case"} and head("notebook case") == "case"
    assert {types.of[p.id] for p in notebooks} == {"notebook"}


def test_the_vocabulary_comes_from_titles_and_the_product_type_spec(icecat, types):
    # every type is written in some title, lower-case, or is some product's own product_type
    given = {p.attributes["product_type"].lower() for p in icecat if p.attributes.get("product_type")}
    written = {declared_phrase(p, lower_only=True) for p in icecat}
    assert all(ph in written or any(ph in g for g in given) for ph in types.size)
    assert not any(c in types.size for c in ("black", "original", "silver"))  # spec values, not types


def test_the_shoppers_word_finds_the_type_the_titles_use(icecat, types, embed):
    assert types.asked("i need a laptop", embed) == ["notebook"]  # no title says laptop
    assert types.asked("nvm, show me laptops", embed) == ["notebook"]
    assert types.asked("cheapest keyboard", embed) == ["keyboard"]
    assert types.asked("toner cartridge but not hp", embed) == ["toner cartridge"]
    # the request's head decides: an hdmi cable is a cable, of whichever cable type
    assert all(head(t) == "cable" for t in types.asked("longest hdmi cable?", embed))
    # the shopper's own laptop is no request for one
    assert types.asked("i want to connect my laptop to my tv", embed) == []
    assert types.asked("under 1000 dollars", embed) == []


def test_the_threshold_separates_a_synonym_from_its_accessory(embed):
    cos = lambda a, b: float(embed(a) @ embed(b))  # noqa: E731
    assert cos("laptop", "notebook") >= TYPE_SIMILARITY > cos("laptop", "notebook case")
    assert TYPE_SIMILARITY > cos("laptop", "notebook battery")


def test_a_keyboard_is_not_a_keyboard_cover(icecat, types, embed):
    asked = types.asked("a keyboard", embed)
    kept = [p for p in icecat if types.keeps(p, asked)]
    assert kept and all("keyboard" in p.title.lower() for p in kept)
    covers = [p for p in icecat if re.search(r"keyboard cover|keyboard to", p.title, re.I)]
    assert covers and not any(types.keeps(p, asked) for p in covers)


def test_categorised_catalogs_get_no_types(shop):
    _, catalog, _ = shop
    assert types_of(catalog) is None  # the test shop has categories: they do this job


@pytest.fixture(scope="module")
def icecat_catalog(tmp_path_factory):
    """Notebooks, their cases and keyboards from the suite's slice, plus its first 80 products,
    through the real ingest (SQLite, BM25, Chroma)."""
    from retrieval.ingest import ingest
    from retrieval.search import open_catalog
    from shopassist.settings import Settings

    rows = _rows()
    keep = [r for i, r in enumerate(rows) if i < 80 or re.search(r"notebook|keyboard", r["title"], re.I)]
    tmp = tmp_path_factory.mktemp("icecat")
    src = tmp / "products.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in keep), encoding="utf-8")
    s = Settings(data_dir=tmp / "data", llm_backend="scripted")
    ingest(s, src)
    return open_catalog(s)


def _state(text: str, **kw) -> State:
    order = kw.pop("order", None)
    return State(StructuredQuery(text=text, **kw), order=order)


def test_candidates_keep_the_type_through_follow_ups(icecat_catalog):
    pick = Candidates(icecat_catalog)
    types = types_of(icecat_catalog)
    notebooks = [p for p in icecat_catalog.store.iter_products() if types.of.get(p.id) == "notebook"]
    assert len(notebooks) >= 5
    hits = pick.retrieve(_state("i need a laptop"))
    assert hits and {types.of.get(h.product.id) for h in hits} == {"notebook"}
    # "hmm, cheaper?": the same topic under a lower cap
    cap = min(h.product.price for h in hits[:4] if h.product.price) - 0.01
    cheaper = pick.retrieve(_state("i need a laptop", price_max=cap))
    expected = {p.id for p in notebooks if p.price is not None and p.price <= cap}
    assert {h.product.id for h in cheaper} == expected
    # "the one with the most ram": the catalog's largest memory among its notebooks comes first
    most = pick.retrieve(_state("show me notebooks", order={"key": "internal_memory", "direction": "desc",
                                                             "text": "the most ram"}))
    best = max(float(p.attributes.get("internal_memory", 0)) for p in notebooks)
    assert float(most[0].product.attributes["internal_memory"]) == best
    assert {types.of.get(h.product.id) for h in most} == {"notebook"}


def test_an_untyped_title_takes_its_series_type_only_with_a_like_spec_sheet():
    """Icecat's first 4500 products: every untyped product given a series type shares most spec
    keys with a typed product of its series, and that series' typed products all have that type."""
    from assistant.product_types import SPEC_OVERLAP, same_specs, series, series_types

    products = [product_from_icecat(r) for r in _rows(4500)]
    t = ProductTypes.build(products)
    inherited = series_types(products, {k: v for k, v in t.of.items()
                                        if k not in series_types(products, t.of)})  # fmt: skip
    assert inherited, "some untyped titles (Canon EF lenses without the word) take their series' type"
    by_id = {p.id: p for p in products}
    for pid, kind in inherited.items():
        siblings = [p for p in products if p.id != pid and series(p) == series(by_id[pid]) and p.id in t.of
                    and p.id not in inherited]  # fmt: skip
        assert {t.of[p.id] for p in siblings} == {kind}
        assert max(same_specs(set(by_id[pid].attributes), set(p.attributes)) for p in siblings) >= SPEC_OVERLAP
