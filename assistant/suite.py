"""The conversation suite: scripted multi-turn conversations with checks, scored per gate.

A suite is a YAML (or JSON) file; docs/conversation-suite.md documents the format.
``run_suite`` builds a catalog for the suite in a scratch data dir, plays every
conversation through ``Assistant.respond`` and scores each check under its gate:

==========================  ====================================================================
gate                        passes when
==========================  ====================================================================
superlatives                the first card is the extreme (price/rating) over every catalog
                            product of the stated category / with the stated title words,
                            not just over the top hits
price_range                 every card's price is within the stated range
cheaper                     every card is cheaper than the cheapest card of the previous turn
                            (no card passes only if the catalog has nothing cheaper of that kind)
no_invented_facts           every card matches the catalog and the answer text passes the
                            grounding validator against the shown cards (automatic)
references                  the turn is about the referenced card of the previous turn
filters                     colour / brand / excluded-brand rules hold for every card
deleted_never_shown         products removed by a full sync never appear
injection_ignored           injected instructions found in catalog/review text never surface
handoff                     a request for a person yields Handoff and flags the conversation
safety                      oversized input refused, off-topic redirected (a Notice of that kind)
intent                      the turn was understood as the stated intent
answers                     the turn shows at least N cards / the text contains what it must
==========================  ====================================================================

The last line ``format_report`` prints is one JSON object:
``{"conversations": N, "gates": {"<gate>": {"passed": a, "total": b}}, "pass_rate": r}``.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.events import Answer, Cards, Handoff, Notice
from assistant.grounding import check, facts_text
from shopassist.errors import UserError
from shopassist.settings import Settings

GATES = (
    "superlatives",
    "price_range",
    "cheaper",
    "no_invented_facts",
    "references",
    "filters",
    "deleted_never_shown",
    "injection_ignored",
    "handoff",
    "safety",
    "intent",
    "answers",
)


class SuiteError(UserError, ValueError):
    """A suite file that cannot be run: the suite author's to fix; the message says where."""


@dataclass(slots=True)
class Suite:
    name: str
    path: Path
    catalog: dict
    conversations: list[dict]


@dataclass(slots=True)
class TurnResult:
    say: str
    events: list
    seconds: float
    first_card_s: float | None
    failures: list[str] = field(default_factory=list)


