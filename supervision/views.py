"""Supervision pages. Supervisors see only the teams they cover (others' objects are 404), the
office sees everything; callers and leaders see only 我的整改 (the supervisor pages are 403)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from admissions.models import Season
from admissions.selectors import season_current
from callback_office.excel import SheetWriter, new_workbook, save_workbook
from callback_office.export_log import export_log_record
from callback_office.media import serve_stored_file
from callback_office.privacy import mask_phone
from callback_office.roles import Role, is_office, require_role
from callbacks.models import TEAM_ORDER, Caller, ContactLog, StrikeCase, Team
from callbacks.selectors import caller_for
from supervision import selectors as sel
from supervision import services
from supervision.choices import FindingCategory, FindingStatus, IncidentKind, ReviewOutcome, Severity
from supervision.models import AuditItem, AuditScore, Finding, Incident

SUPERVISION = (Role.SUPERVISOR, Role.OFFICE)
CALLERS = (Role.CALLER, Role.LEADER, Role.STRIKE)


def _season() -> Season:
    season = season_current()
    if season is None:
        raise Http404(_("尚未建立招生年度。"))
    return season


def _supervisor(request: HttpRequest, season: Season) -> Caller:
    """The acting supervisor; the office (without a supervisor profile) may only look."""
    sup = sel.supervisor_for(user=request.user, season=season)
    if sup is None:
        raise PermissionDenied
    return sup


def _findings_scope(request: HttpRequest, season: Season):
    """Findings the user may open: the supervision lead (who arbitrates) and the office see all."""
    if is_office(request.user) or sel.is_supervision_lead(user=request.user, season=season):
        return Finding.objects.filter(season=season)
    return sel.findings_for(user=request.user, season=season)


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for m in exc.messages:
        messages.error(request, m)


def _date(value: str | None, default: dt.date | None = None) -> dt.date | None:
    parsed = parse_date(value or "") if value else None
    return parsed or default


def _pk(value: str | None) -> int:
    """A primary key from a form value; anything else is 404 (not a server error)."""
    if value is None or not str(value).isdigit():
        raise Http404
    return int(value)


def _checked(request: HttpRequest, name: str) -> bool:
    return request.POST.get(name) in ("on", "1", "true", "yes")


# --- home --------------------------------------------------------------------------------------


@require_role(*SUPERVISION)
def home(request: HttpRequest) -> HttpResponse:
    season = _season()
    user = request.user
    teams = sel.teams_for(user=user, season=season).select_related("leader").prefetch_related("supervisors")
    findings = sel.findings_for(user=user, season=season)
    sup = sel.supervisor_for(user=user, season=season)
    disputed = _findings_scope(request, season).filter(status=FindingStatus.DISPUTED)
    if sup is not None and not is_office(user):
        disputed = disputed.exclude(author=sup)
    ctx = {
        "season": season,
        "teams": teams,
        "reminders": sel.sampling_reminders(user=user, season=season),
        "samples": sel.samples_for(user=user, season=season).select_related("supervisor")[:10],
        "unreviewed": sel.unreviewed_callers(user=user, season=season).count(),
        "open_findings": findings.filter(status__in=FindingStatus.unresolved()).count(),
        "to_verify": findings.filter(status=FindingStatus.RESPONDED).count(),
        "to_arbitrate": disputed.count(),
        "noshow_pending": _noshow_queryset(request, season).count(),
        "is_office": is_office(user),
        "calibration_items": [],
    }
    if sup is not None:
        ctx["calibration_items"] = list(
            sel.items_for(user=user, season=season)
            .filter(calibration=True)
            .exclude(scores__supervisor=sup)
            .select_related("team", "contact_log__caller")
            .order_by("id")[:20]
        )
    return render(request, "supervision/home.html", ctx)


# --- qualification review ----------------------------------------------------------------------


@require_role(*SUPERVISION)
def qualification_list(request: HttpRequest) -> HttpResponse:
    season = _season()
    callers = sel.unreviewed_callers(user=request.user, season=season)
    recent = (
        sel.reviewable_callers(user=request.user, season=season)
        .filter(qualification_reviews__isnull=False)
        .distinct()
        .select_related("team")
        .order_by("staff_no")
    )
    return render(
        request,
        "supervision/qualification_list.html",
        {
            "callers": callers,
            "reviewed": recent,
            "outcomes": ReviewOutcome.choices,
            "today": timezone.localdate(),
        },
    )


@require_role(*SUPERVISION)
@require_POST
def qualification_review(request: HttpRequest, caller_id: int) -> HttpResponse:
    season = _season()
    caller = get_object_or_404(sel.reviewable_callers(user=request.user, season=season), pk=caller_id)
    try:
        services.qualification_review_record(
            caller=caller,
            reviewer=request.user,
            trained=_checked(request, "trained"),
            script_tested=_checked(request, "script_tested"),
            rules_acknowledged=_checked(request, "rules_acknowledged"),
            outcome=request.POST.get("outcome", ""),
            note=request.POST.get("note", ""),
            reviewed_on=_date(request.POST.get("reviewed_on")),
        )
        messages.success(request, _("已记录 %(name)s 的资格审查。") % {"name": caller.name})
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("supervision:qualification")


# --- coverage (office) -------------------------------------------------------------------------


@require_role(Role.OFFICE)
def coverage(request: HttpRequest) -> HttpResponse:
    season = _season()
    supervisors = list(Caller.objects.filter(season=season, is_supervisor=True).order_by("staff_no"))
    if request.method == "POST":
        team = get_object_or_404(Team, season=season, pk=_pk(request.POST.get("team")))
        ids = {int(x) for x in request.POST.getlist("supervisors") if x.isdigit()}
        try:
            services.team_supervisors_set(team=team, supervisors=[s for s in supervisors if s.pk in ids])
            messages.success(request, _("已更新 %(team)s 的督查。") % {"team": team.name})
        except ValidationError as exc:
            _errors(request, exc)
        return redirect("supervision:coverage")
    teams = Team.objects.filter(season=season).prefetch_related("supervisors").order_by(*TEAM_ORDER)
    rows = [(t, {s.pk for s in t.supervisors.all()}) for t in teams]
    return render(request, "supervision/coverage.html", {"rows": rows, "supervisors": supervisors})


# --- sampling ------------------------------------------------------------------------------------


@require_role(*SUPERVISION)
def sample_list(request: HttpRequest) -> HttpResponse:
    season = _season()
    user = request.user
    samples = (
        sel.samples_for(user=user, season=season)
        .select_related("supervisor")
        .annotate(n_items=Count("items", distinct=True))
    )
    today = timezone.localdate()
    return render(
        request,
        "supervision/sample_list.html",
        {
            "samples": samples,
            "teams": sel.teams_for(user=user, season=season),
            "reminders": sel.sampling_reminders(user=user, season=season),
            "default_start": today - dt.timedelta(days=7),
            "default_end": today,
            "can_draw": sel.supervisor_for(user=user, season=season) is not None,
        },
    )


@require_role(*SUPERVISION)
@require_POST
def sample_new(request: HttpRequest) -> HttpResponse:
    season = _season()
    sup = _supervisor(request, season)
    strata = tuple(s for s in ("caller", "outcome") if s in request.POST.getlist("strata")) or ("caller",)
    try:
        per_team = int(request.POST.get("per_team") or 20)
        team_ids = [int(t) for t in request.POST.getlist("teams") if t.isdigit()]
        start = _date(request.POST.get("period_start"))
        end = _date(request.POST.get("period_end"))
        if not start or not end:
            raise ValidationError(_("请选择抽查期间。"))
        sample = services.sample_draw(
            supervisor=sup,
            season=season,
            period_start=start,
            period_end=end,
            team_ids=team_ids or None,
            params=services.SampleParameters(per_team=per_team, strata=strata),
        )
    except ValueError:
        messages.error(request, _("每组抽查条数应为整数。"))
        return redirect("supervision:samples")
    except ValidationError as exc:
        _errors(request, exc)
        return redirect("supervision:samples")
    messages.success(request, _("已抽取 %(n)s 条记录。") % {"n": sample.items.count()})
    return redirect("supervision:sample", sample_id=sample.pk)


def _items_with_state(qs, sup: Caller | None):
    qs = qs.select_related("team", "contact_log__caller", "contact_log__candidate__province").annotate(
        n_scores=Count("scores", distinct=True), n_findings=Count("findings", distinct=True)
    )
    if sup is not None:
        qs = qs.annotate(scored_by_me=Exists(AuditScore.objects.filter(item=OuterRef("pk"), supervisor=sup)))
    return qs


@require_role(*SUPERVISION)
def sample_detail(request: HttpRequest, sample_id: int) -> HttpResponse:
    season = _season()
    sample = get_object_or_404(
        sel.samples_for(user=request.user, season=season).select_related("supervisor"), pk=sample_id
    )
    sup = sel.supervisor_for(user=request.user, season=season)
    items = _items_with_state(sel.items_for(user=request.user, season=season).filter(sample=sample), sup)
    return render(
        request,
        "supervision/sample_detail.html",
        {
            "sample": sample,
            "items": items.order_by("team__sort_order", "team_id", "contact_log__caller__staff_no", "id"),
        },
    )


# --- scoring and findings ----------------------------------------------------------------------


def _item(request: HttpRequest, season: Season, item_id: int) -> AuditItem:
    return get_object_or_404(
        sel.items_for(user=request.user, season=season).select_related(
            "sample", "team", "contact_log__caller", "contact_log__candidate__province"
        ),
        pk=item_id,
    )


@require_role(*SUPERVISION)
def item_detail(request: HttpRequest, item_id: int) -> HttpResponse:
    season = _season()
    item = _item(request, season, item_id)
    sup = sel.supervisor_for(user=request.user, season=season)
    card = services.scorecard_current(season=season)
    scores = sel.visible_scores(item=item, user=request.user, season=season)
    mine = (
        next((s for s in item.scores.all() if s.supervisor_id == sup.pk), None) if sup is not None else None
    )
    criteria = list(card.criteria.all())
    score_rows = []
    for s in scores:
        labels = {str(c.id): c for c in s.scorecard.criteria.all()}
        score_rows.append((s, [(labels[k].label, v, labels[k].max_points) for k, v in s.marks.items()]))
    contact = item.contact_log
    return render(
        request,
        "supervision/item_detail.html",
        {
            "item": item,
            "contact": contact,
            "phone": mask_phone(contact.phone_number),
            "attachments": contact.attachments.all(),
            "card": card,
            "criteria": criteria,
            "mine": mine,
            "can_score": sup is not None and mine is None,
            "score_rows": score_rows,
            "others_hidden": sup is not None
            and mine is None
            and item.scores.exclude(supervisor=sup).exists(),
            # blind: a supervisor who has not scored yet sees neither scores nor findings of others
            "findings": [] if (sup is not None and mine is None) else item.findings.select_related("author"),
            "severities": Severity.choices,
            "categories": FindingCategory.choices,
            "is_office": is_office(request.user),
        },
    )


@require_role(*SUPERVISION)
@require_POST
def item_score(request: HttpRequest, item_id: int) -> HttpResponse:
    season = _season()
    item = _item(request, season, item_id)
    sup = _supervisor(request, season)
    marks = {k.removeprefix("c_"): v for k, v in request.POST.items() if k.startswith("c_")}
    try:
        services.audit_score_submit(
            item=item, supervisor=sup, marks=marks, comment=request.POST.get("comment", "")
        )
        messages.success(request, _("评分已提交。"))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("supervision:item", item_id=item.pk)


@require_role(*SUPERVISION)
@require_POST
def item_finding(request: HttpRequest, item_id: int) -> HttpResponse:
    season = _season()
    item = _item(request, season, item_id)
    sup = _supervisor(request, season)
    try:
        services.finding_create(
            item=item,
            author=sup,
            severity=request.POST.get("severity", ""),
            category=request.POST.get("category", ""),
            description=request.POST.get("description", ""),
            required_rectification=request.POST.get("required_rectification", ""),
        )
        messages.success(request, _("问题已记录，已通知回访员及其组长。"))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("supervision:item", item_id=item.pk)


@require_role(Role.OFFICE)
@require_POST
def item_calibration(request: HttpRequest, item_id: int) -> HttpResponse:
    season = _season()
    item = _item(request, season, item_id)
    services.item_set_calibration(item=item, calibration=_checked(request, "calibration"))
    return redirect("supervision:item", item_id=item.pk)


# --- recordings and screenshots -----------------------------------------------------------------


@login_required
def contact_attachments(request: HttpRequest, contact_id: int) -> HttpResponse:
    """A contact's recordings and screenshots; upload (the caller, their leader, supervisors, office)."""
    season = _season()
    contact = get_object_or_404(
        sel.contacts_for_attachments(user=request.user, season=season).select_related("candidate", "caller"),
        pk=contact_id,
    )
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("请选择文件。"))
        else:
            try:
                services.attachment_add(contact_log=contact, upload=upload, user=request.user)
                messages.success(request, _("已上传。"))
            except ValidationError as exc:
                _errors(request, exc)
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = reverse("supervision:contact_attachments", args=[contact.pk])
        return redirect(target)
    return render(
        request,
        "supervision/contact_attachments.html",
        {"contact": contact, "attachments": contact.attachments.all()},
    )


