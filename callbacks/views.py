"""The caller workspace: pool, my candidates, the candidate page with the contact form, the
leader's team page, the ledger (台账) and the office's release / distribution page.

Every candidate is looked up through `candidates_for` (out of scope → 404); logging needs
`may_log_contact` on top (a leader reads the team's candidates but logs only their own → 403).
"""

from __future__ import annotations

import hashlib
import io
from html import escape as escape_html

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import get_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from admissions.choices import CallbackStatus, Strategy
from admissions.models import Candidate, PiiField, Season
from admissions.selectors import season_current
from admissions.services import pii_access_record
from callback_office.excel import SheetWriter, new_workbook, save_workbook
from callback_office.privacy import mask_id_number, mask_phone
from callback_office.roles import Capability, can, require_capability
from callbacks import selectors, services
from callbacks.choices import Channel
from callbacks.filters import CandidateFilter
from callbacks.forms import ClaimForm, ContactLogForm, FollowupForm, ProspectReportForm, ReleaseForm
from callbacks.models import Caller

PAGE_SIZE = 100
# What a contact changes on the candidate (re-read after logging for the fragment).
SUMMARY_FIELDS = ["status", "contact_count", "contact_seconds", "last_contact_at", "masters_track_interest"]


def _season() -> Season:
    season = season_current()
    if season is None:
        raise Http404(_("还没有招生年度。"))
    return season


def _caller(request: HttpRequest, season: Season) -> Caller | None:
    return selectors.caller_for(user=request.user, season=season)


