"""Quantities in catalog specs, for the suite's attribute checks: "1.5 l" vs "600 ml".

The suite is the measuring stick of the assistant's understanding, so it reads units on its
own (never through the code it measures). A value is the first number in the text with the
unit written after it; units of one dimension convert to one base unit, so specs written in
different units compare:

>>> parse_quantity("0.6 l"), parse_quantity("600 ml")
(Quantity(value=600.0, dim='volume'), Quantity(value=600.0, dim='volume'))
>>> parse_quantity("up to 30 hours"), parse_quantity("72 dB"), parse_quantity("6")
(Quantity(value=30.0, dim='time'), Quantity(value=72.0, dim='dB'), Quantity(value=6.0, dim=''))
>>> parse_quantity("black") is None
True
>>> parse_quantity("21 days (40 h GPS)").value > parse_quantity("200 h").value
True
>>> satisfies(parse_quantity("1.7 l"), ">=1.5 l"), satisfies(parse_quantity("900 g"), "<1 kg")
(True, True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# unit -> (dimension, factor to the dimension's base unit); longest spellings are tried first
UNITS: dict[str, tuple[str, float]] = {
    "mg": ("mass", 0.001), "g": ("mass", 1.0), "gram": ("mass", 1.0), "grams": ("mass", 1.0),
    "kg": ("mass", 1000.0), "kilo": ("mass", 1000.0), "kilos": ("mass", 1000.0), "kilograms": ("mass", 1000.0),
    "lb": ("mass", 453.592), "lbs": ("mass", 453.592), "pound": ("mass", 453.592), "pounds": ("mass", 453.592),
    "oz": ("mass", 28.3495), "ounce": ("mass", 28.3495), "ounces": ("mass", 28.3495),
    "ml": ("volume", 1.0), "cl": ("volume", 10.0), "dl": ("volume", 100.0),
    "l": ("volume", 1000.0), "litre": ("volume", 1000.0), "litres": ("volume", 1000.0),
    "liter": ("volume", 1000.0), "liters": ("volume", 1000.0),
    "mm": ("length", 1.0), "cm": ("length", 10.0), "m": ("length", 1000.0),
    "in": ("length", 25.4), "inch": ("length", 25.4), "inches": ("length", 25.4), '"': ("length", 25.4),
    "h": ("time", 1.0), "hr": ("time", 1.0), "hrs": ("time", 1.0), "hour": ("time", 1.0), "hours": ("time", 1.0),
    "day": ("time", 24.0), "days": ("time", 24.0), "week": ("time", 168.0), "weeks": ("time", 168.0),
    "month": ("time", 730.0), "months": ("time", 730.0), "year": ("time", 8760.0), "years": ("time", 8760.0),
    "min": ("time", 1 / 60), "mins": ("time", 1 / 60), "minutes": ("time", 1 / 60),
    "w": ("power", 1.0), "watt": ("power", 1.0), "watts": ("power", 1.0), "kw": ("power", 1000.0),
    "db": ("dB", 1.0), "mah": ("charge", 1.0), "hz": ("frequency", 1.0), "khz": ("frequency", 1000.0),
    "mb": ("data", 0.001), "gb": ("data", 1.0), "tb": ("data", 1000.0),
    "°c": ("celsius", 1.0),
    "ohm": ("resistance", 1.0), "ohms": ("resistance", 1.0), "Ω": ("resistance", 1.0),
}
_UNIT_RE = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_QTY = re.compile(rf"(-?\d+(?:[.,]\d+)?)\s*({_UNIT_RE})?(?![a-z])", re.IGNORECASE)
_OP = re.compile(r"^\s*(>=|<=|==|=|>|<)?\s*(.+)$")


@dataclass(frozen=True, slots=True)
class Quantity:
    """A number in its dimension's base unit (g, ml, mm, h, W...); ``dim`` "" = no unit given."""

    value: float
    dim: str


def parse_quantity(text: str | float | None) -> Quantity | None:
    """The first number of ``text`` with its unit, in base units; None when there is no number."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return Quantity(float(text), "")
    m = _QTY.search(str(text))
    if not m:
        return None
    num = m.group(1)
    # "1,5" is a decimal comma; "1,200" a thousands separator
    num = num.replace(",", "") if re.fullmatch(r"-?\d+,\d{3}", num) else num.replace(",", ".")
    unit = (m.group(2) or "").lower()
    dim, factor = UNITS.get(unit, UNITS.get(m.group(2) or "", ("", 1.0)))
    return Quantity(float(num) * factor, dim)


def satisfies(q: Quantity | None, constraint: str) -> bool:
    """Whether ``q`` meets ``">=1.5 l"`` (ops >=, <=, >, <, =; none = equal, to 0.1 %).

    A bound with a unit needs a value of the same dimension; a unitless bound compares the raw
    number (Icecat's numeric specs carry no unit).

    >>> satisfies(parse_quantity("1.2 kg"), "<=1 kg"), satisfies(None, ">1"), satisfies(parse_quantity("20"), ">=20")
    (False, False, True)
    """
    m = _OP.match(str(constraint))
    bound = parse_quantity(m.group(2)) if m else None
    if q is None or bound is None or (bound.dim and q.dim != bound.dim):
        return False
    op = m.group(1) or "="
    a, b = q.value, bound.value
    return {
        ">=": a >= b - 1e-9, "<=": a <= b + 1e-9, ">": a > b + 1e-9, "<": a < b - 1e-9,
        "=": abs(a - b) <= 1e-3 * max(abs(b), 1e-9), "==": abs(a - b) <= 1e-3 * max(abs(b), 1e-9),
    }[op]


def is_constraint(text: str) -> bool:
    """``">=1.5 l"``, ``"<1 kg"`` (an operator and a number) rather than a word like ``black``.

    >>> is_constraint(">=1.5 l"), is_constraint("black"), is_constraint("min")
    (True, False, False)
    """
    return bool(re.match(r"^\s*(>=|<=|==|=|>|<)\s*-?\d", str(text)))
