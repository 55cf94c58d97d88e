"""CLI commands that report on what shoppers were shown and did: ``report ab`` (the A/B test
of two ranker versions, ``assistant.experiment``) and ``report exposure`` (brand shares and the
Gini of exposure, ``assistant.exposure``). ``--json`` prints one JSON object."""

from __future__ import annotations

import json


def register(sub, groups) -> None:
    """Add ``report ab`` and ``report exposure`` to the parser."""
    from shopassist.cli import group

    rp = group(sub, groups, "report", "Reports from the conversation store: the A/B test, exposure.")
    p = rp.add_parser("ab", help="Per-arm click-through, thumbs-up rate and add-to-cart per conversation, with "
                      "95 % intervals, the B - A difference and the sample size needed to see it.",
                      description="Reads the events the store wrote while `ab_candidate` was set (each carries its "
                      "arm). Rates have Wilson intervals, differences Newcombe's (rates) or Welch's (per-conversation "
                      "mean); n_per_arm_needed is a two-sided test at alpha 0.05 with 80 % power.")
    p.add_argument("--json", action="store_true", help="Print the report as one JSON object.")
    p.set_defaults(func=cmd_ab)

    p = rp.add_parser("exposure", help="Brand exposure shares and the Gini of exposure over the catalog, from the "
                      "cards shoppers were shown.",
                      description="Counts `impression` events per product and brand, next to each brand's share of "
                      "the ingested catalog; Gini over every catalog product (never shown = 0) and over brands; per "
                      "A/B arm too while one runs.")
    p.add_argument("--json", action="store_true", help="Print the report as one JSON object.")
    p.set_defaults(func=cmd_exposure)


def cmd_ab(args, settings) -> int:
    from assistant.experiment import ab_report
    from assistant.store import ConversationStore

    report = ab_report(ConversationStore(settings.events_db_url).events())
    if not args.json:
        for arm, a in report["arms"].items():
            print(f"arm {arm} ({', '.join(a['ranker_versions']) or 'no impressions'}): {a['conversations']} conversations, "
                  f"CTR {_fmt(a['card_ctr'])}, thumbs-up {_fmt(a['thumbs_up_rate'])}, "
                  f"add-to-cart/conversation {_fmt(a['add_to_cart_per_conversation'])}")
        for metric, d in report["b_minus_a"].items():
            print(f"B - A {metric}: {_fmt(d)}, n per arm needed {d['n_per_arm_needed']}")
    print(json.dumps(report))
    return 0


def cmd_exposure(args, settings) -> int:
    from assistant.exposure import exposure_report
    from assistant.store import ConversationStore
    from retrieval.store import CatalogStore
    from shopassist.errors import UserError

    if not settings.catalog_db.exists():
        raise UserError(f"no catalog at {settings.catalog_db}: run `shopassist ingest` first (exposure is over the catalog)")
    report = exposure_report(ConversationStore(settings.events_db_url).events("impression"),
                             CatalogStore(settings.catalog_db).iter_products())
    if not args.json:
        print(f"{report['impressions']} impressions of {report['products_shown']} of {report['catalog_products']} "
              f"products; Gini over products {report['gini_products']}, over brands {report['gini_brands']}")
        for b in report["brands"]:
            print(f"  {b['brand'][:40]:<40} {b['share']:.3f} of impressions, {b['catalog_share']:.3f} of the catalog")
    print(json.dumps(report))
    return 0


def _fmt(m: dict) -> str:
    if m.get("value") is None:
        return "n/a"
    lo, hi = m["ci95"]
    return f"{m['value']:.4f} [{lo:.4f}, {hi:.4f}]"
