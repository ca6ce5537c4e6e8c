"""`manage.py purge_season_pii --season 2023 --yes`: archive, then anonymise a season's
personal data, per the office's retention policy (个人信息保护：届满后归档并去标识化).

What is anonymised (rows are kept, so every count, rate, payout and report stays the same):
- candidates: name → "（已清除）", ID number and address emptied (考生号, province, school, level,
  status, payment and registration facts are kept for statistics);
- candidates' phone numbers → "purged-<id>";
- contact log: the dialled number, new numbers and free-text notes emptied (time, channel,
  duration, outcome, intent, risk signals kept);
- 报备 (prospect reports): name emptied, ID number replaced by a placeholder;
- withdrawal requests and strike cases: free-text notes emptied;
- files: withdrawal materials (ID cards, letters) and call recordings / screenshots are copied
  into the archive and deleted from media storage (local disk or S3).

First, unless `--no-archive` (a policy of deletion without keeping anything), everything that
is about to be removed is written to a zip under `--archive-dir` (default VAR_DIR/pii-archive):
CSV files (UTF-8 with BOM, opens in Excel), the files themselves, and manifest.json with the
counts. The archive is personal data: move it to encrypted offline storage (see
docs/deployment.md). Callers' own profiles (staff, needed for payroll) are not touched.

Without `--yes` the command only reports what it would do. The latest season is refused unless
`--force`. Running it again on a purged season finds nothing to do.
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

PURGED_NAME = "（已清除）"


def _csv(rows: list[dict[str, Any]], fields: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in fields})
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def season_pii_purge(
    *, year: int, archive_dir: Path | None, apply: bool, allow_latest: bool = False
) -> tuple[Counter, Path | None]:
    """Archive (unless `archive_dir` is None) and anonymise season `year`'s personal data.
    Returns the counts and the archive path; with `apply=False` only counts."""
    from django.core.files.storage import default_storage

    from admissions.models import Candidate, CandidatePhone, Season
    from callback_office.media import archive_storage
    from callbacks.casework_models import StrikeCase, WithdrawalMaterial, WithdrawalRequest
    from callbacks.models import ContactLog, ProspectReport
    from supervision.models import ContactAttachment

    archive_files = archive_storage()

    season = Season.objects.filter(year=year).first()
    if season is None:
        raise CommandError(f"招生年度 {year} 不存在 / season {year} does not exist")
    latest = Season.objects.order_by("-year").values_list("year", flat=True).first()
    if year == latest and not allow_latest:
        raise CommandError(
            f"{year} 是最新年度，确需清除请加 --force / {year} is the latest season: use --force"
        )

    candidates = Candidate.objects.filter(season=season).exclude(name=PURGED_NAME)
    phones = CandidatePhone.objects.filter(candidate__season=season).exclude(number__startswith="purged-")
    contacts = ContactLog.objects.filter(candidate__season=season).exclude(
        phone_number="", new_numbers="", notes=""
    )
    reports = ProspectReport.objects.filter(season=season).exclude(name="", id_number__startswith="X")
    withdrawals = WithdrawalRequest.objects.filter(candidate__season=season).exclude(
        note="", reject_reason=""
    )
    strikes = StrikeCase.objects.filter(candidate__season=season).exclude(note="", verification_note="")
    materials = WithdrawalMaterial.objects.filter(request__candidate__season=season).exclude(file="")
    attachments = ContactAttachment.objects.filter(contact_log__candidate__season=season).exclude(
        file="", archive_path=""
    )

    counts: Counter = Counter(
        candidates=candidates.count(),
        phones=phones.count(),
        contacts=contacts.count(),
        prospect_reports=reports.count(),
        withdrawal_requests=withdrawals.count(),
        strike_cases=strikes.count(),
        materials=materials.count(),
        attachments=attachments.count(),
    )
    if not apply or not any(counts.values()):
        return counts, None

    def file_bytes(name: str, archive_path: str = "") -> bytes | None:
        if name and default_storage.exists(name):
            with default_storage.open(name, "rb") as fh:
                return fh.read()
        if archive_path and archive_files.exists(archive_path):
            with archive_files.open(archive_path, "rb") as fh:
                return fh.read()
        return None

    archive: Path | None = None
    if archive_dir is not None:
        archive_dir.mkdir(parents=True, exist_ok=True)
        archive = archive_dir / f"season-{year}-pii-{timezone.now():%Y%m%dT%H%M%SZ}.zip"
        fd = os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
            tables = {
                "candidates.csv": (
                    candidates,
                    [
                        "id",
                        "exam_number",
                        "name",
                        "id_number",
                        "address",
                        "high_school",
                        "province__province",
                    ],
                ),
                "phones.csv": (
                    phones,
                    ["id", "candidate_id", "candidate__exam_number", "number", "owner", "note"],
                ),
                "contacts.csv": (
                    contacts,
                    [
                        "id",
                        "candidate_id",
                        "caller__staff_no",
                        "contacted_at",
                        "phone_number",
                        "new_numbers",
                        "notes",
                    ],
                ),
                "prospect_reports.csv": (
                    reports,
                    ["id", "caller__staff_no", "name", "exam_number", "id_number", "note"],
                ),
                "withdrawal_requests.csv": (withdrawals, ["id", "candidate_id", "note", "reject_reason"]),
                "strike_cases.csv": (strikes, ["id", "candidate_id", "note", "verification_note"]),
            }
            for filename, (qs, fields) in tables.items():
                zf.writestr(filename, _csv(list(qs.order_by("id").values(*fields)), fields))
            listing = []
            for prefix, qs in (("materials", materials), ("attachments", attachments)):
                for obj in qs.order_by("id"):
                    data = file_bytes(obj.file.name, getattr(obj, "archive_path", ""))
                    stored = f"files/{prefix}/{obj.pk}-{PurePosixPath(obj.file.name or 'missing').name}"
                    if data is not None:
                        zf.writestr(stored, data)
                    listing.append(
                        {
                            "table": prefix,
                            "id": obj.pk,
                            "original_name": obj.original_name,
                            "archived_as": stored if data is not None else None,
                        }
                    )
            zf.writestr("files.csv", _csv(listing, ["table", "id", "original_name", "archived_as"]))
            manifest = {"season": year, "created_at": timezone.now().isoformat(), "counts": dict(counts)}
            zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
            raw.flush()
            os.fsync(raw.fileno())

    doomed: list[tuple[str, str]] = [(m.file.name, "") for m in materials] + [
        (a.file.name, a.archive_path) for a in attachments
    ]
    with transaction.atomic():
        candidates.update(name=PURGED_NAME, id_number="", address="", updated_at=timezone.now())
        phones.update(number=Concat(Value("purged-"), Cast("id", CharField())), note="")
        contacts.update(phone_number="", new_numbers="", notes="")
        reports.update(name="", id_number=Concat(Value("X"), Cast("id", CharField())), note="")
        withdrawals.update(note="", reject_reason="")
        strikes.update(note="", verification_note="")
        materials.update(file="", original_name="")
        attachments.update(file="", archive_path="", original_name="")

        def delete_files() -> None:
            for name, archive_path in doomed:
                if name and default_storage.exists(name):
                    default_storage.delete(name)
                if archive_path and archive_files.exists(archive_path):
                    archive_files.delete(archive_path)

        transaction.on_commit(delete_files)
    return counts, archive


class Command(BaseCommand):
    help = "归档并清除某一年度的个人信息（先归档后去标识化）/ Archive, then anonymise a season's PII."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--season", type=int, required=True, help="season year")
        parser.add_argument("--archive-dir", type=Path, default=None, help="default: VAR_DIR/pii-archive")
        parser.add_argument("--no-archive", action="store_true", help="不归档，直接清除（按删除政策）")
        parser.add_argument("--yes", action="store_true", help="确认执行；不加则只统计")
        parser.add_argument("--force", action="store_true", help="允许清除最新年度")

    def handle(self, *args, season: int, archive_dir, no_archive: bool, yes: bool, force: bool, **options):
        folder = None if no_archive else (archive_dir or Path(settings.VAR_DIR) / "pii-archive")
        counts, archive = season_pii_purge(year=season, archive_dir=folder, apply=yes, allow_latest=force)
        summary = "，".join(f"{k} {v}" for k, v in counts.items())
        if not yes:
            self.stdout.write(f"试运行 dry run（加 --yes 执行）：{season} 待清除 {summary}")
            return
        if not any(counts.values()):
            self.stdout.write(f"{season}：没有需要清除的个人信息 / nothing left to purge")
            return
        self.stdout.write(self.style.SUCCESS(f"{season} 已清除 purged：{summary}"))
        if archive is not None:
            self.stdout.write(f"归档 archive: {archive}（含个人信息，请离线加密保存）")
