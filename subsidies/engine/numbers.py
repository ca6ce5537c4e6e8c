"""Exact arithmetic for the engine: rates as Fractions, money rounded once per line.

The display conversions are cached (equal values give equal text; a platform's 10,000 callers
share a few thousand distinct rates)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import lru_cache

Number = int | Decimal | Fraction

CENT = Decimal("0.01")


def frac(value: Number | str) -> Fraction:
    """An exact Fraction from an int, Decimal, Fraction or decimal string (never a float)."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        raise TypeError("floats are not allowed in the subsidy engine")
    if isinstance(value, Decimal):
        return _from_decimal(value)
    if isinstance(value, str):
        return _from_decimal(Decimal(value))
    return Fraction(value)


@lru_cache(maxsize=4096)
def _from_decimal(value: Decimal) -> Fraction:
    """Scheme parameters are a few dozen Decimals used millions of times: convert each once."""
    return Fraction(value)


def _round_half_up(value: Fraction, places: int) -> Decimal:
    """Exact ROUND_HALF_UP (halves away from zero) of a Fraction to `places` decimals."""
    n, d = value.numerator, value.denominator
    scale = 10**places
    units = (2 * abs(n) * scale + d) // (2 * d)
    return Decimal(-units if n < 0 else units).scaleb(-places)


def money(value: Number) -> Decimal:
    """Round to 0.01 yuan, ROUND_HALF_UP (halves away from zero), exactly."""
    if isinstance(value, Decimal):
        return value.quantize(CENT, rounding=ROUND_HALF_UP)
    return _round_half_up(frac(value), 2)


@lru_cache(maxsize=65536)
def as_decimal(value: Number, places: int = 6) -> Decimal:
    """A Fraction shown as a Decimal with `places` decimals (for display and JSON only)."""
    return _round_half_up(frac(value), places)


@lru_cache(maxsize=65536)
def percent(value: Number | None) -> str:
    """A rate as a percent string with 2 decimals, e.g. Fraction(9847, 10000) -> '98.47%'."""
    if value is None:
        return "—"
    return f"{as_decimal(frac(value) * 100, 2)}%"


def yuan(value: Number) -> str:
    return f"{money(value)}"