@login_required
def attachment_download(request: HttpRequest, attachment_id: int) -> HttpResponse:
    """The recording or screenshot, live or archived, from its storage after the scope check."""
    season = _season()
    att = get_object_or_404(sel.attachments_for(user=request.user, season=season), pk=attachment_id)
    storage, name = services.attachment_stored(att)
    return serve_stored_file(storage, name, content_type=att.content_type)


# --- findings (supervisor side) -------------------------------------------------------------------


@require_role(*SUPERVISION)
def finding_list(request: HttpRequest) -> HttpResponse:
    season = _season()
    status = request.GET.get("status", "unresolved")
    qs = sel.findings_for(user=request.user, season=season).select_related("caller", "team", "author")
    if status == "unresolved":
        qs = qs.filter(status__in=FindingStatus.unresolved())
    elif status in FindingStatus.values:
        qs = qs.filter(status=status)
    return render(
        request,
        "supervision/finding_list.html",
        {"findings": qs, "status": status, "statuses": FindingStatus.choices},
    )


@require_role(*SUPERVISION)
def finding_detail(request: HttpRequest, finding_id: int) -> HttpResponse:
    season = _season()
    finding = get_object_or_404(
        _findings_scope(request, season).select_related(
            "caller", "team", "author", "item__contact_log__candidate", "verified_by", "arbitrated_by"
        ),
        pk=finding_id,
    )
    sup = sel.supervisor_for(user=request.user, season=season)
    return render(
        request,
        "supervision/finding_detail.html",
        {
            "finding": finding,
            "events": finding.events.select_related("actor"),
            "can_verify": sup is not None
            and finding.status == FindingStatus.RESPONDED
            and finding.team.supervisors.filter(pk=sup.pk).exists(),
            "can_arbitrate": finding.status == FindingStatus.DISPUTED
            and services.may_arbitrate(finding=finding, user=request.user),
        },
    )


