"""The office's import pages: upload → dry-run preview (counts, first rows or every error) →
confirm. Between preview and confirm the file waits in the default storage (MEDIA_ROOT or the
bucket, so that a worker on another host can commit it) as imports/<random>.xlsx, a name that
only the uploader's session knows."""

from __future__ import annotations

import datetime as dt
import io
import re
import secrets

import django_rq
import openpyxl
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from rq import get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job

from admissions.models import Season
from callback_office import importing
from callback_office.export_log import export_log_record
from callback_office.jobs import (
    ENQUEUE_FAILED_MESSAGE,
    enqueue_tracked,
    job_url,
    report_progress,
    set_result_url,
)
from callback_office.roles import Role, require_role

app_name = "imports"
SESSION_KEY = "imports_pending"
TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
PENDING_MAX_AGE = 24 * 3600
ERRORS_SHOWN = 500
# Files with more rows than this are committed by a worker (queue "imports"), the office
# follows the job's progress page; smaller ones within the request.
BACKGROUND_ROWS = 5000


PENDING_DIR = "imports"


def pending_name(token: str) -> str:
    """The storage name of a previewed file; 404 for anything but a token we issue."""
    if not TOKEN_RE.match(token):
        raise Http404
    return f"{PENDING_DIR}/{token}.xlsx"


def pending_read(token: str) -> bytes | None:
    """The previewed file's bytes, or None when it is gone (confirmed, swept, never there)."""
    name = pending_name(token)
    if not default_storage.exists(name):
        return None
    with default_storage.open(name, "rb") as fh:
        return fh.read()


def pending_delete(token: str) -> None:
    default_storage.delete(pending_name(token))


def _sweep_stale() -> None:
    """Files of previews never confirmed are removed after a day."""
    try:
        _dirs, files = default_storage.listdir(PENDING_DIR)
    except FileNotFoundError:
        return
    cutoff = timezone.now() - dt.timedelta(seconds=PENDING_MAX_AGE)
    for file in files:
        stem = file.removesuffix(".xlsx")
        if not file.endswith(".xlsx") or not TOKEN_RE.match(stem):
            continue
        name = pending_name(stem)
        try:
            if default_storage.get_modified_time(name) < cutoff:
                default_storage.delete(name)
        except FileNotFoundError:  # swept by a parallel request
            continue


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("名单"))
    season_year = forms.IntegerField(label=_("招生年度"), min_value=2000, max_value=2100)
    file = forms.FileField(label=_("Excel 文件（.xlsx）"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k.name, k.title) for k in importing.kinds()]
        self.fields["file"].widget.attrs["accept"] = ".xlsx"

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("文件过大（上限 %(mb)d MB）") % {"mb": settings.IMPORT_MAX_BYTES // (1024 * 1024)}
            )
        return upload


def _default_year() -> int:
    from django.apps import apps

    season_model = apps.get_model("admissions", "Season")
    latest = season_model.objects.order_by("-year").values_list("year", flat=True).first()
    return latest or dt.date.today().year


def _page(request: HttpRequest, form: ImportForm, **context) -> HttpResponse:
    result = context.get("result")
    return render(
        request,
        "imports/index.html",
        {
            "form": form,
            "kinds": importing.kinds(),
            "export_year": form["season_year"].value() or _default_year(),
            "errors_shown": result.errors[:ERRORS_SHOWN] if result else [],
            "errors_hidden": max(0, len(result.errors) - ERRORS_SHOWN) if result else 0,
            **context,
        },
    )


@require_role(Role.OFFICE)
def index(request: HttpRequest) -> HttpResponse:
    form = ImportForm(initial={"season_year": _default_year(), "kind": request.GET.get("kind", "")})
    return _page(request, form)


@require_role(Role.OFFICE)
@require_POST
def preview(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, form)
    kind, year, upload = (
        form.cleaned_data["kind"],
        form.cleaned_data["season_year"],
        form.cleaned_data["file"],
    )
    data = upload.read()
    if not importing.is_xlsx(data):
        result = importing.import_file(kind, data, season_year=year, dry_run=True)
        return _page(request, form, result=result)
    _sweep_stale()
    result = importing.import_file(kind, data, season_year=year, dry_run=True)
    if not result.ok:
        return _page(request, form, result=result)
    token = secrets.token_hex(16)
    default_storage.save(pending_name(token), ContentFile(data))
    pending = request.session.get(SESSION_KEY, {})
    pending[token] = {"kind": kind, "season_year": year, "name": upload.name, "rows": result.total_rows}
    request.session[SESSION_KEY] = pending
    return _page(request, form, result=result, token=token, filename=upload.name)


