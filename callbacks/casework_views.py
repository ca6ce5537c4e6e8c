"""Casework pages: withdrawal requests (退档申请 / 退档审核) and the strike team (突击组).

Every object is looked up in a queryset scoped to the user (404 outside it); the services check
again who may change what (403). Changes are POST only and redirect back (post/redirect/get).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from admissions.models import PiiField, Season
from admissions.selectors import season_current
from admissions.services import pii_access_record
from callback_office.export_log import export_log_record
from callback_office.media import serve_stored_file
from callback_office.nav import NAV_ITEMS, NavItem
from callback_office.privacy import mask_phone
from callback_office.roles import Role, has_role, is_office, require_role
from callbacks import casework_selectors as sel
from callbacks import casework_services as svc
from callbacks.casework_forms import (
    AfterRegistrationForm,
    CompleteForm,
    EscalateForm,
    MaterialUploadForm,
    ReasonForm,
    StrikeCloseForm,
    WithdrawalOpenForm,
    add_service_error,
)
from callbacks.casework_models import (
    MaterialKind,
    StrikeCase,
    StrikeCaseKind,
    StrikeCaseStatus,
    WithdrawalRequest,
    WithdrawalStatus,
)
from callbacks.models import ContactLog
from callbacks.selectors import caller_for, can_see_full_pii

NAV = [
    NavItem(gettext_lazy("退档审核"), "casework:withdrawal_list", frozenset({Role.LEADER, Role.OFFICE})),
    NavItem(
        gettext_lazy("突击组"), "casework:strike_board", frozenset({Role.STRIKE, Role.LEADER, Role.OFFICE})
    ),
]


def casework_ready() -> None:
    """Called from `CallbacksConfig.ready()`: menu entries and the strike holder's contact grant."""
    for item in NAV:
        if item not in NAV_ITEMS:
            NAV_ITEMS.append(item)
    sel.register_contact_log_grant()


def _season() -> Season:
    season = season_current()
    if season is None:
        raise Http404
    return season


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _act(request: HttpRequest, action, success: str, to: str) -> HttpResponse:
    try:
        action()
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, success)
    return redirect(to)


# --- withdrawal requests -----------------------------------------------------------------------


def _candidate(request: HttpRequest, candidate_id: int):
    season = _season()
    qs = sel.actable_candidates(user=request.user, season=season).select_related("province", "season")
    return get_object_or_404(qs, pk=candidate_id)


@login_required
def candidate_withdrawal(request: HttpRequest, candidate_id: int) -> HttpResponse:
    """The letter to send, and the button that opens a request; an open request shows itself."""
    candidate = _candidate(request, candidate_id)
    open_request = sel.withdrawal_open_for(candidate=candidate)
    if open_request is not None:
        return redirect("casework:withdrawal_detail", pk=open_request.pk)
    return render(
        request,
        "callbacks/casework/candidate_withdrawal.html",
        {
            "candidate": candidate,
            "letter": svc.withdrawal_letter_text(candidate=candidate),
            "past": candidate.withdrawal_requests.all(),
            "form": WithdrawalOpenForm(),
        },
    )


