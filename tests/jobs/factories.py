"""Test data for the jobs tests: candidates with assignments, and workbooks in the drop folder."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import django_rq
from openpyxl import Workbook
from rq import SimpleWorker

from admissions.reconciliation import drop_dir

PAYMENT_HEADERS = ["考生号", "缴费日期", "金额"]
REGISTRATION_HEADERS = ["考生号", "报到日期"]


def write_xlsx(path: Path, headers: list[str], rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def drop_payments(year: int, name: str, rows: list[tuple[str, dt.date, Decimal]]) -> Path:
    return write_xlsx(
        drop_dir(year, "payments") / name, PAYMENT_HEADERS, [[n, d, float(a)] for n, d, a in rows]
    )


def drop_registrations(year: int, name: str, rows: list[tuple[str, dt.date]]) -> Path:
    return write_xlsx(drop_dir(year, "registrations") / name, REGISTRATION_HEADERS, [[n, d] for n, d in rows])


def run_burst(*queues: str) -> None:
    """Run every queued job of `queues` in this process (sees the test's uncommitted data)."""
    worker = django_rq.get_worker(*(queues or ("default",)), worker_class=SimpleWorker)
    worker.work(burst=True)
