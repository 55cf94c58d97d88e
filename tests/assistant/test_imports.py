"""The assistant's import seams (docs/ARCHITECTURE.md): the pipeline's parts never import the
pipeline, and the UI reaches the conversation store only through the desk."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported(path: Path) -> set[str]:
    """Modules of ours a file imports, at any level (TYPE_CHECKING blocks included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out |= {f"{node.module}.{a.name}" for a in node.names} if node.module == "assistant" else {node.module}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out


def test_replies_desk_candidates_and_turn_never_import_the_pipeline():
    for name in ("replies", "desk", "candidates", "turn"):
        assert "assistant.chat" not in imported(ROOT / "assistant" / f"{name}.py"), name


def test_the_ui_never_calls_the_conversation_store():
    for name in ("chat", "console"):
        text = (ROOT / "ui" / f"{name}.py").read_text(encoding="utf-8")
        assert ".store." not in text and "assistant.store" not in imported(ROOT / "ui" / f"{name}.py"), name
