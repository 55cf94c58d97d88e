"""Who gets shown: exposure by brand and its inequality over the catalog, from the event store.

Every card a shopper saw is an ``impression`` event. ``exposure_report(events, products)`` counts
them per product and per brand, next to each brand's share of the catalog (a brand shown far
more often than it is stocked is favoured by search or ranking), and the Gini coefficient of
exposure over every catalog product (never-shown products count as zeros) and over brands
(``shopassist.stats.gini``). With an A/B test running, the same per arm.
"""

from __future__ import annotations

from collections import Counter

from shopassist.stats import gini

NO_BRAND = "(no brand)"
TOP_BRANDS = 20  # brands listed in the report; the Gini values cover all of them


def _brand(p) -> str:
    return (p.brand or "").strip() or NO_BRAND


def exposure(shown: Counter, brand_of: dict[str, str], catalog_brands: Counter) -> dict:
    """Brand shares of ``shown`` (product id -> impressions) and the Ginis over the catalog.

    Worked example: impressions a 3, b 1, c 0 -> sorted [0, 1, 3], G = (-2·0 + 0·1 + 2·3) / (3·4) = 0.5.

    >>> r = exposure(Counter({"a": 3, "b": 1}), {"a": "X", "b": "Y", "c": "Y"}, Counter({"X": 1, "Y": 2}))
    >>> r["impressions"], r["brands"][0], r["gini_products"]
    (4, {'brand': 'X', 'share': 0.75, 'catalog_share': 0.3333, 'impressions': 3}, 0.5)
    """
    total = sum(shown.values())
    by_brand = Counter()
    for pid, n in shown.items():
        by_brand[brand_of.get(pid, NO_BRAND)] += n
    n_products = sum(catalog_brands.values())
    return {
        "impressions": total,
        "products_shown": sum(1 for n in shown.values() if n),
        "catalog_products": n_products,
        "gini_products": round(gini([shown.get(pid, 0) for pid in brand_of]), 4),
        "gini_brands": round(gini([by_brand.get(b, 0) for b in catalog_brands]), 4),
        "brands": [{"brand": b, "share": round(n / total, 4), "catalog_share": round(catalog_brands[b] / n_products, 4)
                    if n_products else None, "impressions": n}
                   for b, n in by_brand.most_common(TOP_BRANDS)],
    }  # fmt: skip


def exposure_report(events, products) -> dict:
    """Exposure over ``products`` (the catalog) from ``impression`` events, overall and per A/B arm."""
    brand_of = {p.id: _brand(p) for p in products}
    catalog_brands = Counter(brand_of.values())
    shown, by_arm = Counter(), {}
    for e in events:
        if e.kind != "impression" or not e.product_id:
            continue
        shown[e.product_id] += 1
        arm = (e.payload or {}).get("arm")
        if arm:
            by_arm.setdefault(arm, Counter())[e.product_id] += 1
    out = exposure(shown, brand_of, catalog_brands)
    out["not_in_catalog"] = sum(n for pid, n in shown.items() if pid not in brand_of)  # shown, since removed
    if by_arm:
        out["arms"] = {arm: exposure(c, brand_of, catalog_brands) for arm, c in sorted(by_arm.items())}
    return out
