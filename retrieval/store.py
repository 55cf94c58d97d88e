"""The SQLite catalog store: products, reviews and the vocabulary the query parser checks against.

Structured fields live here (indexed), not in Chroma, so hard filters and whole-catalog
superlatives ("cheapest", "best rated") are plain indexed SQL and never a ``where`` scan in
the vector store. Every product row carries two hashes:

- ``hash``: of the whole source row (``Product.content_hash``): unchanged rows are skipped;
- ``text_hash``: of the embedded text: a price-only change re-embeds nothing.

A row is written here only *after* its vector is in the vector store, so a row present here
always has its current vector (see ``retrieval.ingest`` for the crash-safety argument).

Example::

    >>> import tempfile, pathlib
    >>> s = CatalogStore(pathlib.Path(tempfile.mkdtemp()) / "c.sqlite")
    >>> s.upsert_products([(Product(id="1", title="Mixer", brand="Acme", price=20.0), "h", "t")])
    >>> s.get("1").title, s.count(), s.brands()
    ('Mixer', 1, ['Acme'])
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.catalog import Product, Review

if TYPE_CHECKING:
    from retrieval.query import StructuredQuery, Vocabulary

# titles of a brand that must open with a short form of its run-together name for the short form to
# name it (Amazon 2018 Scientific's first 2500: brand "SharkNinja", 4 of its 6 titles open "Shark")
ALIAS_MIN_TITLES = 2
# a brand name is a common word of the titles when at least this many titles say it and under this
# share of them are the brand's own (Amazon 2018 Scientific's first 2500: "3D" 1 of 350, "Universal"
# 1 of 16, "Super Glue" 1 of 13; the demo, Amazon 2023 and Icecat slices have none)
COMMON_MIN_TITLES = 10
COMMON_OWN_SHARE = 0.1

SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,            -- stable row number: the BM25/dense index position
    title TEXT NOT NULL,
    brand TEXT,
    brand_norm TEXT,                 -- lower-cased brand: filters are case-insensitive
    category TEXT,                   -- most specific category
    price REAL,
    source_rating REAL,              -- average rating as the source gave it (NULL = derive from reviews)
    average_rating REAL,
    rating_count INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL,              -- Product.to_dict() as JSON
    hash TEXT NOT NULL,              -- Product.content_hash() of the source row
    text_hash TEXT NOT NULL          -- hash of the embedded/indexed text
);
CREATE INDEX IF NOT EXISTS products_price ON products(price);
CREATE INDEX IF NOT EXISTS products_brand ON products(brand_norm);
CREATE INDEX IF NOT EXISTS products_rating ON products(average_rating);
CREATE INDEX IF NOT EXISTS products_seq ON products(seq);
-- covering index for the hard filters: rows hold the whole product JSON (kilobytes), so a
-- filter that had to visit the table would read a page per product; this index is ~50 bytes a row
CREATE INDEX IF NOT EXISTS products_filter ON products(price, brand_norm, average_rating, id, seq);
CREATE TABLE IF NOT EXISTS product_categories (
    product_id TEXT NOT NULL,
    category TEXT NOT NULL,          -- lower-cased, every level of the category path
    PRIMARY KEY (category, product_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS product_categories_pid ON product_categories(product_id);
CREATE TABLE IF NOT EXISTS reviews (
    id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    rating REAL NOT NULL,
    timestamp INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_product ON reviews(product_id, timestamp);
CREATE INDEX IF NOT EXISTS reviews_user ON reviews(user_id, timestamp);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# attribute keys whose values are colours: the parser validates colours against these
COLOUR_KEYS = ("colour", "color", "product_colour", "product_color", "t_product_colour", "t_colour")


class CatalogStore:
    """Products, reviews and users in one SQLite file (WAL mode; safe to read while ingesting).

    One connection per thread: the Gradio app searches from worker threads.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._conn() as c:
            c.executescript(SCHEMA)
        self._vocab_cache: tuple[int, dict] | None = None

    # -- connection ------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoints, crash-consistent
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- version: bumped on every product change; derived indexes (BM25) rebuild on it --------
    def version(self) -> int:
        row = self._conn().execute("SELECT value FROM meta WHERE key='version'").fetchone()
        return int(row[0]) if row else 0

    def _bump(self, c: sqlite3.Connection) -> None:
        c.execute(
            "INSERT INTO meta(key, value) VALUES('version', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    def get_meta(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._conn() as c:
            c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", (key, value))

    # -- products -------------------------------------------------------------------------
    def hashes(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """``{id: (hash, text_hash)}`` of the given ids that are stored."""
        out: dict[str, tuple[str, str]] = {}
        c = self._conn()
        for chunk in _chunks(list(ids), 900):
            q = f"SELECT id, hash, text_hash FROM products WHERE id IN ({','.join('?' * len(chunk))})"
            out.update({r[0]: (r[1], r[2]) for r in c.execute(q, chunk)})
        return out

    def upsert_products(self, rows: Iterable[tuple]) -> None:
        """Insert or replace ``(product, hash, text_hash)`` rows in one transaction.

        Set-wise: one lookup of the existing rows' ``seq`` (kept, so index positions are
        stable), then ``executemany`` for the rows and their categories; a repeated id keeps
        its last version.
        """
        rows = list({r[0].id: r for r in rows}.values())
        if not rows:
            return
        c = self._conn()
        with c:
            existing = self.id_seqs([r[0].id for r in rows])  # same thread-local connection: inside this transaction
            nxt = c.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM products").fetchone()[0]
            values, cats = [], []
            for p, h, th in rows:
                seq = existing.get(p.id)
                if seq is None:
                    seq, nxt = nxt, nxt + 1
                values.append((
                    p.id, seq, p.title, p.brand, (p.brand or "").strip().lower() or None, p.category,
                    p.price, p.average_rating, p.average_rating, p.rating_count,
                    p.to_json(), h, th,
                ))
                cats.extend(dict.fromkeys((p.id, cat.strip().lower()) for cat in p.categories if cat and cat.strip()))
            c.executemany("DELETE FROM product_categories WHERE product_id=?", [(i,) for i in existing])
            c.executemany(
                "INSERT OR REPLACE INTO products(id, seq, title, brand, brand_norm, category, price, "
                "source_rating, average_rating, rating_count, data, hash, text_hash) "
                "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
                values,
            )
            c.executemany("INSERT OR IGNORE INTO product_categories(product_id, category) VALUES(?, ?)", cats)
            self._bump(c)

    def delete_products(self, ids: Sequence[str]) -> int:
        """Delete products (and their category rows; reviews stay, they belong to users too)."""
        c = self._conn()
        n = 0
        with c:
            for chunk in _chunks(list(ids), 900):
                marks = ",".join("?" * len(chunk))
                n += c.execute(f"DELETE FROM products WHERE id IN ({marks})", chunk).rowcount
                c.execute(f"DELETE FROM product_categories WHERE product_id IN ({marks})", chunk)
            if n:
                self._bump(c)
        return n

    def all_ids(self) -> list[str]:
        return [r[0] for r in self._conn().execute("SELECT id FROM products ORDER BY seq")]

    def _product(self, row) -> Product:
        p = Product.from_dict(json.loads(row[0]))
        p.average_rating = row[1]
        p.rating_count = row[2] or 0
        return p

    def get(self, id: str) -> Product | None:
        row = self._conn().execute(
            "SELECT data, average_rating, rating_count FROM products WHERE id=?", (id,)
        ).fetchone()
        return self._product(row) if row else None

    def get_many(self, ids: Sequence[str]) -> list[Product]:
        """Products in the order of ``ids``; unknown ids are left out."""
        found: dict[str, Product] = {}
        c = self._conn()
        for chunk in _chunks(list(ids), 900):
            q = f"SELECT data, average_rating, rating_count, id FROM products WHERE id IN ({','.join('?' * len(chunk))})"
            found.update({r[3]: self._product(r) for r in c.execute(q, chunk)})
        return [found[i] for i in ids if i in found]

    def iter_products(self, batch: int = 1000) -> Iterator[Product]:
        """Every product in index order (``seq``), streamed in batches."""
        last = -1
        c = self._conn()
        while True:
            rows = c.execute(
                "SELECT data, average_rating, rating_count, seq FROM products WHERE seq > ? ORDER BY seq LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            for r in rows:
                yield self._product(r)
            last = rows[-1][3]

    def count(self) -> int:
        return self._conn().execute("SELECT COUNT(*) FROM products").fetchone()[0]

    # -- reviews and users --------------------------------------------------------------
    def upsert_reviews(self, reviews: Iterable[Review]) -> int:
        c = self._conn()
        n = 0
        with c:
            for r in reviews:
                c.execute(
                    "INSERT OR REPLACE INTO reviews(id, product_id, user_id, rating, timestamp, data) VALUES(?,?,?,?,?,?)",
                    (r.id, r.product_id, r.user_id, float(r.rating), int(r.timestamp or 0),
                     json.dumps(r.to_dict(), ensure_ascii=False)),
                )
                n += 1
        return n

    def refresh_ratings(self) -> int:
        """Fill average_rating/rating_count from the reviews for products whose source had none.

        Ratings are not part of the embedded text, so this never touches vectors.
        """
        c = self._conn()
        with c:
            n = c.execute(
                "UPDATE products SET (average_rating, rating_count) = ("
                " SELECT ROUND(AVG(r.rating), 2), COUNT(*) FROM reviews r WHERE r.product_id = products.id)"
                " WHERE source_rating IS NULL"
            ).rowcount
            c.execute("UPDATE products SET rating_count = 0 WHERE rating_count IS NULL")
        return n

    def reviews_for(self, product_id: str, limit: int | None = None) -> list[Review]:
        """A product's reviews, newest first."""
        q = "SELECT data FROM reviews WHERE product_id=? ORDER BY timestamp DESC"
        args: tuple = (product_id,)
        if limit:
            q += " LIMIT ?"
            args += (int(limit),)
        return [Review.from_dict(json.loads(r[0])) for r in self._conn().execute(q, args)]

    def reviews_by_user(self, user_id: str) -> list[Review]:
        """A user's reviews, oldest first (the ranker reads them as a history)."""
        rows = self._conn().execute("SELECT data FROM reviews WHERE user_id=? ORDER BY timestamp", (user_id,))
        return [Review.from_dict(json.loads(r[0])) for r in rows]

    def review_count(self) -> int:
        return self._conn().execute("SELECT COUNT(*) FROM reviews").fetchone()[0]

    def users(self) -> list[str]:
        return [r[0] for r in self._conn().execute("SELECT DISTINCT user_id FROM reviews ORDER BY user_id")]

    # -- vocabulary for the query parser ------------------------------------------------
    def brands(self) -> list[str]:
        rows = self._conn().execute(
            "SELECT brand FROM products WHERE brand IS NOT NULL AND brand != '' GROUP BY brand_norm ORDER BY brand_norm"
        )
        return [r[0] for r in rows]

    def common_word_brands(self) -> set[str]:
        """Brands (lower-cased) whose name is a common word of the catalog's titles: at least
        ``COMMON_MIN_TITLES`` titles name it and under ``COMMON_OWN_SHARE`` of them are its own
        ("3D", a brand of 1 of the 350 titles that say "3D printer"). Said by a shopper, such a
        name describes the product; it filters no brand."""
        rows = self._conn().execute("SELECT brand, title FROM products").fetchall()
        titles = [(b.lower() if b else "", f" {' '.join(re.findall(r'[a-z0-9]+', (t or '').lower()))} ") for b, t in rows]
        by_word: dict[str, list[int]] = {}
        for i, (_, t) in enumerate(titles):
            for w in set(t.split()):
                by_word.setdefault(w, []).append(i)
        out = set()
        for brand in {b for b, _ in titles if b}:
            words = re.findall(r"[a-z0-9]+", brand)
            if not words:
                continue
            name = f" {' '.join(words)} "
            naming = [i for i in by_word.get(words[0], []) if name in titles[i][1]]
            own = sum(titles[i][0] == brand for i in naming)
            if len(naming) >= COMMON_MIN_TITLES and own < COMMON_OWN_SHARE * len(naming):
                out.add(brand)
        return out

    def brand_aliases(self) -> dict[str, str]:
        """The short names a catalog writes run-together brands by, lower-cased, to the brand:
        brand "SharkNinja" whose titles open with "Shark" ("Shark Navigator Lift-Away"). The
        word is a proper prefix of a one-word brand, opens ``ALIAS_MIN_TITLES`` of its titles
        and is in no other brand's title, so it names that maker and nothing else; a brand its titles
        write spaced ("Break Free CLP" for BreakFree) is named by both words."""
        brand_of: dict[str, str] = {}
        firsts: dict[str, Counter] = {}
        elsewhere: Counter = Counter()  # title words of each brand's products, once per brand
        words_of: dict[str, set[str]] = {}
        for brand, title in self._conn().execute(
            "SELECT brand, title FROM products WHERE brand IS NOT NULL AND brand != ''"
        ):
            low = brand.lower()
            brand_of.setdefault(low, brand)
            words = re.findall(r"[a-z0-9]+", (title or "").lower())
            words_of.setdefault(low, set()).update(words)
            if words and re.fullmatch(r"[a-z0-9]+", low) and low.startswith(words[0]) and words[0] != low:
                rest = low[len(words[0]):]  # "Break Free CLP" for BreakFree: the name spaced, not shortened
                first = f"{words[0]} {rest}" if words[1:2] == [rest] else words[0]
                firsts.setdefault(low, Counter())[first] += 1
        for ws in words_of.values():
            elsewhere.update(ws)
        out = {}
        for low, counts in firsts.items():
            for word, n in counts.items():
                if (n >= ALIAS_MIN_TITLES and len(word) >= 3 and elsewhere[word.split()[0]] == 1
                        and word not in brand_of):  # fmt: skip
                    out[word] = brand_of[low]
        return out

    def categories(self) -> list[str]:
        """Every category level, as spelled in the first product that has it."""
        rows = self._conn().execute(
            "SELECT DISTINCT pc.category FROM product_categories pc ORDER BY pc.category"
        ).fetchall()
        spelled: dict[str, str] = {}
        for (low,) in rows:
            spelled[low] = low
        # original spelling from the products' category paths (cheap: the vocabulary is small)
        for (data,) in self._conn().execute(
            "SELECT data FROM products WHERE id IN (SELECT MIN(product_id) FROM product_categories GROUP BY category)"
        ):
            for cat in json.loads(data).get("categories", []):
                if cat.strip().lower() in spelled:
                    spelled[cat.strip().lower()] = cat.strip()
        return sorted(spelled.values(), key=str.lower)

    def colours(self) -> list[str]:
        """Colour values found in product attributes (keys like 'colour', 'product_colour')."""
        out: set[str] = set()
        for (data,) in self._conn().execute("SELECT data FROM products WHERE data LIKE '%colo%'"):
            for k, v in json.loads(data).get("attributes", {}).items():
                if k.lower() in COLOUR_KEYS and isinstance(v, str) and 0 < len(v) <= 30:
                    out.update(part.strip().lower() for part in v.split(",") if part.strip())
        return sorted(out)

    def price_range(self) -> tuple[float | None, float | None]:
        return tuple(self._conn().execute("SELECT MIN(price), MAX(price) FROM products").fetchone())  # type: ignore[return-value]

    def vocabulary(self) -> "Vocabulary":
        """Brands, categories, colours and the price range, cached per catalog version."""
        from retrieval.query import Vocabulary

        v = self.version()
        if self._vocab_cache is None or self._vocab_cache[0] != v:
            lo, hi = self.price_range()
            common = self.common_word_brands()
            vocab = Vocabulary(brands=[b for b in self.brands() if b.lower() not in common], categories=self.categories(), colours=self.colours(),
                               price_min=lo, price_max=hi, brand_aliases=self.brand_aliases())
            self._vocab_cache = (v, vocab)
        return self._vocab_cache[1]

    # -- hard filters and superlatives ------------------------------------------------
    def _where(self, q: "StructuredQuery") -> tuple[str, list]:
        clauses, args = [], []
        if q.price_min is not None:
            clauses.append("price >= ?")
            args.append(q.price_min)
        if q.price_max is not None:
            clauses.append("price <= ?")
            args.append(q.price_max)
        if q.brands:
            clauses.append(f"brand_norm IN ({','.join('?' * len(q.brands))})")
            args += [b.strip().lower() for b in q.brands]
        if q.exclude_brands:
            clauses.append(f"(brand_norm IS NULL OR brand_norm NOT IN ({','.join('?' * len(q.exclude_brands))}))")
            args += [b.strip().lower() for b in q.exclude_brands]
        if q.min_rating is not None:
            clauses.append("average_rating >= ?")
            args.append(q.min_rating)
        if q.categories:
            clauses.append(
                f"id IN (SELECT product_id FROM product_categories WHERE category IN ({','.join('?' * len(q.categories))}))"
            )
            args += [c.strip().lower() for c in q.categories]
        if q.exclude_ids:
            clauses.append(f"id NOT IN ({','.join('?' * len(q.exclude_ids))})")
            args += list(q.exclude_ids)
        for key, value in (q.attributes or {}).items():
            # values match as substrings, case-insensitively ("black" matches "Black,Silver");
            # "colour" means any of the catalog's colour keys
            keys = COLOUR_KEYS if key.lower() in ("colour", "color") else (key,)
            ors = " OR ".join("LOWER(json_extract(data, '$.attributes.' || json_quote(?))) LIKE ?" for _ in keys)
            clauses.append(f"({ors})")
            for k in keys:
                args += [k, f"%{str(value).lower()}%"]
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def has_filters(self, q: "StructuredQuery") -> bool:
        return bool(self._where(q)[0])

    def filter_seqs(self, q: "StructuredQuery") -> list[int]:
        """Index positions (``seq``) of the products passing the hard filters (any order)."""
        where, args = self._where(q)
        return [r[0] for r in self._conn().execute(f"SELECT seq FROM products{where}", args)]

    def filter_ids(self, q: "StructuredQuery", limit: int | None = None) -> list[str]:
        """Ids of the products passing the hard filters; ordered by the query's ``sort``
        (over the whole filtered catalog: this is how "cheapest" is answered), else by seq."""
        where, args = self._where(q)
        order = {
            "price_asc": " AND price IS NOT NULL ORDER BY price ASC, rating_count DESC, id",
            "price_desc": " AND price IS NOT NULL ORDER BY price DESC, rating_count DESC, id",
            # best rated: the Bayesian average (see bayes_rating) so one 5-star review does not beat 500 4.8s
            "rating_desc": " AND average_rating IS NOT NULL ORDER BY "
            f"(average_rating * MAX(rating_count, 1) + {PRIOR_COUNT} * (SELECT AVG(average_rating) FROM products))"
            f" / (MAX(rating_count, 1) + {PRIOR_COUNT}) DESC, id",
        }.get(q.sort, " ORDER BY seq")
        if order.startswith(" AND"):
            where = (where + order) if where else (" WHERE" + order[4:])
        else:
            where += order
        sql = f"SELECT id FROM products{where}"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [r[0] for r in self._conn().execute(sql, args)]

    def order_ids(self, ids: Sequence[str], sort: str) -> list[str]:
        """``ids`` ordered by a sort ("price_asc", "price_desc", "rating_desc"); products without
        the sorted value (no price, no rating) are left out."""
        rows: list[tuple] = []
        c = self._conn()
        for chunk in _chunks(list(ids), 900):
            q = f"SELECT id, price, average_rating, rating_count FROM products WHERE id IN ({','.join('?' * len(chunk))})"
            rows.extend(c.execute(q, chunk))
        if sort == "price_asc":
            rows = sorted((r for r in rows if r[1] is not None), key=lambda r: (r[1], -r[3], r[0]))
        elif sort == "price_desc":
            rows = sorted((r for r in rows if r[1] is not None), key=lambda r: (-r[1], -r[3], r[0]))
        elif sort == "rating_desc":
            mean = c.execute("SELECT AVG(average_rating) FROM products").fetchone()[0] or 0.0
            rows = sorted((r for r in rows if r[2] is not None),
                          key=lambda r: (-bayes_rating(r[2], r[3], mean), r[0]))
        return [r[0] for r in rows]

    def seq_ids(self) -> dict[int, str]:
        return dict(self._conn().execute("SELECT seq, id FROM products"))

    def ids_for_seqs(self, seqs: Sequence[int]) -> dict[int, str]:
        """``{seq: id}`` of the given index positions; unknown positions are left out."""
        out: dict[int, str] = {}
        c = self._conn()
        for chunk in _chunks(list(seqs), 900):
            q = f"SELECT seq, id FROM products WHERE seq IN ({','.join('?' * len(chunk))})"
            out.update(dict(c.execute(q, chunk)))
        return out

    def seq_hashes(self) -> list[tuple[int, str]]:
        """``(seq, content hash)`` of every product in index order: what changed, without the JSON."""
        return self._conn().execute("SELECT seq, hash FROM products ORDER BY seq").fetchall()

    def facet_rows(self) -> list[tuple[int, float | None, str | None, float | None]]:
        """``(seq, price, lower-cased brand, average rating)`` of every product (index order not
        guaranteed): the columns the hard filters compare, read from the covering index."""
        return self._conn().execute("SELECT seq, price, brand_norm, average_rating FROM products").fetchall()

    def indexed_rows(self, seqs: Sequence[int] | None = None, batch: int = 2000) -> Iterator[tuple[int, Product, str, str]]:
        """``(seq, product, content hash, text hash)`` in seq order, read together so they never
        drift apart: every product, or only those at ``seqs`` (what a search index is built from)."""
        c = self._conn()
        cols = "data, average_rating, rating_count, seq, hash, text_hash"
        if seqs is not None:
            for chunk in _chunks(sorted(int(s) for s in seqs), 900):
                rows = c.execute(f"SELECT {cols} FROM products WHERE seq IN ({','.join('?' * len(chunk))})", chunk).fetchall()
                for r in sorted(rows, key=lambda r: r[3]):
                    yield r[3], self._product(r), r[4], r[5]
            return
        last = -1
        while True:
            rows = c.execute(f"SELECT {cols} FROM products WHERE seq > ? ORDER BY seq LIMIT ?", (last, batch)).fetchall()
            if not rows:
                return
            for r in rows:
                yield r[3], self._product(r), r[4], r[5]
            last = rows[-1][3]

    def id_seqs(self, ids: Sequence[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        c = self._conn()
        for chunk in _chunks(list(ids), 900):
            q = f"SELECT id, seq FROM products WHERE id IN ({','.join('?' * len(chunk))})"
            out.update(dict(c.execute(q, chunk)))
        return out


PRIOR_COUNT = 5  # pseudo-reviews at the catalog mean: a product needs real volume to top "best rated"


def bayes_rating(average: float, count: int, mean: float, prior: int = PRIOR_COUNT) -> float:
    """Average rating shrunk towards the catalog mean: (avg * n + mean * C) / (n + C), n >= 1.

    Worked example, catalog mean 4.0, C = 5: one 5-star review -> (5 + 20) / 6 = 4.17;
    500 reviews at 4.8 -> (2400 + 20) / 505 = 4.79, which ranks first.

    >>> round(bayes_rating(5.0, 1, 4.0), 2), round(bayes_rating(4.8, 500, 4.0), 2)
    (4.17, 4.79)
    """
    n = max(count or 0, 1)
    return (average * n + mean * prior) / (n + prior)


def _chunks(items: list, n: int) -> Iterator[list]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
