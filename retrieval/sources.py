"""Streaming readers: every source format becomes a stream of Products and Reviews.

Constant memory: files are read line by line (gzip or plain), nothing is collected.
A row that cannot be read becomes a ``Record`` with ``reason`` set (quarantined by ingest
with its file and line number) and the stream goes on.

Formats (``fmt``), auto-detected from the first readable row of each file:

============  ==========================================================================
native        the demo format: ``Product.to_dict()`` / ``Review.to_dict()`` per line
amazon2023    Amazon Reviews 2023 meta (``parent_asin``, ``title``...) and reviews
amazon2018    Amazon 2014/2018 meta (``asin``, ``title``) and reviews (``reviewerID``, ``overall``)
unisrec       UniSRec item text (``asin``, ``text`` = "title. categories. brand. ")
icecat        Icecat JSONL as Chorus ships it (price in US cents, ``supplier``, ``attr_*``)
csv / jsonl   generic rows with a column ``mapping`` (Product field -> source column)
============  ==========================================================================

A folder is read file by file: every ``*.jsonl``, ``*.jsonl.gz``, ``*.json.gz``, ``*.csv``
in it (products first, then reviews; ``users.json`` and docs are ignored).

Example::

    >>> product_from_icecat({"id": "7", "title": "Mouse", "supplier": "Logitech", "price": 1999,
    ...                      "attr_t_product_colour": "Black"}).price
    19.99
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval.catalog import BadRow, Product, Review
from shopassist.jsonl import open_maybe_gzip

FORMATS = ("auto", "native", "amazon2023", "amazon2018", "unisrec", "icecat", "csv", "jsonl")


@dataclass(slots=True)
class Record:
    """One row of a source: a product, a review, or a bad row (``reason`` set)."""

    file: str
    line: int
    item: Product | Review | None = None
    reason: str | None = None
    raw: str = ""
    # the id a bad row claims, when it can be read: full-sync keeps that product's stored version
    id: str | None = None


# -- small field helpers ------------------------------------------------------------------------
def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return " ".join(_text(x) for x in v if x is not None).strip()
    return str(v).strip()


def _list(v: Any) -> list[str]:
    if v is None or v == "":
        return []
    if isinstance(v, list):
        out: list[str] = []
        for x in v:
            out.extend(_list(x) if isinstance(x, list) else [_text(x)])
        return [x for x in out if x]
    return [_text(v)]


_PRICE = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def parse_price(v: Any, scale: float = 1.0) -> float | None:
    """A price from a number or a string like "$1,299.00"; None when absent.

    >>> parse_price("$1,299.00"), parse_price(1999, 0.01), parse_price(""), parse_price("$5.99 - $9.99")
    (1299.0, 19.99, None, 5.99)
    """
    if v is None or v == "" or isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        price = float(v) * scale
    else:
        s = str(v).strip()
        neg = s.startswith("-")
        m = _PRICE.search(s)
        if not m:
            return None
        price = float(m.group(0).replace(",", "")) * scale
        price = -abs(price) if neg else price
    if price < 0:
        raise BadRow(f"negative price {v!r}")
    return round(price, 2)


def _require(pid: Any, title: Any) -> tuple[str, str]:
    pid, title = _text(pid), _text(title)
    if not pid:
        raise BadRow("missing id")
    if not title:
        raise BadRow("missing title")
    return pid, title


def _review_id(user: str, product: str, ts: Any) -> str:
    return hashlib.sha1(f"{user}|{product}|{ts}".encode()).hexdigest()[:20]


def _rating(v: Any) -> float:
    try:
        r = float(v)
    except (TypeError, ValueError):
        raise BadRow(f"rating {v!r} is not a number") from None
    if not 0 <= r <= 5:
        raise BadRow(f"rating {r} outside 0..5")
    return r


# -- per-format row converters: dict -> Product | Review (raise BadRow) ------------------------------
def product_from_native(d: dict) -> Product:
    pid, title = _require(d.get("id"), d.get("title"))
    p = Product.from_dict({**d, "id": pid, "title": title})
    p.price = parse_price(p.price)
    return p


def review_from_native(d: dict) -> Review:
    if not d.get("product_id") or not d.get("user_id"):
        raise BadRow("review without product_id/user_id")
    r = Review.from_dict(d)
    r.rating = _rating(r.rating)
    r.id = _text(r.id) or _review_id(r.user_id, r.product_id, r.timestamp)
    return r


def _seconds(ts: Any) -> int:
    try:
        t = int(float(ts or 0))
    except (TypeError, ValueError):
        return 0
    return t // 1000 if t > 10**11 else t  # 2023 timestamps are in milliseconds


def product_from_amazon2023(d: dict) -> Product:
    pid, title = _require(d.get("parent_asin"), d.get("title"))
    cats = _list(d.get("categories"))
    if not cats and d.get("main_category"):
        cats = [_text(d["main_category"])]
    images = []
    for im in d.get("images") or []:
        if isinstance(im, dict):
            url = im.get("large") or im.get("hi_res") or im.get("thumb")
            if url:
                images.append(url)
    details = d.get("details") if isinstance(d.get("details"), dict) else {}
    return Product(
        id=pid,
        title=title,
        description=_text(d.get("description")),
        features=_list(d.get("features")),
        brand=_text(d.get("store") or d.get("brand") or details.get("Brand")) or None,
        categories=cats,
        price=parse_price(d.get("price")),
        image_urls=images,
        attributes={str(k): _text(v) for k, v in details.items() if _text(v)},
        average_rating=float(d["average_rating"]) if d.get("average_rating") is not None else None,
        rating_count=int(d.get("rating_number") or 0),
    )


def review_from_amazon2023(d: dict) -> Review:
    pid, user = _text(d.get("parent_asin") or d.get("asin")), _text(d.get("user_id"))
    if not pid or not user:
        raise BadRow("review without parent_asin/user_id")
    ts = _seconds(d.get("timestamp"))
    return Review(
        id=_review_id(user, pid, d.get("timestamp")),
        product_id=pid,
        user_id=user,
        rating=_rating(d.get("rating")),
        title=_text(d.get("title")),
        text=_text(d.get("text")),
        timestamp=ts,
        helpful_votes=int(d.get("helpful_vote") or 0),
        verified=bool(d.get("verified_purchase", False)),
    )


def product_from_amazon2018(d: dict) -> Product:
    """2014 meta (``categories``: list of paths, ``imUrl``) and 2018 meta (``category``, ``imageURL``)."""
    pid, title = _require(d.get("asin"), d.get("title"))
    cats = d.get("category") or d.get("categories") or []
    if cats and isinstance(cats[0], list):  # 2014: several paths; keep the first
        cats = cats[0]
    images = _list(d.get("imageURLHighRes") or d.get("imageURL") or d.get("imUrl"))
    return Product(
        id=pid,
        title=title,
        description=_text(d.get("description")),
        features=_list(d.get("feature")),
        brand=_text(d.get("brand")) or None,
        categories=[c for c in _list(cats) if c],
        price=parse_price(d.get("price")),
        image_urls=images,
    )


def review_from_amazon2018(d: dict) -> Review:
    pid, user = _text(d.get("asin")), _text(d.get("reviewerID"))
    if not pid or not user:
        raise BadRow("review without asin/reviewerID")
    helpful = d.get("helpful") or d.get("vote") or 0
    if isinstance(helpful, list):
        helpful = helpful[0] if helpful else 0
    try:
        votes = int(str(helpful).replace(",", ""))
    except ValueError:
        votes = 0
    ts = d.get("unixReviewTime") or 0
    return Review(
        id=_review_id(user, pid, ts),
        product_id=pid,
        user_id=user,
        rating=_rating(d.get("overall")),
        title=_text(d.get("summary")),
        text=_text(d.get("reviewText")),
        timestamp=_seconds(ts),
        helpful_votes=votes,
        verified=bool(d.get("verified", False)),
    )


def product_from_unisrec(d: dict) -> Product:
    """UniSRec text is "<title>. <categories>. <brand>. ": the brand is the last part, the
    categories (one run-together string) the one before it, the rest the title."""
    pid, text = _require(d.get("asin"), d.get("text"))
    parts = [p.strip() for p in text.strip().rstrip(".").split(". ")]
    if len(parts) >= 3:
        title, cats, brand = ". ".join(parts[:-2]), parts[-2], parts[-1]
    else:
        title, cats, brand = parts[0], "", ""
    return Product(id=pid, title=title or text, description=cats, brand=brand or None)


def _attr_value(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return _text(v)


def product_from_icecat(d: dict) -> Product:
    """Icecat as Chorus ships it: price in US cents, ``supplier`` = brand, ``attr_[tnb]_*`` specs."""
    pid, title = _require(d.get("id"), d.get("title"))
    attrs = {}
    for k, v in d.items():
        if k.startswith("attr_") and v is not None and v != "":
            key = re.sub(r"^attr_[tnb]_", "", k)
            attrs[key] = _attr_value(v)
    if d.get("name"):
        attrs.setdefault("model", _text(d["name"]))
    if d.get("ean"):
        attrs.setdefault("ean", ",".join(_list(d["ean"])))
    if d.get("date_released"):
        attrs.setdefault("released", _text(d["date_released"])[:10])
    images = []
    for key in ("img_500x500", "img_high", "img_low", "img_thumb"):
        if d.get(key) and d[key] not in images:
            images.append(d[key])
    # no category: Icecat's product_type covers only 8% of products, and a category the parser
    # matches becomes a hard filter that would hide the other 92% (measured: -0.03 NDCG@10)
    return Product(
        id=pid,
        title=title,
        description=_text(d.get("short_description")),
        brand=_text(d.get("supplier")) or None,
        price=parse_price(d.get("price"), 0.01),
        image_urls=images,
        attributes=attrs,
    )


# -- generic rows with a mapping ---------------------------------------------------------------
MAPPING_KEYS = {
    "id", "title", "description", "features", "brand", "categories", "price", "currency", "image_urls",
    "average_rating", "rating_count",
    # reviews
    "product_id", "user_id", "rating", "text", "timestamp", "helpful_votes", "verified",
    # options
    "kind", "price_scale", "list_sep", "attributes_prefix",
}


def check_mapping(mapping: dict | None) -> dict:
    """A column mapping, validated: keys are Product/Review fields or options.

    >>> check_mapping({"id": "sku", "title": "name", "price_scale": 0.01})["id"]
    'sku'
    """
    mapping = dict(mapping or {})
    unknown = set(mapping) - MAPPING_KEYS
    if unknown:
        raise ValueError(f"unknown mapping keys {sorted(unknown)}; allowed: {sorted(MAPPING_KEYS)}")
    return mapping


def from_mapping(d: dict, mapping: dict) -> Product | Review:
    m = {**{k: k for k in MAPPING_KEYS}, **mapping}
    sep = mapping.get("list_sep", "|")

    def col(name):
        return d.get(m[name])

    def lst(name):
        v = col(name)
        return [x.strip() for x in v.split(sep) if x.strip()] if isinstance(v, str) else _list(v)

    if mapping.get("kind") == "reviews" or (m["user_id"] in d and m["rating"] in d and m["title"] not in d):
        pid, user = _text(col("product_id")), _text(col("user_id"))
        if not pid or not user:
            raise BadRow("review without product id/user id")
        ts = col("timestamp")
        return Review(id=_text(col("id")) or _review_id(user, pid, ts), product_id=pid, user_id=user,
                      rating=_rating(col("rating")), title=_text(col("title")), text=_text(col("text")),
                      timestamp=_seconds(ts))
    pid, title = _require(col("id"), col("title"))
    prefix = mapping.get("attributes_prefix", "attr_")
    rating = col("average_rating")
    return Product(
        id=pid,
        title=title,
        description=_text(col("description")),
        features=lst("features"),
        brand=_text(col("brand")) or None,
        categories=lst("categories"),
        price=parse_price(col("price"), float(mapping.get("price_scale", 1.0))),
        currency=_text(col("currency")) or "USD",
        image_urls=lst("image_urls"),
        attributes={k[len(prefix):]: _attr_value(v) for k, v in d.items() if k.startswith(prefix) and _attr_value(v)},
        average_rating=float(rating) if rating not in (None, "") else None,
        rating_count=int(float(col("rating_count") or 0)),
    )


# -- detection ----------------------------------------------------------------------------------
def detect_row(d: dict) -> Callable[[dict], Product | Review] | None:
    """The converter for a row, judged by its keys; None when unknown.

    >>> detect_row({"reviewerID": "u", "asin": "a", "overall": 5}).__name__
    'review_from_amazon2018'
    """
    keys = set(d)
    if "supplier" in keys or any(k.startswith("attr_") for k in keys) or "img_500x500" in keys:
        return product_from_icecat
    if "parent_asin" in keys:
        return review_from_amazon2023 if "user_id" in keys and "rating" in keys else product_from_amazon2023
    if "reviewerID" in keys and "overall" in keys:
        return review_from_amazon2018
    if "asin" in keys and "text" in keys and "title" not in keys:
        return product_from_unisrec
    if "asin" in keys and "title" in keys:
        return product_from_amazon2018
    if {"product_id", "user_id", "rating"} <= keys:
        return review_from_native
    if {"id", "title"} <= keys:
        return product_from_native
    return None


CONVERTERS: dict[str, tuple[Callable, ...]] = {
    "native": (product_from_native, review_from_native),
    "amazon2023": (product_from_amazon2023, review_from_amazon2023),
    "amazon2018": (product_from_amazon2018, review_from_amazon2018),
    "unisrec": (product_from_unisrec,),
    "icecat": (product_from_icecat,),
}


# -- reading ------------------------------------------------------------------------------------
def _open_bytes(path: Path):
    return open_maybe_gzip(path, "rb")


def _lines(path: Path) -> Iterator[tuple[int, str | None, bytes]]:
    """``(line number, text or None when not UTF-8, raw bytes)`` for each non-blank line."""
    with _open_bytes(path) as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                yield n, raw.decode("utf-8"), raw
            except UnicodeDecodeError:
                yield n, None, raw


def claimed_id(d: dict) -> str | None:
    """The product id a source row claims (``id``, else Amazon's ``parent_asin`` / ``asin``);
    None for a review row. The suite's ``delete:`` reads ids with it too.

    >>> claimed_id({"parent_asin": "B01"}), claimed_id({"user_id": "u", "parent_asin": "B01"})
    ('B01', None)
    """
    if "user_id" in d or "reviewerID" in d:
        return None  # a review row
    v = d.get("id") or d.get("parent_asin") or d.get("asin")
    return _text(v) or None


def read_jsonl(path: Path, fmt: str = "auto", mapping: dict | None = None) -> Iterator[Record]:
    name = str(path)
    chosen: Callable | None = None
    for n, text, raw in _lines(path):
        if text is None:
            yield Record(name, n, reason="not valid UTF-8", raw=raw.decode("utf-8", "replace"))
            continue
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            yield Record(name, n, reason=f"broken JSON ({e.msg} at column {e.colno})", raw=text)
            continue
        if not isinstance(d, dict):
            yield Record(name, n, reason="not a JSON object", raw=text)
            continue
        try:
            if fmt == "jsonl" or mapping:
                yield Record(name, n, item=from_mapping(d, mapping or {}))
                continue
            if fmt == "auto":
                # a row of unknown shape is read with the file's format so far: its converter
                # then names the precise fault ("missing title") instead of "unknown shape"
                conv = detect_row(d) or chosen
                if conv is None:
                    raise BadRow(f"unknown row shape (keys: {sorted(d)[:8]})")
                chosen = chosen or conv
            else:
                convs = CONVERTERS[fmt]
                conv = convs[0] if len(convs) == 1 else detect_row(d)
                if conv not in convs:
                    conv = convs[0]
            yield Record(name, n, item=conv(d))
        except BadRow as e:
            yield Record(name, n, reason=str(e), raw=text, id=claimed_id(d))
        except (TypeError, ValueError, KeyError) as e:  # a field of the wrong type: the row's fault
            yield Record(name, n, reason=f"bad field: {e}", raw=text, id=claimed_id(d))


def read_csv(path: Path, mapping: dict | None = None) -> Iterator[Record]:
    name = str(path)
    mapping = mapping or {}
    with _open_bytes(path) as fb:
        f = io.TextIOWrapper(fb, encoding="utf-8", errors="strict", newline="")
        reader = csv.DictReader(f)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                yield Record(name, reader.line_num + 1, reason="not valid UTF-8 (rest of file skipped)")
                return
            except csv.Error as e:
                yield Record(name, reader.line_num, reason=f"broken CSV: {e}")
                continue
            try:
                yield Record(name, reader.line_num, item=from_mapping(row, mapping))
            except BadRow as e:
                yield Record(name, reader.line_num, reason=str(e), raw=json.dumps(row)[:2000])
            except (TypeError, ValueError) as e:
                yield Record(name, reader.line_num, reason=f"bad field: {e}", raw=json.dumps(row)[:2000])


_DATA_SUFFIXES = (".jsonl", ".jsonl.gz", ".json.gz", ".csv", ".csv.gz", ".ndjson")
# products before reviews in a folder: reviews then find their products when ratings are derived
_ORDER = ("product", "item", "meta", "catalog")


def source_files(source: Path) -> list[Path]:
    """The data files of a source: the file itself, or a folder's data files, products first."""
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"source {source} does not exist")
    if source.is_file():
        return [source]
    files = [p for p in sorted(source.iterdir()) if p.is_file() and p.name.endswith(_DATA_SUFFIXES)]
    files = [p for p in files if not p.name.startswith(("judgments", "queries", "sequences", "quarantine"))]
    if not files:
        raise FileNotFoundError(f"no data files (*.jsonl[.gz], *.csv) in {source}")
    return sorted(files, key=lambda p: (not p.name.startswith(_ORDER), p.name))


def read_source(source: Path, fmt: str = "auto", mapping: dict | None = None) -> Iterator[Record]:
    """Every record of a source file or folder, streamed."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    mapping = check_mapping(mapping) if mapping else None
    for path in source_files(Path(source)):
        if fmt == "csv" or (fmt == "auto" and path.name.endswith((".csv", ".csv.gz"))):
            yield from read_csv(path, mapping)
        else:
            yield from read_jsonl(path, fmt, mapping)
