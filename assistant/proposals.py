"""Filters proposed by a capable LLM, validated against the catalog before use.

Only backends that say they are capable (``ChatModel.capable``: the OpenAI-compatible one,
meant for a strong model behind vLLM/Ollama) are asked. The model's JSON is untrusted:
every brand, category and colour must be spelled in the catalog's vocabulary, prices must
be positive numbers with min <= max; anything else is dropped. The rule-based parser's
values always win; proposals only fill what it left empty.

Example::

    >>> validate({"price_max": "50", "brands": ["Acme", "Nope"], "colour": "Black"},
    ...          brands=["Acme"], categories=[], colours=["black"])
    {'price_max': 50.0, 'brands': ['Acme'], 'colour': 'black'}
"""

from __future__ import annotations

import json
import re

from assistant.answers import clean, prompt
from assistant.llm import LLMUnavailable


def _num(v) -> float | None:
    try:
        x = float(str(v).replace("$", "").replace(",", ""))
    except ValueError:
        return None
    return x if 0 < x < 1e7 else None


def validate(data: dict, brands: list[str], categories: list[str], colours: list[str]) -> dict:
    """Keep only values the catalog really has (case-insensitive, returned in catalog spelling)."""
    by = {b.lower(): b for b in brands}
    cats = {c.lower(): c for c in categories}
    cols = {c.lower(): c for c in colours}
    out: dict = {}
    for key in ("price_min", "price_max"):
        v = _num(data.get(key)) if data.get(key) is not None else None
        if v is not None:
            out[key] = v
    if "price_min" in out and "price_max" in out and out["price_min"] > out["price_max"]:
        out.pop("price_min"), out.pop("price_max")
    for key in ("brands", "exclude_brands"):
        vals = data.get(key) or []
        vals = [vals] if isinstance(vals, str) else vals
        ok = [by[str(v).lower()] for v in vals if str(v).lower() in by]
        if ok:
            out[key] = ok
    cat = str(data.get("category") or "").lower()
    if cat in cats:
        out["category"] = cats[cat]
    col = str(data.get("colour") or data.get("color") or "").lower()
    if col in cols:
        out["colour"] = cols[col]
    return out


def validate_state(data: dict, vocab) -> dict:
    """The attribute constraints, order and excluded categories of an LLM's proposal that the
    catalog's vocabulary (``assistant.vocabulary``) really has: a numeric attribute, a unit of
    that attribute's dimension (converted to its base unit), a known category.

    >>> from retrieval.catalog import Product
    >>> from assistant.vocabulary import CatalogVocabulary
    >>> v = CatalogVocabulary.build([Product(id="a", title="A", categories=["Tents"], attributes={"weight": "1.2 kg"})])
    >>> validate_state({"constraints": [{"attribute": "weight", "op": "<", "value": 2, "unit": "kg"},
    ...                                 {"attribute": "weight", "op": "<", "value": 2, "unit": "W"}],
    ...                 "order": {"attribute": "colour", "direction": "asc"}, "exclude_categories": ["Tents", "Boats"]}, v)
    {'constraints': [{'key': 'weight', 'op': '<', 'value': 2000.0, 'text': 'weight < 2 kg'}], 'exclude_categories': ['Tents']}
    """
    from retrieval.units import parse_measure

    out: dict = {}
    keys = {a.key.lower(): a for a in vocab.attributes.values() if a.numeric or a.dimension}
    cons = []
    for c in data.get("constraints") or []:
        if not isinstance(c, dict):
            continue
        a = keys.get(str(c.get("attribute", "")).lower())
        value, op = _num(c.get("value")), c.get("op")
        m = parse_measure(f"{value} {c.get('unit', '')}") if value is not None else None
        if a is None or op not in ("<", "<=", ">", ">=") or m is None or m.dimension != a.dimension:
            continue
        cons.append({"key": a.key, "op": op, "value": m.value, "text": f"{a.label} {op} {value:g} {c.get('unit')}"})
    if cons:
        out["constraints"] = cons
    o = data.get("order")
    if isinstance(o, dict):
        a = keys.get(str(o.get("attribute", "")).lower())
        if a is not None and o.get("direction") in ("asc", "desc"):
            out["order"] = {"key": a.key, "direction": o["direction"], "text": f"{a.label} {o['direction']}"}
    cats = {c.lower(): c for c in vocab.categories}
    excl = [cats[str(c).lower()] for c in data.get("exclude_categories") or [] if str(c).lower() in cats]
    if excl:
        out["exclude_categories"] = excl
    return out


def fill_state(state, got: dict) -> None:
    """Put validated state proposals where the rules read nothing (the rules' reading wins)."""
    if not state.constraints and got.get("constraints"):
        state.constraints = list(got["constraints"])
    if state.order is None and got.get("order"):
        state.order = dict(got["order"])
    for c in got.get("exclude_categories", []):
        if c not in state.exclude_categories:
            state.exclude_categories.append(c)
    state.query.categories = [c for c in state.query.categories if c not in state.exclude_categories]


def propose_filters(llm, message: str, brands: list[str], categories: list[str], colours: list[str],
                    vocab=None, deadline: float | None = None) -> dict:
    """Ask the LLM for filters and validate them; {} when it is not capable or says nothing usable.
    With the catalog's ``vocab`` the attribute constraints, order and excluded categories are
    asked for too (validated by ``validate_state``). ``deadline`` (``time.monotonic()``) bounds the
    wait for a served model: past it, no proposal."""
    if not llm.capable:
        return {}
    attributes = ""
    if vocab is not None:
        examples = [f"{a.key}" for a in vocab.attributes.values() if a.numeric or a.dimension][:60]
        attributes = ", ".join(examples)
    text = prompt("filters").format(
        message=clean(message, 300), brands=", ".join(brands[:200]), categories=", ".join(categories[:200]),
        attributes=attributes or "(none)",
    )
    try:
        reply = llm.complete([{"role": "user", "content": text}], max_tokens=120, deadline=deadline)
    except LLMUnavailable:
        return {}
    m = re.search(r"\{.*\}", reply, re.S)
    if not m:
        return {}
    try:
        data = json.loads(m.group(0))
    except json.JSONDecodeError:
        return {}
    if not isinstance(data, dict):
        return {}
    out = validate(data, brands, categories, colours)
    return {**out, **validate_state(data, vocab)} if vocab is not None else out


def fill_empty(q, got: dict) -> None:
    """Put validated proposals into the parsed query ``q`` where the parser left a filter empty
    (excluded brands are added to the parser's). The parser's values always win.

    >>> from retrieval.query import StructuredQuery
    >>> q = StructuredQuery(text="blender", price_max=80.0)
    >>> fill_empty(q, {"price_max": 60.0, "brands": ["Acme"], "colour": "black"})
    >>> (q.price_max, q.brands, q.attributes)
    (80.0, ['Acme'], {'colour': 'black'})
    """
    if q.price_min is None and "price_min" in got:
        q.price_min = got["price_min"]
    if q.price_max is None and "price_max" in got:
        q.price_max = got["price_max"]
    if not q.brands and got.get("brands"):
        q.brands = got["brands"]
    if got.get("exclude_brands"):
        q.exclude_brands = list(dict.fromkeys([*q.exclude_brands, *got["exclude_brands"]]))
    if not q.categories and got.get("category"):
        q.categories = [got["category"]]
    if "colour" in got and not q.attributes.get("colour"):
        q.attributes = {**q.attributes, "colour": got["colour"]}
