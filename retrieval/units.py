"""Measurements: a number with a unit ("72 dB", "1.2 kg", "15.6 inch"), and the shopper's
phrases that bound one ("under 1 kg", "at least 1.5 l", "more than 20 h of battery").

Units are English and SI, not catalog data: each maps to a dimension and a factor to that
dimension's base unit, so "800 g" and "1 kg" compare. The query parser uses ``unit_at`` so a
number followed by a unit is never read as a price ("supports up to 10 kg").

Examples::

    >>> parse_measure("1.2 kg")
    Measure(value=1200.0, dimension='mass', unit='kg')
    >>> parse_measure("10 h (40 h with case)").value    # the first measurement counts
    36000.0
    >>> parse_measure("Bluetooth 5.3") is None
    True
    >>> [(b.op, b.measure.value, b.measure.dimension) for b in bounds("under 2 kg and at least 35 h")]
    [('<', 2000.0, 'mass'), ('>=', 126000.0, 'time')]
    >>> [(b.op, b.measure.value) for b in bounds("a tent for 4 people, 27 inch or bigger")]
    [('>=', 4.0), ('>=', 685.8)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# unit spelling -> (dimension, factor to the dimension's base unit)
_UNITS: dict[str, tuple[str, float]] = {}


def _add(dimension: str, factor: float, *names: str) -> None:
    for n in names:
        _UNITS[n] = (dimension, factor)


_add("mass", 1.0, "g", "gram", "grams", "gr")
_add("mass", 1000.0, "kg", "kgs", "kilo", "kilos", "kilogram", "kilograms")
_add("mass", 453.592, "lb", "lbs", "pound", "pounds")
_add("mass", 28.3495, "oz", "ounce", "ounces")
_add("volume", 1.0, "ml", "millilitre", "millilitres", "milliliter", "milliliters")
_add("volume", 10.0, "cl")
_add("volume", 1000.0, "l", "litre", "litres", "liter", "liters", "ltr")
_add("volume", 29.5735, "fl oz")
_add("volume", 236.6, "cup", "cups")
_add("length", 1.0, "mm", "millimetre", "millimetres", "millimeter", "millimeters")
_add("length", 10.0, "cm", "centimetre", "centimetres", "centimeter", "centimeters")
_add("length", 1000.0, "m", "metre", "metres", "meter", "meters")
_add("length", 25.4, "in", "inch", "inches", '"', "”", "''")
_add("length", 304.8, "ft", "foot", "feet")
_add("time", 1.0, "s", "sec", "secs", "second", "seconds")
_add("time", 60.0, "min", "mins", "minute", "minutes")
_add("time", 3600.0, "h", "hr", "hrs", "hour", "hours")
_add("time", 86400.0, "day", "days")
_add("time", 604800.0, "week", "weeks")
_add("time", 2629800.0, "month", "months")
_add("power", 1.0, "w", "watt", "watts")
_add("power", 1000.0, "kw", "kilowatt", "kilowatts")
_add("sound", 1.0, "db", "dba", "db(a)", "decibel", "decibels")
_add("data", 1.0, "mb")
_add("data", 1000.0, "gb", "gigabyte", "gigabytes")
_add("data", 1e6, "tb", "terabyte", "terabytes")
_add("bitrate", 1.0, "mbps", "mbit/s")
_add("bitrate", 1000.0, "gbps", "gbit/s")
_add("charge", 1.0, "mah")
_add("charge", 1000.0, "ah")
_add("frequency", 1.0, "hz")
_add("frequency", 1000.0, "khz")
_add("frequency", 1e6, "mhz")
_add("frequency", 1e9, "ghz")
_add("voltage", 1.0, "v", "volt", "volts")
_add("light", 1.0, "lm", "lumen", "lumens")
_add("resistance", 1.0, "ohm", "ohms", "ω")
_add("temperature", 1.0, "°c", "c", "celsius")
_add("speed", 1.0, "km/h", "kmh", "kph")
_add("speed", 1.609, "mph")
_add("speed", 1.0, "rpm")  # its own scale; only ever compared with itself
_add("pixels", 1.0, "px", "pixels")
_add("pages", 1.0, "pages", "page")
_add("people", 1.0, "person", "people", "persons")

UNITS = _UNITS  # public: spelling -> (dimension, factor to the base unit)

# the longest spellings first, so "fl oz" wins over "oz" and "ml" over "m"
_UNIT_RE = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
_NUMBER = r"(\d+(?:[.,]\d+)?)"
_MEASURE = re.compile(rf"{_NUMBER}\s*(?:-\s*)?({_UNIT_RE})(?![a-z0-9])", re.I)
# spellings that are also ordinary words ("2 in 1", "under 50 in black"): read in spec values,
# never taken as the unit of a shopper's number
AMBIGUOUS = frozenset({"in", "c", "s", "''"})
# "unit follows": used by the price parser to veto "10 kg", "23 watts", "15.6 inch"
_UNIT_AHEAD = re.compile(rf"\s*(?:-\s*)?(?:{_UNIT_RE})(?![a-z0-9])", re.I)


@dataclass(frozen=True, slots=True)
class Measure:
    value: float  # in the dimension's base unit (g, ml, mm, s, W, dB, MB, mAh, Hz, ...)
    dimension: str
    unit: str  # as written, lower-cased


@dataclass(frozen=True, slots=True)
class Bound:
    op: str  # "<=" | ">=" | "~" (around: ±20 %)
    measure: Measure
    span: tuple[int, int]
    text: str  # the phrase as written, for "Filters now: under 1 kg"


def _num(s: str) -> float:
    return float(s.replace(",", "."))


def unit_at(text: str, pos: int) -> str | None:
    """The unit spelled right at ``pos`` (after a number), if any.

    >>> unit_at("10 kg max", 2), unit_at("10 dollars", 2)
    ('kg', None)
    """
    m = _UNIT_AHEAD.match(text, pos)
    unit = m.group(0).strip(" -").lower() if m else None
    return None if unit in AMBIGUOUS else unit


_FAST = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)?)(\s*)(?:-\s*)?(fl oz|db\(a\)|km/h|mbit/s|gbit/s|[^\W\d_]+|[\"”°]c?|'')", re.I)


def parse_measure(value: str) -> Measure | None:
    """The first number-with-unit in a spec value ("0.8 l tank", "21 days (40 h GPS)").

    A one-letter unit glued to a number counts only when it is the whole value ("300W"):
    "802.11g" is a Wi-Fi standard, not grams.

    >>> parse_measure("300W").unit, parse_measure("802.11g, 802.11n")
    ('w', None)
    """
    text = str(value)
    if not any(c.isdigit() for c in text):
        return None
    for m in _FAST.finditer(text):
        unit = m.group(3).lower()
        if unit not in _UNITS:
            continue
        if len(unit) == 1 and not m.group(2) and m.group(0).strip() != text.strip():
            continue
        dimension, factor = _UNITS[unit]
        return Measure(_num(m.group(1)) * factor, dimension, unit)
    return None


# strict bounds ("under", "more than") and inclusive ones ("at most", "at least")
_LT = r"under|below|less than|lighter than|smaller than|shorter than|quieter than|lower than|fewer than|slower than|<"
_LE = r"at most|no more than|max(?:imum)?|up to|within|<="
_GT = (r"over|above|more than|bigger than|larger than|longer than|heavier than|louder than|higher than|greater than|"
       r"faster than|>|upwards of")
_GE = r"at least|min(?:imum)?|>=|for"
_AROUND = r"around|about|roughly|approximately|~"
_BOUND = re.compile(
    rf"\b(?:(?P<lt>{_LT})|(?P<le>{_LE})|(?P<gt>{_GT})|(?P<ge>{_GE})|(?P<ar>{_AROUND}))\s*{_NUMBER}\s*(?:-\s*)?(?P<unit>{_UNIT_RE})(?![a-z0-9])"
    rf"|{_NUMBER}\s*(?P<unit2>{_UNIT_RE})(?:\s+[a-z]+){{0,2}}?\s+(?:or|and)\s+(?:(?P<le2>less|under|below|lower|smaller|lighter|shorter|quieter)|"
    rf"(?P<ge2>more|up|above|over|higher|bigger|larger|longer|heavier|louder|greater))\b",
    re.I,
)


def bounds(text: str) -> list[Bound]:
    """The bounded measurements in a message, in order (a bare "1.2 kg" is no bound)."""
    out = []
    for m in _BOUND.finditer(text):
        if m.group("unit"):
            unit, number = m.group("unit").lower(), m.group(6)
            op = next((o for g, o in (("lt", "<"), ("le", "<="), ("gt", ">"), ("ge", ">=")) if m.group(g)), "~")
        else:
            unit, number = m.group("unit2").lower(), m.group(8)
            op = "<=" if m.group("le2") else ">="
        if unit in AMBIGUOUS:
            continue
        dimension, factor = _UNITS[unit]
        out.append(Bound(op, Measure(_num(number) * factor, dimension, unit), m.span(), m.group(0).strip()))
    return out
