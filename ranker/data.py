"""Rating data for the ranker: readers, the per-user time split, and leakage-safe model inputs.

Readers turn each source into one ``RatingData`` (ratings in file order + item metadata):

- ``read_mi2014(dir)``      Musical Instruments 2014 5-core (reviews only; item text comes
                            from OTHER users' earlier reviews)
- ``read_amazon2023(dir)``  the Amazon Reviews 2023 user-history sample (reviews + item titles)
- ``read_catalog(store)``   the ingested catalog (``retrieval.store.CatalogStore``), so the
                            demo shop can be trained on
- ``read_dataset(path)``    picks the reader by the folder's files

Split (``split_leave_last_out``): per user, ratings sorted by (timestamp, file order); the
last is test, the one before it validation, the rest train. Ties at equal timestamps keep
file order (MI2014 has day resolution, so same-day reviews are ordered as in the file).
Users with 2 ratings give test + train, with 1 rating train only.

Inputs (``Example``) for a target rating (u, i, t) are built only from:
  user side: u's own ratings strictly earlier in u's sequence (titles, stars, review titles);
  item side: item metadata + the EARLIEST ``ITEM_SNIPPETS`` reviews of i by OTHER users with
             timestamp strictly below t (the earliest, so the text is stable and cacheable).
``check_no_leak`` asserts the target review's text is in neither input; ``make_example``
calls it for every example, so a leak is an exception, not a silent metric inflation.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from shopassist.errors import ShopassistError
from shopassist.jsonl import read_jsonl

ITEM_SNIPPETS = 3  # other users' reviews per item: enough for aspects, cheap to encode on CPU
SNIPPET_CHARS = 160  # per review unit (~40 tokens): the gist, and 2-core CPUs can encode 10k of them
USER_HISTORY = 8  # most recent earlier ratings in the user tower


class LeakageError(ShopassistError, AssertionError):
    """A model input contains the review it is asked to predict: a bug in ours, never data's."""


@dataclass(slots=True)
class Rating:
    user: str
    item: str
    stars: float
    ts: int
    order: int  # position in the source file: the tie-breaker
    title: str = ""  # the review's title/summary
    text: str = ""


@dataclass(slots=True)
class ItemMeta:
    title: str = ""
    brand: str = ""
    categories: list[str] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    description: str = ""
    price: float | None = None  # known for catalogs (the taste term's price feature); never part of the text

    def text(self) -> str:
        parts = [self.title, self.brand, " > ".join(self.categories), "; ".join(self.features)[:300], self.description[:300]]
        return ". ".join(p.strip() for p in parts if p and p.strip())


@dataclass
class RatingData:
    name: str
    ratings: list[Rating]
    items: dict[str, ItemMeta] = field(default_factory=dict)
    train: list[int] = field(default_factory=list)
    val: list[int] = field(default_factory=list)
    test: list[int] = field(default_factory=list)

    def __post_init__(self):
        self._by_user: dict[str, list[int]] = defaultdict(list)
        self._by_item: dict[str, list[int]] = defaultdict(list)
        for k in sorted(range(len(self.ratings)), key=lambda k: (self.ratings[k].ts, self.ratings[k].order)):
            self._by_user[self.ratings[k].user].append(k)
            self._by_item[self.ratings[k].item].append(k)
        self._item_ts = {i: [self.ratings[k].ts for k in ks] for i, ks in self._by_item.items()}
        if not (self.train or self.val or self.test):
            self.train, self.val, self.test = split_leave_last_out(self)

    def user_sequence(self, user: str) -> list[int]:
        """Indices of a user's ratings, oldest first (ties by file order)."""
        return self._by_user.get(user, [])

    def item_sequence(self, item: str) -> list[int]:
        return self._by_item.get(item, [])

    def item_ids(self) -> list[str]:
        return sorted(self._by_item)

    def users(self) -> list[str]:
        return sorted(self._by_user)

    def subset_users(self, n: int) -> "RatingData":
        """The first n users (sorted id) with all their ratings: small real data for tests."""
        keep = set(self.users()[:n])
        rs = [r for r in self.ratings if r.user in keep]
        for k, r in enumerate(rs):
            r.order = k
        return RatingData(self.name + f"[{n} users]", rs, {i: m for i, m in self.items.items()})


