"""Dashboards (team lead, office, supervisor), the drill-down list, province reports and the
export log. Read-only pages; every table exports to Excel with the page's scoping, logged."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from admissions.models import Season
from admissions.selectors import season_current
from callback_office.jobs import enqueue_tracked, job_url
from callback_office.roles import Role, require_role
from reports import dashboards, jobs
from reports.dashboards import BadFilter, OutOfScope, Table
from reports.exports import xlsx_response
from reports.models import ExportLog

EXPORT_LOG_LIMIT = 300


def _season(request: HttpRequest) -> Season:
    year = request.GET.get("season")
    season = Season.objects.filter(year=year).first() if year and year.isdigit() else season_current()
    if season is None:
        raise Http404
    return season


def _pick(tables: list[Table], request: HttpRequest) -> list[Table]:
    """`?table=<key>` exports one table of the page; without it, all of them."""
    key = request.GET.get("table")
    if not key:
        return tables
    chosen = [t for t in tables if t.key == key]
    if not chosen:
        raise Http404
    return chosen


def _export(
    request: HttpRequest,
    season: Season,
    what: str,
    name: str,
    tables: list[Table],
    *,
    personal: bool,
    filters: dict,
) -> HttpResponse:
    tables = _pick(tables, request)
    if request.GET.get("table"):
        filters = {**filters, "table": request.GET["table"]}
    return xlsx_response(
        user=request.user,
        season=season,
        what=what,
        filename=f"{name}-{season.year}-{timezone.localdate():%Y%m%d}.xlsx",
        tables=tables,
        personal_data=personal,
        filters=filters,
    )


def _team_id(request: HttpRequest) -> int | None:
    raw = request.GET.get("team") or ""
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404
    return int(raw)


# --- team lead -----------------------------------------------------------------------------------


@require_role(Role.LEADER, Role.SUPERVISOR, Role.OFFICE)
def team_dashboard(request: HttpRequest) -> HttpResponse:
    season = _season(request)
    team_id = _team_id(request)
    data = dashboards.team_dashboard(user=request.user, season=season, team_id=team_id)
    if data is None and team_id is not None:
        raise Http404
    if request.GET.get("format") == "xlsx":
        if data is None:
            raise Http404
        return _export(
            request,
            season,
            _("本组看板"),
            f"team-{data.team.id}",
            data.tables,
            personal=False,
            filters={"team": data.team.id},
        )
    return render(request, "reports/dashboards/team.html", {"season": season, "data": data})


# --- office --------------------------------------------------------------------------------------


@require_role(Role.OFFICE)
def office_dashboard(request: HttpRequest) -> HttpResponse:
    """The season's numbers from the latest snapshot; 立即刷新 (`?refresh=1`) takes a new one as a
    tracked job (seconds at platform scale) and comes back here; without Redis it is taken in
    this request."""
    season = _season(request)
    refresh = request.GET.get("refresh") == "1"
    if refresh and request.GET.get("format") != "xlsx":
        job_id = enqueue_tracked(
            jobs.office_dashboard_refresh,
            queue="default",
            user=request.user,
            label=f"{_('全校看板')} · {_('立即刷新')}",
            job_timeout=dashboards.SNAPSHOT_JOB_TIMEOUT,
            season_year=season.year,
        )
        if job_id is not None:
            return redirect(job_url(job_id))
    data = dashboards.office_dashboard(season=season, refresh=refresh)
    if request.GET.get("format") == "xlsx":
        return _export(request, season, _("全校看板"), "office", data.tables, personal=False, filters={})
    return render(
        request,
        "reports/dashboards/office.html",
        {"season": season, "data": data, "cache_minutes": dashboards.cache_seconds() // 60},
    )


# --- supervisor ----------------------------------------------------------------------------------


@require_role(Role.SUPERVISOR, Role.OFFICE)
def supervisor_dashboard(request: HttpRequest) -> HttpResponse:
    season = _season(request)
    data = dashboards.supervisor_dashboard(user=request.user, season=season)
    if request.GET.get("format") == "xlsx":
        return _export(request, season, _("督查看板"), "supervision", data.tables, personal=False, filters={})
    return render(request, "reports/dashboards/supervisor.html", {"season": season, "data": data})


# --- drill-down ----------------------------------------------------------------------------------


@require_role(Role.LEADER, Role.SUPERVISOR, Role.OFFICE)
def drilldown(request: HttpRequest) -> HttpResponse:
    season = _season(request)
    try:
        filters = dashboards.parse_drill_filters(request.GET)
        qs = dashboards.drilldown(user=request.user, season=season, filters=filters)
    except (BadFilter, OutOfScope) as exc:
        raise Http404 from exc
    title = filters.describe()
    if request.GET.get("format") == "xlsx":
        table = dashboards.candidate_table(title, qs, user=request.user)
        return _export(
            request,
            season,
            _("考生名单：") + title,
            "candidates",
            [table],
            personal=True,
            filters=filters.params(),
        )
    total = qs.count()
    rows = list(qs[: dashboards.DRILL_MAX_ROWS])
    table = dashboards.candidate_table(title, rows, user=request.user, full_pii=False)
    return render(
        request,
        "reports/dashboards/drilldown.html",
        {
            "season": season,
            "table": table,
            "total": total,
            "limit": dashboards.DRILL_MAX_ROWS,
            "title": title,
            "params": filters.params(),
        },
    )


# --- province reports ----------------------------------------------------------------------------


@require_role(Role.OFFICE)
def province_report(request: HttpRequest) -> HttpResponse:
    season = _season(request)
    province = (request.GET.get("province") or "").strip()
    names = dashboards.province_names(season=season)
    if province and province not in names:
        raise Http404
    if not province and request.GET.get("format") == "xlsx" and request.GET.get("lists") == "noshow":
        # every province's no-show list, one sheet per province (to send to each province)
        tables = dashboards.no_show_tables(user=request.user, season=season)
        return xlsx_response(
            user=request.user,
            season=season,
            what=_("省份报表：各省录取未报到"),
            filename=f"noshow-{season.year}-{timezone.localdate():%Y%m%d}.xlsx",
            tables=tables,
            personal_data=True,
            filters={"lists": "noshow"},
        )
    if not province:
        summary = dashboards.province_summary(user=request.user, season=season)
        if request.GET.get("format") == "xlsx":
            return _export(
                request, season, _("省份报表：汇总"), "provinces", [summary], personal=False, filters={}
            )
        return render(
            request,
            "reports/dashboards/provinces.html",
            {"season": season, "summary": summary, "chart": _province_chart(summary)},
        )
    screen = request.GET.get("format") != "xlsx"  # on screen masked for everyone
    noshow = dashboards.candidate_table(
        _("录取未报到"),
        dashboards.no_shows(user=request.user, season=season, province=province),
        user=request.user,
        full_pii=False if screen else None,
    )
    noshow.key = "noshow"
    withdrawn = dashboards.candidate_table(
        _("已退档"),
        dashboards.withdrawn_candidates(user=request.user, season=season, province=province),
        user=request.user,
        full_pii=False if screen else None,
    )
    withdrawn.key = "withdrawn"
    if request.GET.get("format") == "xlsx":
        return _export(
            request,
            season,
            _("省份报表：") + province,
            "province",
            [noshow, withdrawn],
            personal=True,
            filters={"province": province},
        )
    return render(
        request,
        "reports/dashboards/province_detail.html",
        {"season": season, "province": province, "noshow": noshow, "withdrawn": withdrawn},
    )


def _province_chart(summary: Table) -> dict:
    return {
        "provinces": dashboards.chart(
            "bar",
            [row[0] for row in summary.rows],
            [
                {"label": _("录取未报到"), "data": [row[4] for row in summary.rows]},
                {"label": _("已退档"), "data": [row[5] for row in summary.rows]},
            ],
            title=_("各省录取未报到与退档"),
        )
    }


# --- export log ----------------------------------------------------------------------------------


@require_role(Role.OFFICE)
def export_log(request: HttpRequest) -> HttpResponse:
    season = _season(request)
    logs = ExportLog.objects.filter(season=season).select_related("user")[:EXPORT_LOG_LIMIT]
    return render(request, "reports/dashboards/export_log.html", {"season": season, "logs": logs})
