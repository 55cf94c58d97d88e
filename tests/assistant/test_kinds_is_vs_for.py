"""What a title IS against what it is FOR, read from real Amazon 2023 titles
(../shared/datasets/amazon_reviews_2023_user_history_sample): a title that names the shopper's
kind only after the last "for"/"compatible with" or as the first half of a compound is never of that kind."""

from __future__ import annotations

import gzip
import json
import re

from assistant.carryover import _FITS, names_kind
from retrieval.bm25 import tokenize
from tests.conftest import dataset


def _titles() -> list[str]:
    with gzip.open(dataset("amazon_reviews_2023_user_history_sample") / "items.jsonl.gz", "rt", encoding="utf-8") as f:
        return [t for line in f if (t := json.loads(line).get("title"))]


def test_a_kind_named_only_after_for_is_never_the_product():
    for kind in ("keyboard", "mouse", "charger", "switch", "hose"):
        for title in _titles():
            *named, last = _FITS.split(title)  # after the last "for": what it fits
            own, fits = " ".join(named), [last] if named else []
            own = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", own)
            if fits and kind in tokenize(fits[0]) and kind not in tokenize(own):
                assert names_kind(title, kind) == 0, title


def test_a_title_ending_its_name_with_the_kind_is_of_the_kind():
    seen = 0
    for title in _titles():
        name = re.split(r"[,(;:|]| [-–] |\s(?:with|for|w/|compatible)\s", title, maxsplit=1, flags=re.I)[0].strip()
        words = tokenize(name)
        if words and words[-1] in ("keyboard", "mouse", "charger", "hose", "harmonica"):
            seen += 1
            assert names_kind(title, words[-1]) == 2, title
    assert seen >= 5
