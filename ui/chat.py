"""The customer chat (``/``) and the compact widget (``/widget``): one Blocks builder.

The page only renders and captures events. A turn streams ``assistant.respond``'s
events into one HTML transcript (cards first, then text); every card click, thumb,
"add to cart", "more like this" and "compare" goes back through the assistant
(``Desk.feedback`` → store events with conversation, user, product and time).
A ``gr.Timer`` polls the store so an agent's reply appears while the shopper waits.

Each browser session has its own ``gr.State`` (conversation id, user, votes), so two
shoppers never share a transcript.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import gradio as gr

from assistant.chat import Assistant, Turn
from assistant.events import Answer, Cards, Handoff, Notice, TextDelta
from assistant.public import public_card, public_facts
from ui.gate import Gate
from ui.limits import check_text
from ui.render import ORDINALS, TRANSCRIPT_JS, transcript_html

log = logging.getLogger("ui")

GUEST = "guest"
# requests any catalog answers (whole-catalog superlatives); the rest name the catalog's own kinds
GENERIC_STARTERS = ("What's your best-rated product?", "What's the cheapest thing you sell?")
WELCOME = "Hi! Ask me for a product, e.g. “{example}”. I answer from this shop's catalog only."


def starters(assistant) -> list[str]:
    """Starter requests for this shop: two of its own kinds of product, then two any catalog answers."""
    return [f"Show me {k}" for k in assistant.kinds_sold(2)] + list(GENERIC_STARTERS)


ERROR_TEXT = "Sorry, something went wrong on our side while answering. Please try again in a moment."
POLL_S = 1.5  # how often the page looks for an agent's reply


def new_state(surface: str = "chat") -> dict:
    """Per-session state: conversation id, user, last seen message, votes, local notices."""
    return {"cid": None, "user": GUEST, "surface": surface, "seen": 0, "voted": {}, "notices": [], "compare": None}


class ChatSurface:
    """Event handlers shared by the chat page, the widget and the ``chat`` API endpoint."""

    def __init__(self, assistant: Assistant, settings=None):
        self.assistant = assistant
        # identity, limits, shown products; ``settings`` = the server's (else the assistant's)
        self.gate = Gate(settings or assistant.settings, assistant.desk)
        self._busy: set[str] = set()  # conversations with a turn streaming right now
        self._lock = threading.Lock()

    # -- helpers ---------------------------------------------------------------------------
    def starters(self) -> list[str]:
        """This shop's starter requests (``starters``), worked out once."""
        if getattr(self, "_starters", None) is None:
            self._starters = starters(self.assistant)
        return self._starters

    def welcome(self) -> str:
        return WELCOME.format(example=self.starters()[0])

    def _user_id(self, state: dict) -> str | None:
        return None if state["user"] in (None, "", GUEST) else state["user"]

    def _stored(self, cid: str | None) -> list[dict]:
        if not cid:
            return []
        return [
            {"id": m.id, "role": m.role, "text": m.text, "cards": m.cards, "meta": m.meta}
            for m in self.assistant.desk.messages(cid)
        ]

    def render(self, state: dict, pending: list[dict] | None = None) -> str:
        """Stored messages, this session's notices (after the message they followed), in-flight parts."""
        items = [((m["id"], 0, i), m) for i, m in enumerate(self._stored(state["cid"]))]
        items += [((n["after"], 1, i), n) for i, n in enumerate(state["notices"])]
        ordered = [m for _, m in sorted(items, key=lambda t: t[0])] + list(pending or [])
        empty = self.welcome()
        if self._user_id(state):
            empty = f"Shopping as {state['user']}: predicted stars on the cards are personalised to this shopper. " + empty
        return transcript_html(ordered, state["voted"], empty=empty)

    def _ensure_conversation(self, state: dict) -> str:
        if not state["cid"]:
            state["cid"] = self.assistant.start(self._user_id(state), surface=state["surface"])
            state["seen"] = 0
        return state["cid"]

    def _last_id(self, cid: str) -> int:
        msgs = self.assistant.desk.messages(cid, since_id=0)
        return msgs[-1].id if msgs else 0

    # -- a turn ----------------------------------------------------------------------------------
    def turn(self, message: str, state: dict) -> Iterator[tuple[dict, list[dict]]]:
        """Run one turn; yields (state, in-flight messages) after every event."""
        cid = self._ensure_conversation(state)
        user_msg = {"role": "user", "text": message}
        bot = {"role": "assistant", "text": "", "cards": [], "pending": True, "meta": {}}
        before = self._last_id(cid)
        notices: list[dict] = []
        yield state, [user_msg, bot]
        with self._lock:
            self._busy.add(cid)
        final: Answer | None = None
        try:
            for ev in self.assistant.respond(Turn(cid, self._user_id(state), message)):
                if isinstance(ev, Cards):
                    bot["cards"] = [c.to_dict() for c in ev.cards]
                elif isinstance(ev, TextDelta):
                    bot["text"] += ev.text
                elif isinstance(ev, Notice):
                    notices.append({"role": "notice", "text": ev.text, "meta": {"kind": ev.kind}})
                elif isinstance(ev, Answer):
                    final = ev
                elif isinstance(ev, Handoff):  # flagged by the store; queued while under the caller's quota
                    self.gate.handoff(state.get("client") or "unknown", cid)
                # the user message is stored by now: render from the store plus what is in flight
                yield state, [*notices, *([bot] if (bot["cards"] or bot["text"]) and final is None else [])]
        except Exception:  # a program error must not reach the shopper as a traceback
            log.exception("chat turn failed (conversation %s)", cid)
            notices.append({"role": "notice", "text": ERROR_TEXT, "meta": {"kind": "error"}})
        finally:
            with self._lock:
                self._busy.discard(cid)
        stored_texts = {m["text"] for m in self._stored(cid) if m["role"] == "assistant" and m["id"] > before}
        after = self._last_id(cid)
        if after == before:  # nothing stored (e.g. an empty message): show the user text locally
            state["notices"].append({"role": "user", "text": message, "after": after, "meta": {}})
        for n in notices:
            if n["text"] not in stored_texts:
                state["notices"].append({**n, "after": after})
        state["seen"] = after
        yield state, []

    def send(self, message: str, state: dict, request: gr.Request = None):
        """The Send button / Enter: stream a turn into the transcript."""
        message = (message or "").strip()
        if not message:
            yield gr.skip(), gr.skip(), state
            return
        state["client"] = self.gate.turn(request, new_conversation=not state["cid"])
        for st, pending in self.turn(message, state):
            yield self.render(st, pending), "", st

    # -- polling for a person's reply --------------------------------------------------------------
    def poll(self, state: dict):
        """The timer: re-render when someone else (an agent) added messages.

        Returns only the transcript: ``state`` is updated in place, so a tick that started
        before another handler changed the session can never write a stale copy back."""
        cid = state.get("cid")
        if not cid or cid in self._busy:
            return gr.skip()
        new = self.assistant.desk.messages(cid, since_id=state["seen"])
        if not new:
            return gr.skip()
        state["seen"] = new[-1].id
        return self.render(state)

    # -- card and answer actions ---------------------------------------------------------------------
    def _card(self, state: dict, mid: str, pid: str) -> tuple[dict | None, int | None]:
        for m in self._stored(state["cid"]):
            if str(m["id"]) == str(mid):
                for i, c in enumerate(m.get("cards") or []):
                    if c.get("product_id") == pid:
                        return c, i
        return None, None

    def _latest_cards_mid(self, state: dict) -> str | None:
        for m in reversed(self._stored(state["cid"])):
            if m["role"] == "assistant" and m.get("cards"):
                return str(m["id"])
        return None

    def action(self, state: dict, evt: gr.EventData, request: gr.Request = None):
        """A click inside the transcript: ``evt._data`` = {action, pid, mid, pos}."""
        data = evt._data or {}
        act, pid, mid = data.get("action", ""), data.get("pid") or None, data.get("mid", "")
        cid, user = state.get("cid"), self._user_id(state)
        if not cid or not act:
            yield gr.skip(), gr.skip(), state
            return
        try:
            if act in ("answer_up", "answer_down"):
                kind = "thumb_up" if act == "answer_up" else "thumb_down"
                self.assistant.desk.feedback(cid, user, kind, payload={"message_id": mid, "target": "answer"})
                state["voted"][str(mid)] = "helpful" if kind == "thumb_up" else "not helpful"
                yield self.render(state), gr.skip(), state
                return
            if not self.gate.shown(cid, pid):  # only products this conversation was shown
                gr.Warning("That product was not shown in this conversation.")
                yield gr.skip(), gr.skip(), state
                return
            card, pos = self._card(state, mid, pid)
            title = (card or {}).get("title") or "this product"
            if act in ("click", "thumb_up", "thumb_down", "add_to_cart"):
                self.assistant.desk.feedback(cid, user, act, pid)
                if act == "add_to_cart":
                    gr.Info(f"Added to your cart: {title[:80]}")
                elif act == "thumb_up":
                    gr.Info("Thanks! I'll favour products like this one.")
                elif act == "thumb_down":
                    gr.Info("Thanks! I'll show fewer products like this one.")
                yield gr.skip(), gr.skip(), state
                return
            if act == "more_like_this":
                self.assistant.desk.feedback(cid, user, "more_like_this", pid)
                yield from self.send(f"More like {title[:120]}", state, request)
                return
            if act == "compare":
                latest = self._latest_cards_mid(state)
                prev = state.get("compare")
                if pos is None or str(mid) != latest:
                    gr.Info("Compare works on the products in the latest answer.")
                    yield gr.skip(), gr.skip(), state
                    return
                if prev is None or prev[0] != str(mid) or prev[1] == pos:
                    state["compare"] = (str(mid), pos)
                    gr.Info(f"Pick one more product to compare with {title[:60]}.")
                    yield gr.skip(), gr.skip(), state
                    return
                state["compare"] = None
                a, b = sorted((prev[1], pos))
                yield from self.send(f"Compare the {ORDINALS[a]} and the {ORDINALS[b]} one", state, request)
                return
        except Exception:
            log.exception("card action %s failed", act)
            gr.Warning("Sorry, that didn't work. Please try again.")
        yield gr.skip(), gr.skip(), state

    def switch_user(self, user: str, state: dict):
        """A different shopper (or guest): a fresh conversation so personalisation is visible."""
        fresh = new_state(state.get("surface", "chat"))
        fresh["user"] = self.gate.picked(user)  # production: guests only, whatever the page sends
        state.clear()
        state.update(fresh)  # in place: the session keeps one state object (see poll)
        return self.render(state), state

    def new_chat(self, state: dict):
        return self.switch_user(state.get("user", GUEST), state)

    # -- the chat as an API ----------------------------------------------------------------------------
    # the MCP tools (and API endpoints) below: their docstrings and type hints are the tool schemas
    def search_catalog(self, query: str, limit: int = 5, request: gr.Request = None) -> list[dict]:
        """Search the shop's catalog for products matching a request in plain words.

        Args:
            query: what to find, e.g. "a quiet blender under $80" or "black headphones not Sonvia"; price, brand, colour and category words are applied as filters.
            limit: how many products to return (1 to 20).

        Returns:
            Products as cards: product_id, title, price, currency, average rating, and why each matches.
        """
        query, k = self.gate.text("query", query), self.gate.k(limit)
        self.gate.turn(request, new_conversation=False)
        return [public_card(c.to_dict()) for c in self.assistant.desk.find(query, None, k)]

    def get_product(self, product_id: str, request: gr.Request = None) -> dict:
        """Everything the catalog says about one product.

        Args:
            product_id: a product_id from search_catalog or recommend.

        Returns:
            The product's title, brand, price, categories, description, features, attributes and rating.
        """
        product_id = self.gate.text("product_id", product_id)[:200]
        self.gate.turn(request, new_conversation=False)
        try:
            return public_facts(self.assistant.desk.product_facts(product_id))
        except KeyError:
            raise gr.Error(f"no product {(product_id or '')[:80]!r} in this catalog") from None

    def recommend(self, user_id: str, query: str, limit: int = 5, request: gr.Request = None) -> list[dict]:
        """Products for a request, ranked for one shopper by the shop's rating model (their reviews and thumbs).

        Args:
            user_id: the shopper's id in this shop (in production: the id signed by the shop, "<id>.<signature>"; "guest" for none).
            query: what they want, in plain words, e.g. "running shoes under $100".
            limit: how many products to return (1 to 20).

        Returns:
            Products as cards with the predicted stars for this shopper and the reasons.
        """
        user, query, k = self.gate.shopper(user_id), self.gate.text("query", query), self.gate.k(limit)
        self.gate.turn(request, new_conversation=False)
        return [public_card(c.to_dict()) for c in self.assistant.desk.find(query, user, k)]

    def api_chat(self, message: str, user_id: str = GUEST, conversation_id: str = "", conversation_token: str = "",
                 request: gr.Request = None) -> dict:
        """One turn as JSON (for ``gradio_client``): pass back ``conversation_id`` and
        ``conversation_token`` to continue (the same ``user_id`` too).

        Returns {"conversation_id", "conversation_token", "text", "cards", "notices", "grounded", "timings"}.
        """
        state = new_state("api")
        message = check_text("message", message, 10 * self.assistant.settings.max_input_chars)  # the assistant refuses > limit politely
        user = self.gate.shopper(user_id)
        state["user"] = user or GUEST
        if conversation_id:
            state["cid"] = self.gate.continued(conversation_id, conversation_token, user)
        state["client"] = self.gate.turn(request, new_conversation=not state["cid"])
        cid = self._ensure_conversation(state)
        out = {"conversation_id": cid, "conversation_token": self.gate.token(cid), "text": "", "cards": [],
               "notices": [], "grounded": True, "timings": {}}
        for ev in self.assistant.respond(Turn(cid, self._user_id(state), message)):
            if isinstance(ev, Cards):
                out["cards"] = [c.to_dict() for c in ev.cards]
            elif isinstance(ev, Notice):
                out["notices"].append(ev.text)
            elif isinstance(ev, Answer):
                out.update(text=ev.text, grounded=ev.grounded, timings=ev.timings)
            elif isinstance(ev, Handoff):
                self.gate.handoff(state["client"], cid)
        return out


