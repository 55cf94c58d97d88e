"""Ingest: stream a source into the SQLite catalog store and the vector store, idempotently.

The recipe, per batch of products read from the source:

1. hash each row (``Product.content_hash``); rows whose stored hash is equal cost nothing;
2. rows whose *embedded text* changed are embedded (one batched ``encode`` call);
3. a writer thread **upserts the batch's vectors first**, then writes its rows to SQLite in one
   transaction, while the caller reads and embeds the next batch (torch releases the GIL while
   it encodes, so the writes cost almost no wall time).

Crash safety follows from that order, which the writer keeps per batch and across batches (one
thread, first in, first out). A kill -9 between the vector upsert and the SQLite commit leaves
vectors whose SQLite rows are missing or stale; the rerun sees their hashes differ, re-embeds
and upserts the same ids again (an upsert, so nothing is duplicated) and commits. Search only
returns ids that are in SQLite, so such a vector is never shown meanwhile. ``full_sync`` also
sweeps vectors whose id is not in SQLite, so a crash followed by a source that dropped a product
leaves no ghost. Deletion is the reverse order: vectors first, then SQLite rows, so a crash in
between is finished by the next full sync (the row is still in SQLite, absent from the source).

Bad rows (broken JSON, not UTF-8, missing id/title, negative price, a duplicate id with
different content in the same source) go to a quarantine JSONL file with file, line and
reason; everything else is ingested. Catalog text is data, never instructions: every row
passes ``retrieval.sanitise`` first, which strips sentences that address the assistant or
carry URLs, coupon codes or phone numbers (``sanitised`` counts those rows), and quarantines a
product whose id, title or categories carry them.

CLI exit codes (``shopassist ingest``): 0 = all rows ingested, 3 = done but some rows were
quarantined (see the file named in the summary), 2 = the source or settings are unusable.

Example::

    >>> from shopassist.settings import Settings
    >>> import tempfile
    >>> r = ingest(Settings(data_dir=tempfile.mkdtemp()), DEMO_SOURCE, progress=False)  # doctest: +SKIP
    >>> r.added > 0, r.quarantined                                                          # doctest: +SKIP
    (True, 0)
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from retrieval.catalog import Product, Review
from retrieval.sanitise import sanitise_product, sanitise_review
from retrieval.sources import Record, read_source
from retrieval.store import CatalogStore
from retrieval.vectors import open_vectors
from shopassist.settings import Settings

log = logging.getLogger(__name__)

# bump when dense_text (the embedded text recipe) changes: every vector is then redone
TEXT_VERSION = "1"
EXIT_OK, EXIT_QUARANTINED = 0, 3


@dataclass(slots=True)
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    quarantined: int = 0
    reviews: int = 0
    quarantine_path: Path | None = None
    embedded: int = 0  # rows whose vectors were (re)computed
    duplicates: int = 0  # identical repeats of an id in the same source (harmless, skipped)
    sanitised: int = 0  # rows ingested with sentences or fields removed (retrieval.sanitise)
    seconds: float = 0.0
    source: str = ""
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return EXIT_QUARANTINED if self.quarantined else EXIT_OK

    def summary(self) -> str:
        s = (
            f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, deleted {self.deleted}, "
            f"quarantined {self.quarantined}, reviews {self.reviews} ({self.embedded} embedded, {self.seconds:.1f}s)"
        )
        if self.sanitised:
            s += f"\nsanitised {self.sanitised} rows (text addressing the assistant, URLs, coupon codes or phone numbers removed)"
        if self.quarantined:
            s += f"\nquarantined rows (line + reason) are in {self.quarantine_path}"
        return s

    def to_dict(self) -> dict:
        d = asdict(self)
        d["quarantine_path"] = str(self.quarantine_path) if self.quarantine_path else None
        return d


def dense_text(p: Product) -> str:
    """The text embedded for a product: title, brand, category path and the start of the description.

    Short on purpose: MiniLM is trained on sentence-length text, and embedding is the cost of an
    ingest (a 150-token text is ~5x slower to embed than a 30-token one). Specs and features go to
    BM25 instead (``retrieval.bm25.bm25_text``).

    >>> dense_text(Product(id="1", title="Mixer 500W", brand="Acme", categories=["Kitchen", "Mixers"]))
    'Mixer 500W. Acme. Kitchen > Mixers'
    """
    parts = [p.title.strip()]
    if p.brand:
        parts.append(p.brand.strip())
    if p.categories:
        parts.append(" > ".join(p.categories))
    if p.description:
        d = p.description.strip()
        parts.append(d if len(d) <= 160 else d[:160].rsplit(" ", 1)[0])
    return ". ".join(x.rstrip(". ") for x in parts if x)


def text_hash(text: str, model: str) -> str:
    """Hash of what is embedded, with the model and recipe version: a change re-embeds.

    >>> text_hash("a", "m") == text_hash("a", "m") != text_hash("a", "other")
    True
    """
    return hashlib.sha1(f"{TEXT_VERSION}|{model}|{text}".encode()).hexdigest()


class _Quarantine:
    """Bad rows, one JSON object per line, opened on the first bad row only."""

    def __init__(self, data_dir: Path, source: Path):
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.path = data_dir / "quarantine" / f"{stamp}-{source.name.split('.')[0]}.jsonl"
        self._f = None
        self.count = 0
        self.reasons: dict[str, int] = {}

    def add(self, rec: Record) -> None:
        if self._f is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = open(self.path, "a", encoding="utf-8")
        self._f.write(json.dumps({"file": rec.file, "line": rec.line, "reason": rec.reason, "raw": rec.raw[:2000]},
                                 ensure_ascii=False) + "\n")
        self.count += 1
        kind = (rec.reason or "").split(" (")[0].split(":")[0][:40]
        self.reasons[kind] = self.reasons.get(kind, 0) + 1

    def close(self) -> None:
        if self._f is not None:
            self._f.close()


class _Embedder:
    """The sentence model, loaded only when some row really needs a vector."""

    def __init__(self, settings: Settings, model=None):
        self.settings = settings
        self._model = model

    @property
    def name(self) -> str:
        return self.settings.embedding_model or "all-MiniLM-L6-v2"

    def encode(self, texts: list[str]):
        if self._model is None:
            from retrieval.models import load_embedder

            self._model = load_embedder(self.settings.embedding_model, self.settings.device)
        return self._model.encode(
            texts, batch_size=self.settings.embed_batch_size, normalize_embeddings=True,
            show_progress_bar=False, convert_to_numpy=True,
        )


class _Writer:
    """Runs write jobs on a thread of its own, one at a time, in the order they were submitted.

    ``depth`` jobs may wait (bounded memory: a job holds one batch). The first failure stops
    the writing (later jobs are dropped, not run out of order) and is raised in the caller at
    its next ``submit`` or at ``close``.
    """

    def __init__(self, depth: int = 1, on_exit: Callable[[], None] | None = None):
        self._on_exit = on_exit  # runs on the writer thread at the end (closes its connections)
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while (job := self._jobs.get()) is not None:
                if self._error is None:
                    try:
                        job()
                    except BaseException as e:  # handed to the caller, which raises it
                        self._error = e
        finally:
            if self._on_exit is not None:
                self._on_exit()

    def submit(self, job: Callable[[], None]) -> None:
        self._check()
        self._jobs.put(job)

    def close(self, check: bool = True) -> None:
        """Wait until every submitted job ran; raise the first failure when ``check``."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()
        if check:
            self._check()

    def _check(self) -> None:
        if self._error is not None:
            raise self._error