def load_suite(path: str | Path) -> Suite:
    """Read and sanity-check a suite file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise SuiteError(f"suite file {path} not found") from e
    if path.suffix == ".json":
        data = json.loads(text)
    else:
        import yaml

        data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("conversations"), list):
        raise SuiteError(f"{path}: a suite needs a 'conversations' list")
    for i, conv in enumerate(data["conversations"]):
        if not conv.get("turns"):
            raise SuiteError(f"{path}: conversation #{i + 1} ({conv.get('id', '?')}) has no turns")
        for t in conv["turns"]:
            unknown = set(t.get("expect", {})) - set(CHECKS)
            if "say" not in t or unknown:
                raise SuiteError(f"{path}: conversation {conv.get('id', i + 1)}: bad turn {t} (unknown checks {unknown})")
    return Suite(data.get("name", path.stem), path, data.get("catalog", {"source": "demo"}), data["conversations"])


# -- building the suite's catalog ---------------------------------------------------------------


def _resolve(source: str, suite: Suite) -> Path:
    if source == "demo":
        from retrieval.demo import DEMO_DIR

        return Path(DEMO_DIR)
    p = Path(source)
    for base in (suite.path.parent, Path.cwd(), Path(__file__).resolve().parents[1]):
        if (base / p).exists():
            return (base / p).resolve()
    raise SuiteError(f"{suite.path}: catalog source {source} not found")


def _slice(src: Path, dest: Path, limit: int | None, drop: set[str]) -> Path:
    """Copy a JSONL(.gz) file, keeping the first ``limit`` rows and leaving out ``drop`` ids."""
    opener = gzip.open if src.suffix == ".gz" else open
    out = dest / src.name.removesuffix(".gz")
    n = 0
    with opener(src, "rt", encoding="utf-8") as f, open(out, "w", encoding="utf-8") as g:
        for line in f:
            if not line.strip():
                continue
            if drop and str(json.loads(line).get("id")) in drop:
                continue
            g.write(line)
            n += 1
            if limit and n >= limit:
                break
    return out


def build_catalog(suite: Suite, settings: Settings):
    """Ingest the suite's catalog into ``settings.data_dir`` and open it.

    ``catalog: {source, reviews?, extra?: [files], limit?, delete?: [ids]}``: ``source``
    is ``demo`` (the bundled demo catalog) or a file/folder path relative to the suite
    file; ``limit`` keeps the first N products of a big file; ``extra`` files (more
    products or reviews, e.g. planted injections) are ingested after it. With ``delete``
    the source is ingested whole, then re-ingested without those ids with
    ``full_sync=True``: the deleted products must then never be shown.
    """
    spec = suite.catalog
    src = _resolve(spec.get("source", "demo"), suite)
    extra = [_resolve(x, suite) for x in ([spec["reviews"]] if spec.get("reviews") else []) + spec.get("extra", [])]
    limit, drop = spec.get("limit"), {str(x) for x in spec.get("delete", [])}
    files = sorted(src.glob("*.jsonl*")) if src.is_dir() else [src]
    from retrieval.ingest import ingest
    from retrieval.search import open_catalog

    scratch = Path(tempfile.mkdtemp(prefix="suite-src-", dir=settings.data_dir.parent))
    try:
        first = _slice(src, scratch, limit, set()) if src.is_file() and limit else src
        ingest(settings, first)
        if drop:
            sub = scratch / "synced"
            sub.mkdir()
            if src.is_dir():
                for f in files:
                    _slice(f, sub, None, drop)
                ingest(settings, sub, full_sync=True)
            else:
                ingest(settings, _slice(src, sub, limit, drop), full_sync=True)
        for x in extra:
            ingest(settings, x)
        return open_catalog(settings)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# -- checks -------------------------------------------------------------------------------------


def _cards(events) -> list:
    for e in events:
        if isinstance(e, Cards):
            return e.cards
    return []


def _answer(events) -> Answer | None:
    return next((e for e in events if isinstance(e, Answer)), None)


def _text(events) -> str:
    a = _answer(events)
    notes = " ".join(e.text for e in events if isinstance(e, Notice))
    return ((a.text if a else "") + " " + notes).strip()


def _c_intent(ctx, want):
    a = _answer(ctx.events)
    got = a.intent if a else ctx.assistant.store.messages(ctx.cid)[-1].meta.get("intent") if ctx.assistant.store.messages(ctx.cid) else None
    return "intent", got == want, f"intent {got!r}, wanted {want!r}"


def _c_cards_min(ctx, n):
    return "answers", len(ctx.cards) >= n, f"{len(ctx.cards)} cards, wanted at least {n}"


def _c_contains(ctx, words):
    low = _text(ctx.events).lower()
    missing = [w for w in _list(words) if w.lower() not in low]
    return "answers", not missing, f"answer lacks {missing}"


def _c_price_max(ctx, cap):
    bad = [c.price for c in ctx.cards if c.price is None or c.price > cap]
    return "price_range", bool(ctx.cards) and not bad, f"prices {bad} above {cap} (or no cards)"


def _c_price_min(ctx, floor):
    bad = [c.price for c in ctx.cards if c.price is None or c.price < floor]
    return "price_range", bool(ctx.cards) and not bad, f"prices {bad} below {floor} (or no cards)"


def _c_cheaper(ctx, _):
    """Every card is cheaper than the previous turn's cheapest; no card at all passes only when
    the catalog really has nothing cheaper of the same kind (the conversation's categories, else
    the leaf categories of the cards shown before), checked against the catalog itself, not
    against the assistant's own search."""
    prev = [c.price for c in ctx.prev_cards if c.price is not None]
    now = [c.price for c in ctx.cards]
    if prev and not now:
        store = ctx.assistant.catalog.store
        shown = [store.get(c.product_id) for c in ctx.prev_cards]
        cats = ctx.assistant.state(ctx.cid).query.categories or sorted({p.categories[-1] for p in shown if p and p.categories})
        cheaper = [
            p.id for p in store.iter_products()
            if p.price is not None and p.price < min(prev) and (not cats or any(c in p.categories for c in cats))
        ]
        return "cheaper", not cheaper, f"no cards, but the catalog has cheaper {cats or 'products'}: {cheaper[:5]}"
    ok = bool(prev) and bool(now) and all(p is not None and p < min(prev) for p in now)
    return "cheaper", ok, f"prices {now} not all below the previous cheapest {min(prev) if prev else None}"


