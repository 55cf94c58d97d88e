"""What one replica serves at a catalog size: ``shopassist bench scale --products N``.

A catalog of ``N`` products is scaled from real Icecat items, then measured the way a replica
runs it (embedded Chroma, the event store in the data dir, the scripted LLM so the numbers are
the shop's own work and not a model's):

1. base: the first ``base`` real Icecat products, their dense texts encoded by the real MiniLM
   (cached in the workdir, so a second size reuses them); the encode rate is reported;
2. scale: the base replicated with new ids (``<id>-x<copy>``), prices within +-15% and a variant
   tag in the title (``"... [Pro v3]"``); a replica's vector is its original's real MiniLM vector
   plus Gaussian noise, renormalised. Encoding 100k texts does not fit on the 2-core test box
   (~30 products/s), so the noise is sized by measurement instead: ``calibrate`` encodes some base
   titles with and without a tag for real and picks the noise that gives the same mean cosine;
3. ingest: every ingest step for real (read, hash, SQLite, BM25 text, Chroma upsert) except the
   model; products/s reported, and the rate with the model added back (``with_encode``);
4. search: filtered hybrid search p50/p95 over the Icecat queries with price/brand filters
   (query vectors warm, as in ``bench search``);
5. chat: the app served on loopback, ``1 / 4 / 16`` concurrent shoppers through ``gradio_client``
   (``ui.bench.run_load``): turn latency p50/p95 client side, errors, leaks;
6. memory: peak and current RSS of this one process (server and client threads together).

Not a leaf of ``shopassist`` (like ``shopassist/commands``, it drives every area: ``retrieval``
to build and search the catalog, ``ui`` to serve it); ``ui`` itself never imports ``retrieval``.

Example::

    report = bench_scale(settings, 10_000, base=2000, queries=50, turns=3, workdir=Path("/tmp/scale"))
    report["ingest"]["products_per_s"], report["chat"]["16"]["latency_s"]["p95"]
"""

from __future__ import annotations

import json
import os
import random
import re
import time
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from retrieval.bench import ICECAT, QUERY_FILTERS, peak_rss_mb
from retrieval.evaluate import percentile
from shopassist.jsonl import open_maybe_gzip
from shopassist.settings import Settings

VARIANTS = ("Pro", "Plus", "Lite", "Max", "Mini", "Black", "White", "Silver", "2-pack", "Refurbished", "Edition", "XL")
_TAG = re.compile(r" \[[^\]\[]+ v\d+\]")  # the variant tag a replica's title carries
FOLLOW_UPS = ("something cheaper", "compare the first two", "not that brand")  # from ui.bench.QUESTIONS


def tag_title(title: str, copy: int, rng: random.Random) -> str:
    """A replica's title: the original with a variant tag.

    >>> tag_title("Xerox toner", 3, random.Random(0))
    'Xerox toner [White v3]'
    >>> untag("Xerox toner [Refurbished v3]. Xerox")
    'Xerox toner. Xerox'
    """
    return f"{title} [{rng.choice(VARIANTS)} v{copy}]"


def untag(text: str) -> str:
    """The original's text from a replica's (the tag removed)."""
    return _TAG.sub("", text)


