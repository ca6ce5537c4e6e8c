"""purge_season_pii: archive first, then anonymise; counts kept; files gone; other seasons untouched."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from admissions.models import Candidate, CandidatePhone
from callback_office.management.commands.purge_season_pii import PURGED_NAME
from callbacks.casework_models import MaterialKind, StrikeCase, WithdrawalMaterial, WithdrawalRequest
from callbacks.models import ContactLog, ProspectReport
from supervision.choices import AttachmentKind
from supervision.models import ContactAttachment
from tests.casework.factories import StrikeCaseFactory, WithdrawalRequestFactory
from tests.factories import CallerFactory, CandidateFactory, ContactFactory, PhoneFactory, SeasonFactory

pytestmark = pytest.mark.sqlite


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    settings.RECORDING_ARCHIVE_ROOT = tmp_path / "var" / "archive"
    return tmp_path


@pytest.fixture
def seasons(db, media):
    old = SeasonFactory(year=2023)
    new = SeasonFactory(year=2024)
    caller = CallerFactory(season=old, user__username="1001")
    kept = CandidateFactory(season=new, name="李四", id_number="510101200601011234", address="成都市")
    PhoneFactory(candidate=kept, number="13900000000")

    a = CandidateFactory(
        season=old,
        exam_number="23510101000001",
        name="张三",
        id_number="51010120050101123X",
        address="成都市武侯区",
    )
    b = CandidateFactory(
        season=old, exam_number="23510101000002", name="王五", id_number="510101200502021234"
    )
    PhoneFactory(candidate=a, number="13800000001")
    PhoneFactory(candidate=a, number="13800000002", owner="parent", note="父亲")
    PhoneFactory(candidate=b, number="13800000003")
    contact = ContactFactory(
        candidate=a,
        caller=caller,
        phone_number="13800000001",
        notes="家长说考虑复读",
        new_numbers="13700000000",
    )
    ContactFactory(candidate=b, caller=caller, phone_number="13800000003", notes="")
    ProspectReport.objects.create(season=old, caller=caller, name="张三", id_number="51010120050101123X")
    request = WithdrawalRequestFactory(candidate=a, note="学生本人申请退档")
    StrikeCaseFactory(candidate=b, note="空号三天", verification_note="")
    material = WithdrawalMaterial(
        request=request,
        kind=MaterialKind.ID_CARD,
        content_type="image/jpeg",
        size=4,
        sha256="0" * 64,
        original_name="张三身份证.jpg",
        uploaded_by=request.opened_by,
    )
    material.file.save("2023/abc.jpg", ContentFile(b"JPEG"), save=True)
    attachment = ContactAttachment(
        contact_log=contact,
        kind=AttachmentKind.AUDIO,
        content_type="audio/mpeg",
        size=3,
        original_name="call.mp3",
    )
    attachment.file.save("call.mp3", ContentFile(b"MP3"), save=True)
    # a screenshot the retention job already moved to the recordings archive
    (media / "var" / "archive" / "recordings").mkdir(parents=True)
    (media / "var" / "archive" / "recordings" / "old.png").write_bytes(b"PNG")
    ContactAttachment.objects.create(
        contact_log=contact,
        kind=AttachmentKind.IMAGE,
        content_type="image/png",
        size=3,
        original_name="微信截图.png",
        file="recordings/old.png",
        archived=True,
        archive_path="recordings/old.png",
    )
    return old, new


def run(*args: str) -> str:
    out = StringIO()
    call_command("purge_season_pii", *args, stdout=out)
    return out.getvalue()


def read_csv(zf: zipfile.ZipFile, name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(zf.read(name).decode("utf-8-sig"))))


def test_purge_archives_then_anonymises(seasons, media, django_capture_on_commit_callbacks):
    old, new = seasons
    material = WithdrawalMaterial.objects.get()
    attachment, screenshot = ContactAttachment.objects.order_by("id")
    files = [material.file.name, attachment.file.name]
    assert all(default_storage.exists(f) for f in files)
    before = (
        Candidate.objects.filter(season=old).count(),
        CandidatePhone.objects.filter(candidate__season=old).count(),
        ContactLog.objects.filter(candidate__season=old).count(),
    )

    with django_capture_on_commit_callbacks(execute=True):
        output = run("--season", "2023", "--yes")

    assert "candidates 2，phones 3，contacts 2，prospect_reports 1" in output
    assert "materials 1，attachments 2" in output
    [archive] = (Path(media) / "var" / "pii-archive").glob("season-2023-pii-*.zip")
    assert str(archive) in output
    assert archive.stat().st_mode & 0o777 == 0o600
    with zipfile.ZipFile(archive) as zf:
        people = read_csv(zf, "candidates.csv")
        assert [(p["exam_number"], p["name"], p["id_number"], p["address"]) for p in people] == [
            ("23510101000001", "张三", "51010120050101123X", "成都市武侯区"),
            ("23510101000002", "王五", "510101200502021234", ""),
        ]
        assert sorted(p["number"] for p in read_csv(zf, "phones.csv")) == [
            "13800000001",
            "13800000002",
            "13800000003",
        ]
        assert {c["notes"] for c in read_csv(zf, "contacts.csv")} == {"家长说考虑复读", ""}
        assert read_csv(zf, "prospect_reports.csv")[0]["id_number"] == "51010120050101123X"
        assert read_csv(zf, "withdrawal_requests.csv")[0]["note"] == "学生本人申请退档"
        assert read_csv(zf, "strike_cases.csv")[0]["note"] == "空号三天"
        assert zf.read(f"files/materials/{material.pk}-{Path(files[0]).name}") == b"JPEG"
        assert zf.read(f"files/attachments/{attachment.pk}-{Path(files[1]).name}") == b"MP3"
        assert zf.read(f"files/attachments/{screenshot.pk}-old.png") == b"PNG"
        assert {f["original_name"] for f in read_csv(zf, "files.csv")} == {
            "张三身份证.jpg",
            "call.mp3",
            "微信截图.png",
        }
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["season"] == 2023
        assert manifest["counts"]["candidates"] == 2

    # counts kept, personal data gone
    assert before == (
        Candidate.objects.filter(season=old).count(),
        CandidatePhone.objects.filter(candidate__season=old).count(),
        ContactLog.objects.filter(candidate__season=old).count(),
    )
    assert list(Candidate.objects.filter(season=old).values_list("name", "id_number", "address")) == [
        (PURGED_NAME, "", ""),
        (PURGED_NAME, "", ""),
    ]
    assert list(Candidate.objects.filter(season=old).values_list("exam_number", flat=True)) == [
        "23510101000001",
        "23510101000002",
    ]
    phones = CandidatePhone.objects.filter(candidate__season=old).order_by("id")
    assert [p.number for p in phones] == [f"purged-{p.pk}" for p in phones]
    assert set(phones.values_list("note", flat=True)) == {""}
    assert set(
        ContactLog.objects.filter(candidate__season=old).values_list("phone_number", "notes", "new_numbers")
    ) == {("", "", "")}
    assert ContactLog.objects.filter(candidate__season=old, duration_seconds=300).count() == 2
    report = ProspectReport.objects.get()
    assert (report.name, report.id_number) == ("", f"X{report.pk}")
    assert WithdrawalRequest.objects.get().note == ""
    assert StrikeCase.objects.get().note == ""
    material.refresh_from_db()
    attachment.refresh_from_db()
    assert (material.file.name, material.original_name) == ("", "")
    assert (attachment.file.name, attachment.original_name) == ("", "")
    assert not any(default_storage.exists(f) for f in files)
    assert not (media / "var" / "archive" / "recordings" / "old.png").exists()
    screenshot.refresh_from_db()
    assert (screenshot.file.name, screenshot.archive_path) == ("", "")

    # the other season is untouched
    kept = Candidate.objects.get(season=new)
    assert (kept.name, kept.id_number, kept.address) == ("李四", "510101200601011234", "成都市")
    assert CandidatePhone.objects.get(candidate=kept).number == "13900000000"

    # a second run finds nothing and writes no new archive
    assert "nothing left to purge" in run("--season", "2023", "--yes")
    assert len(list((Path(media) / "var" / "pii-archive").glob("*.zip"))) == 1


def test_without_yes_only_counts(seasons, media):
    output = run("--season", "2023")
    assert "dry run" in output
    assert "candidates 2" in output
    assert Candidate.objects.filter(name="张三").exists()
    assert not (Path(media) / "var" / "pii-archive").exists()


def test_no_archive_policy_and_latest_season_guard(seasons, media, tmp_path):
    with pytest.raises(CommandError, match="--force"):
        run("--season", "2024", "--yes")
    with pytest.raises(CommandError, match="2019"):
        run("--season", "2019", "--yes")
    run("--season", "2023", "--yes", "--no-archive", "--archive-dir", str(tmp_path / "nowhere"))
    assert not (tmp_path / "nowhere").exists()
    assert not Candidate.objects.filter(season__year=2023).exclude(name=PURGED_NAME).exists()
    run("--season", "2024", "--yes", "--force", "--archive-dir", str(tmp_path / "a"))
    assert Candidate.objects.get(season__year=2024).name == PURGED_NAME
    assert len(list((tmp_path / "a").glob("season-2024-pii-*.zip"))) == 1