@require_role(*SUPERVISION)
@require_POST
def finding_verify(request: HttpRequest, finding_id: int) -> HttpResponse:
    season = _season()
    finding = get_object_or_404(sel.findings_for(user=request.user, season=season), pk=finding_id)
    sup = _supervisor(request, season)
    try:
        services.finding_verify(
            finding=finding,
            supervisor=sup,
            accepted=request.POST.get("accepted") == "1",
            note=request.POST.get("note", ""),
        )
        messages.success(request, _("已核实。"))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("supervision:finding", finding_id=finding.pk)


@require_role(*SUPERVISION)
@require_POST
def finding_arbitrate(request: HttpRequest, finding_id: int) -> HttpResponse:
    season = _season()
    finding = get_object_or_404(_findings_scope(request, season), pk=finding_id)
    try:
        services.finding_arbitrate(
            finding=finding,
            user=request.user,
            upheld=request.POST.get("upheld") == "1",
            note=request.POST.get("note", ""),
        )
        messages.success(request, _("仲裁已记录。"))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("supervision:finding", finding_id=finding.pk)


@require_role(*SUPERVISION)
def arbitration_list(request: HttpRequest) -> HttpResponse:
    """Disputed findings the user may decide (not their own)."""
    season = _season()
    qs = (
        _findings_scope(request, season)
        .filter(status=FindingStatus.DISPUTED)
        .exclude(author__user=request.user)
    )
    return render(
        request,
        "supervision/finding_list.html",
        {
            "findings": qs.select_related("caller", "team", "author"),
            "status": FindingStatus.DISPUTED,
            "statuses": FindingStatus.choices,
            "arbitration": True,
        },
    )


