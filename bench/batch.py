# ruff: noqa: E501  (tables of generated rows and report rows read better on one line)
"""Batch benchmarks, one per process (so peak RSS is the task's own):

    .venv/bin/python -m bench.batch <task> --scale office

Tasks: payout, workbook, export_limit, import_full, import_limit, import_ie, reconcile.
Each prints one line `RESULT {json}`. Writes that would change the bench season (imports,
reconciliation) run inside a transaction that is rolled back, so repeated runs see the same data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path

from bench.common import ROOT, SEASON_YEAR, setup_django

WORK = ROOT / "bench" / "results" / "files"
IMPORT_ROWS = 100_000
IE_ROWS = 5_000  # django-import-export is per row; measured on fewer rows and extrapolated
RECON_ROWS = 100_000


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). Not `ru_maxrss`: on Linux that carries over
    fork + exec, so a task started by the (large) bench runner reported the runner's size."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Rollback(Exception):
    pass


def _season():
    from admissions.models import Season

    return Season.objects.get(year=SEASON_YEAR)


# --- payouts -------------------------------------------------------------------------------------


def task_payout(args) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from subsidies.services import payout_run_create

    season = _season()
    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        run = payout_run_create(season=season, user=None)
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "queries": len(ctx.captured_queries),
        "lines": run.lines.count(),
        "people": run.person_count,
        "run_id": run.pk,
    }


def _latest_run():
    """The bench season's latest run without its frozen facts (~4 MB of JSON, ~20 MB as Python
    objects at platform scale), so that the baseline is the process and not the facts: the
    workbook writer reads them itself (`subsidies.exports.run_facts`) inside the timed and
    measured task."""
    from subsidies.models import PayoutRun

    runs = PayoutRun.objects.filter(season__year=SEASON_YEAR).defer("facts")
    run = runs.order_by("-number").first()
    if run is None:
        from subsidies.services import payout_run_create

        payout_run_create(season=_season(), user=None)
        run = runs.order_by("-number").first()
    return run


def task_workbook(args) -> dict:
    from subsidies.exports import write_payout_workbook

    run = _latest_run()
    # the process before the task: Python, Django and every app imported, the run's row read
    baseline = peak_rss_mb()
    target = WORK / f"payout-{args.scale}.xlsx"
    target.parent.mkdir(parents=True, exist_ok=True)
    started, cpu = time.perf_counter(), time.process_time()
    write_payout_workbook(run, str(target))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,  # this process's CPU: steadier than wall time on a shared machine
        "peak_rss_mb": peak_rss_mb(),
        "baseline_rss_mb": baseline,
        "bytes": target.stat().st_size,
        "people": run.person_count,
    }


def task_export_limit(args) -> dict:
    """openpyxl write-only writing the same cells as the payout workbook, no application logic."""
    from openpyxl import Workbook
    from python_calamine import CalamineWorkbook

    source = WORK / f"payout-{args.scale}.xlsx"
    if not source.exists():
        task_workbook(args)
    book = CalamineWorkbook.from_path(str(source))
    sheets = [(name, book.get_sheet_by_name(name).to_python()) for name in book.sheet_names]
    cells = sum(len(r) for _n, rows in sheets for r in rows)
    baseline = peak_rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    wb = Workbook(write_only=True)
    for name, rows in sheets:
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(str(WORK / f"export-limit-{args.scale}.xlsx"))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "cells": cells,
        "peak_rss_mb": peak_rss_mb(),
        "baseline_rss_mb": baseline,
    }


# --- candidate import ----------------------------------------------------------------------------

CN_HEADERS = [
    "考生号",
    "姓名",
    "身份证号",
    "省份",
    "层次",
    "类型",
    "批次",
    "预录专业",
    "志愿顺序",
    "中学",
    "手机",
    "家长电话",
    "地址",
]


def _import_rows(n: int) -> list[list]:
    """New candidates (exam numbers not in the bench season), valid in every cell."""
    from bench.generate import PROVINCES

    rows = []
    for i in range(1, n + 1):
        rows.append(
            [
                f"{SEASON_YEAR % 100}99{i:010d}",
                "导入考生" + str(i % 1000),
                f"51010120080101{i % 10000:04d}"[:17] + "X",
                PROVINCES[i % len(PROVINCES)],
                "本科" if i % 4 else "专科",
                "普通类",
                "本科一批",
                "软件工程",
                i % 6 + 1,
                f"第{i % 300}中学",
                f"137{i:08d}",
                "",
                "某省某市某街2号",
            ]
        )
    return rows


def _write_xlsx(path: Path, headers: list[str], rows: list[list]) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Sheet1")
    ws.append(headers)
    for r in rows:
        ws.append(r)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(str(path))


def import_file_path(rows: int) -> Path:
    path = WORK / f"candidates-{rows}.xlsx"
    if not path.exists():
        _write_xlsx(path, CN_HEADERS, _import_rows(rows))
    return path


def task_import_full(args) -> dict:
    from django.db import transaction

    from callback_office.importing import import_file

    path = import_file_path(args.rows)
    started = time.perf_counter()
    try:
        with transaction.atomic():
            result = import_file("candidates", str(path), season_year=SEASON_YEAR, dry_run=False)
            seconds = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    return {
        "seconds": seconds,
        "rows": result.total_rows,
        "created": result.created,
        "committed": result.committed,
        "errors": [str(e) for e in result.errors[:5]],
        "peak_rss_mb": peak_rss_mb(),
    }


def task_import_limit(args) -> dict:
    """python-calamine read of the same workbook + COPY of the same rows into the candidates."""
    from django.db import connection, transaction
    from python_calamine import CalamineWorkbook

    from admissions.models import ProvincePolicy

    path = import_file_path(args.rows)
    season = _season()
    provinces = dict(ProvincePolicy.objects.filter(season=season).values_list("province", "id"))
    levels = {"本科": "undergraduate", "专科": "junior"}
    now = dt.datetime.now(dt.UTC).isoformat()
    started = time.perf_counter()
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    read_s = time.perf_counter() - started
    try:
        with transaction.atomic():
            with connection.cursor() as cur:
                raw = cur.cursor
                with raw.copy(
                    "COPY admissions_candidate (season_id, exam_number, name, id_number, province_id, level,"
                    " admission_type, batch, major, preference_order, high_school, address, status,"
                    " masters_track_interest, in_pool, contact_count, contact_seconds, created_at, updated_at)"
                    " FROM STDIN"
                ) as copy:
                    for r in rows[1:]:
                        copy.write_row(
                            (
                                season.pk, str(r[0]), r[1], r[2], provinces[r[3]], levels[r[4]], "general", r[6],
                                r[7], int(r[8]), r[9], r[12], "uncontacted", False, False, 0, 0, now, now,
                            )
                        )  # fmt: skip
            seconds = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    return {"seconds": seconds, "read_seconds": read_s, "rows": len(rows) - 1, "peak_rss_mb": peak_rss_mb()}


def task_import_ie(args) -> dict:
    """A default django-import-export ModelResource import of the same rows (field-name headers)."""
    import tablib
    from django.db import transaction
    from import_export import resources

    from admissions.models import Candidate, ProvincePolicy

    season = _season()
    provinces = dict(ProvincePolicy.objects.filter(season=season).values_list("province", "id"))
    levels = {"本科": "undergraduate", "专科": "junior"}

    class CandidateResource(resources.ModelResource):
        class Meta:
            model = Candidate

    headers = [
        "id", "season", "exam_number", "name", "id_number", "province", "level", "admission_type",
        "batch", "major", "preference_order", "high_school", "address",
    ]  # fmt: skip
    rows = [
        [
            "",
            season.pk,
            r[0],
            r[1],
            r[2],
            provinces[r[3]],
            levels[r[4]],
            "general",
            r[6],
            r[7],
            r[8],
            r[9],
            r[12],
        ]
        for r in _import_rows(args.rows)
    ]
    path = WORK / f"candidates-ie-{args.rows}.xlsx"
    if not path.exists():
        _write_xlsx(path, headers, rows)
    started = time.perf_counter()
    try:
        with transaction.atomic():
            dataset = tablib.Dataset().load(path.read_bytes(), format="xlsx")
            result = CandidateResource().import_data(dataset, dry_run=False, raise_errors=True)
            seconds = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    return {
        "seconds": seconds,
        "rows": len(dataset),
        "new": result.totals.get("new", 0),
        "peak_rss_mb": peak_rss_mb(),
    }


# --- reconciliation ------------------------------------------------------------------------------


def task_reconcile(args) -> dict:
    """The nightly run over a dropped payments workbook of 100,000 rows (read + reconcile)."""
    from django.db import transaction

    from admissions.models import Candidate
    from admissions.reconciliation import read_workbook, reconcile

    path = WORK / f"payments-{args.scale}-{args.rows}.xlsx"
    if not path.exists():
        exams = list(
            Candidate.objects.filter(season__year=SEASON_YEAR)
            .order_by("id")
            .values_list("exam_number", flat=True)[: args.rows]
        )
        rows = []
        base = dt.date(SEASON_YEAR, 7, 20)
        for i in range(args.rows):
            # installments when the season has fewer candidates than rows: one row per day
            rows.append(
                [exams[i % len(exams)], base + dt.timedelta(days=i // len(exams)), Decimal("5000.00")]
            )
        _write_xlsx(path, ["考生号", "缴费日期", "金额"], rows)
    started = time.perf_counter()
    try:
        with transaction.atomic():
            source = read_workbook("payments", path)
            source.path = None  # leave the file where it is
            read_s = time.perf_counter() - started
            run = reconcile(
                season_year=SEASON_YEAR,
                sources=[source],
                today=dt.date(SEASON_YEAR, 8, 20),
                trigger="bench",
                progress=lambda done, total: None,
            )
            seconds = time.perf_counter() - started
            summary = {
                "status": run.status,
                "rows_read": run.rows_read,
                "rows_changed": run.rows_changed,
                "discrepancies_new": run.discrepancies_new,
                "error": run.error,
            }
            raise Rollback
    except Rollback:
        pass
    return {
        "seconds": seconds,
        "read_seconds": read_s,
        "rows": args.rows,
        **summary,
        "peak_rss_mb": peak_rss_mb(),
    }


TASKS = {
    "payout": task_payout,
    "workbook": task_workbook,
    "export_limit": task_export_limit,
    "import_full": task_import_full,
    "import_limit": task_import_limit,
    "import_ie": task_import_ie,
    "reconcile": task_reconcile,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("task", choices=sorted(TASKS))
    parser.add_argument("--scale", default="office")
    parser.add_argument("--rows", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.rows:
        args.rows = {"import_ie": IE_ROWS, "reconcile": RECON_ROWS}.get(args.task, IMPORT_ROWS)
    setup_django(args.scale)
    result = TASKS[args.task](args)
    print("RESULT " + json.dumps(result, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
