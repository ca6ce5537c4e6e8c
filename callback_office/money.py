"""Money: Decimal only, one rounding rule (0.01 yuan, ROUND_HALF_UP)."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def round_yuan(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)