# --- 我的整改 (callers and leaders) -------------------------------------------------------------


@require_role(*CALLERS)
def my_findings(request: HttpRequest) -> HttpResponse:
    season = _season()
    me = caller_for(user=request.user, season=season)
    findings = (
        sel.my_findings(user=request.user, season=season)
        .select_related("caller", "team", "author", "item__contact_log__candidate")
        .order_by("status", "-created_at")
    )
    return render(
        request,
        "supervision/my_findings.html",
        {"findings": findings, "me": me, "now": timezone.now(), "dispute_days": services.dispute_days()},
    )


def _my_finding(request: HttpRequest, finding_id: int) -> tuple[Finding, Caller]:
    season = _season()
    me = caller_for(user=request.user, season=season)
    if me is None:
        raise Http404
    return get_object_or_404(sel.my_findings(user=request.user, season=season), pk=finding_id), me


@require_role(*CALLERS)
@require_POST
def my_finding_action(request: HttpRequest, finding_id: int, action: str) -> HttpResponse:
    finding, me = _my_finding(request, finding_id)
    try:
        if action == "acknowledge":
            services.finding_acknowledge(finding=finding, caller=me)
            messages.success(request, _("已确认。请按要求整改并反馈。"))
        elif action == "dispute":
            services.finding_dispute(finding=finding, caller=me, reason=request.POST.get("reason", ""))
            messages.success(request, _("申诉已提交，将由其他督查仲裁。"))
        elif action == "respond":
            services.finding_respond(finding=finding, caller=me, text=request.POST.get("text", ""))
            messages.success(request, _("整改情况已反馈。"))
        else:
            raise Http404
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("supervision:my_findings")