@login_required
@require_POST
def withdrawal_open(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = _candidate(request, candidate_id)
    form = WithdrawalOpenForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        req = svc.withdrawal_open(candidate=candidate, user=request.user, note=note)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
        return redirect("casework:candidate_withdrawal", candidate_id=candidate.pk)
    messages.success(request, _("已发起退档申请，请把申请书发给考生并收集材料。"))
    return redirect("casework:withdrawal_detail", pk=req.pk)


def _request(request: HttpRequest, pk: int) -> WithdrawalRequest:
    qs = sel.withdrawals_for(user=request.user, season=_season()).select_related(
        "candidate",
        "candidate__province",
        "candidate__season",
        "caller",
        "caller__team",
        "checked_by",
        "submitted_by",
        "decided_by",
    )
    return get_object_or_404(qs, pk=pk)


def _detail(
    request: HttpRequest, req: WithdrawalRequest, *, upload_form=None, status: int = 200
) -> HttpResponse:
    user = request.user
    candidate = req.candidate
    materials = list(req.materials.select_related("uploaded_by"))
    may_collect = sel.is_assigned_caller(user=user, candidate=candidate) or sel.leads_candidate(
        user=user, candidate=candidate
    )
    may_check = is_office(user) or (
        has_role(user, Role.LEADER) and sel.leads_candidate(user=user, candidate=candidate)
    )
    return render(
        request,
        "callbacks/casework/withdrawal_detail.html",
        {
            "req": req,
            "candidate": candidate,
            "letter": svc.withdrawal_letter_text(candidate=candidate),
            "materials": materials,
            "missing": svc.withdrawal_missing_materials(req, [m.kind for m in materials]),
            "upload_form": upload_form or MaterialUploadForm(),
            "reason_form": ReasonForm(),
            "complete_form": CompleteForm(),
            "may_collect": may_collect and req.status == WithdrawalStatus.COLLECTING,
            "may_check": may_check and req.status == WithdrawalStatus.COLLECTING,
            "may_reject": req.is_open
            and (is_office(user) or (may_check and req.status != WithdrawalStatus.SUBMITTED)),
            "is_office": is_office(user),
            "S": WithdrawalStatus,
            "upload_max_mb": settings.UPLOAD_MAX_BYTES // 1048576,
        },
        status=status,
    )


@login_required
def withdrawal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _request(request, pk))


@login_required
@require_POST
def material_upload(request: HttpRequest, pk: int) -> HttpResponse:
    req = _request(request, pk)
    form = MaterialUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            svc.withdrawal_material_add(
                request=req,
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
                user=request.user,
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("材料已上传。"))
            return redirect("casework:withdrawal_detail", pk=req.pk)
    return _detail(request, req, upload_form=form, status=400)


@login_required
def material_file(request: HttpRequest, pk: int) -> HttpResponse:
    """The stored file (local disk or the bucket), to the assigned caller, their leader and the
    office only; never cached."""
    material = get_object_or_404(sel.materials_for(user=request.user, season=_season()), pk=pk)
    if not material.file:
        raise Http404
    ext = svc.EXTENSION_BY_TYPE.get(material.content_type, "")
    response = serve_stored_file(
        material.file.storage,
        material.file.name,
        content_type=material.content_type,
        filename=f"{material.kind}-{material.pk}{ext}",
    )
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    )
    return response


@login_required
@require_POST
def material_remove(request: HttpRequest, pk: int) -> HttpResponse:
    material = get_object_or_404(
        sel.materials_for(user=request.user, season=_season()).select_related("request"), pk=pk
    )
    to = reverse("casework:withdrawal_detail", args=[material.request_id])
    return _act(
        request,
        lambda: svc.withdrawal_material_remove(material=material, user=request.user),
        _("材料已删除。"),
        to,
    )


@login_required
@require_POST
def withdrawal_check(request: HttpRequest, pk: int) -> HttpResponse:
    req = _request(request, pk)
    return _act(
        request,
        lambda: svc.withdrawal_leader_check(request=req, user=request.user),
        _("已审核：材料齐全，等待招生办提交。"),
        reverse("casework:withdrawal_detail", args=[pk]),
    )


@login_required
@require_POST
def withdrawal_submit(request: HttpRequest, pk: int) -> HttpResponse:
    req = _request(request, pk)
    return _act(
        request,
        lambda: svc.withdrawal_submit(request=req, user=request.user),
        _("已标记为提交考试院。"),
        reverse("casework:withdrawal_detail", args=[pk]),
    )


