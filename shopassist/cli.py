"""The thin ``shopassist`` CLI: parse, build settings once, call one library function.

Each area registers its subcommands from ``shopassist/commands/<area>.py`` through
``register(subparsers)``; a command is a function ``(args, settings) -> int``.
Domain errors (``shopassist.errors``) become one friendly line here, at the edge: exit code 2 when
the user can fix it (config, input), 3 when the operator must (a server down, a missing install).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from shopassist.errors import ShopassistError, UserError, exit_code, one_line
from shopassist.settings import load_settings

# command groups, in --help order; each module has register(subparsers)
COMMAND_MODULES = (
    "shopassist.commands.retrieval",  # ingest, search, eval retrieval, bench ingest/search
    "shopassist.commands.ranker",  # ranker train/eval/update/use/list, eval ranker, bench ranker
    "shopassist.commands.assistant",  # chat, eval conversations, bench assistant
    "shopassist.commands.ui",  # serve, bench ui
    "shopassist.commands.privacy",  # privacy export/delete
    "shopassist.commands.report",  # report ab, report exposure
    "shopassist.commands.db",  # db upgrade/status (the conversation store's schema)
)

__all__ = ["UserError", "build_parser", "group", "main"]  # UserError: commands raised it from here before errors.py


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
    from assistant.redaction import RedactingFilter

    for handler in logging.getLogger().handlers:  # no log line keeps a shopper's e-mail, phone or card
        handler.addFilter(RedactingFilter())
    for noisy in ("httpx", "chromadb", "urllib3", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        settings = load_settings(args.config, data_dir=args.data_dir, chroma=args.chroma, **getattr(args, "overrides", {}))
        return int(args.func(args, settings) or 0)
    except ShopassistError as e:
        code = exit_code(e)
        if code == 1:  # neither the user's nor the operator's: a bug of ours, the traceback is the report
            raise
        print(f"shopassist: {one_line(e)}", file=sys.stderr)
        return code
    except (FileNotFoundError, PermissionError) as e:  # a path the user named
        print(f"shopassist: {one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("shopassist: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
