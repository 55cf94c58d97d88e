"""The agent console's suggested reply: a draft that answers the shopper's last message.

A person taking over a conversation needs a first reply that addresses what the shopper
asked, not the last product list: the reason they asked for a person ("a refund" -> the
returns policy, quoted), the policy or product answer the assistant already gave, or (only
when the last message was a product search) the products considered. Everything in a draft is
the shop's own text (policies, catalog data, the assistant's grounded answers), so the agent
can send it as is or edit it.

Example::

    >>> reason("Can I speak to a human about a refund?")
    'a refund'
    >>> reason("I want to talk to a real person") is None
    True
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from assistant import policies
from assistant.answers import clean
from assistant.intents import HANDOFF

if TYPE_CHECKING:
    from assistant.chat import Assistant

GREETING = "Hi, thanks for waiting, I'm from the team and happy to help."
# assistant answers worth repeating in a draft: they answered the shopper's last message
ANSWERED = ("policy", "ask", "reviews", "compare")


def reason(message: str) -> str | None:
    """What the shopper wants a person for ("about a refund" -> "a refund"), None if they only asked for one."""
    m = re.search(r"\b(?:about|regarding|for|with|because|concerning|re)\s+(?:my\s+|an?\s+|the\s+)?(.+?)[?.!]*$",
                  HANDOFF.sub(" ", message), re.I)  # fmt: skip
    if not m:
        return None
    got = clean(m.group(0).split(None, 1)[1].rstrip("?.! "), 120)
    return got if len(got) >= 3 else None


def draft_reply(a: Assistant, conversation_id: str) -> str | None:
    """A draft addressing the shopper's last message; None when the last message was a product
    search (the caller lists the products considered)."""
    msgs = a.store.messages(conversation_id)
    last = next((i for i in range(len(msgs) - 1, -1, -1) if msgs[i].role == "user"), None)
    if last is None:
        return None
    asked = msgs[last].text
    bot = next((m for m in msgs[last + 1:] if m.role == "assistant"), None)
    intent = (bot.meta or {}).get("intent") if bot else None
    if HANDOFF.search(asked) or intent == "handoff":
        why = reason(asked)
        topic = HANDOFF.sub(" ", asked)
        policy = policies.answer_for(a, topic) if why else None
        if policy:
            return f"{GREETING} About {why}: {policy} Shall I help you with that now?"
        if why:
            return f"{GREETING} You asked about {why}: could you tell me a bit more, e.g. your order number?"
        return f"{GREETING} What can I do for you?"
    if bot is not None and intent in ANSWERED:
        return f"{GREETING} About “{clean(asked, 120)}”: {bot.text}"
    if policies.is_policy_question(a, asked):
        return f"{GREETING} {policies.answer_for(a, asked) or 'Let me check that for you and come back in a moment.'}"
    return None
