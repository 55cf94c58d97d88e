"""A shopper's access and erasure requests: everything held about them, and its deletion.

What is held about a shopper, by place:

- the conversation store (``Settings.events_db_url``): their conversations, the messages in them,
  the events they or those conversations logged (impressions, clicks, thumbs, hand-offs), and so
  the feedback their profile and the next ``ranker update --from-store`` would learn from;
- the ranker's feedback files (``models/ranker/feedback/*.jsonl``): the rows earlier updates were
  trained on (keyed by user id, or ``conversation:<id>`` for a shopper who was not signed in);
- the catalog's reviews written under their id (the ranker's ``user_context`` reads their profile
  from these).

``export_shopper`` returns all of it as one JSON-ready dict; ``delete_shopper`` removes the first
two (the store in one transaction, logged as a ``privacy_delete`` event with counts only, then the
feedback files rewritten without their rows) and reports the catalog reviews it leaves: they are
the shop's published source data, owned by ``retrieval`` (remove them at the source and re-ingest).
Model versions already trained keep what they learned; the next training does not see them. The
served blend's live co-ratings (``ranker.blend.CoRatingSource``, read from the store's events) drop
the shopper at their next refresh (``Settings.coratings_ttl_s``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from assistant.store import ConversationStore
from shopassist.errors import UserError
from shopassist.settings import Settings

log = logging.getLogger(__name__)


class UnknownShopper(UserError, LookupError):
    """Nothing is held under the user id given: most likely a typo, so nothing is deleted."""


def _check_id(user_id: str) -> str:
    if not user_id or not user_id.strip():
        raise UnknownShopper("a user id is needed: --user ID (the id the shopper signed in with)")
    return user_id


def feedback_files(settings: Settings) -> list[Path]:
    """The ranker's training files made from shoppers' feedback, oldest first."""
    from ranker import versions

    folder = versions.root(settings) / "feedback"
    return sorted(folder.glob("*.jsonl")) if folder.exists() else []


def _keys(user_id: str, conversation_ids: list[str]) -> set[str]:
    """The user ids a shopper's rows carry in a feedback file (``feedback_rows`` keys anonymous
    conversations as ``conversation:<id>``)."""
    return {user_id} | {f"conversation:{c}" for c in conversation_ids}


def _feedback_rows(settings: Settings, keys: set[str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for path in feedback_files(settings):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        mine = [r for r in rows if str(r.get("user_id")) in keys]
        if mine:
            out[path.name] = mine
    return out


def _catalog_reviews(settings: Settings, user_id: str) -> list[dict]:
    from ranker.serve import open_store

    store = open_store(settings)
    return [r.to_dict() for r in store.reviews_by_user(user_id)] if store is not None else []


def export_shopper(settings: Settings, user_id: str) -> dict:
    """Everything held about ``user_id``: conversations with their messages, events, the feedback
    rows of earlier training files, and their catalog reviews (the profile's source)."""
    _check_id(user_id)
    store = ConversationStore(settings.events_db_url)
    held = store.export_user(user_id)
    cids = [c["id"] for c in held["conversations"]]
    held["training_feedback"] = _feedback_rows(settings, _keys(user_id, cids))
    held["catalog_reviews"] = _catalog_reviews(settings, user_id)
    return held


def delete_shopper(settings: Settings, user_id: str, dry_run: bool = False) -> dict:
    """Erase ``user_id`` from the conversation store and the ranker's feedback files; returns
    what was (or, with ``dry_run``, would be) removed, and the catalog reviews left in place.

    Raises ``UnknownShopper`` when nothing at all is held under that id (nothing is logged)."""
    held = export_shopper(settings, user_id)
    cids = [c["id"] for c in held["conversations"]]
    report = {
        "user_id": user_id,
        "conversations": len(cids),
        "messages": sum(len(c["messages"]) for c in held["conversations"]),
        "events": len(held["events"]),
        "training_feedback_rows": sum(len(v) for v in held["training_feedback"].values()),
        "catalog_reviews_left": len(held["catalog_reviews"]),
        "dry_run": dry_run,
    }
    if not (cids or held["events"] or held["training_feedback"] or held["catalog_reviews"]):
        raise UnknownShopper(f"nothing is held about user {user_id!r} (no conversations, events, training rows or "
                             "reviews): check the id")
    if dry_run:
        return report
    counts = ConversationStore(settings.events_db_url).delete_user(user_id)
    report.update(conversations=counts["conversations"], messages=counts["messages"], events=counts["events"])
    keys = _keys(user_id, cids)
    for path in feedback_files(settings):
        lines = path.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if line.strip() and str(json.loads(line).get("user_id")) not in keys]
        if len(kept) != len([line for line in lines if line.strip()]):
            path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
    log.info("erased a shopper's data: %d conversations, %d messages, %d events, %d training rows",
             report["conversations"], report["messages"], report["events"], report["training_feedback_rows"])
    return report
