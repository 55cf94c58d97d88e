"""CLI commands of the ranker area (filled in by the ranker work)."""


def register(sub, groups) -> None:
    """Add this area's subcommands to the parser."""
