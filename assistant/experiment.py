"""A/B tests of ranker versions: who is in which arm, and what each arm's shoppers did.

Arm A is served the current ranker version, arm B ``Settings.ab_candidate``. A shopper's arm is
a stable hash of their user id (a guest's: their conversation id), salted with the candidate's
name so each experiment draws its arms afresh; it is the same in every process and after a
restart, and the store writes it into every event's payload (``"arm": "A"|"B"``).

``ab_report(events)`` reads those events back: per arm, card click-through (clicks per
impression), thumbs-up rate (up / (up + down)) and add-to-cart per conversation, with 95 %
intervals (Wilson for the rates, normal for the per-conversation mean), the B - A difference
with its interval (Newcombe; Welch) and the units per arm a test at alpha 0.05 with 80 % power
needs to see the observed difference (``shopassist.stats``).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass

from shopassist import stats

ARMS = ("A", "B")
CONTROL = "A"
# the event kinds the report counts; a conversation joins its arm with its first impression
COUNTED = ("impression", "click", "thumb_up", "thumb_down", "add_to_cart")


def arm_key(user_id: str | None, conversation_id: str | None) -> str | None:
    """What the arm is drawn from: the shopper's id, else the conversation (guests), as
    ``ConversationStore.feedback_rows`` keys them.

    >>> arm_key("u1", "c9"), arm_key(None, "c9"), arm_key(None, None)
    ('u1', 'conversation:c9', None)
    """
    if user_id:
        return user_id
    return f"conversation:{conversation_id}" if conversation_id else None


def arm_of(key: str, split: float, salt: str) -> str:
    """"B" for a ``split`` share of keys, else "A": the first 8 bytes of sha256(salt:key) as a
    number in [0, 1). Stable across processes (Python's ``hash`` is salted per process).

    >>> arm_of("u1", 0.5, "v0002"), arm_of("u1", 0.5, "v0004")
    ('B', 'A')
    >>> arm_of("u1", 0.0, "v0002"), arm_of("u1", 1.0, "v0002")
    ('A', 'B')
    """
    h = int.from_bytes(hashlib.sha256(f"{salt}:{key}".encode()).digest()[:8], "big") / 2.0**64
    return "B" if h < split else "A"


@dataclass(frozen=True, slots=True)
class Experiment:
    """Arm B (a ``split`` share of shoppers) gets ranker version ``candidate``; arm A the current one."""

    candidate: str
    split: float

    def arm(self, user_id: str | None, conversation_id: str | None) -> str:
        """The shopper's arm; a call with neither id (a one-shot tool call) is in the control arm."""
        key = arm_key(user_id, conversation_id)
        return CONTROL if key is None else arm_of(key, self.split, self.candidate)


def _rate(successes: int, n: int) -> dict:
    lo, hi = stats.wilson(successes, n)
    return {"value": round(successes / n, 4) if n else None, "ci95": [round(lo, 4), round(hi, 4)], "n": n}


def ab_report(events) -> dict:
    """Per-arm engagement from ``ConversationStore.events()`` rows (see the module docstring).

    Events without an arm (before the experiment, or console events without a shopper) are
    counted in ``unassigned`` and left out. Click-through counts each impression as one trial:
    impressions of one conversation are not independent, so its interval is somewhat too narrow.
    """
    n = {arm: Counter() for arm in ARMS}
    carts: dict[str, dict[str, int]] = {arm: defaultdict(int) for arm in ARMS}  # arm -> conversation -> add_to_cart
    versions: dict[str, Counter] = {arm: Counter() for arm in ARMS}
    unassigned = 0
    for e in events:
        if e.kind not in COUNTED:
            continue
        arm = (e.payload or {}).get("arm")
        if arm not in ARMS:
            unassigned += 1
            continue
        n[arm][e.kind] += 1
        cid = e.conversation_id or f"user:{e.user_id}"
        if e.kind == "impression":
            carts[arm].setdefault(cid, 0)
            if (e.payload or {}).get("ranker"):
                versions[arm][e.payload["ranker"]] += 1
        elif e.kind == "add_to_cart":
            carts[arm][cid] += 1
    arms, per_conv = {}, {}
    for arm in ARMS:
        c = n[arm]
        per_conv[arm] = [float(v) for v in carts[arm].values()]
        mean, lo, hi = stats.mean_ci(per_conv[arm])
        arms[arm] = {
            "ranker_versions": dict(versions[arm]),
            "conversations": len(per_conv[arm]),
            "impressions": c["impression"], "clicks": c["click"],
            "thumb_up": c["thumb_up"], "thumb_down": c["thumb_down"], "add_to_cart": c["add_to_cart"],
            "card_ctr": _rate(c["click"], c["impression"]),
            "thumbs_up_rate": _rate(c["thumb_up"], c["thumb_up"] + c["thumb_down"]),
            "add_to_cart_per_conversation": {"value": round(mean, 4) if per_conv[arm] else None,
                                             "ci95": [round(lo, 4), round(hi, 4)], "n": len(per_conv[arm])},
        }  # fmt: skip
    return {"arms": arms, "b_minus_a": _differences(n, per_conv), "unassigned_events": unassigned,
            "alpha": stats.ALPHA, "power": stats.POWER}


def _differences(n: dict, per_conv: dict) -> dict:
    """B - A for each metric: the difference, its 95 % interval and the units per arm needed."""
    a, b = n["A"], n["B"]
    out = {}
    for metric, (sa, na, sb, nb) in {
        "card_ctr": (a["click"], a["impression"], b["click"], b["impression"]),
        "thumbs_up_rate": (a["thumb_up"], a["thumb_up"] + a["thumb_down"], b["thumb_up"], b["thumb_up"] + b["thumb_down"]),
    }.items():
        if na and nb:
            lo, hi = stats.newcombe(sa, na, sb, nb)
            need = stats.n_two_proportions(sa / na, sb / nb)
            out[metric] = {"value": round(sb / nb - sa / na, 4), "ci95": [round(lo, 4), round(hi, 4)],
                           "n_per_arm_needed": need, "unit": "impressions" if metric == "card_ctr" else "thumbs"}
        else:
            out[metric] = {"value": None, "ci95": None, "n_per_arm_needed": None}
    d, lo, hi = stats.diff_means_ci(per_conv["A"], per_conv["B"])
    have = bool(per_conv["A"] and per_conv["B"])
    out["add_to_cart_per_conversation"] = {
        "value": round(d, 4) if have else None, "ci95": [round(lo, 4), round(hi, 4)] if have else None,
        "n_per_arm_needed": stats.n_two_means(per_conv["A"], per_conv["B"]), "unit": "conversations"}
    return out
