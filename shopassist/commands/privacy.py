"""CLI commands of a shopper's privacy requests: ``shopassist privacy export|delete --user ID``.

``export`` prints one JSON object of everything held about the shopper; ``delete`` shows what it
would remove and erases it only with ``--yes`` (the erasure is logged with counts, not the data).
"""

from __future__ import annotations

import json


def register(sub, groups) -> None:
    """Add ``privacy export`` and ``privacy delete`` to the parser."""
    from shopassist.cli import group

    pv = group(sub, groups, "privacy", "A shopper's data: export all of it, or delete it.")
    p = pv.add_parser("export", help="Print everything held about a shopper as one JSON object.",
                      description="Conversations with their messages, events, the rows of earlier ranker training "
                      "files, and the catalog reviews under their id.")
    p.add_argument("--user", required=True, help="The shopper's user id.")
    p.set_defaults(func=cmd_export)

    p = pv.add_parser("delete", help="Erase a shopper's conversations, events and training rows (needs --yes).",
                      description="Removes their conversations, messages and events from the conversation store and "
                      "their rows from the ranker's feedback files, so the next `ranker update --from-store` has "
                      "none of them; logs the erasure with counts only. Without --yes it only says what it would remove.")
    p.add_argument("--user", required=True, help="The shopper's user id.")
    p.add_argument("--yes", action="store_true", help="Really delete (otherwise a dry run).")
    p.set_defaults(func=cmd_delete)


def cmd_export(args, settings) -> int:
    from assistant.privacy import export_shopper

    print(json.dumps(export_shopper(settings, args.user), ensure_ascii=False, default=str))
    return 0


def cmd_delete(args, settings) -> int:
    from assistant.privacy import delete_shopper

    report = delete_shopper(settings, args.user, dry_run=not args.yes)
    if report["dry_run"]:
        print(f"would delete {report['conversations']} conversations, {report['messages']} messages, "
              f"{report['events']} events and {report['training_feedback_rows']} training rows of {args.user!r}: "
              "add --yes to delete")
    print(json.dumps(report))
    return 0
