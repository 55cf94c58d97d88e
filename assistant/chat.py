"""One assistant turn: understand → retrieve → rank → answer, as a stream of events.

``Assistant.respond(turn)`` yields ``Cards`` as soon as ranking is done, then the
answer text streamed as ``TextDelta`` (each chunk already checked by the grounding
validator), then one final ``Answer`` whose ``text`` is authoritative (if the LLM's
text failed the validator, the regenerated or template text replaces it). Refusals,
redirects, retries and "a person is replying" are ``Notice`` events; a request for a
person is a ``Handoff``.

Example (the scripted backend over the bundled demo catalog)::

    a = Assistant.from_settings(Settings(llm_backend="scripted"))
    cid = a.start("u1")
    for event in a.respond(Turn(cid, "u1", "a quiet blender under $80")):
        print(event)
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from assistant import answers as A
from assistant.events import Answer, Card, Cards, Event, Handoff, Notice, TextDelta
from assistant.grounding import check, facts_text, split_sentences
from assistant.llm import ChatModel, LLMUnavailable, load_llm
from assistant.store import ConversationStore
from assistant.understand import (
    ANOTHER,
    CHEAPER,
    NOT_THAT_BRAND,
    PRICIER,
    QUESTION,
    STOP,
    State,
    Understood,
    _colour_words,
    brand_mentions,
    detect_intent,
    is_superlative,
    negated_brands,
    resolve_refs,
)
from ranker.scoring import UserContext, fuse
from ranker.serve import load_ranker
from retrieval.query import StructuredQuery
from retrieval.search import open_catalog
from shopassist.settings import Settings

log = logging.getLogger("assistant")

STAGES = ("parse", "retrieve", "rank", "generate", "validate")
# the answer is one or two sentences beside the cards; stopping early keeps turns fast
MAX_SENTENCES = 2
# a superlative without a category ranks hits scoring at least this share of the best one
SUPERLATIVE_FLOOR = 0.5
# MiniLM cosine above which a hit without any query word still counts as relevant
# (e.g. "earphones" for "headphones"); unrelated products score 0.1-0.37 on the test shop
DENSE_MIN = 0.4
_SUPERLATIVE_WORDS = re.compile(
    r"\b(the |your |our )?(cheapest|least expensive|lowest[- ]priced?|most affordable|most expensive|priciest|"
    r"highest[- ]priced?|best[- ]rated|highest[- ]rated|top[- ]rated|best reviewed)\b|\b(you have|do you have|what'?s|what is|show me)\b",
    re.I,
)

GREETING_TEXT = (
    "Hi! I can help you find products from our catalog, compare them and tell you what reviewers say. "
    "Try something like “a quiet blender under $80”."
)
REDIRECT_TEXT = (
    "Sorry, I can only help with shopping in this store. Tell me what you're looking for "
    "and I'll find matching products."
)
HANDOFF_TEXT = "I've asked a member of our team to join this conversation; they'll reply here shortly."
PAUSED_TEXT = "A member of our team ({agent}) is replying to you in this conversation."
RETRY_TEXT = "Our answer writer is slow to respond right now, so here are the products on their own. Please try again in a moment."


FINDISH = re.compile(
    r"\b(show|find|looking for|look for|recommend|suggest|need|want|do you (have|sell|stock|carry)|any \w+s?\b|"
    r"which \w+ (is|are|should)|what \w+ (is|are|should)|best|cheapest|most)\b",
    re.I,
)


def _content_words(message: str) -> list[str]:
    """Words left once superlatives, question words and stop words are removed."""
    rest = _SUPERLATIVE_WORDS.sub(" ", message.lower())
    words = re.findall(r"[a-z]+", rest)
    filler = STOP | {"which", "one", "ones", "is", "are", "there", "here", "those", "these", "them", "of", "all", "among"}
    return [w for w in words if w not in filler]


def _relevant(hit) -> bool:
    """Hybrid search always returns *something*; a hit with no query word in its text must at
    least be semantically close, else "cheaper" after "a blender" would show headphones."""
    return bool(hit.matched) or hit.dense is None or hit.dense >= DENSE_MIN or (hit.bm25 or 0) > 0


def _in_categories(p, categories: list[str]) -> bool:
    """In one of the categories, or named like one in its title (catalogs often
    categorise only some products: an uncategorised "Intel ... processor" is a Processor)."""
    mine = {c.lower() for c in p.categories}
    title = p.title.lower()
    for c in categories:
        c = c.lower()
        stem = c[:-1] if c.endswith("s") and len(c) > 4 else c
        if c in mine or re.search(rf"\b{re.escape(stem)}", title):
            return True
    return False


@dataclass(slots=True)
class Turn:
    conversation_id: str
    user_id: str | None
    message: str


@dataclass(slots=True)
class _Ranked:
    product: object
    relevance: float
    stars: float | None
    score: float
    why: list[str] = field(default_factory=list)


class Assistant:
    """The turn pipeline over a catalog, a ranker, an LLM and a conversation store."""

    def __init__(self, settings: Settings, catalog, ranker, llm: ChatModel, store: ConversationStore):
        self.settings = settings
        self.catalog = catalog
        self.ranker = ranker
        self.llm = llm
        self.store = store
        self._brands: list[str] | None = None
        self._users: dict[str, object] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, llm: ChatModel | None = None) -> "Assistant":
        """Open the catalog, the ranker, the LLM backend and the store named by settings."""
        return cls(
            settings,
            open_catalog(settings),
            load_ranker(settings),
            llm or load_llm(settings),
            ConversationStore(settings.events_db_url),
        )

    # -- conversations ---------------------------------------------------------------
    def start(self, user_id: str | None, surface: str = "chat") -> str:
        """A new conversation id."""
        return self.store.start_conversation(user_id, surface)

    def state(self, conversation_id: str) -> State:
        """The conversation state after the last bot answer."""
        for m in reversed(self.store.messages(conversation_id)):
            if m.role == "assistant" and m.meta and "state" in m.meta:
                return State.from_dict(m.meta["state"])
        return State()

    def respond(self, turn: Turn) -> Iterator[Event]:
        """Answer one shopper message; see the module docstring for the event order."""
        t0 = time.perf_counter()
        cid, raw = turn.conversation_id, turn.message or ""
        if len(raw) > self.settings.max_input_chars:
            self.store.add_message(cid, "user", A.clean(raw, 200), meta={"refused": "too_long", "chars": len(raw)})
            text = (
                f"Sorry, that message is too long for me ({len(raw)} characters; the limit is "
                f"{self.settings.max_input_chars}). Could you shorten it to the key things you need?"
            )
            self.store.add_message(cid, "assistant", text, meta={"intent": "refused", "state": self.state(cid).to_dict()})
            yield Notice(text, kind="refused")
            return
        message = A.clean(raw)
        if not message:
            yield Notice("Tell me what you're looking for, e.g. “a quiet blender under $80”.", kind="refused")
            return
        self.store.add_message(cid, "user", message)
        agent = self.store.taken_over_by(cid)
        if agent:
            yield Notice(PAUSED_TEXT.format(agent=agent), kind="paused")
            return
        timings = {s: 0.0 for s in STAGES}
        state = self.state(cid)
        u = self._understand(message, state)
        timings["parse"] = time.perf_counter() - t0
        log.debug("intent=%s refs=%s changes=%s", u.intent, u.refs, u.changes)
        handler = {
            "handoff": self._handoff,
            "chitchat": self._chitchat,
            "out_of_scope": self._redirect,
            "compare": self._compare,
            "ask": self._ask,
            "reviews": self._reviews,
        }.get(u.intent, self._find)
        final: Answer | None = None
        for ev in handler(turn, message, u, timings, t0):
            if isinstance(ev, Answer):
                final = ev
            yield ev
        if final is not None:
            log.info(
                "turn %s intent=%s %s",
                cid[:8],
                u.intent,
                " ".join(f"{k}={v * 1000:.0f}ms" for k, v in final.timings.items()),
            )

    # -- understanding ------------------------------------------------------------------
    def brands(self) -> list[str]:
        if self._brands is None:
            self._brands = sorted(self.catalog.store.brands(), key=len, reverse=True)
        return self._brands

    def _shown(self, state: State) -> list:
        return self._products(state.shown)

    def _products(self, ids: list[str]) -> list:
        got = {p.id: p for p in self.catalog.store.get_many(list(ids))}
        return [got[i] for i in ids if i in got]

    def _understand(self, message: str, state: State) -> Understood:
        shown = self._shown(state)
        refs = resolve_refs(message, shown, state.focus)
        intent = detect_intent(message, state.active, bool(refs))
        if intent in ("ask", "reviews") and not refs and shown:
            refs = [state.focus or shown[0].id] if intent == "reviews" else []
        if intent == "ask" and not refs:
            intent = "find"
        if intent == "find" and refs and not brand_mentions(message, self.brands()) and len(message.split()) <= 6:
            # "the second one" on its own: talk about that product
            intent = "ask"
        if intent == "find" and state.focus and QUESTION.search(message) and not FINDISH.search(message):
            q = self.catalog.parse(message)
            if not q.categories and not q.brands:
                # "does the lid leak?" right after a product was shown: a question about it
                intent, refs = "ask", [state.focus]
        if intent in ("find", "ask") and state.active and is_superlative(message) and not _content_words(message):
            # "which is the cheapest?" after "headphones": the superlative is about this topic
            intent = "refine"
        changes: list[str] = []
        if intent == "find":
            new = self._fresh_state(message, state)
        elif intent == "refine":
            new, changes = self._refine(message, state, shown, refs)
        else:
            new = replace(state)
            if refs:
                new.focus = refs[0]
        return Understood(intent=intent, state=new, refs=refs, changes=changes)

    def _fresh_state(self, message: str, old: State) -> State:
        q = self.catalog.parse(message)
        self._fill_from_llm(q, message)
        excluded = list(dict.fromkeys([*q.exclude_brands, *negated_brands(message, self.brands())]))
        return State(
            text=_SUPERLATIVE_WORDS.sub(" ", q.text).strip(" ?!.,") or q.text.strip() or message,
            price_min=q.price_min,
            price_max=q.price_max,
            brands=[b for b in q.brands if b not in excluded],
            exclude_brands=excluded,
            categories=list(q.categories),
            min_rating=q.min_rating,
            sort=is_superlative(message) or q.sort or "relevance",
            colours=list(dict.fromkeys([*([q.attributes["colour"]] if q.attributes.get("colour") else []), *_colour_words(message)])),
            liked=old.liked,
            disliked=old.disliked,
        )

    def _fill_from_llm(self, q, message: str) -> None:
        """Let a capable LLM fill filters the parser left empty (validated against the catalog)."""
        if not self.llm.capable:
            return
        from assistant.proposals import propose_filters

        store = self.catalog.store
        colours = store.colours()
        got = propose_filters(self.llm, message, self.brands(), store.categories(), colours)
        if got:
            log.debug("LLM proposed filters %s", got)
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

    def _refine(self, message: str, old: State, shown: list, refs: list[str]) -> tuple[State, list[str]]:
        new = replace(old, exclude_ids=list(old.exclude_ids), exclude_brands=list(old.exclude_brands))
        changes: list[str] = []
        q = self.catalog.parse(message)
        basis = [p for p in shown if p.id in refs] or shown
        prices = [p.price for p in basis if p.price is not None]
        if q.price_max is not None:
            new.price_max = q.price_max
            changes.append(f"under {A.fmt_price(q.price_max)}")
        elif CHEAPER.search(message) and prices:
            cap = round(min(prices) - 0.01, 2)
            new.price_max = cap if new.price_max is None else min(new.price_max, cap)
            new.price_min = None  # "cheaper" overrides an earlier floor
            changes.append(f"cheaper than {A.fmt_price(min(prices))}")
        if q.price_min is not None:
            new.price_min = q.price_min
            changes.append(f"over {A.fmt_price(q.price_min)}")
        elif PRICIER.search(message) and prices:
            new.price_min = round(max(prices) + 0.01, 2)
            if new.price_max is not None and new.price_max < new.price_min:
                new.price_max = None
            changes.append(f"pricier than {A.fmt_price(max(prices))}")
        if new.sort in ("price_asc", "price_desc") and (CHEAPER.search(message) or PRICIER.search(message)) and not is_superlative(message):
            new.sort = "relevance"
        excluded = list(q.exclude_brands) + negated_brands(message, self.brands())
        if NOT_THAT_BRAND.search(message):
            focus = [p for p in shown if p.id in refs] or [p for p in shown if p.id == old.focus] or shown[:1]
            excluded += [p.brand for p in focus if p.brand]
        for b in dict.fromkeys(excluded):
            if b not in new.exclude_brands:
                new.exclude_brands.append(b)
                changes.append(f"not {b}")
        new.brands = [b for b in new.brands if b not in new.exclude_brands]
        wanted = [b for b in q.brands if b not in new.exclude_brands]
        if wanted:
            new.brands = wanted
            changes.append("brand " + ", ".join(wanted))
        colours = _colour_words(message)
        if colours:
            new.colours = colours
            changes.append("in " + ", ".join(colours))
        if q.min_rating is not None:
            new.min_rating = q.min_rating
            changes.append(f"rated {q.min_rating:g}+")
        if q.categories and set(q.categories) != set(old.categories):
            new.categories = list(q.categories)
        sup = is_superlative(message)
        if sup:
            new.sort = sup
            changes.append({"price_asc": "cheapest first", "price_desc": "most expensive first",
                            "rating_desc": "best rated first"}[sup])  # fmt: skip
        if ANOTHER.search(message):
            new.exclude_ids = list(dict.fromkeys([*new.exclude_ids, *old.shown]))
            changes.append("other options")
        return new, changes

    # -- retrieve and rank ----------------------------------------------------------------
    def _query(self, state: State):
        # categories go into the text, not the filter: catalogs often categorise only some
        # products; _allowed enforces them by category or title (see _in_categories)
        words = [c for c in state.categories if c.lower().rstrip("s") not in state.text.lower()]
        text = " ".join([state.text, *words, *state.colours]).strip()
        return StructuredQuery(
            text=text,
            price_min=state.price_min,
            price_max=state.price_max,
            brands=list(state.brands),
            exclude_brands=list(state.exclude_brands),
            categories=[],
            min_rating=state.min_rating,
            sort=state.sort,
            exclude_ids=list(state.exclude_ids),
            # filtered before retrieval, so colour variants collapsed in results are not lost
            attributes={"colour": state.colours[0]} if state.colours else {},
        )

    def _allowed(self, p, state: State) -> bool:
        """The filters, enforced here too: a stated price range or brand rule is never broken."""
        if state.price_min is not None and (p.price is None or p.price < state.price_min):
            return False
        if state.price_max is not None and (p.price is None or p.price > state.price_max):
            return False
        if state.brands and (p.brand or "").lower() not in {b.lower() for b in state.brands}:
            return False
        if (p.brand or "").lower() in {b.lower() for b in state.exclude_brands}:
            return False
        if p.id in state.exclude_ids:
            return False
        if state.min_rating is not None and (p.average_rating or 0) < state.min_rating:
            return False
        if state.categories and not _in_categories(p, state.categories):
            return False
        if state.colours:
            facts = facts_text(p)
            if not all(re.search(rf"\b{c}\b", facts) or (c == "grey" and "gray" in facts) for c in state.colours):
                return False
        return True

    def retrieve(self, state: State) -> list:
        """Hits that pass every filter; superlatives sort the relevant set over the whole catalog."""
        sorted_ = state.sort != "relevance"
        q = self._query(state)
        hits = self.catalog.search(q, k=200 if sorted_ else 50)
        if not hits and q.attributes:
            # the colour may live under a key the catalog's filter does not know
            # ("printing_colours"): search without it, _allowed checks the colour in the text
            hits = self.catalog.search(replace(q, attributes={}), k=200 if sorted_ else 50)
        hits = [h for h in hits if self._allowed(h.product, state) and _relevant(h)]
        if sorted_ and hits:
            if not state.categories:
                # no category to scope the superlative: keep the clearly relevant hits only,
                # those matching the most query words ("toner", not a "ribbon cartridge")
                top = max(h.score for h in hits)
                most = max(len(h.matched) for h in hits)
                hits = [h for h in hits if h.score >= SUPERLATIVE_FLOOR * top and len(h.matched) >= most]
            if state.sort == "price_asc":
                hits.sort(key=lambda h: (h.product.price is None, h.product.price or 0))
            elif state.sort == "price_desc":
                hits.sort(key=lambda h: (h.product.price is None, -(h.product.price or 0)))
            elif state.sort == "rating_desc":
                hits.sort(key=lambda h: (-(h.product.average_rating or 0), -h.product.rating_count))
        return hits

    def user_context(self, user_id: str | None, state: State, conversation_id: str | None = None):
        """The ranker's view of the shopper: their catalog history plus this session's thumbs."""
        base = None
        if user_id:
            with self._lock:
                base = self._users.get(user_id)
            if base is None:
                base = self.ranker.user_context(self.catalog.store, user_id)
                with self._lock:
                    self._users[user_id] = base
        history = list(base.history) if base else []
        liked, disliked = list(state.liked), list(state.disliked)
        if conversation_id:
            for e in self.store.events(conversation_id=conversation_id):
                if e.product_id and e.kind in ("thumb_up", "add_to_cart", "buy", "more_like_this"):
                    liked.append(e.product_id)
                elif e.product_id and e.kind == "thumb_down":
                    disliked.append(e.product_id)
        for pid, stars in [(i, 5.0) for i in dict.fromkeys(liked)] + [(i, 1.0) for i in dict.fromkeys(disliked)]:
            p = self.catalog.store.get(pid)
            if p is not None:
                history.append((p.title, stars))
        return UserContext(
            user_id=user_id,
            history=history,
            likes=list(base.likes) if base else [],
            dislikes=list(base.dislikes) if base else [],
        )

    def rank(self, hits: list, user, state: State) -> list[_Ranked]:
        if not hits:
            return []
        preds = {p.product_id: p for p in self.ranker.score(user, [h.product for h in hits])}
        out = []
        for h in hits:
            pred = preds.get(h.product.id)
            stars = pred.stars if pred else None
            why = []
            if h.matched:
                why.append("matches " + ", ".join(A.clean(m, 30) for m in h.matched[:3]))
            if pred and pred.explanation:
                why += [A.clean(e, 120) for e in pred.explanation[:2]]
            out.append(_Ranked(h.product, h.score, stars, fuse(h.score, stars, self.settings.rating_weight), why))
        if state.sort == "relevance":
            out.sort(key=lambda r: -r.score)
        return out

    def _card(self, r: _Ranked, state: State) -> Card:
        p = r.product
        why = list(r.why)
        if state.price_max is not None:
            why.append(f"within your budget of {A.fmt_price(state.price_max, p.currency)}")
        return Card(
            product_id=p.id,
            title=A.clean(p.title, 160),
            price=p.price,
            currency=p.currency,
            stars_predicted=round(r.stars, 2) if r.stars is not None else None,
            average_rating=p.average_rating,
            rating_count=p.rating_count,
            image_url=p.image_urls[0] if p.image_urls else None,
            why=why[:4],
            brand=A.clean(p.brand) if p.brand else None,
            url=(p.attributes.get("url") if isinstance(p.attributes, dict) else None),
        )

    def _simple_card(self, p, why: list[str] | None = None) -> Card:
        return self._card(_Ranked(p, 0.0, None, 0.0, why or []), State())

    # -- intents -------------------------------------------------------------------------
    def _finish(
        self,
        cid: str,
        text: str,
        u: Understood,
        timings: dict,
        t0: float,
        cards: list[Card] | None = None,
        source: str = "template",
        **kw,
    ) -> Answer:
        timings["total"] = time.perf_counter() - t0
        ans = Answer(text=text, timings={k: round(v, 4) for k, v in timings.items()}, intent=u.intent, **kw)
        self.store.add_message(
            cid,
            "assistant",
            text,
            cards=[c.to_dict() for c in cards] if cards else None,
            meta={
                "intent": u.intent,
                "state": u.state.to_dict(),
                "grounded": ans.grounded,
                "citations": ans.citations,
                "timings": ans.timings,
                "source": source,
                "table": ans.table,
            },
        )
        return ans

    def _handoff(self, turn: Turn, message: str, u: Understood, timings: dict, t0: float) -> Iterator[Event]:
        self.store.request_handoff(turn.conversation_id, reason=message[:200])
        yield Handoff(turn.conversation_id)
        self._finish(turn.conversation_id, HANDOFF_TEXT, u, timings, t0)
        yield Notice(HANDOFF_TEXT, kind="handoff")

    def _chitchat(self, turn, message, u, timings, t0) -> Iterator[Event]:
        low = message.lower()
        if re.search(r"\b(thanks|thank you|thx|cheers)\b", low):
            text = "You're welcome! Anything else I can help you find?"
        elif re.search(r"\b(bye|goodbye)\b", low):
            text = "Goodbye, and happy shopping!"
        else:
            text = GREETING_TEXT
        yield self._finish(turn.conversation_id, text, u, timings, t0)

    def _redirect(self, turn, message, u, timings, t0) -> Iterator[Event]:
        self._finish(turn.conversation_id, REDIRECT_TEXT, u, timings, t0)
        yield Notice(REDIRECT_TEXT, kind="redirect")

    def _find(self, turn: Turn, message: str, u: Understood, timings: dict, t0: float) -> Iterator[Event]:
        cid, state = turn.conversation_id, u.state
        t = time.perf_counter()
        hits = self.retrieve(state)
        timings["retrieve"] = time.perf_counter() - t
        t = time.perf_counter()
        ranked = self.rank(hits, self.user_context(turn.user_id, state, cid), state)
        pinned = [p for p in self._products(self.store.pinned(cid)) if self._allowed(p, state)]
        if pinned:
            pinned_ids = {p.id for p in pinned}
            ranked = [_Ranked(p, 1.0, None, 1.0, ["recommended by our team"]) for p in pinned] + [
                r for r in ranked if r.product.id not in pinned_ids
            ]
        top = ranked[: self.settings.cards_per_turn]
        timings["rank"] = time.perf_counter() - t
        cards = [self._card(r, state) for r in top]
        if cards:
            state.shown = [c.product_id for c in cards]
            state.focus = state.shown[0]
        else:  # nothing matched: the earlier cards stay on screen, so references still point at them
            prev = self.state(cid)
            state.shown, state.focus = prev.shown, prev.focus
        timings["first_card"] = time.perf_counter() - t0
        yield Cards(cards)
        self.store.save_candidates(
            cid,
            [
                {"product_id": r.product.id, "title": r.product.title, "score": round(r.relevance, 4),
                 "stars": r.stars, "final": round(r.score, 4), "explanation": r.why}
                for r in ranked[:20]
            ],
        )  # fmt: skip
        for i, c in enumerate(cards):
            self.store.log_event("impression", cid, turn.user_id, c.product_id, {"rank": i + 1})
        products = [r.product for r in top]
        why = {r.product.id: r.why for r in top}
        if not products:
            text = A.template_answer([], {})
            if state.price_max is not None or state.brands or state.colours or state.exclude_brands:
                text = "Nothing in the catalog matches all of that. Could you loosen a filter (price, brand or colour)?"
            yield self._finish(cid, text, u, timings, t0, cards=cards, citations=[])
            return
        context = ("Filters now: " + "; ".join(u.changes) + ".") if u.changes else ""
        yield from self._write(turn, message, u, timings, t0, products, cards, context,
                               fallback=A.template_answer(products, why, u.changes))  # fmt: skip

    def _write(self, turn, message, u, timings, t0, products, cards, context, fallback, extra_facts="") -> Iterator[Event]:
        """Stream validated LLM sentences; regenerate once; else the template."""
        cid = turn.conversation_id
        msgs = A.answer_messages(message, products, context)
        vstate = {"validate": 0.0}

        def ok(text: str) -> list[str]:
            t = time.perf_counter()
            c = check(text, products, user_text=message, brands=self.brands(), extra_facts=extra_facts)
            vstate["validate"] += time.perf_counter() - t
            return c.problems

        t = time.perf_counter()
        final, source, problems = None, "template", []
        deadline = time.monotonic() + self.settings.llm_timeout_s
        try:
            emitted, buf, bad, timed_out = [], "", False, False
            stream = self.llm.stream(msgs, max_tokens=self.settings.llm_max_tokens)
            try:
                for chunk in stream:
                    buf += chunk
                    done, buf = split_sentences(buf)
                    for s in done:
                        problems = ok(s)
                        if problems:
                            bad = True
                            break
                        emitted.append(s)
                        yield TextDelta(s)
                    timed_out = time.monotonic() > deadline
                    if bad or len(emitted) >= MAX_SENTENCES or timed_out:
                        break
                else:
                    # the model stopped by itself: a tail ending like a sentence is a sentence;
                    # a fragment cut by the token cap is dropped
                    tail = buf.strip()
                    if tail and tail[-1] in ".!?)\"”" and len(emitted) < MAX_SENTENCES:
                        problems = ok(tail)
                        if problems:
                            bad = True
                        else:
                            emitted.append(buf)
                            yield TextDelta(buf)
            finally:
                # stop generating now (and release the backend) rather than at garbage collection
                stream.close()
            first = "".join(emitted).strip()
            if not bad and len(first) >= 10:
                final, source = first, "llm"
            elif bad and len(first) >= 40:
                # the shopper already saw these checked sentences: keep them, drop the rest
                final, source = first, "llm_truncated"
            elif bad and not timed_out:
                retry = msgs + [
                    {"role": "assistant", "content": ("".join(emitted) + buf)[:600] or "(no answer)"},
                    {"role": "user", "content": A.prompt("regenerate").format(problems="; ".join(problems[:4]))},
                ]
                second = self._collect(retry, deadline).strip()
                if len(second) >= 10 and second[-1] in ".!?)\"”" and not ok(second):
                    final, source = second, "llm_retry"
        except LLMUnavailable as e:
            log.warning("LLM unavailable, template answer: %s", e)
            yield Notice(RETRY_TEXT, kind="retry")
        timings["validate"] = vstate["validate"]
        timings["generate"] = time.perf_counter() - t - vstate["validate"]
        if final is None:
            final = fallback
            if problems:
                log.info("LLM text not grounded (%s): template answer", "; ".join(problems[:3]))
        citations = [p.id for p in products]
        ans = self._finish(cid, final, u, timings, t0, cards=cards, citations=citations, source=source)
        yield ans

    def _collect(self, messages: list[dict], deadline: float) -> str:
        """A whole (unstreamed) generation, cut at the deadline."""
        out = ""
        stream = self.llm.stream(messages, max_tokens=self.settings.llm_max_tokens)
        try:
            for chunk in stream:
                out += chunk
                if time.monotonic() > deadline:
                    return ""
        finally:
            stream.close()
        return out

    def _compare(self, turn, message, u, timings, t0) -> Iterator[Event]:
        shown = self._shown(u.state)
        products = self._products(u.refs) if len(u.refs) >= 2 else shown[:3]
        if len(products) < 2:
            text = "Show me what you'd like to compare first: search for some products, then say “compare the first two”."
            yield self._finish(turn.conversation_id, text, u, timings, t0)
            return
        cards = [self._simple_card(p, ["in your comparison"]) for p in products]
        yield Cards(cards)
        timings["first_card"] = time.perf_counter() - t0
        for p in products:
            self.store.log_event("compare", turn.conversation_id, turn.user_id, p.id)
        rows = A.comparison_table(products)
        text = A.comparison_summary(products) + "\n\n" + A.table_text(rows)
        yield self._finish(turn.conversation_id, text, u, timings, t0, cards=cards,
                           citations=[p.id for p in products], table=rows)  # fmt: skip

    def _ask(self, turn, message, u, timings, t0) -> Iterator[Event]:
        from assistant.evidence import answer_question, describe

        product = self._products(u.refs[:1])[0]
        u.state.focus = product.id
        card = self._simple_card(product, ["the product you asked about"])
        yield Cards([card])
        timings["first_card"] = time.perf_counter() - t0
        t = time.perf_counter()
        reviews = self.catalog.store.reviews_for(product.id, limit=200)
        if QUESTION.search(message):
            text = answer_question(message, product, reviews, self._embed)
        else:
            text = describe(product, reviews)
        timings["retrieve"] = time.perf_counter() - t
        yield self._finish(turn.conversation_id, text, u, timings, t0, cards=[card], citations=[product.id])

    def _reviews(self, turn, message, u, timings, t0) -> Iterator[Event]:
        from assistant.evidence import summarise_reviews

        if not u.refs:
            yield from self._find(turn, message, replace(u, intent="find", state=self._fresh_state(message, u.state)), timings, t0)
            return
        product = self._products(u.refs[:1])[0]
        u.state.focus = product.id
        card = self._simple_card(product, ["reviews summarised below"])
        yield Cards([card])
        timings["first_card"] = time.perf_counter() - t0
        t = time.perf_counter()
        text = summarise_reviews(product, self.catalog.store.reviews_for(product.id, limit=300))
        timings["retrieve"] = time.perf_counter() - t
        yield self._finish(turn.conversation_id, text, u, timings, t0, cards=[card], citations=[product.id])

    def _embed(self, texts: list[str]):
        """Sentence embeddings with the catalog's MiniLM (normalised), for review evidence."""
        from retrieval.models import load_embedder

        model = load_embedder(self.settings.embedding_model, self.settings.device)
        return model.encode(texts, normalize_embeddings=True, batch_size=64, show_progress_bar=False)

    # -- the agent console and the UI ---------------------------------------------------------
    def agent_reply(self, conversation_id: str, agent: str, text: str) -> int:
        """A person's message in the conversation (shown to the shopper as from the team).

        Replying takes the conversation over if nobody has: otherwise the bot would talk
        over the agent."""
        if self.store.taken_over_by(conversation_id) is None:
            self.store.take_over(conversation_id, agent)
        return self.store.add_message(conversation_id, "agent", A.clean(text), meta={"agent": agent})

    def feedback(
        self, conversation_id: str, user_id: str | None, kind: str, product_id: str | None = None,
        payload: dict | None = None,
    ) -> int:
        """Log a shopper's feedback (thumb_up, click, add_to_cart, ...); thumbs personalise the next turn.
        Feedback on an answer rather than a card carries ``{"message_id": .., "target": "answer"}``."""
        return self.store.log_event(kind, conversation_id, user_id, product_id, payload)

    def demo_users(self) -> list[dict]:
        """Shoppers to pick from (id, name, persona): the bundled demo personas that have
        reviews in this catalog, else the catalog's first reviewers."""
        from retrieval.demo import DEMO_DIR

        reviewers = self.catalog.store.users()
        known = set(reviewers)
        personas = json.loads((DEMO_DIR / "users.json").read_text(encoding="utf-8"))
        users = [{"id": u["id"], "name": u.get("name", u["id"]), "persona": u.get("persona", "")}
                 for u in personas if u["id"] in known]
        return users or [{"id": uid, "name": uid, "persona": ""} for uid in reviewers[:10]]

    def profile(self, user_id: str) -> dict:
        """What the ranker knows about a shopper: rated history and liked/disliked aspects."""
        ctx = self.ranker.user_context(self.catalog.store, user_id)
        names = {u["id"]: u for u in self.demo_users()}
        return {
            "user_id": user_id,
            "name": names.get(user_id, {}).get("name", user_id),
            "persona": names.get(user_id, {}).get("persona", ""),
            "history": [(A.clean(t, 120), s) for t, s in ctx.history],
            "likes": list(ctx.likes),
            "dislikes": list(ctx.dislikes),
        }

    def suggest_reply(self, conversation_id: str) -> str:
        """A grounded draft for the agent: the last question and the products last considered."""
        msgs = self.store.messages(conversation_id)
        last_user = next((m.text for m in reversed(msgs) if m.role == "user"), "")
        cands = self.store.candidates(conversation_id)[:3]
        products = self._products([c["product_id"] for c in cands])
        if not products:
            state = self.state(conversation_id)
            products = self._shown(state)[:3]
        if not products:
            return "Hi, I'm here to help. Could you tell me a bit more about what you're looking for?"
        lines = [f"Hi, thanks for waiting. About “{A.clean(last_user, 120)}”, these look like the best fits:"]
        for i, p in enumerate(products):
            lines.append(f"[{i + 1}] {A.short_title(p)}, {A.fmt_price(p.price, p.currency)}, rated {A.fmt_rating(p)}")
        lines.append("Would you like me to compare them or check the reviews for you?")
        return "\n".join(lines)
