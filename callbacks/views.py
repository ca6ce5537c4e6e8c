"""The caller workspace: pool, my candidates, the candidate page with the contact form, the
leader's team page, the ledger (台账) and the office's release / distribution page.

Every candidate is looked up through `candidates_for` (out of scope → 404); logging needs
`may_log_contact` on top (a leader reads the team's candidates but logs only their own → 403).
"""

from __future__ import annotations

import functools
import hashlib
import io
from decimal import Decimal
from html import escape as escape_html

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import get_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import normalize_newlines
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from admissions.choices import CallbackStatus
from admissions.models import Candidate, PiiField, ProvincePolicy, Season
from admissions.selectors import season_current
from admissions.services import pii_access_record
from callback_office.cache import cache_get, cache_set
from callback_office.excel import SheetWriter, new_workbook, save_workbook
from callback_office.export_log import export_log_record
from callback_office.privacy import mask_id_number, mask_phone
from callback_office.roles import Capability, can, require_capability
from callbacks import selectors, services
from callbacks.choices import Channel, Intent, Outcome, RiskSignal
from callbacks.filters import CandidateFilter
from callbacks.forms import ClaimForm, ContactLogForm, FollowupForm, ProspectReportForm, ReleaseForm
from callbacks.models import Caller

PAGE_SIZE = selectors.MY_CANDIDATES_PAGE  # every list of the workspace


def _season() -> Season:
    season = season_current()
    if season is None:
        raise Http404(_("还没有招生年度。"))
    return season


def _caller(request: HttpRequest, season: Season) -> Caller | None:
    return selectors.caller_for(user=request.user, season=season)


def _page(
    request: HttpRequest, qs, size: int = PAGE_SIZE, first_rows: list | None = None, total: int | None = None
) -> Page:
    """The requested page. The first page reads one row more than it shows: when that row is not
    there, the list is complete and no COUNT query is needed (a caller's list usually fits).
    `first_rows`: those rows, when the caller already read them; `total`: the list's length,
    when the caller already counted it."""
    number = request.GET.get("page")
    if number not in (None, "", "1"):
        return Paginator(qs, size).get_page(number)
    rows = list(qs[: size + 1]) if first_rows is None else first_rows
    if len(rows) <= size:
        return Paginator(rows, size).page(1)
    paginator = Paginator(qs, size)
    if total is not None:
        paginator.count = total  # a cached_property: set, it is not computed again
    return Page(rows[:size], 1, paginator)


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
    caller = selectors.caller_current(user=request.user)
    if caller is None:
        _season()  # 404 before any season exists
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
    caller = selectors.caller_current(user=request.user)
    season = caller.season if caller else _season()
    now = timezone.now()
    qs, first_rows, due, total = [], None, [], None
    if caller is not None and request.GET:
        qs = CandidateFilter(
            request.GET, queryset=selectors.my_candidates(caller=caller, now=now), season=season
        ).qs
        qs = qs.values(*selectors.MY_CANDIDATE_FIELDS)
        due = selectors.followups_due(caller=caller, now=now)
    elif caller is not None:  # the list as every caller opens it: precompiled, reminders from its rows
        args = {"caller_id": caller.pk, "season_id": caller.season_id, "now": now}
        first_rows = selectors.my_candidates_first_page(**args)
        due = selectors.followups_due_in(rows=first_rows)
        if len(first_rows) > PAGE_SIZE:  # more than a page: the pager needs the list's length
            total = selectors.my_candidates_count(caller_id=caller.pk, season_id=caller.season_id)
    page = _page(request, qs, first_rows=first_rows, total=total)
    return render(
        request,
        "callbacks/my_candidates.html",
        {
            "season": season,
            "caller": caller,
            "filter_fields": _filter_fields_html(request, season),
            "page": page,
            "rows": _my_candidate_rows(page.object_list),
            "due": due,
            "now": now,
        },
    )


