"""Recordings and screenshots: content-checked uploads, access-checked download, retention."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from supervision import services
from supervision.choices import AttachmentKind
from supervision.models import ContactAttachment
from tests.factories import CandidateFactory, ContactFactory

pytestmark = pytest.mark.django_db

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 32
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 32
AMR = b"#!AMR\n" + b"\x00" * 32
M4A = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00" + b"\x00" * 32
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.7\n" + b"\x00" * 32


@pytest.fixture
def contact(caller, season):
    return ContactFactory(caller=caller, candidate=CandidateFactory(season=season))


def upload(data: bytes, name: str = "call.wav", content_type: str = "audio/wav"):
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.mark.parametrize(
    ("data", "kind", "ctype", "suffix"),
    [
        (WAV, AttachmentKind.AUDIO, "audio/wav", ".wav"),
        (MP3, AttachmentKind.AUDIO, "audio/mpeg", ".mp3"),
        (AMR, AttachmentKind.AUDIO, "audio/amr", ".amr"),
        (M4A, AttachmentKind.AUDIO, "audio/mp4", ".m4a"),
        (PNG, AttachmentKind.IMAGE, "image/png", ".png"),
        (PDF, AttachmentKind.PDF, "application/pdf", ".pdf"),
    ],
)
def test_type_is_taken_from_content(contact, caller, data, kind, ctype, suffix, settings):
    att = services.attachment_add(
        contact_log=contact, upload=upload(data, name="whatever.bin"), user=caller.user
    )
    assert (att.kind, att.content_type) == (kind, ctype)
    assert att.file.name.startswith("recordings/") and att.file.name.endswith(suffix)
    assert "whatever" not in att.file.name
    assert (Path(settings.MEDIA_ROOT) / att.file.name).read_bytes() == data
    assert att.original_name == "whatever.bin"


def test_disguised_files_are_rejected(contact, caller):
    with pytest.raises(ValidationError, match="只接受"):
        services.attachment_add(
            contact_log=contact,
            upload=upload(b"<html><script>x</script>", name="call.mp3", content_type="audio/mpeg"),
            user=caller.user,
        )
    with pytest.raises(ValidationError, match="只接受"):
        services.attachment_add(
            contact_log=contact, upload=upload(b"MZ\x90\x00" * 8, name="a.wav"), user=caller.user
        )
    assert ContactAttachment.objects.count() == 0


def test_size_limit(contact, caller, settings):
    settings.ATTACHMENT_MAX_BYTES = 40
    with pytest.raises(ValidationError, match="过大"):
        services.attachment_add(contact_log=contact, upload=upload(WAV), user=caller.user)
    with pytest.raises(ValidationError, match="为空"):
        services.attachment_add(contact_log=contact, upload=upload(b""), user=caller.user)


def test_retention_moves_only_files_older_than_150_days(contact, caller, settings):
    old = services.attachment_add(contact_log=contact, upload=upload(WAV), user=caller.user)
    young = services.attachment_add(contact_log=contact, upload=upload(PNG, "s.png"), user=caller.user)
    now = timezone.now()
    ContactAttachment.objects.filter(pk=old.pk).update(uploaded_at=now - dt.timedelta(days=151))
    ContactAttachment.objects.filter(pk=young.pk).update(uploaded_at=now - dt.timedelta(days=149))
    with pytest.raises(ValidationError):
        services.attachments_archive(older_than_days=30)
    assert services.attachments_archive(now=now) == 1
    old.refresh_from_db()
    young.refresh_from_db()
    assert old.archived and not young.archived
    assert not (Path(settings.MEDIA_ROOT) / old.file.name).exists()
    assert (Path(settings.RECORDING_ARCHIVE_ROOT) / old.archive_path).read_bytes() == WAV
    assert (Path(settings.MEDIA_ROOT) / young.file.name).exists()
    assert services.attachments_archive(now=now) == 0  # idempotent


def test_archive_command(contact, caller, settings, capsys):
    old = services.attachment_add(contact_log=contact, upload=upload(WAV), user=caller.user)
    ContactAttachment.objects.filter(pk=old.pk).update(uploaded_at=timezone.now() - dt.timedelta(days=200))
    call_command("archive_recordings")
    assert "archived 1" in capsys.readouterr().out
    old.refresh_from_db()
    assert old.archived


def test_download_is_access_checked(
    client, contact, caller, leader, supervisor, outsider, other_supervisor, office_user
):
    att = services.attachment_add(contact_log=contact, upload=upload(WAV), user=caller.user)
    url = reverse("supervision:attachment", args=[att.pk])
    for user in (caller.user, leader.user, supervisor.user, office_user):
        client.force_login(user)
        resp = client.get(url)
        assert resp.status_code == 200, user
        assert resp["Content-Type"] == "audio/wav"
        assert b"".join(resp.streaming_content) == WAV
    for user in (outsider.user, other_supervisor.user):
        client.force_login(user)
        assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_archived_files_are_still_served(client, contact, caller):
    att = services.attachment_add(contact_log=contact, upload=upload(WAV), user=caller.user)
    ContactAttachment.objects.filter(pk=att.pk).update(uploaded_at=timezone.now() - dt.timedelta(days=200))
    services.attachments_archive()
    client.force_login(caller.user)
    resp = client.get(reverse("supervision:attachment", args=[att.pk]))
    assert b"".join(resp.streaming_content) == WAV


def test_upload_view(client, contact, caller, outsider):
    url = reverse("supervision:contact_attachments", args=[contact.pk])
    client.force_login(caller.user)
    resp = client.post(url, {"file": upload(MP3, "r.mp3", "audio/mpeg")})
    assert resp.status_code == 302
    assert contact.attachments.get().kind == AttachmentKind.AUDIO
    resp = client.post(url, {"file": upload(b"plain text", "r.mp3", "audio/mpeg")}, follow=True)
    assert "只接受" in resp.content.decode()
    assert contact.attachments.count() == 1
    client.force_login(outsider.user)
    assert client.post(url, {"file": upload(MP3)}).status_code == 404