# --- scorecard and calibration (office) ---------------------------------------------------------


@require_role(Role.OFFICE)
def scorecard_edit(request: HttpRequest) -> HttpResponse:
    season = _season()
    card = services.scorecard_current(season=season)
    if request.method == "POST":
        labels = request.POST.getlist("label")
        points = request.POST.getlist("max_points")
        weights = request.POST.getlist("weight")
        rows = []
        try:
            for label, pts, w in zip(labels, points, weights, strict=False):
                if not label.strip():
                    continue
                rows.append((label, int(pts), Decimal(w)))
            services.scorecard_revise(season=season, user=request.user, criteria=rows)
            messages.success(request, _("评分表已保存为新版本。"))
            return redirect("supervision:scorecard")
        except (ValueError, InvalidOperation):
            messages.error(request, _("满分和权重须为数字。"))
        except ValidationError as exc:
            _errors(request, exc)
    criteria = list(card.criteria.all())
    return render(
        request,
        "supervision/scorecard.html",
        {"card": card, "criteria": criteria, "blank_rows": range(3)},
    )


@require_role(Role.OFFICE)
def calibration(request: HttpRequest) -> HttpResponse:
    season = _season()
    return render(request, "supervision/calibration.html", {"report": sel.calibration_report(season=season)})


# --- incidents -----------------------------------------------------------------------------------


@require_role(*SUPERVISION)
def incident_list(request: HttpRequest) -> HttpResponse:
    season = _season()
    team_ids = sel.supervised_team_ids(user=request.user, season=season)
    teams = Team.objects.filter(id__in=team_ids).order_by(*TEAM_ORDER)
    if request.method == "POST":
        team = get_object_or_404(teams, pk=_pk(request.POST.get("team")))
        caller = None
        if request.POST.get("caller"):
            caller = get_object_or_404(
                Caller.objects.filter(season=season, team=team), pk=_pk(request.POST["caller"])
            )
        try:
            occurred = _date(request.POST.get("occurred_on"))
            if occurred is None:
                raise ValidationError(_("请填写发生日期。"))
            services.incident_record(
                season=season,
                kind=request.POST.get("kind", ""),
                team=team,
                caller=caller,
                caused_by_improper_callback=_checked(request, "caused_by_improper_callback"),
                description=request.POST.get("description", ""),
                handling=request.POST.get("handling", ""),
                occurred_on=occurred,
                handled_on=_date(request.POST.get("handled_on")),
                user=request.user,
            )
            messages.success(request, _("已记录。"))
        except ValidationError as exc:
            _errors(request, exc)
        return redirect("supervision:incidents")
    incidents = Incident.objects.filter(season=season, team_id__in=team_ids).select_related("team", "caller")
    callers = Caller.objects.filter(season=season, team_id__in=team_ids).order_by("staff_no")
    return render(
        request,
        "supervision/incidents.html",
        {
            "incidents": incidents,
            "teams": teams,
            "callers": callers,
            "kinds": IncidentKind.choices,
            "today": timezone.localdate(),
        },
    )


# --- no-show verification ------------------------------------------------------------------------


def _noshow_queryset(request: HttpRequest, season: Season):
    from callbacks.casework_models import StrikeCaseKind, StrikeCaseStatus

    qs = StrikeCase.objects.filter(
        candidate__season=season,
        kind__in=StrikeCaseKind.needs_verification(),
        status__in=[StrikeCaseStatus.PENDING, StrikeCaseStatus.APPROVED],
        verified_at__isnull=True,
    )
    if is_office(request.user):
        return qs
    team_ids = sel.supervised_team_ids(user=request.user, season=season)
    return qs.filter(
        Q(requested_by__team_id__in=team_ids)
        | Q(
            requested_by__isnull=True,
            candidate__assignments__active=True,
            candidate__assignments__caller__team_id__in=team_ids,
        )
    ).distinct()