# Cached HTML of forms whose rendering is slow (keys name everything the HTML depends on).
FORM_HTML_CACHE_SECONDS = 3600


@functools.cache
def _code_fingerprint(form_class: type, *template_names: str) -> str:
    """A digest of a form's (or a FilterSet's) fields and of the templates that render it,
    computed once per process: in a cache key, it keeps a deploy that changes them from serving
    the old HTML. Give it a class defined once (django-filter makes a new form class per use)."""
    fields = getattr(form_class, "base_fields", None) or form_class.base_filters
    shape = []
    for name, field in fields.items():
        choices = getattr(field, "choices", None) or getattr(field, "extra", {}).get("choices")
        if not isinstance(choices, list | tuple):  # none, or read from the database (province)
            choices = []
        shape.append((name, type(field).__name__, [value for value, _label in choices]))
    sources = [loader.get_template(name).template.source for name in template_names]
    return hashlib.sha256(repr((shape, sources)).encode()).hexdigest()[:16]


def _filter_fields_html(request: HttpRequest, season: Season) -> SafeString:
    """The filter form's fields as HTML, cached. Rendering its selects option by option through
    the template engine cost as much as the whole table; the HTML only changes with the language,
    the submitted values and the season's provinces, which are all in the key (so an imported
    province shows at once). The form is only built when the HTML is not in the cache."""
    provinces = [(p["pk"], p["province"]) for p in selectors.season_provinces(season_id=season.pk)]
    data = request.GET or None
    values = [(name, data.getlist(name)) for name in CandidateFilter.base_filters] if data else None
    code = _code_fingerprint(CandidateFilter, "callbacks/_filter_fields.html")
    state = (code, translation.get_language(), provinces, values)
    key = "workspace:filter-fields:" + hashlib.sha256(repr(state).encode()).hexdigest()
    html = cache_get(key)  # Redis down: render, no 500
    if html is None:
        form = CandidateFilter(data, queryset=Candidate.objects.none(), season=season).form
        html = render_to_string("callbacks/_filter_fields.html", {"form": form})
        cache_set(key, html, FORM_HTML_CACHE_SECONDS)
    return mark_safe(html)


def _short_time(value, tz) -> str:
    """Like the template filter `|date:"m-d H:i"` in time zone `tz` (the current one, looked up
    once per list: the lookup cost more than the conversion), for list cells."""
    if not value:
        return ""
    t = value.astimezone(tz)
    return f"{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}"


