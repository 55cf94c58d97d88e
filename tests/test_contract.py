"""docs/ARCHITECTURE.md's import table, held against the code: what `retrieval/`, `ranker/` and the
`shopassist` leaves import (at the top or inside functions), and who runs the catalog's SQL."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LEAVES = {"shopassist.settings", "shopassist.errors", "shopassist.ranking", "shopassist.jsonl", "shopassist.outage"}
OURS = ("shopassist", "retrieval", "ranker", "assistant", "ui")


def imports_of(package: str) -> list[tuple[str, str]]:
    """(file, imported module) for every import of one of our packages in ``package``/*.py."""
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            out += [(str(path.relative_to(ROOT)), n) for n in names if n.split(".")[0] in OURS]
    return out


def allowed(module: str, prefixes: tuple[str, ...]) -> bool:
    return module in LEAVES or any(module == p or module.startswith(p + ".") for p in prefixes)


def test_retrieval_imports_only_itself_and_the_shopassist_leaves():
    bad = [(f, m) for f, m in imports_of("retrieval") if not allowed(m, ("retrieval",))]
    assert not bad


def test_ranker_imports_what_the_table_allows():
    bad = [(f, m) for f, m in imports_of("ranker")
           if not allowed(m, ("ranker", "retrieval.catalog", "retrieval.models"))
           and not (m == "retrieval.store" and f == "ranker/serve.py")]
    assert not bad


def test_the_shopassist_leaves_import_only_each_other():
    leaves = [(f, m) for f, m in imports_of("shopassist") if f.replace("/", ".")[:-3] in LEAVES]
    assert leaves and all(m in LEAVES for _, m in leaves)


@pytest.mark.parametrize("package", ["retrieval", "ranker", "assistant", "ui", "shopassist"])
def test_only_the_catalog_store_runs_its_sql(package):
    private = re.compile(r"\._conn\(\)|\._product\b")
    hits = [str(p.relative_to(ROOT)) for p in (ROOT / package).rglob("*.py")
            if p.name != "store.py" or package != "retrieval"
            if private.search(p.read_text(encoding="utf-8"))]
    assert not hits


def test_serving_never_loads_the_training_module_or_torch():
    code = "import sys, ranker.serve; print(sorted(m for m in ('ranker.train', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""}).stdout
    assert out.strip() == "[]"
