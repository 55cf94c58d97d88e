"""The thin ``shopassist`` CLI: parse, build settings once, call one library function.

Each area registers its subcommands from ``shopassist/commands/<area>.py`` through
``register(subparsers)``; a command is a function ``(args, settings) -> int``.
Domain errors become one friendly line here, at the edge, and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from shopassist.settings import ConfigError, load_settings

# command groups, in --help order; each module has register(subparsers)
COMMAND_MODULES = (
    "shopassist.commands.retrieval",  # ingest, search, eval retrieval, bench ingest/search
    "shopassist.commands.ranker",  # ranker train/eval/update/use/list, eval ranker, bench ranker
    "shopassist.commands.assistant",  # chat, eval conversations, bench assistant
    "shopassist.commands.ui",  # serve, bench ui
)


class UserError(Exception):
    """An error the user can fix; printed as one line without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shopassist",
        description="Conversational shopping assistant grounded in your own catalog.",
    )
    parser.add_argument("--config", type=Path, default=None, help="TOML settings file (keys as in Settings).")
    parser.add_argument("--data-dir", type=Path, default=None, help="Data directory (SHOPASSIST_DATA_DIR).")
    parser.add_argument("--chroma", default=None, help="'embedded' or host:port of a `chroma run` server.")
    parser.add_argument("-v", "--verbose", action="store_true", help="Log debug detail to stderr.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction] = {}
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, groups)
    return parser


def group(sub, groups: dict, name: str, help: str):
    """The shared subparsers of a command group (``eval``, ``bench``, ``ranker``), made once."""
    if name not in groups:
        p = sub.add_parser(name, help=help, description=help)
        groups[name] = p.add_subparsers(dest=f"{name}_command", metavar="WHAT", required=True)
    return groups[name]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "chromadb", "urllib3", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        settings = load_settings(args.config, data_dir=args.data_dir, chroma=args.chroma, **getattr(args, "overrides", {}))
        return int(args.func(args, settings) or 0)
    except (ConfigError, UserError) as e:
        print(f"shopassist: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("shopassist: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a domain error class not handled above: still no bare traceback
        from retrieval.models import ModelMissing

        if isinstance(e, ModelMissing | FileNotFoundError | PermissionError):
            print(f"shopassist: {e}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