# One row of "my candidates". The 100 rows of a page are rendered here rather than in a template
# loop: the template engine's per-node cost (a variable lookup, localisation and escaping for
# each of ~30 nodes of each row) was most of the page's time. Every text value is escaped with
# `escape_html` (the stdlib function behind Django's `escape`, without its lazy-string wrapper);
# the labels, once per request. The rows are read as plain values, not model instances.
TENTH = Decimal("0.1")
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
    """The table rows of "my candidates" (dicts of `selectors.MY_CANDIDATE_FIELDS`): choice labels
    translated once per request (not once per row), times formatted without template filters,
    links from one reversed URL."""
    status_labels = _labels(CallbackStatus.choices)
    phase_labels = _labels(selectors.WorkPhase.choices)
    # the province's strategy follows from whether it lets candidates withdraw (the model's rule)
    strategies = {
        w: escape_html(str(ProvincePolicy(withdrawable=w).get_strategy_display())) for w in (True, False)
    }
    paid = f'<span class="tag ok">{escape_html(_("已缴费"))}</span>'
    enrolled = f'<span class="tag ok">{escape_html(_("已报到"))}</span>'
    yes = escape_html(_("有"))
    # Minutes have one decimal and no thousands grouping (USE_THOUSAND_SEPARATOR is off): the
    # template's localisation is the language's decimal separator.
    decimal_sep = escape_html(get_format("DECIMAL_SEPARATOR"))
    head, tail = reverse("callbacks:candidate_detail", args=[0]).rsplit("/0/", 1)
    tz = timezone.get_current_timezone()
    rows = []
    for c in candidates:
        due = c["followup_due"]
        next_call = _short_time(c["next_call_at"], tz)
        if next_call:
            next_call = f'<span class="tag{" warn" if due else ""}">{next_call}</span>'
        status = c["status"]
        minutes = (Decimal(c["contact_seconds"]) / 60).quantize(TENTH)  # as Candidate.contact_minutes
        rows.append(
            MY_CANDIDATE_ROW.format(
                row_class=' class="due"' if due else "",
                url=escape_html(f"{head}/{c['id']}/{tail}"),
                name=escape_html(c["name"]),
                exam_number=escape_html(c["exam_number"]),
                province=escape_html(c["province__province"]),
                strategy=strategies[c["province__withdrawable"]],
                phase=phase_labels[c["work_phase"]],
                status=escape_html(status),
                status_label=status_labels.get(status) or escape_html(status),
                last_contact=_short_time(c["last_contact_at"], tz) or "—",
                count=int(c["contact_count"]),
                minutes=str(minutes).replace(".", decimal_sep),
                paid=paid if c["paid_on"] else "—",
                enrolled=enrolled if c["enrolled_on"] else "—",
                masters=yes if c["masters_track_interest"] else "",
                next_call=next_call,
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


# Stands for the candidate's phone select in the cached HTML of a blank contact form.
PHONE_FIELD_SLOT = "<!--contact-form:phone-field-->"


def _contact_form_fields_html(form: ContactLogForm) -> SafeString:
    """The contact form's fields as HTML. Rendering its selects and checkboxes option by option
    through the template engine took ~5 ms, on every page view and after every logged contact;
    a blank form is the same for every candidate but for the phone select, so its HTML is
    cached per language (no personal data in it) and the phone select rendered each time."""
    template = "callbacks/_contact_form_fields.html"
    phone_field = render_to_string("callbacks/_field.html", {"field": form["phone_number"]})
    if form.is_bound:
        return mark_safe(render_to_string(template, {"form": form, "phone_field": phone_field}))
    code = _code_fingerprint(ContactLogForm, template, "callbacks/_field.html")
    key = f"workspace:contact-form-fields:{code}:{translation.get_language()}"
    html = cache_get(key)  # Redis down: render, no 500
    if html is None:
        html = render_to_string(template, {"form": form, "phone_field": mark_safe(PHONE_FIELD_SLOT)})
        cache_set(key, html, FORM_HTML_CACHE_SECONDS)
    return mark_safe(html.replace(PHONE_FIELD_SLOT, phone_field, 1))


def _panel_context(
    candidate: Candidate, form: ContactLogForm | None, full_pii: bool, *, next_call_at
) -> dict:
    """What the contact panel (summary + form + history) needs; shared by page and fragment.
    `next_call_at`: the holder's next follow-up, shown in the summary."""
    phones = _phone_rows(candidate, full_pii)
    return {
        "candidate": candidate,
        "form": form,
        "form_fields": _contact_form_fields_html(form) if form is not None else "",
        "history_rows": _history_rows(selectors.contact_history_rows(candidate_id=candidate.pk), full_pii),
        "phones": phones,
        "full_pii": full_pii,
        "few_phones": candidate.status == CallbackStatus.CONFIRMED and len(phones) < 2,
        "next_call_at": next_call_at,
    }


HISTORY_ROW = (
    "<tr>"
    "<td>{at}</td>"
    "<td>{caller}</td>"
    "<td>{channel}</td>"
    '<td class="num">{duration}</td>'
    "<td>{outcome}</td>"
    "<td>{intent}</td>"
    "<td>{risks}</td>"
    "<td>{notes}{new_numbers}</td>"
    "</tr>"
)


def _history_rows(history: list[dict], full_pii: bool) -> SafeString:
    """The contact history's table rows, built like "my candidates" rows (labels translated once,
    every value escaped) from plain values (no model instances): `get_FOO_display` and the
    template loop cost ~0.5 ms per contact, and a candidate may have many."""
    channels = _labels(Channel.choices)
    outcomes = _labels(Outcome.choices)
    intents = _labels(Intent.choices)
    risks = _labels(RiskSignal.choices)
    duration = _("%(m)d分%(s)02d秒")
    new_numbers_label = escape_html(_("新号码："))
    hidden = escape_html(_("（已隐藏）"))
    tz = timezone.get_current_timezone()
    rows = []
    for row in history:
        at, caller, channel, seconds, outcome, intent, risk_signals, notes, numbers = (
            row[name] for name in selectors.HISTORY_FIELDS
        )
        minutes, seconds = divmod(int(seconds or 0), 60)
        new_numbers = ""
        if numbers:
            shown = escape_html(numbers) if full_pii else hidden
            new_numbers = f'<br><span class="muted">{new_numbers_label}{shown}</span>'
        rows.append(
            HISTORY_ROW.format(
                at=at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                caller=escape_html(caller),
                channel=channels.get(channel) or escape_html(channel),
                duration=escape_html(duration % {"m": minutes, "s": seconds}),
                outcome=outcomes.get(outcome) or escape_html(outcome),
                intent=intents.get(intent) or escape_html(intent),
                risks="、".join(risks.get(v) or escape_html(str(v)) for v in risk_signals or ()),
                notes=escape_html(normalize_newlines(notes)).replace("\n", "<br>") if notes else "",
                new_numbers=new_numbers,
            )
        )
    return mark_safe("\n".join(rows))


def _candidate_page(
    request: HttpRequest, candidate: Candidate, form: ContactLogForm | None, *, full_pii: bool, may_log: bool
) -> HttpResponse:
    assignment = selectors.active_assignment(candidate=candidate)
    next_call = assignment.next_call_at if assignment else None
    context = _panel_context(candidate, form, full_pii, next_call_at=next_call)
    if full_pii and context["phones"]:
        # full phone numbers on screen (tel: links): one log row per page view
        pii_access_record(user=request.user, candidate=candidate, field=PiiField.PHONES, path=request.path)
    own = assignment is not None and may_log and assignment.caller.user_id == request.user.pk
    context.update(
        {
            "assignment": assignment,
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
    page again with the errors next to their fields.

    The usual case, the assigned caller, is settled by one query (`candidate_held_by`); anyone
    else goes through the general scoping (out of scope → 404) and `candidate_access` (403
    unless a grant lets them log). The service checks again under its row lock."""
    caller = selectors.caller_current(user=request.user)
    candidate = selectors.candidate_held_by(caller=caller, pk=pk) if caller else None
    held = candidate is not None
    if held:
        full_pii = True
    else:
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
        # contact_log brought the candidate's summary (and the holder's next_call_at) up to
        # date; only numbers added with the contact need reading back.
        if form.new_phones:
            candidate._prefetched_objects_cache.pop("phones", None)
            prefetch_related_objects([candidate], "phones")
        form = _contact_form(candidate, full_pii)
    if held:
        next_call_at = candidate.next_call_at
    else:
        assignment = selectors.active_assignment(candidate=candidate)
        next_call_at = assignment.next_call_at if assignment else None
    context = _panel_context(candidate, form, full_pii, next_call_at=next_call_at)
    context["saved"] = saved
    # The fragment needs no menu or messages: rendered without the context processors (the
    # menu's would read the user's roles for nothing), with the CSRF token its form needs.
    context["csrf_token"] = get_token(request)
    return HttpResponse(render_to_string("callbacks/_contact_panel.html", context))


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
            export_log_record(
                user=request.user,
                season=season,
                what=_("回访台账"),
                row_count=summary.candidates,
                filters={"caller": caller.staff_no},
            )
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