def _page(request: HttpRequest, qs, size: int = PAGE_SIZE):
    return Paginator(qs, size).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _errors_to_messages(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


# ---------------------------------------------------------------------------------------------
# Pool and claiming


@require_capability(Capability.CALL)
def pool(request: HttpRequest) -> HttpResponse:
    """录检池: how many are waiting, claim the next N, report (报备) prospects."""
    season = _season()
    caller = _caller(request, season)
    return render(
        request,
        "callbacks/pool.html",
        {
            "season": season,
            "caller": caller,
            "pool_size": selectors.pool_size(season=season),
            "claim_form": ClaimForm(),
            "report_form": ProspectReportForm(),
            "reports": selectors.reports_of(caller=caller)[:200] if caller else [],
        },
    )


@require_POST
@require_capability(Capability.CALL)
def pool_claim(request: HttpRequest) -> HttpResponse:
    season = _season()
    caller = _caller(request, season)
    if caller is None:
        raise PermissionDenied
    form = ClaimForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
        return redirect("callbacks:pool")
    try:
        claimed = services.assignment_claim(caller=caller, count=form.cleaned_data["count"])
    except ValidationError as exc:
        _errors_to_messages(request, exc)
        return redirect("callbacks:pool")
    if claimed:
        messages.success(request, _("已领取 %(n)d 名考生。") % {"n": len(claimed)})
        return redirect("callbacks:my_candidates")
    messages.info(request, _("录检池已空，暂无可领取的考生。"))
    return redirect("callbacks:pool")


@require_POST
@require_capability(Capability.CALL)
def report_create(request: HttpRequest) -> HttpResponse:
    season = _season()
    caller = _caller(request, season)
    if caller is None:
        raise PermissionDenied
    form = ProspectReportForm(request.POST)
    if form.is_valid():
        try:
            services.prospect_report_create(caller=caller, **form.cleaned_data)
        except ValidationError as exc:
            _errors_to_messages(request, exc)
        else:
            messages.success(request, _("报备成功：该考生投档后由你回访。"))
            return redirect("callbacks:pool")
    else:
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
    return redirect("callbacks:pool")


# ---------------------------------------------------------------------------------------------
# My candidates


@require_capability(Capability.CALL)
def my_candidates(request: HttpRequest) -> HttpResponse:
    """The caller's list in "next to call" order, filtered, 100 per page, constant queries."""
    season = _season()
    caller = _caller(request, season)
    qs = selectors.my_candidates(caller=caller) if caller else Candidate.objects.none()
    filterset = CandidateFilter(request.GET or None, queryset=qs, season=season)
    page = _page(request, filterset.qs)
    due = list(selectors.followups_due(caller=caller)[:20]) if caller else []
    return render(
        request,
        "callbacks/my_candidates.html",
        {
            "season": season,
            "caller": caller,
            "filter": filterset,
            "filter_fields": _filter_fields_html(filterset),
            "page": page,
            "rows": _my_candidate_rows(page.object_list),
            "query": _query_without_page(request),
            "due": due,
            "now": timezone.now(),
        },
    )


FILTER_FIELDS_CACHE_SECONDS = 3600


def _filter_fields_html(filterset: CandidateFilter) -> SafeString:
    """The filter form's fields as HTML, cached. Rendering its selects option by option through
    the template engine cost as much as the whole table; the HTML only changes with the language,
    the submitted values and the season's provinces, which are all in the key (so an imported
    province shows at once)."""
    form = filterset.form
    provinces = list(form.fields["province"].queryset.order_by().values_list("pk", "province"))
    values = [(name, form.data.getlist(name) if form.is_bound else []) for name in form.fields]
    key = (
        "workspace:filter-fields:"
        + hashlib.sha256(repr((translation.get_language(), sorted(provinces), values)).encode()).hexdigest()
    )
    html = cache.get(key)
    if html is None:
        html = render_to_string("callbacks/_filter_fields.html", {"form": form})
        cache.set(key, html, FILTER_FIELDS_CACHE_SECONDS)
    return mark_safe(html)


def _short_time(value) -> str:
    """Like the template filter `|date:"m-d H:i"` (current time zone), for list cells."""
    return timezone.localtime(value).strftime("%m-%d %H:%M") if value else ""


# One row of "my candidates". The 100 rows of a page are rendered here rather than in a template
# loop: the template engine's per-node cost (a variable lookup, localisation and escaping for
# each of ~30 nodes of each row) was most of the page's time. Every text value is escaped with
# `escape_html` (the stdlib function behind Django's `escape`, without its lazy-string wrapper);
# the labels, once per request.
MY_CANDIDATE_ROW = (
    "<tr{row_class}>"
    '<td><a href="{url}">{name}</a></td>'
    "<td>{exam_number}</td>"
    "<td>{province}</td>"
    '<td><span class="tag">{strategy}</span></td>'
    "<td>{phase}</td>"
    '<td><span class="tag status-{status}">{status_label}</span></td>'
    "<td>{last_contact}</td>"
    '<td class="num">{count}</td>'
    '<td class="num">{minutes}</td>'
    "<td>{paid}</td>"
    "<td>{enrolled}</td>"
    "<td>{masters}</td>"
    "<td>{next_call}</td>"
    "</tr>"
)


def _labels(choices) -> dict[str, str]:
    return {value: escape_html(str(label)) for value, label in choices}


def _my_candidate_rows(candidates) -> SafeString:
    """The table rows of "my candidates": choice labels translated once per request (not once per
    row), times formatted without template filters, links from one reversed URL."""
    status_labels = _labels(CallbackStatus.choices)
    phase_labels = _labels(selectors.WorkPhase.choices)
    strategy_labels = _labels(Strategy.choices)
    paid = f'<span class="tag ok">{escape_html(_("已缴费"))}</span>'
    enrolled = f'<span class="tag ok">{escape_html(_("已报到"))}</span>'
    yes = escape_html(_("有"))
    # Minutes have one decimal and no thousands grouping (USE_THOUSAND_SEPARATOR is off): the
    # template's localisation is the language's decimal separator.
    decimal_sep = escape_html(get_format("DECIMAL_SEPARATOR"))
    head, tail = reverse("callbacks:candidate_detail", args=[0]).rsplit("/0/", 1)
    rows = []
    for c in candidates:
        due = c.followup_due
        next_call = _short_time(c.next_call_at)
        if next_call:
            next_call = f'<span class="tag{" warn" if due else ""}">{next_call}</span>'
        rows.append(
            MY_CANDIDATE_ROW.format(
                row_class=' class="due"' if due else "",
                url=escape_html(f"{head}/{c.pk}/{tail}"),
                name=escape_html(c.name),
                exam_number=escape_html(c.exam_number),
                province=escape_html(c.province.province),
                strategy=strategy_labels[c.province.strategy],
                phase=phase_labels[c.work_phase],
                status=escape_html(c.status),
                status_label=status_labels.get(c.status) or escape_html(c.status),
                last_contact=_short_time(c.last_contact_at) or "—",
                count=int(c.contact_count),
                minutes=str(c.contact_minutes).replace(".", decimal_sep),
                paid=paid if c.paid_on else "—",
                enrolled=enrolled if c.enrolled_on else "—",
                masters=yes if c.masters_track_interest else "",
                next_call=f'<span class="tag{" warn" if due else ""}">{next_call}</span>'
                if next_call
                else "",
            )
        )
    return mark_safe("\n".join(rows))


# ---------------------------------------------------------------------------------------------
# The candidate page


def _visible_candidate(request: HttpRequest, pk: int) -> Candidate:
    season = _season()
    qs = (
        selectors.candidates_for(user=request.user, season=season)
        .select_related("province", "season")
        .prefetch_related("phones")
    )
    return get_object_or_404(qs, pk=pk)


def _phone_rows(candidate: Candidate, full: bool) -> list[dict]:
    return [
        {
            "number": p.number if full else mask_phone(p.number),
            "tel": p.number if full else "",
            "owner": p.get_owner_display(),
            "note": p.note,
        }
        for p in candidate.phones.all()
    ]


def _contact_form(candidate: Candidate, full_pii: bool, data=None) -> ContactLogForm:
    choices = [
        (p.number, f"{p.number if full_pii else mask_phone(p.number)}（{p.get_owner_display()}）")
        for p in candidate.phones.all()
    ]
    return ContactLogForm(data, candidate=candidate, phone_choices=choices)


def _panel_context(candidate: Candidate, form: ContactLogForm | None, full_pii: bool) -> dict:
    """What the contact panel (summary + form + history) needs; shared by page and fragment."""
    phones = _phone_rows(candidate, full_pii)
    return {
        "candidate": candidate,
        "form": form,
        "history": selectors.contact_history(candidate=candidate),
        "phones": phones,
        "full_pii": full_pii,
        "few_phones": candidate.status == CallbackStatus.CONFIRMED and len(phones) < 2,
        "assignment": selectors.active_assignment(candidate=candidate),
    }


def _candidate_page(
    request: HttpRequest, candidate: Candidate, form: ContactLogForm | None, *, full_pii: bool, may_log: bool
) -> HttpResponse:
    context = _panel_context(candidate, form, full_pii)
    if full_pii and context["phones"]:
        # full phone numbers on screen (tel: links): one log row per page view
        pii_access_record(user=request.user, candidate=candidate, field=PiiField.PHONES, path=request.path)
    assignment = context["assignment"]
    own = assignment is not None and may_log and assignment.caller.user_id == request.user.pk
    next_call = assignment.next_call_at if assignment else None
    context.update(
        {
            # masked for everyone; the office and the assigned caller reveal it by a logged POST
            "id_number": mask_id_number(candidate.id_number),
            "may_reveal_id": full_pii and bool(candidate.id_number),
            "followup_form": FollowupForm(
                initial={"next_call_at": timezone.localtime(next_call) if next_call else None}
            )
            if own
            else None,
            "classmates": selectors.classmates(user=request.user, candidate=candidate),
            "may_log": may_log,
        }
    )
    return render(request, "callbacks/candidate_detail.html", context)


@login_required
def candidate_detail(request: HttpRequest, pk: int) -> HttpResponse:
    candidate = _visible_candidate(request, pk)
    access = selectors.candidate_access(user=request.user, candidate=candidate)
    form = _contact_form(candidate, access.full_pii) if access.may_log else None
    return _candidate_page(request, candidate, form, full_pii=access.full_pii, may_log=access.may_log)


@require_POST
@login_required
def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a contact. htmx: answers the contact panel fragment; without JS: redirect, or the
    page again with the errors next to their fields."""
    candidate = _visible_candidate(request, pk)
    access = selectors.candidate_access(user=request.user, candidate=candidate)
    if not access.may_log:
        raise PermissionDenied
    caller = _caller(request, candidate.season)
    full_pii = access.full_pii
    form = _contact_form(candidate, full_pii, data=request.POST)
    saved = False
    if form.is_valid():
        try:
            services.contact_log(caller=caller, candidate=candidate, **form.service_kwargs())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            saved = True
    if saved and not request.htmx:
        messages.success(request, _("回访记录已保存。"))
        return redirect("callbacks:candidate_detail", pk=candidate.pk)
    if not request.htmx:
        return _candidate_page(request, candidate, form, full_pii=full_pii, may_log=True)
    if saved:
        candidate.refresh_from_db(fields=SUMMARY_FIELDS)
        candidate._prefetched_objects_cache.pop("phones", None)
        form = _contact_form(candidate, full_pii)
    context = _panel_context(candidate, form, full_pii)
    context["saved"] = saved
    return render(request, "callbacks/_contact_panel.html", context)


@require_POST
@login_required
def followup_set(request: HttpRequest, pk: int) -> HttpResponse:
    candidate = _visible_candidate(request, pk)
    if not selectors.may_log_contact(request.user, candidate):
        raise PermissionDenied
    caller = _caller(request, candidate.season)
    form = FollowupForm(request.POST)
    if form.is_valid():
        try:
            services.followup_schedule(
                caller=caller, candidate=candidate, next_call_at=form.cleaned_data["next_call_at"]
            )
        except ValidationError as exc:
            _errors_to_messages(request, exc)
        else:
            if form.cleaned_data["next_call_at"]:
                messages.success(request, _("已安排下次回访。"))
            else:
                messages.success(request, _("已取消下次回访。"))
    else:
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
    return redirect("callbacks:candidate_detail", pk=candidate.pk)


# ---------------------------------------------------------------------------------------------
# The leader's team page


@require_capability(Capability.REVIEW_TEAM)
def team(request: HttpRequest) -> HttpResponse:
    """本组: the team's candidates (read) and follow-ups overdue by more than the set hours."""
    season = _season()
    team_ids = selectors.led_team_ids(user=request.user, season=season)
    assignments = selectors.team_assignments(team_ids=team_ids)
    status = request.GET.get("status", "")
    if status in CallbackStatus.values:
        assignments = assignments.filter(candidate__status=status)
    return render(
        request,
        "callbacks/team.html",
        {
            "season": season,
            "overdue": list(selectors.overdue_followups(team_ids=team_ids)[:200]),
            "overdue_hours": selectors.overdue_hours(),
            "page": _page(request, assignments),
            "query": _query_without_page(request),
            "status": status,
            "statuses": CallbackStatus.choices,
            "members": selectors.ledger_callers(user=request.user, season=season).filter(
                team_id__in=team_ids
            ),
        },
    )


# ---------------------------------------------------------------------------------------------
# Ledger (台账)


@login_required
def ledger(request: HttpRequest, caller_id: int | None = None) -> HttpResponse:
    """台账: the caller's candidates, contacts, minutes and averages against the plan's minimum
    (≥ 4 contacts and ≥ 20 minutes per candidate), channels used. `?format=xlsx` downloads it."""
    season = _season()
    reviewer = can(request.user, Capability.REVIEW_TEAM)
    visible = selectors.ledger_callers(user=request.user, season=season)
    if caller_id is None:
        caller = _caller(request, season)
        if caller is None and not reviewer:
            raise Http404(_("你没有本年度的回访员档案。"))
    else:
        caller = get_object_or_404(visible, pk=caller_id)
    context = {
        "caller": caller,
        "plan_contacts": selectors.PLAN_MIN_CONTACTS,
        "plan_minutes": selectors.PLAN_MIN_MINUTES,
        # leaders: their team's members; the office: everyone (one aggregate query)
        "overview": selectors.ledger_overview(callers=visible) if reviewer and caller_id is None else [],
    }
    if caller is not None:
        candidates = selectors.ledger_candidates(caller=caller)
        summary = selectors.ledger_summary(caller=caller)
        if request.GET.get("format") == "xlsx":
            return _ledger_xlsx(caller, candidates, summary)
        channel_labels = dict(Channel.choices)
        context.update(
            {
                "summary": summary,
                "channels": [(channel_labels.get(k, k), n) for k, n in sorted(summary.channels.items())],
                "page": _page(request, candidates),
            }
        )
    return render(request, "callbacks/ledger.html", context)


def _ledger_xlsx(caller: Caller, candidates, summary: selectors.LedgerSummary) -> HttpResponse:
    wb = new_workbook()
    sheet = SheetWriter(
        wb,
        _("台账"),
        [
            _("考生号"),
            _("姓名"),
            _("省份"),
            _("层次"),
            _("回访状态"),
            _("回访次数"),
            _("回访分钟"),
            _("最近回访"),
            _("已缴费"),
            _("已报到"),
            _("专硕意向"),
        ],
    )
    for c in candidates.iterator(chunk_size=2000):
        sheet.append(
            [
                c.exam_number,
                c.name,
                str(c.province),
                c.get_level_display(),
                c.get_status_display(),
                c.contact_count,
                c.contact_minutes,
                timezone.localtime(c.last_contact_at).strftime("%Y-%m-%d %H:%M") if c.last_contact_at else "",
                _("是") if c.paid else _("否"),
                _("是") if c.enrolled else _("否"),
                _("是") if c.masters_track_interest else _("否"),
            ]
        )
    totals = SheetWriter(wb, _("汇总"), [_("项目"), _("数值")])
    for label, value in (
        (_("回访员"), str(caller)),
        (_("考生数"), summary.candidates),
        (_("回访次数"), summary.contacts),
        (_("回访总分钟"), summary.minutes),
        (_("人均回访次数"), summary.avg_contacts),
        (_("人均回访分钟"), summary.avg_minutes),
        (_("本人回访记录数"), summary.own_contacts),
    ):
        totals.append([label, value])
    buffer = io.BytesIO()
    save_workbook(wb, buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="ledger-{caller.staff_no}.xlsx"'
    return response


# ---------------------------------------------------------------------------------------------
# Office: release and distribute


@require_capability(Capability.MANAGE)
def distribute(request: HttpRequest) -> HttpResponse:
    """分配: release candidates into the pool; distribute the pool across qualified callers."""
    season = _season()
    release_form = ReleaseForm(request.POST or None, season=season)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "release" and release_form.is_valid():
                data = release_form.cleaned_data
                result = services.pool_release(
                    season=season,
                    batch=data["batch"],
                    province_id=data["province"].pk if data["province"] else None,
                    level=data["level"],
                )
                messages.success(
                    request,
                    _("已放入录检池 %(n)d 名；报备考生直接分给报备人 %(r)d 名。")
                    % {"n": result.released, "r": result.to_reporters},
                )
                return redirect("callbacks:distribute")
            if action == "distribute":
                given = services.assignment_distribute(season=season)
                messages.success(
                    request,
                    _("已分配 %(n)d 名考生给 %(c)d 名回访员。") % {"n": sum(given.values()), "c": len(given)},
                )
                return redirect("callbacks:distribute")
            if action == "withdraw":
                n = services.pool_withdraw(season=season)
                messages.success(request, _("已从录检池收回 %(n)d 名未领取的考生。") % {"n": n})
                return redirect("callbacks:distribute")
        except ValidationError as exc:
            _errors_to_messages(request, exc)
    callers = list(services.distribution_callers(season=season).select_related("team"))
    return render(
        request,
        "callbacks/distribute.html",
        {
            "season": season,
            "pool_size": selectors.pool_size(season=season),
            "release_form": release_form,
            "callers": callers,
            "weight_total": sum((c.weight for c in callers), 0),
        },
    )