def _c_ref(ctx, n):
    prev = ctx.prev_cards
    if not 1 <= n <= len(prev):
        return "references", False, f"previous turn showed {len(prev)} cards, no #{n}"
    want = prev[n - 1].product_id
    focus = ctx.assistant.state(ctx.cid).focus
    got = [c.product_id for c in ctx.cards]
    return "references", focus == want and (not got or got[0] == want), f"focus {focus}, cards {got}, wanted {want}"


def _c_superlative(ctx, spec):
    sort, words = spec["sort"], [w.lower() for w in _list(spec.get("match", []))]
    pool = [
        p
        for p in ctx.assistant.catalog.store.iter_products()
        if all(re.search(rf"\b{re.escape(w)}", p.title.lower()) for w in words)
        and (not spec.get("category") or spec["category"] in p.categories)
    ]
    key = {
        "price_asc": lambda p: p.price if p.price is not None else float("inf"),
        "price_desc": lambda p: -(p.price or 0),
        "rating_desc": lambda p: -(p.average_rating or 0),
    }[sort]
    if not pool or not ctx.cards:
        return "superlatives", False, f"no cards or no catalog product matches {words}"
    best = min(key(p) for p in pool)
    first = ctx.assistant.catalog.store.get(ctx.cards[0].product_id)
    return "superlatives", key(first) == best, f"first card {first.id} ({key(first)}), catalog extreme {best}"


def _c_colour(ctx, colour):
    bad = [c.product_id for c in ctx.cards if colour.lower() not in facts_text(ctx.assistant.catalog.store.get(c.product_id))]
    return "filters", bool(ctx.cards) and not bad, f"cards {bad} not {colour} (or no cards)"


def _c_brand(ctx, brand):
    bad = [c.brand for c in ctx.cards if (c.brand or "").lower() != brand.lower()]
    return "filters", bool(ctx.cards) and not bad, f"brands {bad}, wanted {brand}"


def _c_brand_not(ctx, brand):
    if brand == "previous_first":
        brand = ctx.prev_cards[0].brand if ctx.prev_cards else ""
    bad = [c.brand for c in ctx.cards if (c.brand or "").lower() == (brand or "").lower()]
    return "filters", bool(ctx.cards) and not bad, f"{len(bad)} cards still from {brand} (or no cards)"


def _c_never_shows(ctx, ids):
    ids = {str(i) for i in _list(ids)}
    shown = {c.product_id for c in ctx.cards}
    return "deleted_never_shown", not (shown & ids), f"deleted products shown: {sorted(shown & ids)}"


def _c_not_contains(ctx, words):
    low = (_text(ctx.events) + " " + " ".join(" ".join(c.why) for c in ctx.cards)).lower()
    found = [w for w in _list(words) if w.lower() in low]
    return "injection_ignored", not found, f"answer repeats {found}"


def _c_handoff(ctx, want):
    got = any(isinstance(e, Handoff) for e in ctx.events) and ctx.assistant.store.handoff_requested(ctx.cid)
    return "handoff", got == bool(want), f"handoff {got}, wanted {want}"


def _c_notice(ctx, kind):
    kinds = [e.kind for e in ctx.events if isinstance(e, Notice)]
    return "safety", kind in kinds and not ctx.cards, f"notices {kinds}, wanted {kind} and no cards"


def _list(x) -> list:
    return x if isinstance(x, list) else [x]


CHECKS: dict[str, Callable] = {
    "intent": _c_intent,
    "cards_min": _c_cards_min,
    "contains": _c_contains,
    "price_max": _c_price_max,
    "price_min": _c_price_min,
    "cheaper": _c_cheaper,
    "ref": _c_ref,
    "superlative": _c_superlative,
    "colour": _c_colour,
    "brand": _c_brand,
    "brand_not": _c_brand_not,
    "never_shows": _c_never_shows,
    "not_contains": _c_not_contains,
    "handoff": _c_handoff,
    "notice": _c_notice,
}


