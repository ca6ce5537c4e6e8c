"""Office: runs, approval, diff, workbook, scheme, deductions, inquiries. Everyone with a caller
profile: their own statement (我的补贴) with an inquiry form and a what-if."""

from __future__ import annotations

import io
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from admissions.models import Season
from callback_office.export_log import export_log_record
from callback_office.jobs import ENQUEUE_FAILED_MESSAGE, enqueue_tracked, job_url
from callback_office.roles import Role, require_role
from callbacks.models import Caller
from callbacks.selectors import caller_for
from subsidies import selectors, services
from subsidies.engine import LEVELS, Scheme
from subsidies.engine.ledger import CATEGORIES, RULES
from subsidies.engine.scheme import LEVEL_LABELS
from subsidies.engine.serialize import facts_from_dict
from subsidies.engine.teams import team_pool
from subsidies.engine.whatif import next_tier, team_goals
from subsidies.exports import write_payout_workbook
from subsidies.forms import AnswerForm, DeductionForm, InquiryForm, SchemeForm
from subsidies.jobs import payout_run_job, payout_workbook_job
from subsidies.models import Deduction, Inquiry, InquiryStatus, PayoutLine, PayoutRun

office_only = require_role(Role.OFFICE)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _season(request: HttpRequest) -> Season:
    year = request.GET.get("season") or request.POST.get("season")
    seasons = Season.objects.order_by("-year")
    season = seasons.filter(year=year).first() if year and str(year).isdigit() else seasons.first()
    if season is None:
        raise Http404(_("还没有招生年度"))
    return season


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for m in exc.messages:
        messages.error(request, m)


# --- office ---------------------------------------------------------------------------------


@office_only
def runs(request: HttpRequest) -> HttpResponse:
    season = _season(request)
    return render(
        request,
        "subsidies/runs.html",
        {
            "season": season,
            "seasons": Season.objects.order_by("-year"),
            "runs": selectors.runs_for(season=season),
            "scheme": services.scheme_for(season),
            "open_inquiries": Inquiry.objects.filter(run__season=season, status=InquiryStatus.OPEN).count(),
        },
    )


def _in_background(season: Season) -> bool:
    """Large seasons compute on the queue (settings.SUBSIDY_SYNC_MAX_CALLERS, default 2,000)."""
    limit = getattr(settings, "SUBSIDY_SYNC_MAX_CALLERS", 2000)
    return Caller.objects.filter(season=season).count() > limit


@office_only
@require_POST
def run_create(request: HttpRequest) -> HttpResponse:
    season = _season(request)
    if _in_background(season):
        job_id = enqueue_tracked(
            payout_run_job,
            user=request.user,
            label=_("%(year)s 年度补贴核算") % {"year": season.year},
            season_id=season.pk,
            user_id=request.user.pk,
        )
        if job_id is None:
            messages.error(request, ENQUEUE_FAILED_MESSAGE)
            return redirect(f"{reverse('subsidies:runs')}?season={season.year}")
        return redirect(job_url(job_id))
    run = services.payout_run_create(season=season, user=request.user)
    messages.success(request, _("已完成第 %(n)s 次核算。") % {"n": run.number})
    return redirect("subsidies:run_detail", pk=run.pk)


@office_only
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(PayoutRun.objects.select_related("season", "scheme"), pk=pk)
    view = selectors.run_view(run)
    previous = PayoutRun.objects.filter(season=run.season, number__lt=run.number).order_by("-number").first()
    q = request.GET.get("q", "").strip()
    people = [p for p in view.people if q in p.staff_no or q in p.name or q in p.team] if q else view.people
    page = Paginator(people, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "subsidies/run_detail.html",
        {"run": run, "page": page, "q": q, "previous": previous, "categories": CATEGORIES},
    )


