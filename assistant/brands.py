"""Brands the shop does not carry: "do you have apple laptops", "razer gaming mouse?".

A word is read as a brand the shop lacks when three things hold, all read from the catalog:

1. it stands where shoppers put a brand: the patterns of ``carryover.unknown_brands`` ("from
   X", "X brand", "do you have X laptops"), or first in a message, before words that name the
   catalog's products ("razer gaming mouse");
2. it is no catalog brand and no word of a product title;
3. the catalog's text never has it, or has it only as a name ("compatible with Apple iPad"):
   written capitalised inside sentences in most products that have it (``NAMED_SHARE``). A word
   the descriptions use in lower case ("bamboo") is a material, not a brand; a word one letter
   from a catalog word is a typo ("gamng").

Example::

    >>> from retrieval.catalog import Product
    >>> from assistant.vocabulary import CatalogVocabulary
    >>> v = CatalogVocabulary.build([
    ...     Product(id="a", title="Acme Gaming Mouse", brand="Acme", description="Works with Apple Macs and PCs."),
    ...     Product(id="b", title="Acme Laptop Sleeve", brand="Acme", description="Soft bamboo fibre lining."),
    ... ])
    >>> missing_brands("do you have apple laptops", ["Acme"], v), missing_brands("razer gaming mouse?", ["Acme"], v)
    (['Apple'], ['Razer'])
    >>> missing_brands("do you have bamboo sleeves", ["Acme"], v), missing_brands("gamng mouse", ["Acme"], v)
    ([], [])
"""

from __future__ import annotations

import re
from difflib import get_close_matches

from assistant.carryover import _NOT_BRANDS, BROWSE, GENERIC, unknown_brands
from assistant.intents import is_superlative
from retrieval.bm25 import STOPWORDS

# share of the products with the word whose text writes it as a name: Icecat's first 1500 name
# Apple in 4 products' text, capitalised in 4 ("(Apple)", "AppleTalk, Apple"), no title says it
NAMED_SHARE = 0.75
# difflib ratio at which an unknown word is a typo of a catalog word ("wireles" / "wireless" 0.93,
# "razer" / "laser" 0.6)
TYPO_MIN = 0.85
# conversation words that open a message and are no name (general English)
_OPENERS = frozenset("actually whats what hmm ok okay so also well just maybe please hey hi hello yes no yeah nope sure "
                     "thanks thank compare show find get need want nothing anything something none".split())
# comparatives a shopper asks for that a catalog's text may never write ("anything cheaper?")
_GRADED = frozenset("cheaper pricier cheapest priciest better best bigger smaller larger lighter heavier newer "
                    "quieter louder faster cheap expensive".split())
# "razer gaming mouse": a first word, then words of product titles
_LEADING = re.compile(r"^\s*(?:any |got |need (?:a |an )?)?(?P<name>[A-Za-z][A-Za-z0-9&'-]{2,})\s+(?P<rest>[a-z][a-z -]*)", re.I)


def _names_only(word: str, vocab) -> bool:
    """The catalog's text has ``word`` in no product, or (mostly) as a name."""
    df = vocab.word_df.get(word, 0)
    return df == 0 or vocab.named.get(word, 0) >= NAMED_SHARE * df


def _typo(word: str, vocab) -> bool:
    return bool(get_close_matches(word, [w for w in vocab.token_ids if w[:1] == word[:1]], n=1, cutoff=TYPO_MIN))


def _inflected(word: str, vocab) -> bool:
    """ "lightest", "cheaper": a graded form of a word the catalog has, not a name.

    >>> from assistant.vocabulary import CatalogVocabulary
    >>> v = CatalogVocabulary(word_df={"light": 3})
    >>> _inflected("lightest", v), _inflected("razer", v)
    (True, False)
    """
    for end in ("est", "er", "iest", "ier"):
        if word.endswith(end):
            stem = word[: -len(end)]
            if any(vocab.word_df.get(s) for s in (stem, stem + "e", stem + "y", stem[:-1])):
                return True
    return False


def _leading_name(message: str, vocab) -> str | None:
    """The first word, when the two or more words after it all name products in titles and the
    first is no word of the catalog, no graded form of one and no conversation word ("razer
    gaming mouse?"; not "cheapest office chair")."""
    m = _LEADING.match(message)
    if not m:
        return None
    name, rest = m["name"], re.findall(r"[a-z]+", m["rest"].lower())
    low = name.lower()
    if low in STOPWORDS or low in GENERIC or low in BROWSE or low in _NOT_BRANDS or low in _OPENERS:
        return None
    content = [w for w in rest if w not in STOPWORDS]
    if len(content) < 2 or not all(w in vocab.token_ids or w.rstrip("s") in vocab.token_ids for w in content):
        return None
    if vocab.word_df.get(low, 0) or _inflected(low, vocab) or is_superlative(low) or _typo(low, vocab):
        return None  # "cheapest gift card": a word the assistant reads otherwise
    return name


def missing_brands(message: str, brands: list[str], vocab, kinds: set[str] = frozenset()) -> list[str]:
    """The names the message asks for as brands that the shop does not carry (see the module)."""
    have = {b.lower() for b in brands}
    common = _CommonWords(vocab)
    out = unknown_brands(message, brands, vocab.token_ids, common, kinds)
    lead = _leading_name(message, vocab)
    if lead and lead.lower() not in have:
        out.append(lead[:1].upper() + lead[1:])
    return [n for n in dict.fromkeys(out)
            if not (_typo(n.lower(), vocab) or _inflected(n.lower(), vocab) or n.lower() in _GRADED)]  # fmt: skip


class _CommonWords:
    """The catalog words that are no passing name (``_names_only``): what ``unknown_brands`` takes
    as "ours", as a set it can ask ``in`` of."""

    def __init__(self, vocab):
        self.vocab = vocab

    def __contains__(self, word: str) -> bool:
        return not _names_only(word, self.vocab)
