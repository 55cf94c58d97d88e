"""CLI commands of the assistant area (filled in by the assistant work)."""


def register(sub, groups) -> None:
    """Add this area's subcommands to the parser."""
