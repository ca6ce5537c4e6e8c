"""Reconciliation page (office), discrepancy lists (callers, leaders), weekly report archive."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from admissions.models import Discrepancy, ReconciliationRun, Season
from admissions.reconciliation import KINDS, discrepancy_resolve, drop_dir
from admissions.selectors import season_current
from callback_office.export_log import export_log_record
from callback_office.jobs import ENQUEUE_FAILED_MESSAGE, enqueue_tracked, job_url, queue_available
from callback_office.media import serve_stored_file
from callback_office.roles import Capability, Role, can, is_office, require_role
from reports import jobs
from reports.models import WeeklyReport
from reports.selectors import discrepancies_for, reconciliation_runs, weekly_reports_for

LIST_LIMIT = 500
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _season(request: HttpRequest) -> Season:
    year = request.GET.get("season") or request.POST.get("season")
    season = Season.objects.filter(year=year).first() if year and year.isdigit() else season_current()
    if season is None:
        raise Http404
    return season


def _enqueue_failed(request: HttpRequest, to: str) -> HttpResponse:
    messages.error(request, ENQUEUE_FAILED_MESSAGE)
    return redirect(to)


# --- reconciliation (office) ---------------------------------------------------------------------


@require_role(Role.OFFICE)
def reconciliation(request: HttpRequest) -> HttpResponse:
    season = _season(request)
    open_qs = (
        discrepancies_for(user=request.user, season=season).filter(resolved=False).select_related("candidate")
    )
    pending = {kind: sorted(p.name for p in drop_dir(season.year, kind).glob("*.xlsx")) for kind in KINDS}
    return render(
        request,
        "reports/reconciliation.html",
        {
            "season": season,
            "runs": reconciliation_runs(season=season),
            "discrepancies": open_qs[:LIST_LIMIT],
            "open_count": open_qs.count(),
            "pending": pending,
            "kinds": [("payments", _("缴费名单")), ("registrations", _("报到名单"))],
            "queue_down": not queue_available(),
        },
    )


@require_role(Role.OFFICE)
def reconciliation_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(ReconciliationRun.objects.select_related("season"), pk=pk)
    return render(request, "reports/reconciliation_run.html", {"run": run})


@require_POST
@require_role(Role.OFFICE)
def reconciliation_run_now(request: HttpRequest) -> HttpResponse:
    season = _season(request)
    job_id = enqueue_tracked(
        jobs.nightly_reconciliation,
        queue="nightly",
        user=request.user,
        label=_("%(year)s 年度对账") % {"year": season.year},
        job_timeout=jobs.NIGHTLY_TIMEOUT,
        retry=jobs.NIGHTLY_RETRY,
        season_year=season.year,
        trigger="office",
    )
    if job_id is None:
        return _enqueue_failed(request, "reports:reconciliation")
    return redirect(job_url(job_id))


@require_POST
@require_role(Role.OFFICE)
def reconciliation_upload(request: HttpRequest) -> HttpResponse:
    """Save an uploaded payment/registration workbook in the drop folder for the next run."""
    season = _season(request)
    kind = request.POST.get("kind")
    upload = request.FILES.get("file")
    if kind not in KINDS or upload is None:
        messages.error(request, _("请选择名单类型和文件。"))
        return redirect("reports:reconciliation")
    if not upload.name.lower().endswith(".xlsx") or upload.size > settings.IMPORT_MAX_BYTES:
        messages.error(request, _("只接受不超过上限大小的 .xlsx 文件。"))
        return redirect("reports:reconciliation")
    folder = drop_dir(season.year, kind)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"upload-{timezone.now():%Y%m%d%H%M%S%f}-{request.user.pk}.xlsx"
    with (folder / name).open("wb") as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
    messages.success(request, _("已上传，将在下次对账时处理；也可以点击“立即对账”。"))
    return redirect("reports:reconciliation")


# --- discrepancies (callers, leaders, office) ----------------------------------------------------


@login_required
def discrepancy_list(request: HttpRequest) -> HttpResponse:
    season = _season(request)
    show_resolved = request.GET.get("resolved") == "1"
    qs = discrepancies_for(user=request.user, season=season)
    if not show_resolved:
        qs = qs.filter(resolved=False)
    return render(
        request,
        "reports/discrepancies.html",
        {
            "season": season,
            "discrepancies": qs[:LIST_LIMIT],
            "show_resolved": show_resolved,
        },
    )


@require_POST
@login_required
def discrepancy_resolve_view(request: HttpRequest, pk: int) -> HttpResponse:
    d = get_object_or_404(Discrepancy.objects.select_related("season"), pk=pk)
    if not discrepancies_for(user=request.user, season=d.season).filter(pk=pk).exists():
        raise Http404
    if not (is_office(request.user) or can(request.user, Capability.CALL)):
        raise PermissionDenied  # supervisors read the team's discrepancies, they don't resolve them
    discrepancy_resolve(discrepancy=d, user=request.user)
    messages.success(request, _("已标记为已处理。"))
    if request.POST.get("next") == "reconciliation" and is_office(request.user):
        return redirect("reports:reconciliation")
    return redirect("reports:discrepancies")


@require_POST
@login_required
def discrepancy_export(request: HttpRequest) -> HttpResponse:
    season = _season(request)
    job_id = enqueue_tracked(
        jobs.discrepancies_export,
        queue="default",
        user=request.user,
        label=_("导出对账差异"),
        job_timeout=jobs.EXPORT_TIMEOUT,
        season_year=season.year,
        user_id=request.user.pk,
    )
    if job_id is None:
        return _enqueue_failed(request, "reports:discrepancies")
    return redirect(job_url(job_id))


# --- weekly reports (leaders, office) -----------------------------------------------------------


@require_role(Role.LEADER, Role.OFFICE)
def weekly_list(request: HttpRequest) -> HttpResponse:
    season = _season(request)
    reports = weekly_reports_for(user=request.user, season=season).order_by(
        "-week_start", "team__sort_order", "team_id"
    )
    return render(
        request,
        "reports/weekly_list.html",
        {
            "season": season,
            "reports": reports[:LIST_LIMIT],
            "can_generate": is_office(request.user),
        },
    )


def _report_for(request: HttpRequest, pk: int) -> WeeklyReport:
    report = get_object_or_404(WeeklyReport.objects.select_related("season", "team"), pk=pk)
    if not weekly_reports_for(user=request.user, season=report.season).filter(pk=pk).exists():
        raise Http404
    return report


@require_role(Role.LEADER, Role.OFFICE)
def weekly_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report_for(request, pk)
    return render(request, "reports/weekly_detail.html", {"report": report})


@require_role(Role.LEADER, Role.OFFICE)
def weekly_download(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report_for(request, pk)
    if not report.xlsx:
        raise Http404
    filename = f"{report.team.name}-周报-{report.week_start:%Y%m%d}.xlsx"
    export_log_record(
        user=request.user,
        season=report.season,
        what=_("小组周报"),
        row_count=len(report.data.get("members", [])),
        filters={"team": report.team.name, "week": report.week_start},
    )
    return serve_stored_file(
        report.xlsx.storage, report.xlsx.name, content_type=XLSX, filename=filename, as_attachment=True
    )


@require_POST
@require_role(Role.OFFICE)
def weekly_generate(request: HttpRequest) -> HttpResponse:
    season = _season(request)
    job_id = enqueue_tracked(
        jobs.weekly_reports,
        queue="default",
        user=request.user,
        label=_("生成小组周报"),
        job_timeout=jobs.WEEKLY_TIMEOUT,
        season_year=season.year,
    )
    if job_id is None:
        return _enqueue_failed(request, "reports:weekly_list")
    return redirect(job_url(job_id))
