"""CLI commands of the retrieval area: ``ingest``, ``search``, ``eval retrieval``,
``bench ingest``, ``bench search``.

Exit codes of ``shopassist ingest``: 0 = every row ingested; 3 = ingested, but some rows were
quarantined (the summary names the quarantine file); 2 = unusable source, mapping or settings.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub, groups) -> None:
    """Add this area's subcommands to the parser."""
    from retrieval.sources import FORMATS
    from shopassist.cli import group

    p = sub.add_parser(
        "ingest",
        help="Read a catalog file or folder into the data dir (idempotent).",
        description="Stream products and reviews from SOURCE into the catalog (SQLite + Chroma). "
        "Unchanged rows cost nothing; bad rows go to a quarantine file. "
        "Exit code: 0 ok, 3 some rows quarantined, 2 unusable source.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="formats: native (demo JSONL), amazon2023, amazon2018 (also 2014), unisrec, icecat, "
        "csv/jsonl (with --mapping); auto detects from the rows.",
    )
    p.add_argument("source", type=Path, help="A file (.jsonl, .jsonl.gz, .csv), a folder of them, or `demo` for the bundled demo catalog.")
    p.add_argument("--format", dest="fmt", choices=FORMATS, default="auto", help="Source format (default: auto).")
    p.add_argument("--full-sync", action="store_true", help="Delete products that are not in SOURCE (vectors too).")
    p.add_argument(
        "--mapping",
        default=None,
        help="Column mapping for csv/jsonl: a JSON file or inline JSON, e.g. "
        '\'{"id": "sku", "title": "name", "price": "price_cents", "price_scale": 0.01}\'.',
    )
    p.add_argument("--policies", type=Path, default=None,
                   help="The shop's policies (Markdown or YAML) to answer shipping/returns/... questions; "
                   "default: a policies.md/.yaml beside SOURCE.")
    p.add_argument("--no-progress", action="store_true", help="No progress bar.")
    p.add_argument("--json", action="store_true", help="Print the report as one JSON line.")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser(
        "search",
        help="Search the catalog; prints parsed filters and ranked results with scores.",
        description="Hybrid search (BM25 + MiniLM) with hard filters parsed from the query, e.g. "
        "'bluetooth speaker under $50 not Sony', 'cheapest laser printer', '4 stars and up'.",
    )
    p.add_argument("query", help="What the shopper typed.")
    p.add_argument("-k", type=int, default=10, help="How many results (default 10).")
    p.add_argument("--method", choices=("normalized", "rrf", "bm25", "dense"), default=None,
                   help="Override the fusion method (default: the measured best).")
    p.add_argument("--diversify", action="store_true", help="Re-rank with MMR for variety.")
    p.add_argument("--json", action="store_true", help="Print results as JSON.")
    p.set_defaults(func=cmd_search)

    ev = group(sub, groups, "eval", "Evaluate an area against data (prints JSON).")
    p = ev.add_parser(
        "retrieval",
        help="NDCG@10, Recall@10/100, MRR and latency of BM25, dense and hybrid on a judged query set.",
        description="Evaluate BM25-only, dense-only and hybrid search side by side on a folder with "
        "products.jsonl.gz, judgments.jsonl.gz and queries.txt (ingested into the data dir first "
        "if needed, idempotently). The last output line is one JSON object.",
    )
    p.add_argument("--dataset", type=Path, required=True, help="Folder laid out like the Chorus/Icecat set.")
    p.add_argument("--json", action="store_true", help="Print only the JSON summary line.")
    p.add_argument("--limit", type=int, default=None, help="Evaluate only the first N queries.")
    p.add_argument("--brand-cap", type=float, default=0.0,
                   help="Cap any one brand's share of each top 10 first (Settings.brand_cap; 0 = off).")
    p.set_defaults(func=cmd_eval)

    be = group(sub, groups, "bench", "Benchmark an area (prints JSON).")
    p = be.add_parser(
        "ingest",
        help="Ingest throughput vs bare SentenceTransformer.encode on the same texts, peak RSS.",
        description="Scales the Icecat catalog to N products (real items replicated with new ids and "
        "perturbed prices), ingests them into a fresh temporary data dir, and compares products/s "
        "with bare SentenceTransformer.encode on the same texts in the same run.",
    )
    p.add_argument("--products", type=int, default=2000, help="Products to ingest (default 2000).")
    p.add_argument("--source", type=Path, default=None, help="Products file to replicate (default: Icecat set).")
    p.add_argument("--rounds", type=int, default=3,
                   help="Encode/ingest pairs, order alternating, so load drift hits both sides (default 3).")
    p.set_defaults(func=cmd_bench_ingest)
    p = be.add_parser(
        "search",
        help="Search latency p50/p95 with and without filters at N products, peak RSS.",
        description="Builds (or reuses) a catalog of N products replicated from the Icecat set "
        "(new ids, perturbed prices) and times search with and without hard filters.",
    )
    p.add_argument("--products", type=int, default=10000, help="Catalog size (default 10000).")
    p.add_argument("--queries", type=int, default=100, help="Queries per mode (default 100).")
    p.add_argument("--source", type=Path, default=None, help="Products file to replicate (default: Icecat set).")
    p.add_argument("--workdir", type=Path, default=None, help="Keep the scaled catalog here and reuse it.")
    p.add_argument("--change", type=float, default=0.01,
                   help="Share of products edited after the timings, to measure the catch-up cost (default 0.01; 0 = skip).")
    p.set_defaults(func=cmd_bench_search)


