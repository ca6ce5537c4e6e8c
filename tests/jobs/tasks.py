"""Job functions the tests enqueue (module level, so workers can import them)."""

from __future__ import annotations

import time

from django.core.exceptions import ValidationError

from callback_office.jobs import report_progress, save_result_file


def count_rows(*, total: int, pause: float = 0.0) -> int:
    for done in range(1, total + 1):
        if pause:
            time.sleep(pause)
        report_progress(done, total)
    save_result_file(f"{total} rows\n".encode(), name="exports/rows.txt", filename="结果.txt")
    return total


def reject_amount() -> None:
    raise ValidationError("金额不能为负数")


def crash() -> None:
    raise KeyError("internal")
