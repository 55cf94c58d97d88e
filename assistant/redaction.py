"""Personal data out of what we keep: e-mails, phones, cards, IBANs, street addresses, names.

``redact(text)`` replaces each finding with a typed placeholder (``[email]``, ``[phone]``,
``[card]``, ``[iban]``, ``[address]``, ``[name]``); the store, the events, the logs and the
training files get the redacted text, while the turn that is running keeps the shopper's
own words in memory (the answer is not worse for it).

Each rule is a small named regex, with a check where a regex alone would take product data for
personal data: a card number passes Luhn and is not a valid GTIN (an EAN of a German product
starts with 4 like a Visa card, and a tenth of them pass Luhn); a contiguous 12-digit "phone" that
is a valid UPC is kept; an IBAN passes mod 97. Prices, model numbers (``WH-1000XM4``,
``C540H2MG``), capacities (``2000 mAh``), years and quantities are left alone:
``tests/assistant/test_redaction.py`` runs the rules over thousands of real catalog titles
(Icecat, Amazon 2018 and 2023) and asserts that none is changed.

Rules run in order (``RULES``) on the text left by the previous one, so a card number is never
half-read as a phone.

Example::

    >>> redact("I'm Anna, mail anna.k@web.de or call +49 151 2345 6789 about the WH-1000XM4 for $349.99")
    "I'm Anna, mail [email] or call [phone] about the WH-1000XM4 for $349.99"
    >>> redact("my name is Jean Dupont, 221B rue de Rivoli, card 4111 1111 1111 1111")
    'my name is [name], [address], card [card]'
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    """One kind of personal data: its placeholder, a regex, and an optional check of a match."""

    kind: str  # the placeholder's word: "[email]"
    pattern: re.Pattern
    check: Callable[[re.Match], bool] | None = None
    group: int = 0  # the part of the match replaced ("my name is <Name>": group 1)

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        for m in self.pattern.finditer(text):
            if self.check is None or self.check(m):
                yield m.span(self.group)


def digits(s: str) -> str:
    """The digits of ``s``.

    >>> digits("4111-1111 1111.1111")
    '4111111111111111'
    """
    return re.sub(r"\D", "", s)


def luhn_ok(number: str) -> bool:
    """The Luhn checksum of card numbers: double every second digit from the right.

    >>> luhn_ok("4111111111111111"), luhn_ok("4111111111111112")
    (True, False)
    """
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def gtin_ok(number: str) -> bool:
    """The GS1 check digit of an EAN-8/UPC-A/EAN-13/GTIN-14: weights 3,1,3,... from the right
    (the check digit excluded).

    >>> gtin_ok("0095205603217"), gtin_ok("4008705042628"), gtin_ok("4008705042629")
    (True, True, False)
    """
    if len(number) not in (8, 12, 13, 14):
        return False
    body, check = number[:-1], int(number[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def iban_ok(s: str) -> bool:
    """ISO 13616 mod-97 check: the first four characters moved to the end, letters as 10..35.

    >>> iban_ok("DE89 3704 0044 0532 0130 00"), iban_ok("DE89 3704 0044 0532 0130 01")
    (True, False)
    """
    s = re.sub(r"\s", "", s).upper()
    if not 15 <= len(s) <= 34:
        return False
    n = "".join(str(int(c, 36)) for c in s[4:] + s[:4])
    return int(n) % 97 == 1


def _card(m: re.Match) -> bool:
    n = digits(m.group())
    # issuers: 2 (Mastercard 2-series), 3 (Amex, JCB, Diners), 4 (Visa), 5 (Mastercard), 6 (Discover, UnionPay)
    return 13 <= len(n) <= 19 and n[0] in "23456" and luhn_ok(n) and not gtin_ok(n)


# words that say a bare run of digits is a phone number (a part or serial number has none of them)
_PHONE_CUE = re.compile(r"(?i)(?:call|phone|tel\b|tel\.|mobile|cell|whats ?app|ring|text me|reach me|contact|my number|"
                        r"number is|sms|handy|telefon|téléphone|portable|numéro|appel|anruf|rufnummer)[^\n]{0,24}$")


def _phone(low: int, high: int) -> Callable[[re.Match], bool]:
    def check(m: re.Match) -> bool:
        s = m.group()
        n = digits(s)
        if not low <= len(n) <= high:
            return False
        if n == s:  # a bare run of digits is a part, serial or EAN number unless the words before say phone
            return _cued(m) and not gtin_ok(n)
        return True

    return check


def _cued(m: re.Match) -> bool:
    return bool(_PHONE_CUE.search(m.string[: m.start()]))


# not the tail of a model number, a decimal, a range or "#1", nor one of a list of numbers ("670 770 870 970 1070")
_NOT_AFTER_WORD = r"(?<![\w.,/+#\-])(?<!\d )"
_NOT_BEFORE_WORD = r"(?![\w\-/]|[.,]\d| \d)"
_INTL_REST = r"(?:[ .\-/]?\(0\))?(?:[ .\-/]?\(?\d{1,5}\)?){2,7}" + _NOT_BEFORE_WORD

EMAIL = Rule("email", re.compile(r"(?<![\w.+'-])[A-Za-z0-9][\w.%+'’-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"))

IBAN = Rule("iban", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"), lambda m: iban_ok(m.group()))

# 13-19 digits as printed on cards: one run, 4-4-4-4(-3) or Amex/Diners 4-6-5/4-6-4; a list of
# short part numbers ("245 260 261 265 285 316") is not a card even when it passes Luhn
CARD = Rule("card", re.compile(_NOT_AFTER_WORD + r"(?:\d{13,19}|\d{4}([ \-])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{3})?|\d{4}[ \-]\d{6}[ \-]\d{4,5})"
                               + _NOT_BEFORE_WORD), _card)

# +CC then 9-15 digits in groups (spaces, dots, dashes, slashes, "(0)" and "(area)"); 00CC the same,
# with 11 digits at least ("0046-0916" is a part number)
PHONE_INTL = Rule("phone", re.compile(_NOT_AFTER_WORD + r"\+[1-9]\d{0,2}" + _INTL_REST), _phone(9, 15))
PHONE_00 = Rule("phone", re.compile(_NOT_AFTER_WORD + r"00[1-9]\d{0,2}(?=[ .\-])" + _INTL_REST), _phone(11, 17))
# North America: (415) 555-0132, 415-555-0132, 415.555.0132, 1-800-555-0199; a separator is required
PHONE_NANP = Rule("phone", re.compile(_NOT_AFTER_WORD + r"(?:1[ .\-])?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .\-])[2-9]\d{2}[ .\-]\d{4}"
                                      + _NOT_BEFORE_WORD), _phone(10, 11))
# national numbers with a trunk 0, 10 to 12 digits: FR 06 12 34 56 78; UK 020 7946 0958, 07700 900123;
# DE 030 1234567, (0151) 2345 6789, 0151/23456789; IN 098765 43210. Groups after the first have 3 or
# more digits except in the French pairs (a part number "010-01769-01" ends in a pair).
PHONE_NATIONAL = Rule("phone", re.compile(
    _NOT_AFTER_WORD + r"(?:0[1-9](?:[ .\-]\d{2}){4}|\(?0[1-9]\d{0,4}\)?(?:[ \-/]?\d{3,8}){1,3})" + _NOT_BEFORE_WORD),
    _phone(10, 12))
# Indian mobiles without the trunk 0: 98765 43210 or, after a cue word, 98765-43210 or 9876543210
# (3M's "90128-00001" is a part number)
PHONE_IN = Rule("phone", re.compile(_NOT_AFTER_WORD + r"[6-9]\d{4}[ \-]?\d{5}" + _NOT_BEFORE_WORD),
                lambda m: " " in m.group() or _cued(m))

_NAME = r"[A-ZÀ-Þ][a-zà-ÿß'’]+(?:-[A-ZÀ-Þa-zà-ÿ][a-zà-ÿß'’]+)*"  # a capitalised word (never all caps: "GB", "USB", "ATA" are not street names)
# capitalised product words that come between a number and "Drive"/"Street" in catalog titles
# ("1 TB Hard Drive", "#2 Phillips Drive", "90 Degree Street Elbow")
_NOT_STREET_NAME = r"(?!(?:Hard|Flash|Disk|Disc|Solid|State|External|Internal|Portable|Optical|Tape|Thumb|Pen|Zip|Courier|" \
                   r"Phillips|Torx|Hex|Slotted|Square|Degree|Inch|Pack|Piece|Port|Way|Speed|Gen)\b)"
_EN_STREET = (r"Street|St\.|Road|Rd\.?|Avenue|Ave\.?|Lane|Ln\.?|Boulevard|Blvd\.?|Drive|Dr\.|Crescent|Terrace|Close|"
              r"Gardens|Parkway|Highway|Hwy\.?")
_NUMBER = r"(?<![\w.,/#\-])\d{1,5}[A-Za-z]?,? +"
ADDRESS_EN = Rule("address", re.compile(
    _NUMBER + r"(?:" + _NOT_STREET_NAME + _NAME + r" +){1,3}(?:" + _EN_STREET + r")(?![\w-])(?! Elbow)"
    r"|" + _NUMBER + r"(?:[a-z]+ +){1,2}(?:street|road|avenue|lane|boulevard)\b"))
ADDRESS_FR = Rule("address", re.compile(
    r"(?<![\w.,/#\-])\d{1,4} ?(?:bis|ter|[A-Za-z])?,? +(?:(?i:rue|avenue|av\.|boulevard|bd|allée|chemin|impasse)|place|quai|cours)"
    r" +(?:(?:de la|de l'|de|du|des|d'|la|le|l')\s*)?" + _NAME + r"(?:[ \-](?:de |du |des |la |le )?" + _NAME + r")*"))
_NO_UNIT = r"(?! ?(?:[kMGT]?Hz|[kMGT]i?B|[kMG]?W|mAh|dB|mm|cm|kg|g|ml|V|A)\b)"  # "Via Eden 400 MHz" is a CPU
ADDRESS_DE = Rule("address", re.compile(
    r"(?:(?:\b" + _NAME + r" )?\b[A-ZÄÖÜ][a-zäöüß\-]*(?:straße|strasse|str\.|weg|gasse|allee|platz|damm|ufer)"
    r"|\b" + _NAME + r" (?:Straße|Strasse|Str\.|Weg|Gasse|Allee|Platz|Damm|Ufer))"
    r" ?\d{1,4} ?[a-z]?\b(?![/.,]\d)" + _NO_UNIT +
    r"|\b(?:Calle|Avenida|Via|Viale|Piazza|Corso|Rua|Carrer) +(?:(?:de la|del|de|dei|della|da|do) +)?" + _NAME
    + r"(?: +" + _NAME + r")*,? +\d{1,4}\b" + _NO_UNIT))

# a name after the words that introduce one; the first word always, more while they look like names
_STOP = (r"(?:and|und|et|y|e|i|im|i'm|je|ich|but|mais|aber|please|bitte|svp|looking|need|want|from|here|"
         r"am|is|suis|bin|a|an|the|le|la|der|die|das|with|for|pour|für|my|mon|ma|mein|meine|what|how|on|not|nicht|pas|in|"
         r"at|to|as|of|under|also|still|was|wrong|missing|spelled|spelt|correct|no|so|just|actually)\b")
_WORD = r"[^\W\d_][\w'’\-]*"
NAME = Rule("name", re.compile(
    r"(?i:\b(?:my name is|my name's|name's|i am called|i'm called|im called|je m'appelle|je m’appelle|mon nom est|"
    r"ich heiße|ich heisse|mein name ist|me llamo|mi chiamo)) +"
    r"((?!(?i:" + _STOP + r"))" + _WORD + r"(?: +(?!(?i:" + _STOP + r"))" + _WORD + r"){0,2})"), group=1)

RULES: tuple[Rule, ...] = (EMAIL, IBAN, CARD, PHONE_INTL, PHONE_00, PHONE_NANP, PHONE_NATIONAL, PHONE_IN,
                           ADDRESS_EN, ADDRESS_FR, ADDRESS_DE, NAME)


def findings(text: str) -> list[tuple[str, str]]:
    """(kind, text found) for every rule, in rule order (each rule sees the text the earlier left).

    >>> findings("ring me on 020 7946 0958")
    [('phone', '020 7946 0958')]
    """
    found = []
    for rule in RULES:
        spans = list(rule.spans(text))
        found += [(rule.kind, text[a:b]) for a, b in spans]
        text = _replace(text, spans, rule.kind)
    return found


def _replace(text: str, spans: list[tuple[int, int]], kind: str) -> str:
    for a, b in reversed(spans):
        text = text[:a] + f"[{kind}]" + text[b:]
    return text


def redact(text: str) -> str:
    """``text`` with every personal datum replaced by its typed placeholder.

    >>> redact("Samsung 2000 mAh 72 dB C540H2MG, 2 pack, 2023 model, $49.99")
    'Samsung 2000 mAh 72 dB C540H2MG, 2 pack, 2023 model, $49.99'
    >>> redact("ich heiße Jonas Weber, Hauptstraße 5, Tel. 030 1234567")
    'ich heiße [name], [address], Tel. [phone]'
    """
    if not text or not any(ch.isdigit() or ch == "@" for ch in text) and not _MAY_NAME.search(text):
        return text  # the common case: no digit, no @, no name phrase
    for rule in RULES:
        text = _replace(text, list(rule.spans(text)), rule.kind)
    return text


_MAY_NAME = re.compile(r"(?i)name|called|appelle|hei(?:ß|ss)e|llamo|chiamo")


def redact_tree(value: Any) -> Any:
    """A JSON-like value (message meta, event payload) with every string redacted.

    >>> redact_tree({"reason": "call 07700 900123", "rank": 2, "ids": ["3920564"]})
    {'reason': 'call [phone]', 'rank': 2, 'ids': ['3920564']}
    """
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_tree(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's message (installed by the CLI on its handlers),
    so a log line quoting a shopper's message keeps no e-mail or phone number."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: logging reports it itself
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True
