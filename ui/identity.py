"""Who is asking: signed shopper ids and conversation tokens (HMAC-SHA256, stdlib only).

A shopper id from a caller is trusted only if it carries the shop's signature: your site
(which knows who is signed in) mints ``sign_shopper("u123", key)`` = ``"u123.<sig>"`` and
hands it to the widget or its API calls; ``verify_shopper`` gives back ``"u123"`` or None.
In demo mode plain ids are accepted too (the demo's shopper picker). A conversation is
continued only with its own token, ``conversation_token(cid, key)``, returned when it starts.

Example::

    >>> key = b"k" * 32
    >>> token = sign_shopper("u0001", key)
    >>> verify_shopper(token, key), verify_shopper("u0001.forged", key), verify_shopper("u0001", key)
    ('u0001', None, None)
    >>> check_token("c1", conversation_token("c1", key), key), check_token("c1", "guess", key)
    (True, False)
"""

from __future__ import annotations

import hashlib
import hmac

SIG_CHARS = 32  # hex characters of the signature kept (128 bits)


def _mac(key: bytes, purpose: str, value: str) -> str:
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()[:SIG_CHARS]


def sign_shopper(user_id: str, key: bytes) -> str:
    """``user_id`` with the shop's signature appended: what a signed-in page passes as ``user_id``."""
    return f"{user_id}.{_mac(key, 'shopper', user_id)}"


def verify_shopper(token: str, key: bytes) -> str | None:
    """The shopper id inside a correctly signed ``token``, else None."""
    user_id, dot, sig = (token or "").rpartition(".")
    if not dot or not user_id or not hmac.compare_digest(sig, _mac(key, "shopper", user_id)):
        return None
    return user_id


def conversation_token(conversation_id: str, key: bytes) -> str:
    """The secret that continues ``conversation_id`` (the id alone reads nothing and writes nothing)."""
    return _mac(key, "conversation", conversation_id)


def check_token(conversation_id: str, token: str, key: bytes) -> bool:
    return hmac.compare_digest((token or "").encode(), conversation_token(conversation_id, key).encode())