def ingest(
    settings: Settings,
    source_path: str | Path,
    fmt: str = "auto",
    full_sync: bool = False,
    mapping: dict | None = None,
    progress: bool = True,
    embedder=None,
    batch: int = 512,
) -> IngestReport:
    """Stream ``source_path`` (file or folder) into the catalog; see the module docstring.

    ``embedder``: an already loaded SentenceTransformer (tests and benches share one);
    ``batch``: products per embed/upsert/commit step (bounded memory, bounded redo after a crash).
    """
    t0 = time.perf_counter()
    source = Path(source_path)
    store = CatalogStore(settings.catalog_db)
    vectors = open_vectors(settings)
    model = _Embedder(settings, embedder)
    report = IngestReport(source=str(source))
    quarantine = _Quarantine(settings.data_dir, source)
    seen: dict[str, tuple[str, int]] = {}  # id -> (hash, line): duplicates and full-sync need it
    kept: set[str] = set()  # ids of bad rows: full sync keeps their stored version
    products: list[tuple[Product, str]] = []  # (product, content hash)
    reviews: list[Review] = []
    writer = _Writer(on_exit=store.close)  # the store's connection on the writer thread

    from tqdm import tqdm

    bar = tqdm(desc=f"ingest {source.name}", unit=" rows", disable=not progress, mininterval=0.5)
    try:
        for rec in read_source(source, fmt, mapping):
            bar.update(1)
            if rec.item is None:
                quarantine.add(rec)
                if rec.id:
                    kept.add(rec.id)
                continue
            item = _sanitised(rec, report)
            if item is None:
                quarantine.add(rec)
                if isinstance(rec.item, Product):
                    kept.add(rec.item.id)  # as for any bad row: full sync keeps the stored version
                continue
            if isinstance(item, Review):
                reviews.append(item)
                if len(reviews) >= 2000:
                    writer.submit(_review_job(store, reviews, report))
                    reviews = []
                continue
            p = item
            h = p.content_hash()
            if p.id in seen:
                first_hash, first_line = seen[p.id]
                if first_hash == h:
                    report.duplicates += 1
                else:
                    rec.reason = f"duplicate id {p.id!r} with different content (first seen at line {first_line})"
                    rec.raw = json.dumps(p.to_dict(), ensure_ascii=False)
                    quarantine.add(rec)
                continue
            seen[p.id] = (h, rec.line)
            products.append((p, h))
            if len(products) >= batch:
                _flush(products, store, vectors, model, report, writer)
                products = []
        _flush(products, store, vectors, model, report, writer)
        if reviews:
            writer.submit(_review_job(store, reviews, report))
        writer.close()
        if full_sync:
            if seen:
                report.deleted = _sync_deletes(store, vectors, set(seen) | kept)
            else:
                log.warning("full sync skipped: %s has no products (reviews only?)", source)
        if report.reviews or report.added or report.updated:
            store.refresh_ratings()
    finally:
        writer.close(check=False)  # on an error, what was submitted is still written, in order
        bar.close()
        quarantine.close()
    report.quarantined = quarantine.count
    report.reasons = quarantine.reasons
    report.quarantine_path = quarantine.path if quarantine.count else None
    report.seconds = time.perf_counter() - t0
    log.info("ingest %s: %s", source, report.summary())
    return report


