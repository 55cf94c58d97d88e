"""The gate every shopper-facing call passes: who is asking, may they, and with what.

One object per app over the settings and the assistant's desk (the UI's door to the
conversation store), used by the chat page,
the widget, the ``chat`` API and the MCP tools (``ui.chat.ChatSurface``):

- identity: in production a shopper id counts only when it carries the shop's HMAC
  signature (``ui.identity``); an unsigned one is refused. Demo mode also takes plain ids
  (its shopper picker);
- conversations: one is continued only with its own token and by the shopper who started it;
- rate limits per client address on turns, new conversations and hand-offs, counted in the
  conversation store so N replicas enforce one limit (``assistant.throttles``);
- card actions only for products shown in that conversation (impressions, asked of the desk).

Example::

    >>> from shopassist.settings import Settings
    >>> g = Gate(Settings(identity_secret="k" * 32), desk=None)
    >>> g.shopper("guest"), g.shopper("u0001"), g.shopper(g.sign("u0002"))
    (None, 'u0001', 'u0002')
"""

from __future__ import annotations

import gradio as gr

from shopassist.settings import Settings
from ui.identity import check_token, conversation_token, sign_shopper, verify_shopper
from ui.limits import RateLimiter, check_id, check_int, check_text, client_of, require

GUEST = "guest"
HOUR, MINUTE = 3600.0, 60.0


class Gate:
    def __init__(self, settings: Settings, desk):
        self.settings = settings
        self.desk = desk
        self.key = settings.identity_key  # production without a secret fails here, at start-up
        # counted in the shared store (every replica sees one count); in memory without a desk
        self.rates = desk.rates if desk is not None else RateLimiter()

    # -- arguments ------------------------------------------------------------------------------
    def text(self, name: str, value, required: bool = True) -> str:
        return check_text(name, value, self.settings.max_input_chars, required)

    def id(self, name: str, value, required: bool = True) -> str:
        return check_id(name, value, self.settings.max_id_chars + 33, required)  # + ".<signature>"

    def k(self, value) -> int:
        return check_int("limit", value, 1, self.settings.max_results)

    # -- identity -----------------------------------------------------------------------------------
    def sign(self, user_id: str) -> str:
        return sign_shopper(user_id, self.key)

    def shopper(self, user_id) -> str | None:
        """The shopper a caller may act as (None: a guest); raises gr.Error for an id it may not use."""
        token = self.id("user_id", user_id, required=False)
        if token in ("", GUEST):
            return None
        signed = verify_shopper(token, self.key)
        if signed is not None:
            return signed
        if self.settings.production:
            raise gr.Error("user_id must be a shopper id signed by this shop (see docs/SECURITY.md); "
                           "use 'guest' for no personalisation")
        if len(token) > self.settings.max_id_chars:
            raise gr.Error(f"user_id is too long (the limit is {self.settings.max_id_chars} characters)")
        return token

    def picked(self, user: str | None) -> str:
        """The demo picker's choice; production has no picker, so anything else is a guest."""
        try:
            return self.shopper(user) or GUEST
        except gr.Error:
            return GUEST

    def token(self, conversation_id: str) -> str:
        return conversation_token(conversation_id, self.key)

    def continued(self, conversation_id, token, user: str | None) -> str:
        """The conversation a caller may continue: its own token and the same shopper, else gr.Error
        (the same message whether the id exists or not: ids are not probed)."""
        cid = self.id("conversation_id", conversation_id)
        tok = check_text("conversation_token", token, 64, required=False)
        ok = check_token(cid, tok, self.key) and self.desk.has_conversation(cid)
        if not ok or self.desk.conversation_user(cid) != user:
            raise gr.Error("unknown conversation_id or wrong conversation_token for this shopper: "
                           "start without a conversation_id to open a new conversation")
        return cid

    # -- rates ----------------------------------------------------------------------------------------
    def turn(self, request, new_conversation: bool) -> str:
        """Count a turn (and a new conversation) for the caller's address; returns the address."""
        client = client_of(request)
        s = self.settings
        require(self.rates, client, "turn", s.turns_per_minute, MINUTE, "messages")
        if new_conversation:
            require(self.rates, client, "conversation", s.conversations_per_hour, HOUR, "new conversations")
        return client

    def handoff(self, client: str, conversation_id: str) -> bool:
        """A hand-off happened: keep it queued if the address is under its quota, else withdraw it."""
        if self.rates.allow(client, "handoff", self.settings.handoffs_per_hour, HOUR):
            return True
        self.desk.withdraw_handoff(conversation_id)
        return False

    # -- card actions -----------------------------------------------------------------------------------
    def shown(self, conversation_id: str, product_id) -> bool:
        return isinstance(product_id, str) and product_id in self.desk.shown_products(conversation_id)
