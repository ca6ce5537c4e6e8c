"""Disk full on export: the export job's file write fails with ENOSPC half-way through.

The fault is injected at the real file-write layer: the file object that Django's
FileSystemStorage gets from `os.fdopen` for a file under MEDIA_ROOT writes half of the first chunk
to disk and then raises OSError(ENOSPC), as a full disk does. The job runs in a real RQ worker
(SimpleWorker, burst) against the test Redis. The user sees a clear Chinese error on the job page,
the job is marked failed with it, no partial file is left, and the next export (space freed) works.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import django_rq
import pytest
from django.urls import reverse
from rq.job import Job, JobStatus

from callback_office.jobs import DISK_FULL_MESSAGE
from tests.jobs.factories import run_burst

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


class FullDisk:
    """A file object on a disk that fills up: half of the first write lands, then ENOSPC."""

    def __init__(self, real, written: list[int]):
        self.real = real
        self.written = written

    def write(self, data):
        half = data[: max(1, len(data) // 2)]
        self.real.write(half)
        self.real.flush()
        self.written.append(len(half))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def close(self):
        self.real.close()


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def start_export(client) -> str:
    response = client.post(reverse("reports:discrepancy_export"))
    assert response.status_code == 302
    return response["Location"].rstrip("/").split("/")[-1]


def test_disk_full_on_export(
    world, client, settings, monkeypatch, redis_db, django_capture_on_commit_callbacks
):
    media = Path(settings.MEDIA_ROOT)
    existing = set(files_under(media))  # the world's uploads
    client.force_login(world.users["office"])
    written: list[int] = []
    real_fdopen = os.fdopen

    def fdopen(fd, *args, **kwargs):
        f = real_fdopen(fd, *args, **kwargs)
        path = os.readlink(f"/proc/self/fd/{fd}")
        return FullDisk(f, written) if path.startswith(str(media)) else f

    with django_capture_on_commit_callbacks(execute=True):
        job_id = start_export(client)
    monkeypatch.setattr(os, "fdopen", fdopen)
    run_burst("default")
    monkeypatch.undo()

    job = Job.fetch(job_id, connection=django_rq.get_connection("default"))
    assert job.get_status() == JobStatus.FAILED
    assert job.meta["error"] == str(DISK_FULL_MESSAGE)
    assert written and written[0] > 0  # the disk really took part of the file
    assert set(files_under(media)) == existing  # and the partial file is gone
    page = client.get(reverse("job_page", args=[job_id])).content.decode()
    assert "服务器磁盘空间不足，导出文件未能保存" in page
    assert "job-error" in page and "ENOSPC" not in page and "No space left" not in page
    assert client.get(reverse("job_download", args=[job_id])).status_code == 404

    # space freed: the same export now works and offers its file
    with django_capture_on_commit_callbacks(execute=True):
        job_id = start_export(client)
    run_burst("default")
    job = Job.fetch(job_id, connection=django_rq.get_connection("default"))
    assert job.get_status() == JobStatus.FINISHED
    new = set(files_under(media)) - existing
    assert len(new) == 1 and next(iter(new)).stat().st_size > 1000
    download = client.get(reverse("job_download", args=[job_id]))
    assert download.status_code == 200


def test_other_write_errors_get_the_generic_message(settings, monkeypatch, tmp_path):
    """An I/O error that is not a full disk: the same clean-up, a plain Chinese message."""
    from django.core.exceptions import ValidationError

    from callback_office.jobs import SAVE_FAILED_MESSAGE, save_result_file

    media = Path(settings.MEDIA_ROOT)
    real_fdopen = os.fdopen

    class Broken(FullDisk):
        def write(self, data):
            self.real.write(data[:10])
            self.real.flush()
            raise OSError(errno.EIO, os.strerror(errno.EIO))

    def fdopen(fd, *args, **kwargs):
        f = real_fdopen(fd, *args, **kwargs)
        return Broken(f, []) if os.readlink(f"/proc/self/fd/{fd}").startswith(str(media)) else f

    monkeypatch.setattr(os, "fdopen", fdopen)
    with pytest.raises(ValidationError) as exc:
        save_result_file(b"x" * 5000, name="reports/exports/x.xlsx", filename="x.xlsx")
    monkeypatch.undo()
    assert exc.value.messages == [str(SAVE_FAILED_MESSAGE)]
    assert files_under(media) == []
