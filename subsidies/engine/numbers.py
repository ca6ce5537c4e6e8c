"""Exact arithmetic for the engine: rates as Fractions, money rounded once per line."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import floor

Number = int | Decimal | Fraction

CENTS = 100


def frac(value: Number | str) -> Fraction:
    """An exact Fraction from an int, Decimal, Fraction or decimal string (never a float)."""
    if isinstance(value, float):
        raise TypeError("floats are not allowed in the subsidy engine")
    if isinstance(value, str):
        return Fraction(Decimal(value))
    return Fraction(value)


def money(value: Number) -> Decimal:
    """Round to 0.01 yuan, ROUND_HALF_UP (halves away from zero), exactly."""
    f = frac(value)
    sign = -1 if f < 0 else 1
    cents = floor(abs(f) * CENTS + Fraction(1, 2))
    return (Decimal(sign * cents) / CENTS).quantize(Decimal("0.01"))


def as_decimal(value: Number, places: int = 6) -> Decimal:
    """A Fraction shown as a Decimal with `places` decimals (for display and JSON only)."""
    f = frac(value)
    q = Decimal(1).scaleb(-places)
    sign = -1 if f < 0 else 1
    units = floor(abs(f) * 10**places + Fraction(1, 2))
    return (Decimal(sign * units) * q).quantize(q)


def percent(value: Number | None) -> str:
    """A rate as a percent string with 2 decimals, e.g. Fraction(9847, 10000) -> '98.47%'."""
    if value is None:
        return "—"
    return f"{as_decimal(frac(value) * 100, 2)}%"


def yuan(value: Number) -> str:
    return f"{money(value)}"