def current_rss_mb() -> float:
    """Resident memory now (Linux /proc), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def base_rows(n: int, source: Path) -> list[dict]:
    rows = []
    with open_maybe_gzip(source) as f:
        for line in f:
            rows.append(json.loads(line))
            if len(rows) >= n:
                break
    return rows


def scaled_rows(base: list[dict], n: int, seed: int = 0):
    """``n`` rows: the base first, then replicas (new id, tagged title, price within +-15%)."""
    rng = random.Random(seed)
    for i in range(n):
        copy, d = divmod(i, len(base))
        d = dict(base[d])
        if copy:
            d["id"] = f"{d['id']}-x{copy}"  # ids allow letters, digits and . _ : / # + = - (not ~)
            d["title"] = tag_title(d.get("title") or d.get("name") or "", copy, rng)
            if isinstance(d.get("price"), int | float):
                d["price"] = round(d["price"] * rng.uniform(0.85, 1.15), 2)
        yield d


class ReusedVectors:
    """An embedder for ``ingest``: a replica's vector is its original's real vector plus noise
    (seeded by the text, so reruns agree), renormalised; texts it has no original for are
    encoded by the real model (counted in ``computed``)."""

    def __init__(self, model, vectors: dict[str, np.ndarray], sigma: float):
        self.model, self.vectors, self.sigma = model, vectors, sigma
        self.computed = 0

    def _one(self, text: str) -> np.ndarray:
        original = untag(text)
        v = self.vectors.get(original)
        if v is None:
            v = self.vectors[original] = self.model.encode([original], normalize_embeddings=True, show_progress_bar=False)[0]
            self.computed += 1
        if original == text or not self.sigma:
            return v
        noise = np.random.default_rng(zlib.crc32(text.encode())).normal(0.0, self.sigma, v.shape)
        w = v + noise.astype(v.dtype)
        return w / np.linalg.norm(w)

    def encode(self, texts, **_kw) -> np.ndarray:
        return np.stack([self._one(t) for t in texts]).astype(np.float32)


def calibrate(model, texts: list[str], seed: int = 0) -> dict:
    """The noise that moves a vector as much as a variant tag moves MiniLM's: the mean cosine
    between real encodings of ``texts`` with and without a tag, and the per-dimension sigma that
    gives the same expected cosine, cos = 1 / sqrt(1 + d * sigma^2) for a unit vector in d dims.

    >>> round(1 / (1 + 384 * 0.0104 ** 2) ** 0.5, 3)  # sigma 0.0104 in 384 dims
    0.98
    """
    rng = random.Random(seed)
    tagged = [t.split(". ", 1)[0] + f" [{rng.choice(VARIANTS)} v1]" + ("" if ". " not in t else ". " + t.split(". ", 1)[1])
              for t in texts]  # fmt: skip
    a = model.encode(texts, normalize_embeddings=True, show_progress_bar=False)
    b = model.encode(tagged, normalize_embeddings=True, show_progress_bar=False)
    cos = float(np.mean(np.sum(a * b, axis=1)))
    d = a.shape[1]
    sigma = float(np.sqrt(max(0.0, 1.0 / cos**2 - 1.0) / d))
    return {"pairs": len(texts), "mean_cosine_tagged_vs_original": round(cos, 4), "sigma": round(sigma, 5)}


def _base_vectors(model, texts: list[str], cache: Path, batch_size: int) -> tuple[dict[str, np.ndarray], dict]:
    """Real MiniLM vectors of ``texts``, read from ``cache`` when it has them all (with the encode
    rate measured when they were made)."""
    if cache.exists():
        z = np.load(cache, allow_pickle=False)
        have = dict(zip(z["texts"].tolist(), z["vecs"]))
        if all(t in have for t in texts):
            return have, {"texts": len(texts), "cached": True, "encode_products_per_s": round(float(z["rate"]), 1)}
    t = time.perf_counter()
    vecs = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    s = time.perf_counter() - t
    np.savez(cache, texts=np.asarray(texts), vecs=vecs, rate=np.float64(len(texts) / s))
    return dict(zip(texts, vecs)), {"texts": len(texts), "cached": False, "encode_s": round(s, 1),
                                    "encode_products_per_s": round(len(texts) / s, 1)}


def _search(catalog, queries: list[str]) -> dict:
    """Filtered hybrid search latency (ms), query vectors warm."""
    for text in queries:
        catalog.embed(catalog.parse(text).text)
    lat = []
    for i, text in enumerate(queries):
        q = replace(catalog.parse(text), **QUERY_FILTERS[i % len(QUERY_FILTERS)])
        t = time.perf_counter()
        catalog.search(q, k=10)
        lat.append((time.perf_counter() - t) * 1000)
    return {"queries": len(queries), "p50_ms": round(percentile(lat, 50), 1), "p95_ms": round(percentile(lat, 95), 1)}


def _serve(settings: Settings):
    """The app on a free loopback port: (app, url, stop)."""
    from ui.bench import serve_in_thread

    return serve_in_thread(settings)


def _chat(app, url: str, settings: Settings, shoppers: list[int], turns: int, queries: list[str]) -> dict:
    """Drive each number of concurrent shoppers through the served app."""
    from gradio_client import Client

    from ui.bench import run_load

    # a catalog query, then a follow-up on its cards, then the next query: what shoppers of this catalog type
    script = tuple(x for q in queries for x in (q, FOLLOW_UPS[len(q) % len(FOLLOW_UPS)]))
    out: dict = {"llm_backend": settings.llm_backend, "concurrency": settings.concurrency, "turns_per_shopper": turns}
    t0 = time.perf_counter()
    Client(url, verbose=False).predict(script[0], "guest", "", api_name="/chat")
    out["warmup_turn_s"] = round(time.perf_counter() - t0, 2)
    for n in shoppers:
        r = run_load(url, n, turns, store=app.state.assistant.store, questions=script)
        out[str(n)] = {k: r[k] for k in ("turns", "errors", "error_samples", "leaks", "latency_s", "server_turn_s", "turns_per_s")}
    return out


def bench_scale(settings: Settings, n: int, base: int = 2000, queries: int = 50, turns: int = 3,
                shoppers: tuple[int, ...] = (1, 4, 16), workdir: Path | None = None, source: Path | None = None,
                calibration_pairs: int = 48) -> dict:
    """Build an ``n``-product catalog scaled from ``base`` real products and measure ingest,
    filtered search, chat turns at each number of concurrent ``shoppers``, and memory (see the
    module docstring). ``workdir`` keeps the base vectors between sizes."""
    from retrieval.ingest import dense_text, ingest
    from retrieval.models import load_embedder
    from retrieval.sources import read_source

    if n < base:
        raise ValueError(f"--products ({n}) must be at least --base ({base})")
    load_start = os.getloadavg()
    t_all = time.perf_counter()
    source = Path(source or ICECAT / "products.jsonl.gz")
    work = Path(workdir) if workdir else Path(f"/tmp/shopassist-bench-scale-{os.getpid()}")
    work.mkdir(parents=True, exist_ok=True)
    model = load_embedder(settings.embedding_model, settings.device)

    # 1. base: real products, real vectors
    base_src = work / f"base-{base}.jsonl"
    base_src.write_text("".join(json.dumps(d) + "\n" for d in base_rows(base, source)))
    texts = list(dict.fromkeys(dense_text(r.item) for r in read_source(base_src) if r.item is not None))
    vectors, base_report = _base_vectors(model, texts, work / f"base-{base}-vectors.npz", settings.embed_batch_size)
    cal = calibrate(model, texts[:calibration_pairs])

    # 2.-3. scale and ingest (fresh data dir per size)
    data_dir = work / f"data-{n}"
    if data_dir.exists():
        import shutil

        shutil.rmtree(data_dir)
    s = settings.model_copy(update={"data_dir": data_dir, "chroma": "embedded", "llm_backend": "scripted"})
    src = work / f"scaled-{n}.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(d) + "\n" for d in scaled_rows(base_rows(base, source), n))
    embedder = ReusedVectors(model, vectors, cal["sigma"])
    t = time.perf_counter()
    report = ingest(s, src, progress=False, embedder=embedder)
    ingest_s = time.perf_counter() - t
    rate = report.added / ingest_s
    encode_rate = base_report.get("encode_products_per_s")
    ingest_out = {"added": report.added, "seconds": round(ingest_s, 1), "products_per_s": round(rate, 1),
                  "encoded_for_real": embedder.computed}
    if encode_rate:  # the model's time added back: what a real ingest of new products would do here
        ingest_out["with_encode_products_per_s"] = round(1 / (1 / rate + 1 / encode_rate), 1)

    # 4. search, on the catalog the served app opened (one catalog in memory, as in a replica)
    rss_before = current_rss_mb()
    app, url, stop = _serve(s)
    try:
        catalog = app.state.assistant.catalog
        t = time.perf_counter()
        catalog.bm25()
        catalog.matrix()
        load_s = time.perf_counter() - t
        qs = [q for q in (ICECAT / "queries.txt").read_text().splitlines() if q.strip()][:queries]
        search = _search(catalog, qs)
        rss_catalog = current_rss_mb()
        # 5. chat
        chat = _chat(app, url, s, list(shoppers), turns, qs)
    finally:
        stop()
    return {
        "bench": "scale",
        "products": report.added,
        "scaled_from": f"{source.name}: the first {base} products with their real MiniLM vectors; replicas with new ids, "
                       f"a variant tag in the title, prices +-15%, vectors = the original's + N(0, sigma) renormalised",
        "base": base_report,
        "calibration": cal,
        "ingest": ingest_out,
        "index_load_s": round(load_s, 1),
        "filtered_search": search,
        "chat": chat,
        "rss_mb": {"after_ingest": rss_before, "after_search": rss_catalog, "after_chat": current_rss_mb(), "peak": peak_rss_mb()},
        "wall_s": round(time.perf_counter() - t_all, 1),
        "load_average_1m": {"start": round(load_start[0], 2), "end": round(os.getloadavg()[0], 2)},
    }
