"""One assistant turn: understand → retrieve → rank → answer, as a stream of events.

``Assistant.respond(turn)`` yields ``Cards`` as soon as ranking is done, then the
answer text streamed as ``TextDelta`` (each chunk already checked by the grounding
validator), then one final ``Answer`` whose ``text`` is authoritative (if the LLM's
text failed the validator, the regenerated or template text replaces it). Refusals,
redirects, retries and "a person is replying" are ``Notice`` events; a request for a
person is a ``Handoff``.

Each stage has its module: ``understand`` (intent, references, the filters after the
message; called through ``Assistant.understand`` only), ``candidates`` (retrieval under
the filters, alternatives), this one (rank, cards, the stored answer), ``writer`` (the
LLM's text, validated) and ``replies`` (turns that need no search: compare, product
questions, reviews, hand-off, chit-chat). A turn travels as a ``turn.TurnContext``. The
console and tool operations are the ``desk`` (``Assistant.desk``).

Example (the scripted backend over the bundled demo catalog)::

    a = Assistant.from_settings(Settings(llm_backend="scripted"))
    cid = a.start("u1")
    for event in a.respond(Turn(cid, "u1", "a quiet blender under $80")):
        print(event)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

from assistant import (
    answers,
    needs,
    policies,
    product_qa,
    replies,
    superlatives,
    writer,
)
from assistant import attributes as attrs  # attribute facts on cards
from assistant.candidates import Candidates, Ranked, allowed, ordered
from assistant.carryover import nothing_text  # understand hook (issue 11)
from assistant.desk import Desk
from assistant.events import Answer, Card, Cards, Event, Notice, TextDelta
from assistant.experiment import CONTROL, Experiment, arm_key
from assistant.grounding import FILLER, check, shoppers_words
from assistant.llm import ChatModel, load_llm
from assistant.store import ConversationStore, UnknownConversation
from assistant.turn import Turn, TurnContext
from assistant.understand import CHEAPER, RuleUnderstander, State, Understood, is_browse, thrifty
from assistant.vocabulary import vocabulary_of  # understand hook (issue 11)
from ranker.blend import CoRatingSource
from ranker.live import LiveRanker
from ranker.scoring import KIND_STARS, UserContext, fuse
from ranker.serve import load_ranker, load_version
from retrieval.search import Hit, open_catalog
from shopassist.ranking import cap_brands
from shopassist.settings import Settings

__all__ = ["Assistant", "Turn"]  # Turn lives in assistant.turn; callers import it from here too

log = logging.getLogger("assistant")
# after "We don't carry X": other products shown, or none
INSTEAD_TEXT = "Here is what we have instead."
SOMETHING_ELSE_TEXT = "Is there something else I can help you find?"

# the LLM's text must be done Settings.turn_budget_s after the message arrived (its checked
# sentences so far are kept, else the template); but when search alone took that long, the LLM
# still gets this much: enough for a fast backend (a served model, the scripted one) to phrase
# the answer; a slow one falls back
LLM_MIN_S = 0.5
# the capable LLM's filter proposals (before the search) may take this share of turn_budget_s: a
# stalled or refusing server then costs the turn 1.1 s here and the rest at the answer, and the
# shopper still gets cards and the template within the budget (tests/assistant/test_llm_faults.py);
# not measured against a capable server's real proposal time, which a larger budget accommodates
PROPOSALS_SHARE = 0.4
PAUSED_TEXT = "A member of our team ({agent}) is replying to you in this conversation."
NOTHING_CHEAPER_TEXT = (
    "Nothing that matches is cheaper than {price}: what you saw already includes our lowest price."
)
# the vector store (a Chroma server) is down: the cards come from BM25 alone (retrieval.search)
SEARCH_DEGRADED_TEXT = ("Our product search is running in a simpler mode right now (matching your words only), "
                        "so these results may be less precise than usual.")
LOOSEN_TEXT = "Nothing in the catalog matches all of that. Could you loosen a filter (price, brand or colour)?"
# "a cheap laptop": the median price of this many most relevant hits caps the search (a screenful of
# cards is 4; 20 keeps the median about the kind asked for, not the long tail of loose matches) when
# at least THRIFTY_MIN of them have a price (fewer: no cap, the cards say their prices)
THRIFTY_TOP = 20
THRIFTY_MIN = 4
# a budget over products the catalog lists without prices (Amazon 2018 Scientific has none)
UNPRICED_TEXT = "We don't list prices for these, so I couldn't check them against your budget."
# "cheaper?" when none of the cards on screen has a price
CHEAPER_UNPRICED_TEXT = "We don't list prices for these, so I can't tell which are cheaper."


class Assistant:
    """The turn pipeline over a catalog, a ranker, an LLM and a conversation store; the
    console and tool operations over the same parts are its ``desk``."""

    def __init__(self, settings: Settings, catalog, ranker, llm: ChatModel, store: ConversationStore,
                 candidate=None):  # fmt: skip
        self.settings = settings
        self.catalog = catalog
        self.ranker = ranker
        # an A/B test: arm B (a Settings.ab_split share of shoppers) is ranked by ``candidate``
        self.rankers = {CONTROL: ranker} | ({"B": candidate} if candidate is not None else {})
        self.experiment = None
        if candidate is not None:
            self.experiment = Experiment(candidate.version or settings.ab_candidate or "candidate", settings.ab_split)
            store.arm_of = self.arm  # every event the store writes carries the shopper's arm
        self.llm = llm
        self.store = store
        self.candidates = Candidates(catalog)
        # the catalog's vocabulary, product types and need phrases, built in the background so the
        # first shopper does not wait for them (Icecat's 19k products: seconds each)
        threading.Thread(target=self._warm_understanding, name="vocabulary", daemon=True).start()
        self.desk = Desk(store, self.candidates, ranker, self)
        self._brands: list[str] | None = None
        self._users: dict[str, object] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, llm: ChatModel | None = None) -> "Assistant":
        """Open the catalog, the ranker, the LLM backend and the store named by settings.

        The ranker follows the models dir (``ranker.live.LiveRanker``: a promoted or rolled-back
        version is served without a restart), and every version and arm blends with one
        ``CoRatingSource`` holding the catalog's reviews and the shoppers' live positive events."""
        catalog = open_catalog(settings)
        store = ConversationStore(settings.events_db_url)
        co = CoRatingSource(catalog.store, live_fn=store.co_rating_events, ttl_s=settings.coratings_ttl_s)
        candidate = load_version(settings, settings.ab_candidate, catalog.store, co) if settings.ab_candidate else None
        ranker = LiveRanker(settings, lambda: load_ranker(settings, catalog.store, co_ratings=co), settings.ranker_reload_s)
        return cls(settings, catalog, ranker, llm or load_llm(settings), store, candidate)

    # -- A/B of ranker versions (assistant.experiment) -------------------------------------------
    def arm(self, user_id: str | None, conversation_id: str | None) -> str:
        """The shopper's arm ("A" without an experiment): from their id, else the conversation's
        shopper, else the conversation (a guest), so a card's thumb lands in the arm that ranked it."""
        if self.experiment is None:
            return CONTROL
        if not user_id and conversation_id:
            try:
                user_id = self.store.conversation_user(conversation_id)
            except UnknownConversation:
                user_id = None
        return self.experiment.arm(user_id, conversation_id)

    def ranker_for(self, user_id: str | None, conversation_id: str | None):
        """The ranker serving this shopper: arm B's candidate or the current version (the one
        loaded now: a turn keeps it to its end even if a newer version is swapped in meanwhile)."""
        ranker = self.rankers[self.arm(user_id, conversation_id)]
        return ranker.current if isinstance(ranker, LiveRanker) else ranker

    # -- conversations ---------------------------------------------------------------
    def start(self, user_id: str | None, surface: str = "chat") -> str:
        """A new conversation id."""
        return self.store.start_conversation(user_id, surface)

    def state(self, conversation_id: str) -> State:
        """The conversation state after the last bot answer (read from the stored messages:
        ``respond`` reads it once per turn)."""
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
        # 1. understand: the intent, references to shown items, the filters after this message
        before = self.state(cid)  # the one read of the stored state this turn
        shown_before, focus_before = list(before.shown), before.focus
        ctx = TurnContext(turn, message, self.understand(message, before), t0)
        ctx.timings["parse"] = time.perf_counter() - t0
        u = ctx.understood
        log.debug("intent=%s refs=%s changes=%s", u.intent, u.refs, u.changes)
        # qa hooks: shop-policy questions, "which one is the lightest?" over the shown products, "in pounds?"
        reply = (replies.BY_INTENT[u.intent] if u.intent in replies.NO_HOOKS
                 else (product_qa.route(self, ctx) or superlatives.route(self, ctx) or policies.route(self, ctx)
                       or replies.BY_INTENT.get(u.intent)))
        if reply is not None:  # compare, product questions, reviews, hand-off, chit-chat: no search
            yield from self._logged(ctx, reply(self, ctx))
            return
        state, timings = ctx.state, ctx.timings
        # 2. retrieve: hybrid search under the conversation's filters, every filter enforced
        t = time.perf_counter()
        hits = ([Hit(p, 1.0) for p in self.products(u.variant)] if u.variant  # understand hook (issue 11): "in black?"
                else self.candidates.retrieve(state))
        if not hits and not u.variant and u.cheaper_than is None:
            hits = self._unpriced(ctx)  # "a soldering iron under 40" where no soldering iron has a price
        elif u.intent == "find" and thrifty(message) and not u.variant:
            hits = self._thrifty(ctx, hits)  # "a cheap laptop": the lower half of the relevant prices
        if u.intent == "refine" and u.cheaper_than is None and CHEAPER.search(message):
            before_cards = self.products(shown_before)
            if before_cards and all(p.price is None for p in before_cards):
                u.notes.append(CHEAPER_UNPRICED_TEXT)  # "cheaper?" over cards without prices: said, not ignored
        timings["retrieve"] = time.perf_counter() - t
        # 3. rank: the rating model personalised to this shopper; the team's pins first
        t = time.perf_counter()
        ranker = self.ranker_for(turn.user_id, cid)  # the shopper's A/B arm, or the current version
        user = self.user_context(turn.user_id, state, cid, ranker)
        ranked = self._pinned_first(cid, state, self.rank(hits, user, state, ranker))
        top = ranked[: self.settings.cards_per_turn]
        unmatched = self.candidates.unmatched(state, [r.product for r in top]) if top else []
        alt = self.candidates.alternative(state, top, unmatched)
        if alt is not None:  # e.g. sport earbuds after "headphones for the gym"
            top = [*top, alt]
        timings["rank"] = time.perf_counter() - t
        cards = [self._card(r, state) for r in top]
        if cards:
            state.shown = [c.product_id for c in cards]
            state.focus = state.shown[0]
        else:  # nothing matched: the earlier cards stay on screen, so references still point at them
            state.shown, state.focus = shown_before, focus_before
        timings["first_card"] = time.perf_counter() - t0
        yield Cards(cards)
        if self.catalog.dense_down:  # said after the cards: they are still the best BM25 found
            yield Notice(SEARCH_DEGRADED_TEXT, kind="degraded")
        self._log_candidates(turn, ranked, cards, ranker)
        # 4. answer: the LLM's text, validated sentence by sentence, else the template
        yield from self._logged(ctx, self.answer(ctx, top, cards, unmatched))

    def _thrifty(self, ctx: TurnContext, hits: list[Hit]) -> list[Hit]:
        """ "A cheap laptop", "nothing too expensive": with no budget or order given, the hits priced at
        most the median price of those among the ``THRIFTY_TOP`` most relevant that are of the kind
        asked for (``_same_kind``), that kind first, else in the same order; the cap joins the
        conversation's filters (so "cheaper?" and later turns keep it) and the answer says it."""
        q = ctx.state.query
        if q.price_max is not None or q.price_min is not None or q.sort != "relevance":
            return hits
        same = self._same_kind(ctx.state, hits[:THRIFTY_TOP])
        alike = [h for h, ok in zip(hits[:THRIFTY_TOP], same) if ok]
        prices = sorted(h.product.price for h in alike if h.product.price is not None)
        if len(prices) < THRIFTY_MIN:
            return hits
        cap = prices[(len(prices) - 1) // 2]  # the lower median: a price some relevant product has
        kept = [h for h in hits if h.product.price is not None and h.product.price <= cap]
        # the kind asked for first ("an affordable monitor": monitors, then cheaper monitor cables)
        ours = self._same_kind(ctx.state, kept)
        kept = [h for h, ok in zip(kept, ours) if ok] + [h for h, ok in zip(kept, ours) if not ok]
        q.price_max = cap
        ctx.understood.changes.append(f"at most {answers.fmt_price(cap)}, the lower half of these prices")
        return kept

    def _same_kind(self, state: State, hits: list[Hit]) -> list[bool]:
        """Per hit, whether it is of the kind asked for: its title names the conversation's kind
        (``State.kind``) as what it is (``carryover.names_kind`` 2: a monitor, not a "Monitor
        HD15 cable"), else it has the best hit's leaf category; all True when neither is known."""
        from assistant.carryover import names_kind

        if state.kind:
            head = state.kind.split()[-1]
            return [names_kind(h.product.title, head) == 2 for h in hits]
        leaf = hits[0].product.categories[-1] if hits and hits[0].product.categories else None
        return [leaf is None or (bool(h.product.categories) and h.product.categories[-1] == leaf) for h in hits]

    def _unpriced(self, ctx: TurnContext) -> list[Hit]:
        """With a budget that leaves no hit: the hits without it, when none of them lists a price
        (the catalog does not price this kind, so no product can be held to the budget); the
        answer says so (``UNPRICED_TEXT``). Empty when some of them are priced (above the budget)."""
        q = ctx.state.query
        if q.price_max is None and q.price_min is None:
            return []
        loose = ctx.state.copy()
        loose.query = replace(q, price_max=None, price_min=None)
        hits = self.candidates.retrieve(loose)
        if not hits or any(h.product.price is not None for h in hits[: self.settings.cards_per_turn * 3]):
            return []
        ctx.understood.notes.append(UNPRICED_TEXT)
        return [h for h in hits if h.product.price is None]

    def _admit(self, turn: Turn) -> tuple[str, Notice | None]:
        """The cleaned message, stored; or the Notice that answers it instead (too long,
        empty, or a person from the team has taken the conversation over)."""
        cid, raw = turn.conversation_id, turn.message or ""
        if len(raw) > self.settings.max_input_chars:
            self.store.add_message(cid, "user", answers.clean(raw, 200), meta={"refused": "too_long", "chars": len(raw)})
            text = (
                f"Sorry, that message is too long for me ({len(raw)} characters; the limit is "
                f"{self.settings.max_input_chars}). Could you shorten it to the key things you need?"
            )
            self.store.add_message(cid, "assistant", text, meta={"intent": "refused", "state": self.state(cid).to_dict()})
            return "", Notice(text, kind="refused")
        message = answers.clean(raw)
        if not message:
            return "", Notice("Tell me what you're looking for, e.g. “a quiet blender under $80”.", kind="refused")
        self.store.add_message(cid, "user", message)
        agent = self.store.taken_over_by(cid)
        if agent:
            return message, Notice(PAUSED_TEXT.format(agent=agent), kind="paused")
        return message, None

    def _logged(self, ctx: TurnContext, events: Iterator[Event]) -> Iterator[Event]:
        """The events, passed through; the turn's timing breakdown is logged after its Answer."""
        final: Answer | None = None
        for ev in events:
            if isinstance(ev, Answer):
                final = ev
            yield ev
        if final is not None:
            log.info(
                "turn %s intent=%s %s",
                ctx.cid[:8],
                ctx.understood.intent,
                " ".join(f"{k}={v * 1000:.0f}ms" for k, v in final.timings.items()),
            )

    # -- understanding --------------------------------------------------------------------------
    def _warm_understanding(self) -> None:
        from assistant.needs import phrase_index
        from assistant.product_types import types_of

        try:
            vocab = vocabulary_of(self.catalog)
            types_of(self.catalog)
            phrase_index(vocab, self.catalog.embed, self.embed)
        except Exception as e:  # a warm-up only (or cut short by the process exiting): the first turn builds
            log.info("warming the catalog's understanding stopped: %s", e)  # what is missing and reports errors

    def understand(self, message: str, state: State) -> Understood:
        """``understand.understand`` over this catalog (its parser, brands and shown products).

        The pipeline's only call into understanding: a different understander plugs in here."""
        propose = self._proposals if self.llm.capable else None
        understander = RuleUnderstander(self.catalog.parse, self.brands(), self.catalog.embed, propose,
                                       self.embed)  # understand hook (issue 11); batched: needs' title phrases
        u = understander(message, state, self.shown(state), vocabulary_of(self.catalog))  # understand hook (issue 11)
        if u.intent != "ask" and u.state is not state:
            u.state.asked = None  # "and the second?" repeats a product question only right after one
        return u

    def _proposals(self, message: str) -> dict:
        """Filters a capable LLM proposes for the message, validated against the catalog."""
        from assistant.proposals import propose_filters

        store = self.catalog.store
        deadline = time.monotonic() + PROPOSALS_SHARE * self.settings.turn_budget_s
        got = propose_filters(self.llm, message, self.brands(), store.categories(), store.colours(),
                              vocabulary_of(self.catalog), deadline=deadline)  # understand hook (issue 11): attributes too
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
        return self.candidates.shown(state)

    def products(self, ids: list[str]) -> list:
        """Catalog products by id, in the given order; ids no longer in the catalog are skipped."""
        return self.candidates.products(ids)

    # -- rank ----------------------------------------------------------------------------------
    def user_context(self, user_id: str | None, state: State, conversation_id: str | None = None, ranker=None):
        """The ranker's view of the shopper: their catalog history plus their feedback, from every
        session when they are signed in (the latest opinion per product), else from this one."""
        base = None
        if user_id:
            with self._lock:
                base = self._users.get(user_id)
            if base is None:
                base = (ranker or self.ranker).user_context(self.catalog.store, user_id)
                with self._lock:
                    self._users[user_id] = base
        history = list(base.history) if base else []
        rated = list(base.rated) if base else []
        feedback = {i: 5.0 for i in state.liked} | {i: 1.0 for i in state.disliked}
        if user_id or conversation_id:
            rows = self.store.feedback_rows(tuple(KIND_STARS), user_id=user_id,
                                            conversation_id=None if user_id else conversation_id)  # fmt: skip
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
            key=arm_key(user_id, conversation_id),  # their own live co-ratings do not count for them (ranker.blend)
        )

    def rank(self, hits: list, user, state: State, ranker=None) -> list[Ranked]:
        """Hits ordered by relevance fused with ``ranker``'s stars, or its blended ``show`` term
        (``ranker.blend``; default ranker: the current version)."""
        if not hits:
            return []
        preds = {p.product_id: p for p in (ranker or self.ranker).score(user, [h.product for h in hits])}
        weight = self.settings.rating_weight_browse if is_browse(state.query) else self.settings.rating_weight
        said = shoppers_words(state.query.text)
        out = []
        for h in hits:
            pred = preds.get(h.product.id)
            stars = pred.stars if pred else None
            why = []
            matched = [said.get(m, m) for m in h.matched if m not in FILLER]
            if matched:
                why.append("matches " + ", ".join(answers.clean(m, 30) for m in matched[:3]))
            if pred and pred.explanation:
                why += [answers.clean(e, 120) for e in pred.explanation[:2]]
            # show: stars blended with co-ratings and popularity (ranker.blend), bounded like the stars term
            out.append(Ranked(h.product, h.score, stars, fuse(h.score, stars, weight, show=pred.show if pred else None), why))
        if not ordered(state):  # a superlative (or an attribute order) keeps the order sort_hits gave
            out.sort(key=lambda r: -r.score)
        if state.need:  # understand hook (issue 11): a need's bundle, one product per category first
            out = needs.interleave(out, state.query.categories)
        if self.settings.brand_cap and not ordered(state) and not state.query.brands:  # a named brand is asked for
            by_id = {r.product.id: r for r in out}
            brands = {r.product.id: (r.product.brand or "").casefold() or None for r in out}
            out = [by_id[i] for i in cap_brands([r.product.id for r in out], brands, self.settings.brand_cap,
                                                self.settings.cards_per_turn)]
        return out

    def _card(self, r: Ranked, state: State) -> Card:
        p = r.product
        why = needs.serves(p, state) + attrs.facts(p, state.constraints, state.order) + list(r.why)  # understand hook (issue 11)
        if state.query.price_max is not None:
            why.append(f"within your budget of {answers.fmt_price(state.query.price_max, p.currency)}")
        return Card(
            product_id=p.id,
            title=answers.clean(p.title, 160),
            price=p.price,
            currency=p.currency,
            stars_predicted=round(r.stars, 2) if r.stars is not None else None,
            average_rating=p.average_rating,
            rating_count=p.rating_count,
            image_url=p.image_urls[0] if p.image_urls else None,
            why=why[:4],
            brand=answers.clean(p.brand) if p.brand else None,
            url=(p.attributes.get("url") if isinstance(p.attributes, dict) else None),
        )

    def simple_card(self, p, why: list[str] | None = None) -> Card:
        """A card for a product outside a search (comparisons, questions): no ranking reasons."""
        return self._card(Ranked(p, 0.0, None, 0.0, why or []), State())

    def _pinned_first(self, cid: str, state: State, ranked: list[Ranked]) -> list[Ranked]:
        """Products a team member pinned to this conversation come first (when they pass the filters)."""
        pinned = [p for p in self.products(self.store.pinned(cid)) if allowed(p, state)]
        if not pinned:
            return ranked
        pinned_ids = {p.id for p in pinned}
        return [Ranked(p, 1.0, None, 1.0, ["recommended by our team"]) for p in pinned] + [
            r for r in ranked if r.product.id not in pinned_ids
        ]

    def _log_candidates(self, turn: Turn, ranked: list[Ranked], cards: list[Card], ranker=None) -> None:
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
        # which model ranked them: the turn's own ranker (a newer version may have been swapped in since)
        version = (ranker or self.ranker_for(turn.user_id, cid)).version or "prior"
        for i, c in enumerate(cards):
            self.store.log_event("impression", cid, turn.user_id, c.product_id, {"rank": i + 1, "ranker": version})

    def health(self) -> dict:
        """The search and LLM backends as the last calls found them (``Desk.health``)."""
        search, llm = self.catalog.health(), self.llm.health()
        degraded = []
        if search["search"] != "hybrid":
            degraded.append(f"search: BM25 only, the vector store at {search['where']} is down")
        if llm["state"] != "ok":
            degraded.append(f"LLM: {llm['state']}, answers use the template")
        return {"search": search, "llm": llm, "degraded": degraded}

    def cards_for(self, request: str, user_id: str | None, k: int) -> list[Card]:
        """One shot, no conversation stored (``Desk.find``): the request understood like a first
        message, retrieved and ranked for ``user_id``; the best ``k`` (at least one) as cards."""
        state = self.understand(answers.clean(request, self.settings.max_input_chars), State()).state
        ranker = self.ranker_for(user_id, None)
        ranked = self.rank(self.candidates.retrieve(state), self.user_context(user_id, state, None, ranker), state, ranker)
        return [self._card(r, state) for r in ranked[: max(1, k)]]

    # -- answer ----------------------------------------------------------------------------------
    def answer(self, ctx: TurnContext, top: list[Ranked], cards: list[Card],
               unmatched: list[str] | None = None) -> Iterator[Event]:  # fmt: skip
        """The text beside the cards: validated LLM sentences (``writer``), else the template."""
        u, state, message = ctx.understood, ctx.state, ctx.message
        products = [r.product for r in top]
        lead = [*u.notes, *([INSTEAD_TEXT] if u.lacking else [])]
        if lead and products:  # understand hook (issue 11): "We don't carry Zorblax" is said first
            yield TextDelta(" ".join(lead) + " ")
        if not products:
            text = answers.template_answer([], {})
            f = state.query
            if f.price_max is not None or f.brands or state.colours or f.exclude_brands:
                text = LOOSEN_TEXT
            if u.cheaper_than is not None:  # the cheapest match was already on screen: say so rather than "loosen"
                text = NOTHING_CHEAPER_TEXT.format(price=answers.fmt_price(u.cheaper_than))
                # only a filter the shopper set can be loosened; else ask what else would help
                text += " " + ("Could you loosen another filter (brand or colour)?"
                               if f.brands or f.exclude_brands or state.colours or state.constraints else SOMETHING_ELSE_TEXT)
            if u.cheaper_than is None:  # "cheaper?" is answered by the price already on screen, not the bounds
                text = nothing_text(state) or text  # understand hook (issue 11): "... (under 1 kg). Could you loosen"
            if u.lacking:  # "do you sell Milwaukee": that is the answer, not "nothing matches"
                text = SOMETHING_ELSE_TEXT
            text = " ".join([*u.notes, text])  # understand hook (issue 11)
            yield self.finish(ctx, text, cards=cards, citations=[])
            return
        context = ("Filters now: " + "; ".join(u.changes) + ".") if u.changes else ""
        note = ""
        if unmatched:  # said first, whatever the LLM writes: "for the gym" must not look answered
            groups = vocabulary_of(self.catalog).groups  # a shared description: its own words, not the department's
            asked = " or ".join(groups.get(c, c) for c in state.query.categories)
            alt = (len(top), top[-1].product.categories[-1]) if top[-1].alternative else None
            note = answers.unmatched_note(unmatched, asked, alt)
            context = (context + f" The shopper is told that none of the {asked or 'products'} mention "
                       f"{', '.join(unmatched)}: never claim they do.").strip()  # fmt: skip
            yield TextDelta(note + " ")
        messages = answers.answer_messages(message, products, context)
        brands = self.brands()

        def problems(text: str) -> list[str]:
            return check(text, products, user_text=message, brands=brands).problems

        t = time.perf_counter()
        left = min(self.settings.llm_timeout_s, max(LLM_MIN_S, self.settings.turn_budget_s - (t - ctx.t0)))
        deadline = time.monotonic() + left
        if self.phrasing():
            written = yield from writer.write(self.llm, messages, problems, deadline, self.settings.llm_max_tokens)
        else:  # the template says it: no time spent on text that would not be used
            written = writer.Written()
        ctx.timings["validate"] = written.validate_s
        ctx.timings["generate"] = time.perf_counter() - t - written.validate_s
        text = f"{note} {written.text}" if note and written.text is not None else written.text
        if text is None:
            text = answers.template_answer(products, {r.product.id: r.why for r in top}, u.changes, unmatched,
                                           " or ".join(state.query.categories), refined=u.intent == "refine")  # fmt: skip
            if written.problems:
                log.info("LLM text not grounded (%s): template answer", "; ".join(written.problems[:3]))
        text = " ".join([*lead, text])  # understand hook (issue 11)
        yield self.finish(ctx, text, cards=cards, citations=[p.id for p in products], source=written.source)

    def kinds_sold(self, n: int = 2) -> list[str]:
        """This shop's biggest kinds of product, as a shopper names them (``product_types.kinds_sold``)."""
        from assistant.product_types import kinds_sold

        return kinds_sold(self.catalog, n)

    def phrasing(self) -> bool:
        """Whether the LLM phrases this assistant's search answers (``Settings.llm_phrasing``)."""
        mode = self.settings.llm_phrasing
        return mode == "always" or (mode == "auto" and self.llm.phrases)

    def finish(self, ctx: TurnContext, text: str, cards: list[Card] | None = None, source: str = "template",
               **kw) -> Answer:  # fmt: skip
        """Store the bot's answer (with the state after this turn) and return it as the Answer event."""
        ctx.timings["total"] = time.perf_counter() - ctx.t0
        u = ctx.understood
        ans = Answer(text=text, timings={k: round(v, 4) for k, v in ctx.timings.items()}, intent=u.intent, **kw)
        self.store.add_message(
            ctx.cid,
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

    # -- what replies may use besides the above (``turn.Services``) -------------------------------
    def reviews(self, product_id: str, limit: int) -> list:
        """A product's reviews from the catalog (untrusted text), at most ``limit``."""
        return self.catalog.store.reviews_for(product_id, limit=limit)

    def embed(self, texts: list[str]):
        """Sentence embeddings with the catalog's MiniLM (normalised), for review evidence."""
        from retrieval.models import load_embedder

        model = load_embedder(self.settings.embedding_model, self.settings.device)
        return model.encode(texts, normalize_embeddings=True, batch_size=64, show_progress_bar=False)

    def request_handoff(self, conversation_id: str, reason: str) -> None:
        """Flag the conversation for a person (the console's queue shows it first)."""
        self.store.request_handoff(conversation_id, reason=reason)

    def log_event(self, kind: str, conversation_id: str, user_id: str | None, product_id: str | None = None,
                  payload: dict | None = None) -> int:  # fmt: skip
        return self.store.log_event(kind, conversation_id, user_id, product_id, payload)
