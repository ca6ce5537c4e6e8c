"""Stored files: the storages that hold them and the one way views hand them to users.

Everything users upload (withdrawal materials, recordings, screenshots, import previews) and
everything the app generates for download (weekly reports, payout and discrepancy workbooks)
goes through Django's storage API, never through a local path:

- `default_storage` (STORAGES["default"]): MEDIA_ROOT on local disk, or an S3-compatible
  bucket with MEDIA_STORAGE=s3 (callback_office/deployment.py);
- `archive_storage()` (STORAGES["archive"]): where recordings go after the five-month
  retention — RECORDING_ARCHIVE_ROOT on local disk, or a prefix/bucket of the object store.

A view checks access first (a selector scoped to the user, 404 otherwise) and then calls
`serve_stored_file`, which streams the object through the app (`storage.open`), or — with
MEDIA_DOWNLOAD_REDIRECT=1 and an S3 storage — answers with a redirect to a presigned URL that
expires after MEDIA_DOWNLOAD_REDIRECT_EXPIRE seconds. Either way nobody reaches a file without
passing the view's check: the objects are private and their keys are random.

The one exception is the reconciliation drop folder (IMPORT_DROP_DIR): the office's inbox on
the server, read by the nightly job (admissions/reconciliation.py); see docs/deployment.md.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.utils.deconstruct import deconstructible
from django.utils.functional import cached_property
from django.utils.http import content_disposition_header

ARCHIVE = "archive"


@deconstructible(path="callback_office.media.RecordingArchiveStorage")
class RecordingArchiveStorage(FileSystemStorage):
    """Local archive of recordings: RECORDING_ARCHIVE_ROOT, read when first used (and again
    after a test overrides the setting), never served at a URL."""

    @cached_property
    def base_location(self):
        return self._value_or_setting(self._location, settings.RECORDING_ARCHIVE_ROOT)

    def _clear_cached_properties(self, setting, **kwargs):
        super()._clear_cached_properties(setting, **kwargs)
        if setting == "RECORDING_ARCHIVE_ROOT":
            self.__dict__.pop("base_location", None)
            self.__dict__.pop("location", None)

    def url(self, name):
        raise ValueError("archived recordings are served only through access-checked views")


def archive_storage() -> Storage:
    """STORAGES["archive"], falling back to the local archive when a settings module (e.g. a
    test's override of STORAGES) names none."""
    if ARCHIVE in settings.STORAGES:
        return storages[ARCHIVE]
    return _local_archive


_local_archive = RecordingArchiveStorage()


def is_object_storage(storage: Storage) -> bool:
    """True for django-storages' S3 backend (AWS S3, MinIO, Ceph ...), which can sign URLs."""
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # pragma: no cover - django-storages is a dependency
        return False
    return isinstance(storage, S3Storage)


def safe_name(name: str) -> str:
    """A storage name the app itself produced: relative, no `..`; 404 otherwise."""
    parts = name.replace("\\", "/").split("/")
    if not name or name.startswith("/") or os.path.isabs(name) or ".." in parts:
        raise Http404
    return name


def serve_stored_file(
    storage: Storage,
    name: str,
    *,
    content_type: str | None = None,
    filename: str | None = None,
    as_attachment: bool = False,
) -> HttpResponse:
    """Hand a stored file to the user who already passed the view's access check.

    Streams it from the storage, or redirects to a short-lived presigned URL (object storage
    with MEDIA_DOWNLOAD_REDIRECT on). 404 when the object is missing. Never cached."""
    name = safe_name(name)
    if not storage.exists(name):
        raise Http404
    disposition = content_disposition_header(as_attachment, filename) if filename else None
    if not as_attachment and disposition is None:
        disposition = "inline"
    if getattr(settings, "MEDIA_DOWNLOAD_REDIRECT", False) and is_object_storage(storage):
        parameters = {"ResponseCacheControl": "private, no-store"}
        if content_type:
            parameters["ResponseContentType"] = content_type
        if disposition:
            parameters["ResponseContentDisposition"] = disposition
        response: HttpResponse = HttpResponseRedirect(
            storage.url(name, parameters=parameters, expire=settings.MEDIA_DOWNLOAD_REDIRECT_EXPIRE)
        )
        response["Referrer-Policy"] = "no-referrer"
    else:
        response = FileResponse(
            storage.open(name, "rb"),
            as_attachment=as_attachment,
            filename=filename or "",
            content_type=content_type,
        )
        if disposition:
            response["Content-Disposition"] = disposition
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
