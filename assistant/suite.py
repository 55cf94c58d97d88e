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
answers                     the turn shows at least N cards / the text states what it must
                            (a catalog value, a product's name), is no "couldn't find" fallback
categories                  every card is of the stated categories (or has the title words),
                            none of the excluded ones; the cards span N categories
cards                       the first card is the stated one or the catalog's extreme of a
                            scope; the cards include / are exactly the stated ones; none is
                            repeated from earlier turns; no cards at all
attributes                  the cards are in order of a spec (units converted) or all meet a
                            numeric / categorical constraint
==========================  ====================================================================

The checks themselves are in ``assistant.suite_checks``. A turn passes when all its checks
(and the automatic ``no_invented_facts``) pass; the report counts turns overall and by check
type as well as checks by gate. The last line ``eval conversations`` prints is one JSON object:
``{"conversations": N, "gates": {"<gate>": {"passed": a, "total": b}}, "pass_rate": r,
"turns": {"passed": t, "total": n, "accuracy": t/n, "by_check": {"<check>": {...}}}, "suites": {...}}``.
"""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.grounding import check
from assistant.suite_checks import CHECKS
from assistant.suite_facts import Ctx, answer_of, cards_of, split_extreme
from retrieval.sources import claimed_id
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
    "categories",
    "cards",
    "attributes",
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
            for key in ("first_card", "ref"):
                spec = t.get("expect", {}).get(key)
                if isinstance(spec, dict) and any(v in ("min", "max") for v in spec.values()):
                    try:
                        split_extreme(spec)
                    except ValueError as e:
                        raise SuiteError(f"{path}: conversation {conv.get('id', i + 1)}: {key}: {e}") from e
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
    """Copy a JSONL(.gz) file, keeping the first ``limit`` rows and leaving out ``drop`` ids.

    A row's id is read as the source readers read it (``retrieval.sources.claimed_id``: ``id``,
    else Amazon's ``parent_asin`` / ``asin``), so ``delete:`` works on every source format.
    """
    opener = gzip.open if src.suffix == ".gz" else open
    out = dest / src.name.removesuffix(".gz")
    n = 0
    with opener(src, "rt", encoding="utf-8") as f, open(out, "w", encoding="utf-8") as g:
        for line in f:
            if not line.strip():
                continue
            if drop and claimed_id(json.loads(line)) in drop:
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
        from assistant import policies  # qa hook: the shop's policies beside the catalog, as `shopassist ingest` copies them

        if (found := policies.beside(src)) is not None:
            policies.install(settings.data_dir, found)
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


# -- running ----------------------------------------------------------------------------------


def grounded_check(ctx) -> tuple[str, bool, str]:
    """Cards equal catalog data; the answer text passes the validator against them."""
    store = ctx.assistant.catalog.store
    products = [store.get(c.product_id) for c in ctx.cards]
    if any(p is None for p in products):
        return "no_invented_facts", False, "a card is not in the catalog"
    for c, p in zip(ctx.cards, products, strict=True):
        if c.price != p.price:
            return "no_invented_facts", False, f"card {c.product_id} price {c.price} != catalog {p.price}"
    a = answer_of(ctx.events)
    if a is None or a.table:
        return "no_invented_facts", True, ""
    # filters the shopper set are stated back ("Updated (not Brewline)"): they are facts too
    state = ctx.assistant.state(ctx.cid)
    evidence = " ".join([*state.query.exclude_brands, *state.query.brands])
    if a.intent in ("ask", "reviews"):
        # the shop's own policies are its data too ("can i send it back?" about a shown product)
        from assistant.policies import index_for

        index = index_for(ctx.assistant.settings.data_dir)
        evidence += " " + " ".join(f"{p.section} {p.text}" for p in (index.passages if index else []))
        # quotes and their star ratings are evidence too
        for p in products:
            rs = store.reviews_for(p.id, limit=300)
            evidence += f" {len(rs)} " + " ".join(f"{r.title} {r.text} {r.rating:g}" for r in rs)
    # so are the prices of the cards shown just before ("Updated (cheaper than $49.00)")
    said = ctx.say + " " + " ".join(f"${c.price:.2f}" for c in ctx.prev_cards if c.price is not None)
    res = check(a.text, products, user_text=said, brands=ctx.assistant.brands(), extra_facts=evidence)
    return "no_invented_facts", res.ok, "; ".join(res.problems)


def _count(report: dict, checks: list[tuple[str, str, bool]]) -> bool:
    """Add one turn's ``(check, gate, ok)`` results to the report's tallies; whether it passed."""
    turn_ok = all(ok for _, _, ok in checks)
    report["turns"]["total"] += 1
    report["turns"]["passed"] += int(turn_ok)
    for name, gate, ok in checks:
        g = report["gates"].setdefault(gate, {"passed": 0, "total": 0})
        g["total"] += 1
        g["passed"] += int(ok)
        c = report["turns"]["by_check"].setdefault(name, {"passed": 0, "total": 0, "check_passed": 0})
        c["total"] += 1
        c["passed"] += int(turn_ok)
        c["check_passed"] += int(ok)
    return turn_ok


def run_suite(suite: Suite, assistant, progress: Callable[[str], None] | None = None) -> dict:
    """Play every conversation; return the report (gates, turns by check, failures, timings).

    ``turns.by_check[name]``: of the turns with that check, ``passed`` passed whole (turn
    accuracy by check type) and ``check_passed`` passed that check.
    """
    from assistant.chat import Turn

    report: dict = {"gates": {}, "turns": {"passed": 0, "total": 0, "by_check": {}}}
    failures, turn_s, first_card_s, stages = [], [], [], defaultdict(list)
    conv_ok = 0
    sources: dict[str, int] = defaultdict(int)
    cache: dict = {}
    for conv in suite.conversations:
        user = conv.get("user")
        cid = assistant.start(user, surface="suite")
        prev_cards: list = []
        shown: set[str] = set()
        ok_all = True
        for turn in conv["turns"]:
            say = turn["say"]
            if isinstance(say, dict) and "repeat" in say:
                say = say["repeat"] * int(say.get("times", 1))
            t0 = time.perf_counter()
            events = list(assistant.respond(Turn(cid, user, say)))
            turn_s.append(time.perf_counter() - t0)
            a = answer_of(events)
            if a:
                if "first_card" in a.timings:
                    first_card_s.append(a.timings["first_card"])
                for k, v in a.timings.items():
                    stages[k].append(v)
            cards = cards_of(events)
            ctx = Ctx(assistant, cid, say, events, cards, prev_cards, set(shown), cache)
            results = [(name, *CHECKS[name](ctx, arg)) for name, arg in turn.get("expect", {}).items()]
            if cards or (a and a.intent in ("find", "refine")):
                results.append(("no_invented_facts", *grounded_check(ctx)))
            for name, gate, ok, why in results:
                if not ok:
                    failures.append({"conversation": conv.get("id"), "say": say[:80], "check": name, "gate": gate, "why": why})
            ok_all &= _count(report, [(name, gate, ok) for name, gate, ok, _ in results])
            if cards:
                prev_cards = cards
                shown |= {c.product_id for c in cards}
        for m in assistant.store.messages(cid):
            if m.role == "assistant" and m.meta and m.meta.get("source"):
                sources[m.meta["source"]] += 1
        conv_ok += int(ok_all)
        if progress:
            progress(f"{'ok  ' if ok_all else 'FAIL'} {conv.get('id')}")
    gates = report["gates"]
    passed = sum(v["passed"] for v in gates.values())
    total = sum(v["total"] for v in gates.values())
    turns = report["turns"]
    return {
        "suite": suite.name,
        "conversations": len(suite.conversations),
        "conversations_passed": conv_ok,
        "gates": {g: gates[g] for g in GATES if g in gates},
        "pass_rate": round(passed / total, 4) if total else 0.0,
        "turns": {**turns, "accuracy": round(turns["passed"] / turns["total"], 4) if turns["total"] else 0.0},
        "failures": failures,
        "answer_sources": dict(sources),
        "turn_seconds": turn_s,
        "first_card_seconds": first_card_s,
        "stage_seconds": dict(stages),
    }


def summary(report: dict) -> dict:
    """The one-line JSON object of the suite contract."""
    return {k: report[k] for k in ("conversations", "gates", "pass_rate", "turns")}
