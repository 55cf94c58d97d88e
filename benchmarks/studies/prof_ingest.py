"""Where ingest time goes: cProfile of ``retrieval.ingest.ingest`` on N Icecat products with the
real embedding model, next to a bare ``encode`` of the same texts; prints the ratio and the top
entries by cumulative time.

Produced the "Where the non-encode time went" paragraph in BENCHMARKS.md, "Retrieval benchmarks" >
"Ingest throughput" (1,000 products, *code before* the writer-thread change: of 45.2 s ingest,
encode 42.3 s, ``dataclasses.asdict`` 1.37 s, SQLite upsert 0.66 s, ...). Commands (repo root):

    # the measured profile: the code before commit 5c17f87 ("retrieval ingest: a writer thread ...")
    git worktree add /tmp/shopassist-before 5c17f87^      # = c3e75d9
    PYTHONPATH=/tmp/shopassist-before .venv/bin/python benchmarks/studies/prof_ingest.py --products 1000
    # the same profile of the current code
    .venv/bin/python benchmarks/studies/prof_ingest.py --products 1000

(the repo root is appended to ``sys.path``, so ``PYTHONPATH`` decides which code is profiled.)
The scaled rows and the data dir go to a fresh temporary folder (``--workdir`` to choose it).
Tiny smoke run: ``--products 50 --top 10``.

Adapted to the current code: none needed (``retrieval.bench.scaled_rows/_write``,
``retrieval.ingest.ingest/dense_text``, ``retrieval.models.load_embedder`` have the same
signatures in c3e75d9 and now).
"""
from __future__ import annotations

import argparse
import cProfile
import importlib
import pstats
import tempfile
import time
from pathlib import Path

import _common

_common.repo_on_path()
from retrieval.bench import _write, scaled_rows
from retrieval.ingest import dense_text, ingest
from retrieval.models import load_embedder
from retrieval.sources import read_source
from shopassist.settings import Settings


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--products", type=int, default=1000, help="products to ingest (default %(default)s, as measured)")
    ap.add_argument("--dataset", type=Path, default=_common.dataset(), help="folder with products.jsonl.gz (default: %(default)s)")
    ap.add_argument("--workdir", type=Path, help="where the rows and the data dir go (default: a new temporary folder)")
    ap.add_argument("--top", type=int, default=45, help="profile entries printed (default %(default)s)")
    a = ap.parse_args(argv)
    model = load_embedder()
    tmp = a.workdir or Path(tempfile.mkdtemp(prefix="prof-ingest-"))
    tmp.mkdir(parents=True, exist_ok=True)
    src = _write(scaled_rows(a.dataset / "products.jsonl.gz", a.products), tmp / "p.jsonl")
    texts = [dense_text(r.item) for r in read_source(src) if r.item is not None]
    model.encode(texts[:64], batch_size=64)
    t = time.perf_counter()
    importlib.import_module("chromadb")  # timed: a once-per-process import
    print("import chromadb", round(time.perf_counter() - t, 2))
    t = time.perf_counter()
    model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    enc = time.perf_counter() - t
    s = Settings(data_dir=tmp / "data")
    pr = cProfile.Profile()
    t = time.perf_counter()
    pr.enable()
    ingest(s, src, progress=False, embedder=model)
    pr.disable()
    ing = time.perf_counter() - t
    print(f"encode {enc:.2f}s  ingest {ing:.2f}s  ratio {enc / ing:.3f}  (workdir {tmp})")
    pstats.Stats(pr).sort_stats("cumulative").print_stats(a.top)


if __name__ == "__main__":
    main()