@require_role(*SUPERVISION)
def noshow_list(request: HttpRequest) -> HttpResponse:
    season = _season()
    cases = (
        _noshow_queryset(request, season)
        .select_related("candidate__province", "requested_by__team")
        .prefetch_related(
            Prefetch(
                "candidate__contacts",
                queryset=ContactLog.objects.select_related("caller").prefetch_related("attachments"),
            )
        )
        .order_by("created_at")
    )
    return render(
        request,
        "supervision/noshow.html",
        {"cases": cases, "can_verify": sel.supervisor_for(user=request.user, season=season) is not None},
    )


@require_role(*SUPERVISION)
@require_POST
def noshow_decide(request: HttpRequest, case_id: int) -> HttpResponse:
    season = _season()
    case = get_object_or_404(_noshow_queryset(request, season), pk=case_id)
    sup = _supervisor(request, season)
    try:
        services.noshow_verify(
            case=case,
            supervisor=sup,
            note=request.POST.get("note", ""),
            confirmed=request.POST.get("confirmed") == "1",
        )
        messages.success(request, _("核实结果已记录。"))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("supervision:noshow")


# --- follow-up ledger spot checks ----------------------------------------------------------------


def _int(value: str | None, default: int, lo: int, hi: int) -> int:
    try:
        return max(lo, min(hi, int(value or default)))
    except ValueError:
        return default


@require_role(*SUPERVISION)
def ledger_checks(request: HttpRequest) -> HttpResponse:
    season = _season()
    teams = list(sel.teams_for(user=request.user, season=season))
    params = request.POST if request.method == "POST" else request.GET
    min_contacts = _int(params.get("min_contacts"), 4, 0, 100)
    min_minutes = _int(params.get("min_minutes"), 20, 0, 1000)
    stale_days = _int(params.get("stale_days"), 7, 1, 365)
    team = None
    if params.get("team"):
        team = get_object_or_404(sel.teams_for(user=request.user, season=season), pk=_pk(params.get("team")))
    if request.method == "POST":
        sup = _supervisor(request, season)
        if team is None:
            raise Http404
        try:
            services.ledger_check_record(
                supervisor=sup,
                team=team,
                note=request.POST.get("note", ""),
                min_contacts=min_contacts,
                min_minutes=min_minutes,
                stale_days=stale_days,
            )
            messages.success(request, _("台账抽查已记录。"))
        except ValidationError as exc:
            _errors(request, exc)
        return redirect(f"{reverse('supervision:ledger_checks')}?team={team.pk}")
    rows = []
    if team is not None:
        rows = sel.ledger_shortfalls(
            team_ids={team.pk},
            season=season,
            min_contacts=min_contacts,
            min_minutes=min_minutes,
            stale_days=stale_days,
        )
    return render(
        request,
        "supervision/ledger_checks.html",
        {
            "teams": teams,
            "team": team,
            "rows": rows,
            "min_contacts": min_contacts,
            "min_minutes": min_minutes,
            "stale_days": stale_days,
            "checks": sel.ledger_checks_for(user=request.user, season=season)[:30],
        },
    )


# --- audit ledger (工作台账) ----------------------------------------------------------------------


@require_role(*SUPERVISION)
def audit_ledger(request: HttpRequest) -> HttpResponse:
    season = _season()
    start = _date(request.GET.get("start"))
    end = _date(request.GET.get("end"))
    rows = sel.audit_ledger(user=request.user, season=season, start=start, end=end)
    if request.GET.get("format") == "xlsx":
        wb = new_workbook()
        sheet = SheetWriter(wb, "督查工作台账", ["督查", "小组", "已评记录数", "发现问题数", "开始", "结束"])
        for r in rows:
            sheet.append(
                [r.supervisor_name, r.team_name, r.audited, r.findings, str(start or ""), str(end or "")]
            )
        buf = io.BytesIO()
        save_workbook(wb, buf)
        buf.seek(0)
        export_log_record(
            user=request.user,
            season=season,
            what=_("督查工作台账"),
            row_count=len(rows),
            filters={"start": start or "", "end": end or ""},
        )
        return FileResponse(
            buf,
            as_attachment=True,
            filename=f"audit-ledger-{season.year}.xlsx",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    return render(
        request,
        "supervision/audit_ledger.html",
        {"rows": rows, "start": start, "end": end, "total": sum(r.audited for r in rows)},
    )