def _sanitised(rec: Record, report: IngestReport) -> Product | Review | None:
    """The row as it may be stored, or None (``rec.reason`` then says why it is quarantined)."""
    if isinstance(rec.item, Review):
        item, removed = sanitise_review(rec.item)
    else:
        item, removed = sanitise_product(rec.item)
    if item is None:
        rec.reason = f"unsafe catalog text: {removed[0]}"
        rec.raw = rec.raw or rec.item.to_json()
        return None
    if removed:
        report.sanitised += 1
        log.info("%s line %s (%s): removed %s", rec.file, rec.line, item.id, "; ".join(removed))
    return item


def _review_job(store: CatalogStore, reviews: list[Review], report: IngestReport) -> Callable[[], None]:
    def job() -> None:
        report.reviews += store.upsert_reviews(reviews)

    return job


def _flush(products: list[tuple[Product, str]], store: CatalogStore, vectors, model: _Embedder,
           report: IngestReport, writer: _Writer) -> None:
    """One batch: skip unchanged rows, embed changed text; the writer then upserts the vectors
    first and the SQLite rows second, while the caller goes on with the next batch."""
    if not products:
        return
    stored = store.hashes([p.id for p, _ in products])
    rows, to_embed, texts = [], [], []
    for p, h in products:
        old = stored.get(p.id)
        if old and old[0] == h:
            report.unchanged += 1
            continue
        text = dense_text(p)
        th = text_hash(text, model.name)
        rows.append((p, h, th))
        if not old or old[1] != th:
            to_embed.append(p.id)
            texts.append(text)
        if old:
            report.updated += 1
        else:
            report.added += 1
    embeddings = model.encode(texts) if texts else None
    report.embedded += len(texts)

    def job() -> None:
        if texts:
            vectors.upsert(to_embed, embeddings)  # 1. vectors first ...
        if rows:
            store.upsert_products(rows)  # 2. ... then the rows that say "this vector is current"

    if rows:
        writer.submit(job)


def _sync_deletes(store: CatalogStore, vectors, keep: set[str]) -> int:
    """Delete products absent from the source, and any vector without a SQLite row."""
    absent = [i for i in store.all_ids() if i not in keep]
    if absent:
        vectors.delete(absent)  # vectors first: a crash here is finished by the next full sync
        store.delete_products(absent)
    if vectors.count() != store.count():
        known = set(store.all_ids())
        ghosts = [i for i in vectors.ids() if i not in known]
        if ghosts:
            log.info("removing %d vectors without a catalog row (left by an interrupted ingest)", len(ghosts))
            vectors.delete(ghosts)
    return len(absent)
