"""The desk: what the agent console, the chat page's buttons and the MCP tools do besides
a shopper's turn. The UI asks the desk, never the conversation store.

Conversations (queue, transcript, status, the last turn's candidates), a person's part in
them (take over, hand back, reply, pin a product, a suggested reply), shopper feedback, the
engagement figures, and one-shot tools (``find`` products, ``product_facts``, the shoppers
to pick from and a shopper's ``profile``).

The desk is built by ``chat.Assistant`` over its parts (``assistant.desk``); ``find`` and
the conversation state come from the pipeline through ``Pipeline``, so this module does
not import ``chat``.
"""

from __future__ import annotations

import json
from typing import Protocol

from assistant import answers
from assistant.candidates import Candidates
from assistant.events import Card
from assistant.store import ConversationStore, ConversationSummary, Message
from assistant.throttles import AgentSessions, SharedLogins, SharedRates
from assistant.understand import State


class Pipeline(Protocol):
    """The turn pipeline's part in the desk (``chat.Assistant`` implements it)."""

    def state(self, conversation_id: str) -> State: ...

    def cards_for(self, request: str, user_id: str | None, k: int) -> list[Card]: ...

    def health(self) -> dict: ...


class Desk:
    """Console and tool operations over a conversation store, a catalog and a ranker."""

    def __init__(self, store: ConversationStore, candidates: Candidates, ranker, pipeline: Pipeline):
        self.store = store
        self._candidates = candidates
        self.catalog = candidates.catalog
        self.ranker = ranker
        self.pipeline = pipeline
        # what every replica of the shop must agree on, counted in the store (assistant.throttles)
        self.rates = SharedRates(store)
        self.agent_sessions = AgentSessions(store)

    def logins(self, max_failures: int, backoff_s: float) -> SharedLogins:
        """The agent login throttle, counted in the store: one count for every replica."""
        return SharedLogins(self.store, max_failures, backoff_s)

    # -- conversations ---------------------------------------------------------------------------
    def queue(self, limit: int | None = None) -> list[ConversationSummary]:
        """Open conversations, those waiting for a person first (the first ``limit``)."""
        return self.store.queue(limit)

    def shown_products(self, conversation_id: str) -> set[str]:
        """Products the conversation was shown: the only ones its card actions may name."""
        return self.store.shown_products(conversation_id)

    def withdraw_handoff(self, conversation_id: str) -> None:
        """Take a hand-off request off the queue (the caller is over their hand-off quota)."""
        self.store.withdraw_handoff(conversation_id)

    def has_conversation(self, conversation_id: str) -> bool:
        return self.store.has_conversation(conversation_id)

    def messages(self, conversation_id: str, since_id: int = 0) -> list[Message]:
        """The transcript (messages with id > since_id), oldest first."""
        return self.store.messages(conversation_id, since_id=since_id)

    def conversation_user(self, conversation_id: str) -> str | None:
        return self.store.conversation_user(conversation_id)

    def handoff_requested(self, conversation_id: str) -> bool:
        return self.store.handoff_requested(conversation_id)

    def taken_over_by(self, conversation_id: str) -> str | None:
        """The team member answering this conversation (None: the bot)."""
        return self.store.taken_over_by(conversation_id)

    def pinned(self, conversation_id: str) -> list[str]:
        return self.store.pinned(conversation_id)

    def candidates(self, conversation_id: str) -> list[dict]:
        """What the last turn considered, best first (product_id, title, score, stars, final, explanation)."""
        return self.store.candidates(conversation_id)

    def engagement(self) -> dict:
        """Conversations per hour and the engagement rates (``ConversationStore.engagement``)."""
        return self.store.engagement()

    def health(self) -> dict:
        """The backends as the last turns found them: ``{"search": Catalog.health(), "llm": ChatModel.health(),
        "degraded": [what is degraded, in words]}`` (the console's status line, ``/healthz/backends``)."""
        return self.pipeline.health()

    def ab(self) -> dict:
        """The A/B test's per-arm rates with intervals (``assistant.experiment.ab_report``)."""
        from assistant.experiment import ab_report

        return ab_report(self.store.events())

    # -- a person in the conversation ------------------------------------------------------------
    def take_over(self, conversation_id: str, agent: str) -> None:
        """``agent`` answers from now on; the bot stays quiet until ``hand_back``."""
        self.store.take_over(conversation_id, agent)

    def hand_back(self, conversation_id: str) -> None:
        self.store.hand_back(conversation_id)

    def pin(self, conversation_id: str, product_id: str) -> None:
        """Show ``product_id`` first in the shopper's next answers (when it passes their filters)."""
        self.store.pin_product(conversation_id, product_id)

    def agent_reply(self, conversation_id: str, agent: str, text: str) -> int:
        """A person's message in the conversation (shown to the shopper as from the team).

        Replying takes the conversation over if nobody has: otherwise the bot would talk
        over the agent."""
        if self.store.taken_over_by(conversation_id) is None:
            self.store.take_over(conversation_id, agent)
        return self.store.add_message(conversation_id, "agent", answers.clean(text), meta={"agent": agent})

    def suggest_reply(self, conversation_id: str) -> str:
        """A grounded draft for the agent: the answer to the shopper's last message (``drafts``),
        else the last question and the products last considered."""
        from assistant.drafts import draft_reply  # qa hook: address the shopper's last message first

        draft = draft_reply(self.pipeline, conversation_id)
        if draft:
            return draft
        msgs = self.store.messages(conversation_id)
        last_user = next((m.text for m in reversed(msgs) if m.role == "user"), "")
        cands = self.store.candidates(conversation_id)[:3]
        products = self._candidates.products([c["product_id"] for c in cands])
        if not products:
            products = self._candidates.shown(self.pipeline.state(conversation_id))[:3]
        if not products:
            return "Hi, I'm here to help. Could you tell me a bit more about what you're looking for?"
        lines = [f"Hi, thanks for waiting. About “{answers.clean(last_user, 120)}”, these look like the best fits:"]
        for i, p in enumerate(products):
            price, rating = answers.fmt_price(p.price, p.currency), answers.fmt_rating(p)
            lines.append(f"[{i + 1}] {answers.short_title(p)}, {price}, rated {rating}")
        lines.append("Would you like me to compare them or check the reviews for you?")
        return "\n".join(lines)

    # -- the shopper -------------------------------------------------------------------------------
    def feedback(
        self, conversation_id: str, user_id: str | None, kind: str, product_id: str | None = None,
        payload: dict | None = None,
    ) -> int:  # fmt: skip
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
                 for u in personas if u["id"] in known]  # fmt: skip
        return users or [{"id": uid, "name": uid, "persona": ""} for uid in reviewers[:10]]

    def profile(self, user_id: str) -> dict:
        """What the ranker knows about a shopper: rated history and liked/disliked aspects."""
        ctx = self.ranker.user_context(self.catalog.store, user_id)
        names = {u["id"]: u for u in self.demo_users()}
        return {
            "user_id": user_id,
            "name": names.get(user_id, {}).get("name", user_id),
            "persona": names.get(user_id, {}).get("persona", ""),
            "history": [(answers.clean(t, 120), s) for t, s in ctx.history],
            "likes": list(ctx.likes),
            "dislikes": list(ctx.dislikes),
        }

    # -- tools (API, MCP): one shot, no conversation stored ---------------------------------------
    def find(self, request: str, user_id: str | None = None, k: int = 5) -> list[Card]:
        """Products for a request, as cards: parsed like a first chat message (its price, brand,
        colour and category filters enforced), ranked for ``user_id`` (None: not personalised)."""
        return self.pipeline.cards_for(request, user_id, k)

    def product_facts(self, product_id: str) -> dict:
        """A product's catalog data, cleaned for display (untrusted text: tags and fences removed);
        KeyError when the catalog has no such product."""
        p = self.catalog.store.get(product_id)
        if p is None:
            raise KeyError(product_id)
        clean = answers.clean
        return {
            "product_id": p.id, "title": clean(p.title, 200), "brand": clean(p.brand or "", 80),
            "price": p.price, "currency": p.currency, "categories": [clean(c, 60) for c in p.categories],
            "description": clean(p.description, 1500), "features": [clean(f, 200) for f in p.features],
            "attributes": {clean(k, 60): clean(str(v), 120) for k, v in p.attributes.items()},
            "average_rating": p.average_rating, "rating_count": p.rating_count,
        }  # fmt: skip