@login_required
@require_POST
def withdrawal_complete(request: HttpRequest, pk: int) -> HttpResponse:
    req = _request(request, pk)
    form = CompleteForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect("casework:withdrawal_detail", pk=pk)
    day = form.cleaned_data["withdrawn_on"]
    return _act(
        request,
        lambda: svc.withdrawal_complete(request=req, user=request.user, withdrawn_on=day),
        _("退档已完成。"),
        reverse("casework:withdrawal_detail", args=[pk]),
    )


def _with_reason(request: HttpRequest, pk: int, service, success: str) -> HttpResponse:
    req = _request(request, pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请写明原因。"))
        return redirect("casework:withdrawal_detail", pk=pk)
    reason = form.cleaned_data["reason"]
    return _act(
        request,
        lambda: service(request=req, user=request.user, reason=reason),
        success,
        reverse("casework:withdrawal_detail", args=[pk]),
    )


@login_required
@require_POST
def withdrawal_reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _with_reason(request, pk, svc.withdrawal_reject, _("已驳回退档申请。"))


@login_required
@require_POST
def withdrawal_return(request: HttpRequest, pk: int) -> HttpResponse:
    return _with_reason(request, pk, svc.withdrawal_return, _("已退回回访员补充材料。"))


@require_role(Role.LEADER, Role.OFFICE)
def withdrawal_list(request: HttpRequest) -> HttpResponse:
    """退档审核: a leader's teams (default: collecting), the office's all (default: checked)."""
    season = _season()
    default = WithdrawalStatus.LEADER_CHECKED if is_office(request.user) else WithdrawalStatus.COLLECTING
    status = request.GET.get("status", default)
    if status not in WithdrawalStatus.values and status != "all":
        status = default
    scoped = sel.withdrawals_for(user=request.user, season=season)
    counts = dict(scoped.order_by().values_list("status").annotate(n=Count("id")))
    rows = sel.withdrawal_review_list(
        user=request.user, season=season, status=None if status == "all" else status
    ).annotate(
        n_combined=Count("materials", filter=Q(materials__kind=MaterialKind.COMBINED)),
        n_letter=Count("materials", filter=Q(materials__kind=MaterialKind.REQUEST_LETTER)),
        n_id=Count("materials", filter=Q(materials__kind=MaterialKind.ID_CARD)),
        n_ticket=Count("materials", filter=Q(materials__kind=MaterialKind.EXAM_TICKET)),
    )[:500]
    for row in rows:
        row.complete = bool(row.n_combined or (row.n_letter and row.n_id and row.n_ticket))
    tabs = [(value, label, counts.get(value, 0)) for value, label in WithdrawalStatus.choices]
    return render(
        request,
        "callbacks/casework/withdrawal_list.html",
        {
            "rows": rows,
            "status": status,
            "tabs": tabs,
            "total": sum(counts.values()),
            "is_office": is_office(request.user),
        },
    )


@require_role(Role.OFFICE)
def withdrawal_export(request: HttpRequest) -> HttpResponse:
    """The office's list for the provincial exam authority (default: requests the leaders checked)."""
    import io

    from callback_office.excel import SheetWriter, new_workbook, save_workbook

    season = _season()
    status = request.GET.get("status", WithdrawalStatus.LEADER_CHECKED)
    if status not in WithdrawalStatus.values:
        status = WithdrawalStatus.LEADER_CHECKED
    wb = new_workbook()
    sheet = SheetWriter(
        wb,
        str(WithdrawalStatus(status).label),
        [
            _("考生号"),
            _("姓名"),
            _("身份证号"),
            _("省份"),
            _("层次"),
            _("批次"),
            _("回访员"),
            _("小组"),
            _("状态"),
            _("组长审核时间"),
            _("退档日期"),
        ],
    )
    rows = sel.withdrawal_review_list(user=request.user, season=season, status=status).select_related(
        "candidate__season"
    )
    count = 0
    for r in rows.iterator(chunk_size=500):
        c = r.candidate
        count += 1
        sheet.append(
            [
                c.exam_number,
                c.name,
                c.id_number,
                c.province.province,
                c.get_level_display(),
                c.batch,
                r.caller.name if r.caller else "",
                r.caller.team.name if r.caller and r.caller.team else "",
                r.get_status_display(),
                timezone.localtime(r.checked_at).strftime("%Y-%m-%d %H:%M") if r.checked_at else "",
                r.withdrawn_on.isoformat() if r.withdrawn_on else "",
            ]
        )
    buf = io.BytesIO()
    save_workbook(wb, buf)
    export_log_record(
        user=request.user, season=season, what=_("退档名单"), row_count=count, filters={"status": status}
    )
    response = HttpResponse(
        buf.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="withdrawals-{season.year}-{status}.xlsx"'
    return response


# --- strike team --------------------------------------------------------------------------------


@login_required
def candidate_escalate(request: HttpRequest, candidate_id: int) -> HttpResponse:
    """转突击组: a caller's escalation form; after registration closed, the leader's/office's
    button for no-shows."""
    candidate = _candidate(request, candidate_id)
    form = EscalateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            case = svc.strike_case_escalate(
                candidate=candidate,
                user=request.user,
                kind=form.cleaned_data["kind"],
                steps_tried=form.cleaned_data["steps_tried"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("已提交转突击组申请，等待组长审批。"))
            return redirect("casework:strike_detail", pk=case.pk)
    closes = candidate.season.registration_date
    return render(
        request,
        "callbacks/casework/candidate_escalate.html",
        {
            "candidate": candidate,
            "form": form,
            "open_case": sel.strike_open_for(candidate=candidate),
            "after_form": AfterRegistrationForm(),
            "may_send_after": (is_office(request.user) or has_role(request.user, Role.LEADER))
            and closes is not None
            and timezone.localdate() > closes,
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def candidate_after_registration(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = _candidate(request, candidate_id)
    form = AfterRegistrationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请写明情况说明。"))
        return redirect("casework:candidate_escalate", candidate_id=candidate.pk)
    try:
        case = svc.strike_case_send_after_registration(
            candidate=candidate, user=request.user, note=form.cleaned_data["note"]
        )
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
        return redirect("casework:candidate_escalate", candidate_id=candidate.pk)
    messages.success(request, _("已转突击组，督查组核实后突击组即可接手。"))
    return redirect("casework:strike_detail", pk=case.pk)


@require_role(Role.STRIKE, Role.LEADER, Role.OFFICE)
def strike_board(request: HttpRequest) -> HttpResponse:
    """突击组: approvals (leader/office), the queue and my cases (strike), team cases (leader)."""
    season = _season()
    user = request.user
    limit = 200
    return render(
        request,
        "callbacks/casework/strike_board.html",
        {
            "approvals": list(sel.strike_pending_approvals(user=user, season=season)[:limit]),
            "queue": list(sel.strike_queue(user=user, season=season)[:limit]),
            "mine": list(sel.strike_cases_held(user=user, season=season)[:limit]),
            "overview": list(sel.strike_cases_overview(user=user, season=season)[:limit]),
            "is_strike": has_role(user, Role.STRIKE),
            "is_reviewer": is_office(user) or has_role(user, Role.LEADER),
        },
    )


def _case(request: HttpRequest, pk: int) -> StrikeCase:
    qs = sel.strike_cases_for(user=request.user, season=_season()).select_related(
        "candidate",
        "candidate__province",
        "candidate__season",
        "requested_by",
        "requested_by__team",
        "holder",
        "approved_by",
        "verified_by",
        "closed_by",
    )
    return get_object_or_404(qs, pk=pk)


def _strike_detail(
    request: HttpRequest, case: StrikeCase, *, log_form=None, status: int = 200
) -> HttpResponse:
    from callbacks.forms import ContactLogForm

    user = request.user
    candidate = case.candidate
    member = caller_for(user=user, season=candidate.season)
    is_holder = member is not None and case.holder_id == member.pk and case.status == StrikeCaseStatus.TAKEN
    full = is_holder or can_see_full_pii(user=user, candidate=candidate)
    phones = [
        {"number": p.number if full else mask_phone(p.number), "owner": p.get_owner_display(), "note": p.note}
        for p in candidate.phones.all()
    ]
    if full and phones:  # full phone numbers on screen: one log row per page view
        pii_access_record(user=user, candidate=candidate, field=PiiField.PHONES, path=request.path)
    may_decide = case.status == StrikeCaseStatus.PENDING and (
        is_office(user)
        or (has_role(user, Role.LEADER) and sel.leads_candidate(user=user, candidate=candidate))
    )
    if is_holder and log_form is None:
        log_form = ContactLogForm(
            candidate=candidate, phone_choices=[(p.number, p.number) for p in candidate.phones.all()]
        )
    history = (
        ContactLog.objects.filter(candidate=candidate).select_related("caller").order_by("-contacted_at")[:50]
    )
    return render(
        request,
        "callbacks/casework/strike_detail.html",
        {
            "case": case,
            "candidate": candidate,
            "phones": phones,
            "history": history,
            "is_holder": is_holder,
            "may_decide": may_decide,
            "may_take": has_role(user, Role.STRIKE) and case.takeable,
            "may_close": is_holder
            or (is_office(user) and case.status in (StrikeCaseStatus.APPROVED, StrikeCaseStatus.TAKEN)),
            "log_form": log_form,
            "reason_form": ReasonForm(),
            "close_form": StrikeCloseForm(),
            "awaiting_verification": case.needs_verification
            and case.verified_at is None
            and case.status in (StrikeCaseStatus.PENDING, StrikeCaseStatus.APPROVED),
            "K": StrikeCaseKind,
        },
        status=status,
    )


@login_required
def strike_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _strike_detail(request, _case(request, pk))


def _strike_to(pk: int) -> str:
    return reverse("casework:strike_detail", args=[pk])


@login_required
@require_POST
def strike_approve(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    nxt = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return _act(
        request,
        lambda: svc.strike_case_approve(case=case, user=request.user),
        _("已批准转突击组。"),
        nxt if nxt and safe else _strike_to(pk),
    )


@login_required
@require_POST
def strike_decline(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请写明未批准的原因。"))
        return redirect(_strike_to(pk))
    reason = form.cleaned_data["reason"]
    return _act(
        request,
        lambda: svc.strike_case_decline(case=case, user=request.user, reason=reason),
        _("已退回，未转突击组。"),
        _strike_to(pk),
    )


@login_required
@require_POST
def strike_take(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    return _act(
        request,
        lambda: svc.strike_case_take(case=case, user=request.user),
        _("已接手，请尽快联系考生。"),
        _strike_to(pk),
    )


@login_required
@require_POST
def strike_close(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    form = StrikeCloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择结果。"))
        return redirect(_strike_to(pk))
    data = form.cleaned_data
    return _act(
        request,
        lambda: svc.strike_case_close(case=case, user=request.user, result=data["result"], note=data["note"]),
        _("已结案。"),
        _strike_to(pk),
    )


@login_required
@require_POST
def strike_log_contact(request: HttpRequest, pk: int) -> HttpResponse:
    """The holder logs a contact the same way callers do (the workspace's form and service)."""
    from callbacks.forms import ContactLogForm
    from callbacks.services import contact_log

    case = _case(request, pk)
    member = caller_for(user=request.user, season=case.candidate.season)
    if member is None or case.holder_id != member.pk or case.status != StrikeCaseStatus.TAKEN:
        raise Http404
    candidate = case.candidate
    form = ContactLogForm(
        request.POST,
        candidate=candidate,
        phone_choices=[(p.number, p.number) for p in candidate.phones.all()],
    )
    if form.is_valid():
        try:
            contact_log(caller=member, candidate=candidate, **form.service_kwargs())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("回访记录已保存。"))
            return redirect(_strike_to(pk))
    return _strike_detail(request, case, log_form=form, status=400)
