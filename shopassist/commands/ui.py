"""CLI commands of the ui area (filled in by the ui work)."""


def register(sub, groups) -> None:
    """Add this area's subcommands to the parser."""