def grounded_check(ctx) -> tuple[str, bool, str]:
    """Cards equal catalog data; the answer text passes the validator against them."""
    store = ctx.assistant.catalog.store
    products = [store.get(c.product_id) for c in ctx.cards]
    if any(p is None for p in products):
        return "no_invented_facts", False, "a card is not in the catalog"
    for c, p in zip(ctx.cards, products, strict=True):
        if c.price != p.price:
            return "no_invented_facts", False, f"card {c.product_id} price {c.price} != catalog {p.price}"
    a = _answer(ctx.events)
    if a is None or a.table:
        return "no_invented_facts", True, ""
    # filters the shopper set are stated back ("Updated (not Brewline)"): they are facts too
    state = ctx.assistant.state(ctx.cid)
    evidence = " ".join([*state.query.exclude_brands, *state.query.brands])
    if a.intent in ("ask", "reviews"):
        # quotes and their star ratings are evidence too
        for p in products:
            rs = store.reviews_for(p.id, limit=300)
            evidence += f" {len(rs)} " + " ".join(f"{r.title} {r.text} {r.rating:g}" for r in rs)
    # so are the prices of the cards shown just before ("Updated (cheaper than $49.00)")
    said = ctx.say + " " + " ".join(f"${c.price:.2f}" for c in ctx.prev_cards if c.price is not None)
    res = check(a.text, products, user_text=said, brands=ctx.assistant.brands(), extra_facts=evidence)
    return "no_invented_facts", res.ok, "; ".join(res.problems)


@dataclass(slots=True)
class _Ctx:
    assistant: object
    cid: str
    say: str
    events: list
    cards: list
    prev_cards: list


def run_suite(suite: Suite, assistant, progress: Callable[[str], None] | None = None) -> dict:
    """Play every conversation; return the report (gates, pass rate, failures, timings)."""
    from assistant.chat import Turn

    gates: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    failures, turn_s, first_card_s, stages = [], [], [], defaultdict(list)
    conv_ok = 0
    sources: dict[str, int] = defaultdict(int)
    for conv in suite.conversations:
        user = conv.get("user")
        cid = assistant.start(user, surface="suite")
        prev_cards: list = []
        ok_all = True
        for turn in conv["turns"]:
            say = turn["say"]
            if isinstance(say, dict) and "repeat" in say:
                say = say["repeat"] * int(say.get("times", 1))
            t0 = time.perf_counter()
            events = list(assistant.respond(Turn(cid, user, say)))
            turn_s.append(time.perf_counter() - t0)
            a = _answer(events)
            if a:
                if "first_card" in a.timings:
                    first_card_s.append(a.timings["first_card"])
                for k, v in a.timings.items():
                    stages[k].append(v)
            cards = _cards(events)
            ctx = _Ctx(assistant, cid, say, events, cards, prev_cards)
            results = [CHECKS[name](ctx, arg) for name, arg in turn.get("expect", {}).items()]
            if cards or (a and a.intent in ("find", "refine")):
                results.append(grounded_check(ctx))
            for gate, ok, why in results:
                gates[gate][1] += 1
                gates[gate][0] += int(ok)
                if not ok:
                    ok_all = False
                    failures.append({"conversation": conv.get("id"), "say": say[:80], "gate": gate, "why": why})
            if cards:
                prev_cards = cards
        for m in assistant.store.messages(cid):
            if m.role == "assistant" and m.meta and m.meta.get("source"):
                sources[m.meta["source"]] += 1
        conv_ok += int(ok_all)
        if progress:
            progress(f"{'ok  ' if ok_all else 'FAIL'} {conv.get('id')}")
    passed = sum(p for p, _ in gates.values())
    total = sum(t for _, t in gates.values())
    return {
        "suite": suite.name,
        "conversations": len(suite.conversations),
        "conversations_passed": conv_ok,
        "gates": {g: {"passed": gates[g][0], "total": gates[g][1]} for g in GATES if g in gates},
        "pass_rate": round(passed / total, 4) if total else 0.0,
        "failures": failures,
        "answer_sources": dict(sources),
        "turn_seconds": turn_s,
        "first_card_seconds": first_card_s,
        "stage_seconds": dict(stages),
    }


def summary(report: dict) -> dict:
    """The one-line JSON object of the suite contract."""
    return {k: report[k] for k in ("conversations", "gates", "pass_rate")}