def split_leave_last_out(data: RatingData) -> tuple[list[int], list[int], list[int]]:
    """(train, val, test) indices: per user last -> test, second-to-last -> val."""
    train, val, test = [], [], []
    for u in data.users():
        seq = data.user_sequence(u)
        if len(seq) >= 2:
            test.append(seq[-1])
            seq = seq[:-1]
        if len(seq) >= 2:
            val.append(seq[-1])
            seq = seq[:-1]
        train.extend(seq)
    return sorted(train), sorted(val), sorted(test)


# -- readers ---------------------------------------------------------------------------------


def _jsonl(path: Path):
    return read_jsonl(path)


def read_mi2014(folder: Path) -> RatingData:
    """McAuley 2014 Musical Instruments 5-core: reviewerID, asin, overall, unixReviewTime, summary, reviewText."""
    folder = Path(folder)
    path = folder / "reviews.jsonl.gz" if folder.is_dir() else folder
    rs = [
        Rating(d["reviewerID"], d["asin"], float(d["overall"]), int(d["unixReviewTime"]), k, d.get("summary") or "", d.get("reviewText") or "")
        for k, d in enumerate(_jsonl(path))
    ]
    return RatingData("amazon_reviews_2014_musical_instruments_5core", rs, {})


def read_amazon2023(folder: Path, categories: list[str] | None = None) -> RatingData:
    """Amazon Reviews 2023 sample: reviews (user_id, parent_asin, rating, title, text, timestamp ms) + items."""
    folder = Path(folder)
    items = {}
    for d in _jsonl(folder / "items.jsonl.gz"):
        brand = d.get("brand")
        items[d["parent_asin"]] = ItemMeta(
            title=d.get("title") or "",
            brand="" if brand in (None, "None") else str(brand),
            categories=[c for c in (d.get("main_category"),) if c and c != "None"],
        )
    rs = []
    for k, d in enumerate(_jsonl(folder / "reviews.jsonl.gz")):
        if categories and d.get("category") not in categories:
            continue
        text = (d.get("text") or "").replace("<br />", " ")
        rs.append(Rating(d["user_id"], d["parent_asin"], float(d["rating"]), int(d["timestamp"]) // 1000, k, d.get("title") or "", text))
    name = "amazon_reviews_2023_user_history_sample" + (f"[{','.join(categories)}]" if categories else "")
    return RatingData(name, rs, items)


def read_catalog(store) -> RatingData:
    """Every review in a CatalogStore, with its products' text as item metadata."""
    rs, items = [], {}
    for p in store.iter_products():
        items[p.id] = ItemMeta(p.title, p.brand or "", list(p.categories), list(p.features), p.description, p.price)
    k = 0
    for u in store.users():
        for r in store.reviews_by_user(u):
            rs.append(Rating(r.user_id, r.product_id, float(r.rating), int(r.timestamp), k, r.title or "", r.text or ""))
            k += 1
    return RatingData("catalog", rs, items)


def read_dataset(path: Path) -> RatingData:
    """The reader for a dataset folder (by its files) or a reviews file."""
    path = Path(path)
    if (path / "items.jsonl.gz").exists():
        return read_amazon2023(path)
    if (path / "reviews.jsonl.gz").exists() or path.suffix == ".gz":
        return read_mi2014(path)
    raise FileNotFoundError(f"{path}: not a rating dataset this reader knows (MI 2014 reviews.jsonl.gz or Amazon 2023 items+reviews)")


# -- leakage-safe inputs ------------------------------------------------------------------------


@dataclass(slots=True)
class Example:
    """Model input for one target rating. Text comes in *units* that are encoded once each
    and pooled by the towers: the user's earlier reviews (with their stars) and the item's
    metadata + other users' earlier reviews."""

    index: int  # the target rating's index in data.ratings
    user: str
    item: str
    stars: float
    user_units: list[tuple[str, float]]  # (text, stars) of the user's earlier ratings, oldest first
    item_units: list[str]  # item metadata text (if any) then other users' earliest reviews
    history: list[tuple[str, float]]  # (item title, stars) of the user's earlier ratings
    sources: list[int] = field(default_factory=list)  # rating indices the user units came from

    @property
    def user_text(self) -> str:
        return " | ".join(f"{s:.0f}★ {t}" for t, s in reversed(self.user_units))

    @property
    def item_text(self) -> str:
        return " | ".join(self.item_units)


def review_unit(r: Rating, data: RatingData | None = None) -> str:
    """The text of one review as a unit: '[item title.] review title: review text', cut to SNIPPET_CHARS."""
    t = f"{r.title}: {r.text}" if r.title else r.text
    meta = data.items.get(r.item) if data is not None else None
    if meta is not None and meta.title:
        t = f"{meta.title[:60]}. {t}"
    return t[:SNIPPET_CHARS].strip()


def item_title(data: RatingData, item: str) -> str:
    meta = data.items.get(item)
    return meta.title if meta and meta.title else f"item {item}"


def item_units(data: RatingData, item: str, before_ts: int, exclude_user: str | None = None, exclude_text: str = "") -> list[str]:
    """Item metadata + the earliest ITEM_SNIPPETS other users' reviews strictly before ``before_ts``.

    The earliest (not the latest) so the text is the same for most targets and encodes once.
    ``exclude_text``: the target review's text; a copy of it posted by another account (it
    happens in MI2014) is skipped too.
    """
    meta = data.items.get(item)
    units = [meta.text()] if meta and meta.text() else []
    end = bisect_left(data._item_ts.get(item, []), before_ts)  # ts strictly below
    n = 0
    for k in data.item_sequence(item)[:end]:
        r = data.ratings[k]
        if r.user != exclude_user and not (exclude_text and r.text.strip() == exclude_text.strip()):
            units.append(review_unit(r))
            n += 1
            if n == ITEM_SNIPPETS:
                break
    return units


def item_text(data: RatingData, item: str, before_ts: int, exclude_user: str | None = None) -> str:
    return " | ".join(item_units(data, item, before_ts, exclude_user))


def leak_probes(target: Rating) -> list[str]:
    """Strings that identify the target review: its unit text and a 40-character piece from the
    middle of its text (starts are too generic: two MI2014 users both begin "I installed the
    Ragin' Cajun into my Fender Super Champ"). Titles alone are not probes: other users often
    write the same short title ("My favorite strings") and quoting theirs is legitimate."""
    probes = [p for p in (review_unit(target),) if len(p) >= 24]
    text = target.text.strip()
    if len(text) >= 40:
        mid = max(0, len(text) // 2 - 20)
        probes.append(text[mid : mid + 40])
    return probes


def check_no_leak(ex: Example, target: Rating) -> None:
    """Raise LeakageError when the target review is a source of, or its words appear in, the input."""
    if ex.index in ex.sources:
        raise LeakageError(f"target review {target.user}/{target.item} is a source of its own input")
    for p in leak_probes(target):
        if p in ex.item_text or p in ex.user_text:
            raise LeakageError(f"target review {target.user}/{target.item} leaks into the model input: {p!r}")


def make_example(data: RatingData, k: int, cold_user: bool = False) -> Example:
    """The leakage-safe input for rating ``k`` (only data from before it; see module docstring).

    Verbatim copies of the target review (the same user re-posting it earlier, or another
    account posting it: both happen in MI2014) are dropped from the input like the target.
    """
    r = data.ratings[k]
    probes = leak_probes(r)

    def clean(text: str) -> bool:
        return not any(p in text for p in probes)

    seq = data.user_sequence(r.user)
    hist = [] if cold_user else [h for h in seq[: seq.index(k)] if clean(review_unit(data.ratings[h], data)) and clean(data.ratings[h].text)]
    hist = hist[-USER_HISTORY:]
    items = item_units(data, r.item, r.ts, exclude_user=r.user, exclude_text=r.text)
    ex = Example(
        index=k,
        user=r.user,
        item=r.item,
        stars=r.stars,
        user_units=[(review_unit(data.ratings[h], data), data.ratings[h].stars) for h in hist],
        item_units=[u for u in items if clean(u)],
        history=[(item_title(data, data.ratings[h].item), data.ratings[h].stars) for h in hist],
        sources=list(hist),
    )
    check_no_leak(ex, r)
    return ex


def make_examples(data: RatingData, indices: list[int], cold_user: bool = False) -> list[Example]:
    return [make_example(data, k, cold_user) for k in indices]