def _load_mapping(value: str | None) -> dict | None:
    from shopassist.errors import UserError

    if not value:
        return None
    try:
        text = Path(value).read_text() if Path(value).exists() else value
        mapping = json.loads(text)
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"--mapping must be a JSON file or inline JSON object ({e})") from e
    if not isinstance(mapping, dict):
        raise UserError("--mapping must be a JSON object, e.g. '{\"id\": \"sku\", \"title\": \"name\"}'")
    return mapping


def cmd_ingest(args, settings) -> int:
    from retrieval.ingest import ingest
    from retrieval.sources import check_mapping
    from shopassist.errors import UserError

    mapping = _load_mapping(args.mapping)
    try:
        if mapping:
            check_mapping(mapping)
        source = args.source
        if str(source) == "demo":  # the bundled demo catalog, wherever the package is installed
            from retrieval.demo import DEMO_DIR

            source = DEMO_DIR
        policy_file = _policies_file(args, source)  # checked before the catalog is touched
        report = ingest(settings, source, fmt=args.fmt, full_sync=args.full_sync, mapping=mapping,
                        progress=not args.no_progress and sys.stderr.isatty())
        if policy_file is not None:
            from assistant import policies

            n = policies.install(settings.data_dir, policy_file)
            print(f"policies: {n} passages from {policy_file}", file=sys.stderr)
    except ValueError as e:  # unknown format or mapping keys, a bad policies file: the user's to fix
        raise UserError(str(e)) from e
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(report.summary())
    return report.exit_code


def _policies_file(args, source: Path) -> Path | None:
    """The shop's policies file (``--policies``, else a policies.md/.yaml beside the source),
    parsed once here so a bad one stops the ingest before it starts (PolicyError is a ValueError)."""
    from assistant import policies

    path = args.policies or policies.beside(Path(source))
    if path is not None:
        policies.load(Path(path))
    return Path(path) if path is not None else None


def cmd_search(args, settings) -> int:
    from retrieval.search import open_catalog

    catalog = open_catalog(settings)
    if catalog.store.count() == 0:
        from shopassist.errors import UserError

        raise UserError(f"the catalog in {settings.data_dir} is empty: run `shopassist ingest SOURCE` first")
    q = catalog.parse(args.query)
    hits = catalog.search(q, k=args.k, method=args.method, diversify=args.diversify)
    if args.json:
        print(json.dumps({
            "query": args.query, "text": q.text, "filters": q.filters(),
            "results": [{"id": h.product.id, "title": h.product.title, "brand": h.product.brand,
                         "price": h.product.price, "score": h.score, "bm25": h.bm25, "dense": h.dense,
                         "matched": h.matched} for h in hits],
        }))
        return 0
    print(f"text: {q.text!r}  filters: {json.dumps(q.filters()) if q.filters() else 'none'}")
    if not hits:
        print("no products match")
    for i, h in enumerate(hits, 1):
        price = f"${h.product.price:,.2f}" if h.product.price is not None else "no price"
        rating = f" {h.product.average_rating:.1f}★({h.product.rating_count})" if h.product.average_rating else ""
        bm = f"{h.bm25:.2f}" if h.bm25 is not None else "-"
        de = f"{h.dense:.3f}" if h.dense is not None else "-"
        print(f"{i:>2}. {h.score:.3f} [bm25 {bm} dense {de}] {h.product.title[:90]} | {h.product.brand or '-'} | "
              f"{price}{rating} | id {h.product.id}")
    return 0


def cmd_eval(args, settings) -> int:
    from retrieval.evaluate import evaluate_dataset

    result = evaluate_dataset(settings, args.dataset, limit=args.limit, verbose=not args.json, brand_cap=args.brand_cap)
    print(json.dumps(result))
    return 0


def cmd_bench_ingest(args, settings) -> int:
    from retrieval.bench import bench_ingest

    print(json.dumps(bench_ingest(settings, args.products, source=args.source, rounds=args.rounds)))
    return 0


def cmd_bench_search(args, settings) -> int:
    from retrieval.bench import bench_search

    print(json.dumps(bench_search(settings, args.products, n_queries=args.queries, source=args.source,
                                  workdir=args.workdir, change=args.change)))
    return 0
