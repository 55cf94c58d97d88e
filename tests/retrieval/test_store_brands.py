"""Brand names read from a real catalog store: the short form a run-together brand's titles open
with, and brand names the titles mostly use for other makers' products."""

from __future__ import annotations

from retrieval.catalog import Product
from retrieval.store import COMMON_MIN_TITLES, CatalogStore


def _store(tmp_path, rows):
    s = CatalogStore(tmp_path / "c.sqlite")
    s.upsert_products([(Product(id=str(i), title=t, brand=b), f"h{i}", f"t{i}") for i, (t, b) in enumerate(rows)])
    return s


def test_run_together_brand_is_named_by_its_titles_short_form(tmp_path):
    s = _store(tmp_path, [("Shark Navigator Upright Vacuum", "SharkNinja"), ("Shark Rotator Canister Vacuum", "SharkNinja"),
                          ("SharkNinja Stick Vacuum", "SharkNinja"), ("Eureka Upright Vacuum", "Eureka"),
                          ("Break Free CLP Oil", "BreakFree"), ("Break Free Gun Cleaner", "BreakFree")])
    assert s.brand_aliases() == {"shark": "SharkNinja", "break free": "BreakFree"}
    assert s.vocabulary().brand_aliases["shark"] == "SharkNinja"


def test_short_form_in_another_brands_title_names_no_brand(tmp_path):
    s = _store(tmp_path, [("Shark Navigator Vacuum", "SharkNinja"), ("Shark Rotator Vacuum", "SharkNinja"),
                          ("Shark Tooth Saw Blade", "Acme")])
    assert s.brand_aliases() == {}


def test_brand_named_mostly_in_other_makers_titles_filters_nothing(tmp_path):
    rows = [(f"Acme 3D Printer Filament {i}", "Acme") for i in range(COMMON_MIN_TITLES)]
    s = _store(tmp_path, [*rows, ("3D Printer Pen", "3D"), ("Nike Running Shoes", "Nike")])
    assert s.common_word_brands() == {"3d"}
    assert "3D" not in s.vocabulary().brands and "Nike" in s.vocabulary().brands