@require_role(Role.OFFICE)
@require_POST
def confirm(request: HttpRequest) -> HttpResponse:
    token = request.POST.get("token", "")
    pending = request.session.get(SESSION_KEY, {})
    name = pending_name(token)  # 404 for anything but a token we issue
    entry = pending.get(token)
    if entry is None or not default_storage.exists(name):
        form = ImportForm(initial={"season_year": _default_year()})
        return _page(request, form, expired=True)
    if entry.get("rows", 0) > BACKGROUND_ROWS:
        job_id = enqueue_tracked(
            import_job,
            queue="imports",
            user=request.user,
            label=_("导入%(title)s（%(year)s年度）")
            % {"title": importing.get_kind(entry["kind"]).title, "year": entry["season_year"]},
            kind=entry["kind"],
            token=token,
            season_year=entry["season_year"],
        )
        if job_id is None:  # Redis down: the preview stays, the office may retry
            messages.error(request, ENQUEUE_FAILED_MESSAGE)
            return redirect("imports:index")
        pending.pop(token, None)
        request.session[SESSION_KEY] = pending
        return redirect(job_url(job_id))
    data = pending_read(token)
    if data is None:  # confirmed meanwhile in another tab
        form = ImportForm(initial={"season_year": _default_year()})
        return _page(request, form, expired=True)
    result = importing.import_file(entry["kind"], data, season_year=entry["season_year"], dry_run=False)
    pending_delete(token)
    pending.pop(token, None)
    request.session[SESSION_KEY] = pending
    form = ImportForm(initial={"season_year": entry["season_year"], "kind": entry["kind"]})
    return _page(request, form, result=result, filename=entry["name"])


def import_job(*, kind: str, token: str, season_year: int) -> importing.ImportResult:
    """The background commit of a large previewed file (queue "imports"); the result page
    reads the returned ImportResult."""
    report_progress(0, 1)
    data = pending_read(token)
    if data is None:
        raise ValidationError(_("待导入的文件已不存在（已导入或超过一天未确认），请重新上传。"))
    try:
        result = importing.import_file(kind, data, season_year=season_year, dry_run=False)
    finally:
        pending_delete(token)
    job = get_current_job()
    if job is not None:
        set_result_url(reverse("imports:job_result", args=[job.id]))
    return result


@require_role(Role.OFFICE)
def job_result(request: HttpRequest, job_id: str) -> HttpResponse:
    try:
        job = Job.fetch(job_id, connection=django_rq.get_connection("imports"))
    except NoSuchJobError:
        raise Http404 from None
    if not job.is_finished:
        return redirect(job_url(job_id))
    result = job.return_value()
    if not isinstance(result, importing.ImportResult):
        raise Http404
    form = ImportForm(initial={"season_year": result.season_year, "kind": result.kind})
    return _page(request, form, result=result)


@require_role(Role.OFFICE)
def template(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in importing.kind_names():
        raise Http404
    response = HttpResponse(
        importing.template_bytes(kind),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{importing.template_filename(kind)}"'
    return response


def _data_rows(content: bytes) -> int:
    """Data rows of an exported workbook's first sheet (tablib writes its dimension: no scan)."""
    wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    try:
        return max(wb.worksheets[0].max_row - 1, 0) if wb.worksheets else 0
    finally:
        wb.close()


@require_role(Role.OFFICE)
def export(request: HttpRequest, kind: str) -> HttpResponse:
    """The season's current data in the import format: edit in Excel, import back."""
    if kind not in importing.kind_names() or importing.get_kind(kind).exporter is None:
        raise Http404
    try:
        year = int(request.GET.get("season", ""))
    except ValueError:
        raise Http404 from None
    season = Season.objects.filter(year=year).first()
    if season is None:
        raise Http404
    content = importing.export_bytes(kind, season_year=year)
    export_log_record(
        user=request.user,
        season=season,
        what=importing.get_kind(kind).title,
        row_count=_data_rows(content),
        filters={"kind": kind},
    )
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{kind}-{year}.xlsx"'
    return response


urlpatterns = [
    path("", index, name="index"),
    path("preview/", preview, name="preview"),
    path("confirm/", confirm, name="confirm"),
    path("template/<slug:kind>.xlsx", template, name="template"),
    path("jobs/<str:job_id>/", job_result, name="job_result"),
    path("export/<slug:kind>.xlsx", export, name="export"),
]
