"""CLI commands of the ui area: ``shopassist serve`` and ``shopassist bench ui``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


class _Override(argparse.Action):
    """Store a flag into ``args.overrides`` (applied to Settings by the CLI)."""

    def __call__(self, parser, namespace, values, option_string=None):
        overrides = dict(getattr(namespace, "overrides", None) or {})
        overrides[self.dest] = values if self.nargs != 0 else True
        namespace.overrides = overrides


def register(sub, groups) -> None:
    """Add ``serve`` and ``bench ui`` to the parser."""
    from shopassist.cli import group

    p = sub.add_parser(
        "serve",
        help="Serve the customer chat (/), agent console (/agent) and widget (/widget).",
        description="Serve the web app. Share links (--share) are public and expire; they need internet access. "
        "With SHOPASSIST_LEARN_INTERVAL_S set it also runs `shopassist learn` on that schedule in a low-priority "
        "child process, and it serves a version promoted or rolled back by any process without a restart "
        "(docs/deployment.md).",
    )
    p.add_argument("--host", action=_Override, dest="host", help="Interface to bind (default 127.0.0.1).")
    p.add_argument("--port", action=_Override, dest="port", type=int, help="Port (default 7860).")
    p.add_argument("--share", action=_Override, dest="share", nargs=0, help="Also print a public Gradio share link.")
    p.add_argument("--llm-backend", action=_Override, dest="llm_backend", help="local | transformers | openai | scripted.")
    p.set_defaults(func=serve)

    b = group(sub, groups, "bench", "Benchmarks that print JSON.").add_parser(
        "ui", help="Load check of the chat API: concurrent sessions through gradio_client on loopback."
    )
    b.add_argument("--sessions", type=int, default=20, help="Concurrent shoppers.")
    b.add_argument("--turns", type=int, default=5, help="Turns per shopper.")
    b.add_argument("--url", default=None, help="Bench a running app instead of starting one on loopback.")
    b.add_argument("--llm-backend", action=_Override, dest="llm_backend", help="local | transformers | openai | scripted.")
    b.add_argument("--json", action="store_true", help="Print the report as JSON (the default is a summary).")
    b.set_defaults(func=bench_ui)

    b = group(sub, groups, "bench", "Benchmarks that print JSON.").add_parser(
        "scale", help="What one replica serves at a catalog size: ingest products/s, filtered search p50/p95, chat "
        "turn p50/p95 at 1/4/16 concurrent shoppers (scripted LLM, embedded Chroma), RSS.",
        description="Builds a catalog of --products products scaled from the first --base real Icecat products (their "
        "real MiniLM vectors; replicas get new ids, a variant tag in the title, prices +-15%% and the original's vector "
        "plus calibrated noise), ingests it, and measures it served on loopback (shopassist/capacity.py).")
    b.add_argument("--products", type=int, default=10_000, help="Catalog size.")
    b.add_argument("--base", type=int, default=2000, help="Real products encoded by MiniLM (cached in --workdir).")
    b.add_argument("--queries", type=int, default=50, help="Icecat queries timed as filtered searches.")
    b.add_argument("--turns", type=int, default=3, help="Chat turns per shopper.")
    b.add_argument("--shoppers", default="1,4,16", help="Comma-separated numbers of concurrent shoppers.")
    b.add_argument("--workdir", type=Path, default=None, help="Where the scaled catalog and the base vectors go.")
    b.add_argument("--json", action="store_true", help="Print the report as one JSON line (the default too).")
    b.set_defaults(func=bench_scale)


def bench_scale(args, settings) -> int:
    from shopassist.capacity import bench_scale as run

    try:
        shoppers = tuple(int(x) for x in args.shoppers.split(",") if x.strip())
        report = run(settings, args.products, base=args.base, queries=args.queries, turns=args.turns,
                     shoppers=shoppers, workdir=args.workdir)
    except ValueError as e:
        from shopassist.errors import UserError

        raise UserError(f"bench scale: {e}") from e
    print(json.dumps(report))
    chat = [v for k, v in report["chat"].items() if isinstance(v, dict)]
    return 0 if all(c["errors"] == 0 and c["leaks"] == 0 for c in chat) else 1


def serve(args, settings) -> int:
    from ui.app import launch

    launch(settings)  # ShareUnavailable is an OperatorError: the CLI prints it as one line, exit code 3
    return 0


def bench_ui(args, settings) -> int:
    from ui.bench import run_bench

    report = run_bench(settings, sessions=args.sessions, turns=args.turns, url=args.url)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        lat = report["latency_s"]
        print(
            f"{report['turns']} turns, {report['errors']} errors, {report['leaks']} leaks, "
            f"p50 {lat['p50']}s p95 {lat['p95']}s, {report['turns_per_s']} turns/s"
        )
    return 0 if report["errors"] == 0 and report["leaks"] == 0 else 1