def user_choices(assistant: Assistant) -> list[tuple[str, str]]:
    """Dropdown choices: guest first, then the demo shoppers (hidden in production)."""
    choices = [("Guest (no history)", GUEST)]
    if assistant.settings.production:
        return choices
    for u in assistant.desk.demo_users():
        label = u.get("name") or u["id"]
        if u.get("persona"):
            label = f"{label} — {u['persona']}"
        choices.append((label[:80], u["id"]))
    return choices


def build_chat(surface: ChatSurface, compact: bool = False) -> gr.Blocks:
    """The customer chat page, or (``compact``) the widget for an iframe."""
    kind = "widget" if compact else "chat"
    shown_starters, welcome = surface.starters(), surface.welcome()
    # delete_cache: Gradio's temp files (cached outputs) older than an hour go, checked every 10 minutes
    with gr.Blocks(title="Shop assistant" if not compact else "Shop assistant widget", fill_height=compact,
                   delete_cache=(600, 3600)) as page:
        state = gr.State(new_state(kind))
        if not compact:
            gr.Markdown("### Shop assistant\nFind products from this shop's catalog, compare them and read what reviewers say.")
            with gr.Row(equal_height=False):
                who = gr.Dropdown(
                    user_choices(surface.assistant),
                    value=GUEST,
                    label="Shopping as",
                    info="Pick a demo shopper to see personalised predicted stars.",
                    scale=3,
                    elem_id="user-picker",
                )
                new = gr.Button("New chat", scale=0, min_width=100, size="sm", elem_id="new-chat")
        transcript = gr.HTML(
            transcript_html([], empty=welcome),
            js_on_load=TRANSCRIPT_JS,
            elem_id="transcript",
            autoscroll=True,
            min_height=240 if compact else 360,
            max_height=380 if compact else 640,  # the widget's input stays in view
            scale=1 if compact else None,
            padding=True,
        )
        with gr.Row(equal_height=True):
            box = gr.Textbox(
                placeholder="Ask for a product…",
                show_label=False,
                lines=1,
                max_lines=4,
                scale=5,
                elem_id="chat-input",
                autofocus=not compact,
            )
            send = gr.Button("Send", variant="primary", scale=1, min_width=70, elem_id="chat-send")
        with gr.Row(elem_id="starters"):
            for s in shown_starters[: 2 if compact else len(shown_starters)]:
                b = gr.Button(s, size="sm", variant="secondary")
                b.click(surface.send, [gr.State(s), state], [transcript, box, state], api_visibility="private")
        timer = gr.Timer(POLL_S)

        box.submit(surface.send, [box, state], [transcript, box, state], api_visibility="private")
        send.click(surface.send, [box, state], [transcript, box, state], api_visibility="private")
        # "multiple": Gradio's default ("once") drops a click made while the previous one is still being
        # handled, so a quick "like" then "add to cart" lost the cart (the full browser suite caught it)
        transcript.click(surface.action, [state], [transcript, box, state], api_visibility="private", trigger_mode="multiple")
        # polling is one quick store read: never let it wait behind slow turns in the queue
        timer.tick(
            surface.poll, [state], [transcript], api_visibility="private", show_progress="hidden",
            concurrency_limit=None, queue=False,
        )  # fmt: skip
        if not compact:
            who.change(surface.switch_user, [who, state], [transcript, state], api_visibility="private")
            new.click(surface.new_chat, [state], [transcript, state], api_visibility="private")
            gr.api(surface.api_chat, api_name="chat")
            for tool in (surface.search_catalog, surface.get_product, surface.recommend):
                gr.api(tool, api_name=tool.__name__)
    return page