@office_only
@require_POST
def run_approve(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(PayoutRun, pk=pk)
    try:
        services.payout_run_approve(run=run, user=request.user)
        messages.success(request, _("核算已审批并锁定。"))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("subsidies:run_detail", pk=run.pk)


@office_only
def run_diff(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(PayoutRun, pk=pk)
    against_id = request.GET.get("against")
    others = PayoutRun.objects.filter(season=run.season).exclude(pk=run.pk)
    if against_id and against_id.isdigit():
        old = get_object_or_404(others, pk=int(against_id))
    else:
        old = others.filter(number__lt=run.number).order_by("-number").first()
    diff = services.payout_run_diff(old, run) if old else []
    return render(
        request,
        "subsidies/run_diff.html",
        {
            "run": run,
            "old": old,
            "diff": diff,
            "others": others.order_by("-number"),
            "rules": RULES,
            "teams": {t["id"]: t["name"] for t in run.facts.get("teams", [])},
        },
    )


@office_only
def run_download(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(PayoutRun.objects.select_related("season").defer("facts"), pk=pk)  # streamed
    if run.person_count > getattr(settings, "SUBSIDY_SYNC_MAX_CALLERS", 2000):
        job_id = enqueue_tracked(
            payout_workbook_job,
            user=request.user,
            label=_("导出补贴发放表"),
            run_id=run.pk,
            user_id=request.user.pk,
        )
        if job_id is None:
            messages.error(request, ENQUEUE_FAILED_MESSAGE)
            return redirect("subsidies:run_detail", pk=run.pk)
        return redirect(job_url(job_id))
    buf = io.BytesIO()
    write_payout_workbook(run, buf)
    export_log_record(
        user=request.user,
        season=run.season,
        what=_("补贴发放表"),
        row_count=run.person_count,
        filters={"run": run.number},
    )
    response = HttpResponse(buf.getvalue(), content_type=XLSX)
    name = f"payout-{run.season.year}-{run.number}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@office_only
def scheme_edit(request: HttpRequest) -> HttpResponse:
    season = _season(request)
    current = services.scheme_for(season)
    form = SchemeForm(request.POST or None, scheme=Scheme.from_dict(current.params))
    if request.method == "POST" and form.is_valid():
        try:
            new = services.scheme_update(
                season=season,
                params=form.cleaned_data["params"],
                note=form.cleaned_data["note"],
                user=request.user,
            )
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("已保存为第 %(v)s 版方案，下次核算生效。") % {"v": new.version})
            return redirect(f"{request.path}?season={season.year}")
    versions = season.subsidy_schemes.select_related("created_by").order_by("-version")
    return render(
        request,
        "subsidies/scheme_form.html",
        {"season": season, "form": form, "current": current, "versions": versions},
    )


@office_only
def deductions(request: HttpRequest) -> HttpResponse:
    season = _season(request)
    people = Caller.objects.filter(season=season).order_by("staff_no")
    form = DeductionForm(request.POST or None, people=people)
    if request.method == "POST" and form.is_valid():
        try:
            services.deduction_record(
                season=season,
                person=form.cleaned_data["person"],
                percent=form.cleaned_data["percent"] / Decimal(100),
                reason=form.cleaned_data["reason"],
                user=request.user,
            )
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("已记录违纪扣除，下次核算生效。"))
            return redirect(f"{request.path}?season={season.year}")
    rows = Deduction.objects.filter(season=season).select_related("person", "recorded_by")
    return render(request, "subsidies/deductions.html", {"season": season, "form": form, "rows": rows})


@office_only
def inquiries(request: HttpRequest) -> HttpResponse:
    season = _season(request)
    rows = (
        Inquiry.objects.filter(run__season=season)
        .select_related("person", "line", "run", "answered_by")
        .prefetch_related("adjustments")
        .order_by("status", "-created_at")
    )
    return render(request, "subsidies/inquiries.html", {"season": season, "rows": rows, "form": AnswerForm()})


@office_only
@require_POST
def inquiry_answer(request: HttpRequest, pk: int) -> HttpResponse:
    inquiry = get_object_or_404(Inquiry.objects.select_related("run__season", "person"), pk=pk)
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            services.inquiry_answer(
                inquiry=inquiry,
                answer=form.cleaned_data["answer"],
                user=request.user,
                adjustment_amount=form.cleaned_data["adjustment_amount"],
                reason_code=form.cleaned_data["reason_code"],
            )
            messages.success(request, _("已答复。"))
        except ValidationError as exc:
            _errors(request, exc)
    else:
        for errs in form.errors.values():
            for e in errs:
                messages.error(request, e)
    return redirect(f"{reverse('subsidies:inquiries')}?season={inquiry.run.season.year}")


# --- everyone: statements --------------------------------------------------------------------


def _statement_context(request: HttpRequest, season: Season, person: Caller, run: PayoutRun | None) -> dict:
    lines = list(selectors.statement_lines(run=run, person=person)) if run else []
    context = {
        "season": season,
        "person": person,
        "run": run,
        "lines": lines,
        "total": sum((x.amount for x in lines), Decimal("0.00")),
        "rules": RULES,
        "inquiries": selectors.inquiries_for(person=person).filter(run__season=season),
        "form": InquiryForm(),
        "whatif": [],
        "team_goals": [],
        "own": caller_for(user=request.user, season=season) == person,
    }
    if run is not None:
        facts = facts_from_dict(run.facts)
        scheme = Scheme.from_dict(run.scheme_snapshot)
        me = next((c for c in facts.callers if c.id == person.pk), None)
        if me is not None:
            for lv in LEVELS:
                tip = next_tier(me.level(lv), lv, scheme)
                if tip is not None:
                    context["whatif"].append({"label": LEVEL_LABELS[lv], "tip": tip})
        for t in facts.teams:
            if t.leader_id == person.pk and t.kind == "regular":
                pool = team_pool(facts, t, scheme)
                context["team_goals"] = [
                    {"label": LEVEL_LABELS[g.level], "goal": g, "team": t.name} for g in team_goals(pool)
                ]
                context["leader_bonus"] = (scheme.leader_bonus_basic, scheme.leader_bonus_target)
    return context


@login_required
def my_statement(request: HttpRequest) -> HttpResponse:
    if "season" in request.GET:
        season = _season(request)
    else:  # the latest season the user worked in
        mine = (
            Caller.objects.filter(user=request.user)
            .select_related("season")
            .order_by("-season__year")
            .first()
        )
        season = mine.season if mine else _season(request)
    person = caller_for(user=request.user, season=season)
    if person is None:
        raise Http404(_("你在本年度没有回访人员档案"))
    run = selectors.latest_run(season=season)
    return render(request, "subsidies/statement.html", _statement_context(request, season, person, run))


@login_required
def statement(request: HttpRequest, run_pk: int, caller_pk: int) -> HttpResponse:
    run = get_object_or_404(PayoutRun.objects.select_related("season"), pk=run_pk)
    person = selectors.statement_person(user=request.user, season=run.season, caller_id=caller_pk)
    if person is None:
        raise Http404
    return render(request, "subsidies/statement.html", _statement_context(request, run.season, person, run))


@login_required
@require_POST
def inquiry_create(request: HttpRequest, line_pk: int) -> HttpResponse:
    line = get_object_or_404(PayoutLine.objects.select_related("run__season"), pk=line_pk)
    own = caller_for(user=request.user, season=line.run.season)
    if own is None or line.person_id != own.pk:
        raise Http404
    form = InquiryForm(request.POST)
    if form.is_valid():
        try:
            services.inquiry_raise(line=line, person=own, question=form.cleaned_data["question"])
            messages.success(request, _("问题已提交，招生办会尽快答复。"))
        except ValidationError as exc:
            _errors(request, exc)
    else:
        messages.error(request, _("请填写问题。"))
    return redirect("subsidies:statement", run_pk=line.run_id, caller_pk=own.pk)
