"""One assistant turn: understand → retrieve → rank → answer, as a stream of events.

``Assistant.respond(turn)`` yields ``Cards`` as soon as ranking is done, then the
answer text streamed as ``TextDelta`` (each chunk already checked by the grounding
validator), then one final ``Answer`` whose ``text`` is authoritative (if the LLM's
text failed the validator, the regenerated or template text replaces it). Refusals,
redirects, retries and "a person is replying" are ``Notice`` events; a request for a
person is a ``Handoff``.

Each stage has its module: ``understand`` (intent, references, the filters after the
message), this one (retrieve, rank, cards), ``writer`` (the LLM's text, validated) and
``replies`` (turns that need no search: compare, product questions, reviews, hand-off,
chit-chat).

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
from assistant import replies, writer
from assistant.events import Answer, Card, Cards, Event, Notice, TextDelta
from assistant.grounding import FILLER, check, facts_text, shoppers_words, unmatched_words
from assistant.llm import ChatModel, load_llm
from assistant.store import ConversationStore
from assistant.understand import State, Understood, is_browse, understand
from assistant import attributes as attrs  # understand hook (issue 11): attribute constraints/orders
from assistant import needs  # understand hook (issue 11): bundles for a need
from assistant.carryover import must_match, nothing_text  # understand hook (issue 11)
from assistant.vocabulary import vocabulary_of  # understand hook (issue 11)
from ranker.scoring import KIND_STARS, UserContext, fuse
from ranker.serve import load_ranker
from retrieval.bm25 import tokenize
from retrieval.query import StructuredQuery
from retrieval.search import open_catalog
from shopassist.settings import Settings

log = logging.getLogger("assistant")

STAGES = ("parse", "retrieve", "rank", "generate", "validate")
# a superlative without a category ranks hits scoring at least this share of the best one
SUPERLATIVE_FLOOR = 0.5
# MiniLM cosine above which a hit without any query word still counts as relevant
# (e.g. "earphones" for "headphones"); unrelated products score 0.1-0.37 on the test shop
DENSE_MIN = 0.4
# the LLM's text must be done Settings.turn_budget_s after the message arrived (its checked
# sentences so far are kept, else the template); but when search alone took that long, the LLM
# still gets this much: enough for a fast backend (a served model, the scripted one) to phrase
# the answer; a slow one falls back
LLM_MIN_S = 0.5
# an alternative's category must be a substitute for the asked one: MiniLM cosine of the two names
# (demo catalog: Headphones/Earbuds 0.67 pass; Headphones/Speakers 0.58, Tents/Backpacks 0.47,
# Kettles/Blenders 0.25 do not: "a tent for heavy rain" must not offer a backpack with a rain cover)
SUBSTITUTE_MIN = 0.6
PAUSED_TEXT = "A member of our team ({agent}) is replying to you in this conversation."
NOTHING_CHEAPER_TEXT = (
    "Nothing that matches is cheaper than {price}: what you saw already includes our lowest price. "
    "Could you loosen another filter (brand or colour)?"
)
LOOSEN_TEXT = "Nothing in the catalog matches all of that. Could you loosen a filter (price, brand or colour)?"


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
    alternative: bool = False  # from outside the asked-for category (``Assistant.alternative``)


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

    # -- one turn ----------------------------------------------------------------------------
    def respond(self, turn: Turn) -> Iterator[Event]:
        """Answer one shopper message; see the module docstring for the event order."""
        t0 = time.perf_counter()
        cid = turn.conversation_id
        message, refusal = self._admit(turn)
        if refusal is not None:
            yield refusal
            return
        timings = {s: 0.0 for s in STAGES}
        # 1. understand: the intent, references to shown items, the filters after this message
        u = self.understand(message, self.state(cid))
        timings["parse"] = time.perf_counter() - t0
        log.debug("intent=%s refs=%s changes=%s", u.intent, u.refs, u.changes)
        reply = replies.BY_INTENT.get(u.intent)
        if reply is not None:  # compare, product questions, reviews, hand-off, chit-chat: no search
            yield from self._logged(cid, u, reply(self, turn, message, u, timings, t0))
            return
        state = u.state
        # 2. retrieve: hybrid search under the conversation's filters, every filter enforced
        t = time.perf_counter()
        hits = self.retrieve(state)
        timings["retrieve"] = time.perf_counter() - t
        # 3. rank: the rating model personalised to this shopper; the team's pins first
        t = time.perf_counter()
        ranked = self._pinned_first(cid, state, self.rank(hits, self.user_context(turn.user_id, state, cid), state))
        top = ranked[: self.settings.cards_per_turn]
        unmatched = self.unmatched(state, [r.product for r in top]) if top else []
        alt = self.alternative(state, top, unmatched)
        if alt is not None:  # e.g. sport earbuds after "headphones for the gym"
            top = [*top, alt]
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
        self._log_candidates(turn, ranked, cards)
        # 4. answer: the LLM's text, validated sentence by sentence, else the template
        yield from self._logged(cid, u, self.answer(turn, message, u, timings, t0, top, cards, unmatched))

    def _admit(self, turn: Turn) -> tuple[str, Notice | None]:
        """The cleaned message, stored; or the Notice that answers it instead (too long,
        empty, or a person from the team has taken the conversation over)."""
        cid, raw = turn.conversation_id, turn.message or ""
        if len(raw) > self.settings.max_input_chars:
            self.store.add_message(cid, "user", A.clean(raw, 200), meta={"refused": "too_long", "chars": len(raw)})
            text = (
                f"Sorry, that message is too long for me ({len(raw)} characters; the limit is "
                f"{self.settings.max_input_chars}). Could you shorten it to the key things you need?"
            )
            self.store.add_message(cid, "assistant", text, meta={"intent": "refused", "state": self.state(cid).to_dict()})
            return "", Notice(text, kind="refused")
        message = A.clean(raw)
        if not message:
            return "", Notice("Tell me what you're looking for, e.g. “a quiet blender under $80”.", kind="refused")
        self.store.add_message(cid, "user", message)
        agent = self.store.taken_over_by(cid)
        if agent:
            return message, Notice(PAUSED_TEXT.format(agent=agent), kind="paused")
        return message, None

    def _logged(self, cid: str, u: Understood, events: Iterator[Event]) -> Iterator[Event]:
        """The events, passed through; the turn's timing breakdown is logged after its Answer."""
        final: Answer | None = None
        for ev in events:
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

    # -- understanding --------------------------------------------------------------------------
    def understand(self, message: str, state: State) -> Understood:
        """``understand.understand`` over this catalog (its parser, brands and shown products)."""
        propose = self._proposals if self.llm.capable else None
        return understand(message, state, self.shown(state), self.catalog.parse, self.brands(), propose,
                          vocabulary_of(self.catalog), self.catalog.embed)  # understand hook (issue 11)

    def _proposals(self, message: str) -> dict:
        """Filters a capable LLM proposes for the message, validated against the catalog."""
        from assistant.proposals import propose_filters

        store = self.catalog.store
        got = propose_filters(self.llm, message, self.brands(), store.categories(), store.colours())
        if got:
            log.debug("LLM proposed filters %s", got)
        return got

    def brands(self) -> list[str]:
        """The catalog's brands, longest first (so "Acme Pro" is matched before "Acme")."""
        if self._brands is None:
            self._brands = sorted(self.catalog.store.brands(), key=len, reverse=True)
        return self._brands

    def shown(self, state: State) -> list:
        """The products on screen after the last turn, in order."""
        return self.products(state.shown)

    def products(self, ids: list[str]) -> list:
        """Catalog products by id, in the given order; ids no longer in the catalog are skipped."""
        got = {p.id: p for p in self.catalog.store.get_many(list(ids))}
        return [got[i] for i in ids if i in got]

    # -- retrieve and rank ----------------------------------------------------------------
    def search_query(self, state: State) -> StructuredQuery:
        """The conversation's query as retrieval gets it. Categories go into the text, not the
        filter: catalogs often categorise only some products (``_allowed`` enforces them by
        category or title). The first colour is a filter before retrieval, so colour variants
        collapsed in the results are not lost; the colours also go into the text."""
        q = state.query
        words = [c for c in q.categories if c.lower().rstrip("s") not in q.text.lower()]
        return replace(
            q,
            text=" ".join([q.text, *words, *state.colours]).strip(),
            brands=list(q.brands),
            exclude_brands=list(q.exclude_brands),
            categories=[],
            exclude_ids=list(q.exclude_ids),
            attributes={"colour": state.colours[0]} if state.colours else {},
        )

    def _allowed(self, p, state: State) -> bool:
        """The filters, enforced here too: a stated price range or brand rule is never broken."""
        f = state.query
        if f.price_min is not None and (p.price is None or p.price < f.price_min):
            return False
        if f.price_max is not None and (p.price is None or p.price > f.price_max):
            return False
        if f.brands and (p.brand or "").lower() not in {b.lower() for b in f.brands}:
            return False
        if (p.brand or "").lower() in {b.lower() for b in f.exclude_brands}:
            return False
        if p.id in f.exclude_ids:
            return False
        if f.min_rating is not None and (p.average_rating or 0) < f.min_rating:
            return False
        if f.categories and not _in_categories(p, f.categories):
            return False
        if not attrs.allowed(p, state):  # understand hook (issue 11): "under 1 kg", "not a kettle"
            return False
        if state.colours:
            facts = facts_text(p)
            if not all(re.search(rf"\b{c}\b", facts) or (c == "grey" and "gray" in facts) for c in state.colours):
                return False
        return True

    def retrieve(self, state: State) -> list:
        """Hits that pass every filter; superlatives sort the relevant set over the whole catalog."""
        sort = state.query.sort
        sorted_ = sort != "relevance" or bool(state.order)  # understand hook (issue 11): attribute orders
        q = self.search_query(state)
        hits = self.catalog.search(q, k=200 if sorted_ else 50)
        if not hits and q.attributes:
            # the colour may live under a key the catalog's filter does not know
            # ("printing_colours"): search without it, _allowed checks the colour in the text
            hits = self.catalog.search(replace(q, attributes={}), k=200 if sorted_ else 50)
        hits = [h for h in hits if self._allowed(h.product, state) and _relevant(h)]
        hits = must_match(hits, state)  # understand hook (issue 11): "noise cancelling headphones"
        if sorted_ and hits:
            if not state.query.categories:
                # no category to scope the superlative: keep the clearly relevant hits only,
                # those matching the most query words ("toner", not a "ribbon cartridge")
                top = max(h.score for h in hits)
                most = max(len(h.matched) for h in hits)
                hits = [h for h in hits if h.score >= SUPERLATIVE_FLOOR * top and len(h.matched) >= most]
            if sort == "price_asc":
                hits.sort(key=lambda h: (h.product.price is None, h.product.price or 0))
            elif sort == "price_desc":
                hits.sort(key=lambda h: (h.product.price is None, -(h.product.price or 0)))
            elif sort == "rating_desc":
                hits.sort(key=lambda h: (-(h.product.average_rating or 0), -h.product.rating_count))
            if state.order:  # understand hook (issue 11): "the quietest", lacking the attribute last
                hits.sort(key=lambda h: attrs.order_key(h.product, state.order))
        return hits

    def user_context(self, user_id: str | None, state: State, conversation_id: str | None = None):
        """The ranker's view of the shopper: their catalog history plus their feedback, from every
        session when they are signed in (the latest opinion per product), else from this one."""
        base = None
        if user_id:
            with self._lock:
                base = self._users.get(user_id)
            if base is None:
                base = self.ranker.user_context(self.catalog.store, user_id)
                with self._lock:
                    self._users[user_id] = base
        history = list(base.history) if base else []
        rated = list(base.rated) if base else []
        feedback = {i: 5.0 for i in state.liked} | {i: 1.0 for i in state.disliked}
        if user_id or conversation_id:
            rows = self.store.feedback_rows(tuple(KIND_STARS), user_id=user_id,
                                            conversation_id=None if user_id else conversation_id)
            feedback |= {r["product_id"]: KIND_STARS[r["kind"]] for r in rows}
        for pid, stars in feedback.items():
            p = self.catalog.store.get(pid)
            if p is not None:
                history.append((p.title, stars))
                rated.append((pid, stars))  # the taste term learns from the shopper's thumbs too
        return UserContext(
            user_id=user_id,
            history=history,
            likes=list(base.likes) if base else [],
            dislikes=list(base.dislikes) if base else [],
            rated=rated,
        )

    def rank(self, hits: list, user, state: State) -> list[_Ranked]:
        if not hits:
            return []
        preds = {p.product_id: p for p in self.ranker.score(user, [h.product for h in hits])}
        weight = self.settings.rating_weight_browse if is_browse(state.query) else self.settings.rating_weight
        said = shoppers_words(state.query.text)
        out = []
        for h in hits:
            pred = preds.get(h.product.id)
            stars = pred.stars if pred else None
            why = []
            matched = [said.get(m, m) for m in h.matched if m not in FILLER]
            if matched:
                why.append("matches " + ", ".join(A.clean(m, 30) for m in matched[:3]))
            if pred and pred.explanation:
                why += [A.clean(e, 120) for e in pred.explanation[:2]]
            out.append(_Ranked(h.product, h.score, stars, fuse(h.score, stars, weight), why))
        if state.query.sort == "relevance" and not state.order:  # understand hook (issue 11)
            out.sort(key=lambda r: -r.score)
        if state.need:  # understand hook (issue 11): a need's bundle, one product per category first
            out = needs.interleave(out, state.query.categories)
        return out

    def _card(self, r: _Ranked, state: State) -> Card:
        p = r.product
        why = needs.serves(p, state) + attrs.facts(p, state.constraints, state.order) + list(r.why)  # understand hook (issue 11)
        if state.query.price_max is not None:
            why.append(f"within your budget of {A.fmt_price(state.query.price_max, p.currency)}")
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

    def simple_card(self, p, why: list[str] | None = None) -> Card:
        """A card for a product outside a search (comparisons, questions): no ranking reasons."""
        return self._card(_Ranked(p, 0.0, None, 0.0, why or []), State())

    def _pinned_first(self, cid: str, state: State, ranked: list[_Ranked]) -> list[_Ranked]:
        """Products a team member pinned to this conversation come first (when they pass the filters)."""
        pinned = [p for p in self.products(self.store.pinned(cid)) if self._allowed(p, state)]
        if not pinned:
            return ranked
        pinned_ids = {p.id for p in pinned}
        return [_Ranked(p, 1.0, None, 1.0, ["recommended by our team"]) for p in pinned] + [
            r for r in ranked if r.product.id not in pinned_ids
        ]

    def _log_candidates(self, turn: Turn, ranked: list[_Ranked], cards: list[Card]) -> None:
        """What was considered (for the agent console) and what was shown (impressions)."""
        cid = turn.conversation_id
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

    # -- answer ----------------------------------------------------------------------------------
    def answer(self, turn, message, u, timings, t0, top: list[_Ranked], cards: list[Card],
               unmatched: list[str] | None = None) -> Iterator[Event]:
        """The text beside the cards: validated LLM sentences (``writer``), else the template."""
        cid, state = turn.conversation_id, u.state
        products = [r.product for r in top]
        if u.notes and products:  # understand hook (issue 11): "We don't carry Zorblax" is said first
            yield TextDelta(" ".join(u.notes) + " ")
        if not products:
            text = A.template_answer([], {})
            f = state.query
            if f.price_max is not None or f.brands or state.colours or f.exclude_brands:
                text = LOOSEN_TEXT
            if u.cheaper_than is not None:  # the cheapest match was already on screen: say so rather than "loosen"
                text = NOTHING_CHEAPER_TEXT.format(price=A.fmt_price(u.cheaper_than))
            text = nothing_text(state) or text  # understand hook (issue 11): "... (under 1 kg). Could you loosen"
            text = " ".join([*u.notes, text])  # understand hook (issue 11)
            yield self.finish(cid, text, u, timings, t0, cards=cards, citations=[])
            return
        context = ("Filters now: " + "; ".join(u.changes) + ".") if u.changes else ""
        note = ""
        if unmatched:  # said first, whatever the LLM writes: "for the gym" must not look answered
            asked = " or ".join(state.query.categories)
            alt = (len(top), top[-1].product.categories[-1]) if top[-1].alternative else None
            note = A.unmatched_note(unmatched, asked, alt)
            context = (context + f" The shopper is told that none of the {asked or 'products'} mention "
                       f"{', '.join(unmatched)}: never claim they do.").strip()
            yield TextDelta(note + " ")
        messages = A.answer_messages(message, products, context)
        brands = self.brands()

        def problems(text: str) -> list[str]:
            return check(text, products, user_text=message, brands=brands).problems

        t = time.perf_counter()
        left = min(self.settings.llm_timeout_s, max(LLM_MIN_S, self.settings.turn_budget_s - (t - t0)))
        deadline = time.monotonic() + left
        written = yield from writer.write(self.llm, messages, problems, deadline, self.settings.llm_max_tokens)
        timings["validate"] = written.validate_s
        timings["generate"] = time.perf_counter() - t - written.validate_s
        text = f"{note} {written.text}" if note and written.text is not None else written.text
        if text is None:
            text = A.template_answer(products, {r.product.id: r.why for r in top}, u.changes, unmatched,
                                     " or ".join(state.query.categories))
            if written.problems:
                log.info("LLM text not grounded (%s): template answer", "; ".join(written.problems[:3]))
        text = " ".join([*u.notes, text])  # understand hook (issue 11)
        yield self.finish(cid, text, u, timings, t0, cards=cards, citations=[p.id for p in products], source=written.source)

    def alternative(self, state: State, top: list[_Ranked], unmatched: list[str]) -> _Ranked | None:
        """One product from a substitute category (``SUBSTITUTE_MIN``) of the same department that
        mentions every word the shown ones lack, within every other filter ("headphones for the
        gym": sport earbuds); None when there is none."""
        if not unmatched or not top or not state.query.categories or state.query.sort != "relevance":
            return None
        departments = {r.product.categories[0] for r in top if r.product.categories}
        loose = state.copy()
        loose.query.categories = []
        stems = {t for w in unmatched for t in tokenize(w)}
        shown = {r.product.id for r in top}
        for h in self.catalog.search(replace(self.search_query(loose), text=" ".join(unmatched)), k=20):
            p = h.product
            if p.id in shown or not p.categories or p.categories[0] not in departments or not stems <= set(h.matched):
                continue
            if self._allowed(p, loose) and self._substitute(p.categories[-1], state.query.categories):
                where = A.clean(p.categories[-1], 40)
                words = ", ".join(unmatched)
                return _Ranked(p, h.score, None, h.score, [f"matches {words} (from {where}, not {' or '.join(state.query.categories)})"],
                               alternative=True)
        return None

    def _substitute(self, category: str, asked: list[str]) -> bool:
        v = self.catalog.embed(category)
        return any(float(v @ self.catalog.embed(a)) >= SUBSTITUTE_MIN for a in asked)

    def unmatched(self, state: State, products: list) -> list[str]:
        """The shopper's words that no shown product's catalog data mentions (``grounding.unmatched_words``)."""
        f = state.query
        named = [*f.categories, *f.brands, *state.colours, *(str(v) for v in f.attributes.values())]
        index = self.catalog.bm25()
        return unmatched_words(f.text, named, products, lambda t: bool((index.scores([t]) > 0).any()))

    def finish(
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
        """Store the bot's answer (with the state after this turn) and return it as the Answer event."""
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

    # -- the agent console and the UI ---------------------------------------------------------
    def embed(self, texts: list[str]):
        """Sentence embeddings with the catalog's MiniLM (normalised), for review evidence."""
        from retrieval.models import load_embedder

        model = load_embedder(self.settings.embedding_model, self.settings.device)
        return model.encode(texts, normalize_embeddings=True, batch_size=64, show_progress_bar=False)

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

    # -- tools (API, MCP): one shot, no conversation stored ------------------------------------
    def find(self, request: str, user_id: str | None = None, k: int = 5) -> list[Card]:
        """Products for a request, as cards: parsed like a first chat message (its price, brand,
        colour and category filters enforced), ranked for ``user_id`` (None: not personalised)."""
        state = self.understand(A.clean(request, self.settings.max_input_chars), State()).state
        ranked = self.rank(self.retrieve(state), self.user_context(user_id, state), state)
        return [self._card(r, state) for r in ranked[: max(1, k)]]

    def product_facts(self, product_id: str) -> dict:
        """A product's catalog data, cleaned for display (untrusted text: tags and fences removed);
        KeyError when the catalog has no such product."""
        p = self.catalog.store.get(product_id)
        if p is None:
            raise KeyError(product_id)
        return {
            "product_id": p.id, "title": A.clean(p.title, 200), "brand": A.clean(p.brand or "", 80),
            "price": p.price, "currency": p.currency, "categories": [A.clean(c, 60) for c in p.categories],
            "description": A.clean(p.description, 1500), "features": [A.clean(f, 200) for f in p.features],
            "attributes": {A.clean(k, 60): A.clean(str(v), 120) for k, v in p.attributes.items()},
            "average_rating": p.average_rating, "rating_count": p.rating_count,
        }

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
        products = self.products([c["product_id"] for c in cands])
        if not products:
            state = self.state(conversation_id)
            products = self.shown(state)[:3]
        if not products:
            return "Hi, I'm here to help. Could you tell me a bit more about what you're looking for?"
        lines = [f"Hi, thanks for waiting. About “{A.clean(last_user, 120)}”, these look like the best fits:"]
        for i, p in enumerate(products):
            lines.append(f"[{i + 1}] {A.short_title(p)}, {A.fmt_price(p.price, p.currency)}, rated {A.fmt_rating(p)}")
        lines.append("Would you like me to compare them or check the reviews for you?")
        return "\n".join(lines)
