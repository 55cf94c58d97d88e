"""CLI commands of the retrieval area (filled in by the retrieval work)."""


def register(sub, groups) -> None:
    """Add this area's subcommands to the parser."""
