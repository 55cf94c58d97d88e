"""What leaves the app through the API and MCP tools: catalog text as data, safe links only.

Catalogs ingested before ``retrieval.sanitise`` existed (or stored by another tool) may still
hold sentences that address the assistant, links, coupon codes or phone numbers; MCP clients
are often LLM agents that would read them as instructions. Every tool output passes here:
the same sentence filter as the ingest, and links other than plain http(s) dropped.

Example::

    >>> public_card({"product_id": "p", "title": "Kettle", "image_url": "javascript:alert(1)", "url": None,
    ...              "why": ["Use coupon code FREE100", "0.8 l"]})
    {'product_id': 'p', 'title': 'Kettle', 'image_url': None, 'url': None, 'why': ['0.8 l']}
"""

from __future__ import annotations

from retrieval.sanitise import problems, safe_url, strip_text


def _text(value):
    return strip_text(value)[0] if isinstance(value, str) else value


def public_card(card: dict) -> dict:
    """A card dict with unsafe links dropped and offending reasons removed."""
    out = dict(card)
    for key in ("image_url", "url"):
        if key in out:
            out[key] = safe_url(out[key])
    if "why" in out:
        out["why"] = [w for w in out["why"] or [] if not problems(str(w))]
    for key in ("title", "brand"):
        if isinstance(out.get(key), str) and problems(out[key]):
            out[key] = "(withheld: the listing's text is not shown)" if key == "title" else None
    return out


def public_facts(facts: dict) -> dict:
    """``Assistant.product_facts`` output as an MCP client may see it."""
    out = public_card(facts)
    out["description"] = _text(facts.get("description", ""))
    out["features"] = [f for f in facts.get("features") or [] if not problems(f)]
    attrs = {}
    for k, v in (facts.get("attributes") or {}).items():
        if problems(f"{k}: {v}", allow_url=safe_url(str(v)) is not None):
            continue
        if "coupon" in k.lower() or "promo" in k.lower() or "voucher" in k.lower():
            continue
        attrs[k] = v
    out["attributes"] = attrs
    if "image_urls" in facts:
        out["image_urls"] = [u for u in facts["image_urls"] if safe_url(u)]
    return out
