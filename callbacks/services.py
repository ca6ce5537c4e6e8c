"""Writes of the caller workspace: releasing and claiming the pool (录检池), fair distribution,
报备, logging contacts and scheduling follow-ups. Each function is one transaction and raises
`ValidationError` with Chinese messages.

Claiming never gives one candidate to two callers:

- PostgreSQL: the pool rows are read with `SELECT … FOR UPDATE SKIP LOCKED`, so concurrent claims
  take disjoint rows without waiting for each other; a row another claim has just taken out of
  the pool is re-checked under the lock (`in_pool` is false) and skipped.
- SQLite: the database runs every transaction as `BEGIN IMMEDIATE` (settings
  `transaction_mode`), which takes the database's write lock at the start, so a second claim
  waits until the first has committed and then reads the pool without the taken rows.
- Everywhere: the partial unique constraint `one_active_assignment_per_candidate` is the
  backstop; a claim that would break it fails as a whole.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from admissions.choices import CallbackStatus, PhoneOwner
from admissions.models import Candidate, CandidatePhone, Season
from callback_office.audit import record_assignments_created, record_many
from callback_office.prepared import PreparedUpdate, PreparedValues
from callbacks.choices import AssignmentSource, Intent, Outcome, QualificationStatus, RiskSignal, TeamKind
from callbacks.models import Assignment, Caller, ContactLog, ProspectReport
from callbacks.selectors import CONTACT_LOG_GRANTS, reports_matching_outer

CLAIM_MAX = 50
MAX_DURATION_SECONDS = 4 * 3600

# Outcomes that mean the candidate was not reached on this attempt.
UNREACHED_OUTCOMES = frozenset(
    {
        Outcome.EMPTY_NUMBER,
        Outcome.WRONG_NUMBER,
        Outcome.NO_ANSWER,
        Outcome.POWERED_OFF,
        Outcome.SUSPENDED,
        Outcome.REJECTED,
        Outcome.NO_REPLY,
    }
)
# Outcomes after which the caller can record what the candidate said.
INTENT_OUTCOMES = frozenset({Outcome.CONNECTED, Outcome.REPLIED, Outcome.OTHER})
# Decisions an unreached attempt never overwrites.
DECIDED_STATUSES = frozenset(
    {
        CallbackStatus.CONFIRMED,
        CallbackStatus.REFUSED,
        CallbackStatus.WITHDRAWAL_REQUESTED,
        CallbackStatus.WITHDRAWN,
    }
)
INTENT_STATUS = {
    Intent.CONFIRMED: CallbackStatus.CONFIRMED,
    Intent.HESITANT: CallbackStatus.HESITANT,
    Intent.REFUSED: CallbackStatus.REFUSED,
    Intent.WANTS_WITHDRAWAL: CallbackStatus.WITHDRAWAL_REQUESTED,
}
PHONE_RE = re.compile(r"^\+?\d{5,20}$")
# What a contact changes on the candidate (`contact_log` reads them under the row lock).
CONTACT_SUMMARY_FIELDS = (
    "status",
    "contact_count",
    "contact_seconds",
    "last_contact_at",
    "masters_track_interest",
)


def _uses_row_locks() -> bool:
    return connection.features.has_select_for_update_skip_locked


def _require_qualified(caller: Caller) -> None:
    if caller.qualification_status != QualificationStatus.QUALIFIED:
        raise ValidationError(_("你的回访资格审查尚未通过，暂不能领取或分配考生。请联系督查组。"))


def _require_qualified_to_log(caller: Caller) -> None:
    if caller.qualification_status != QualificationStatus.QUALIFIED:
        raise ValidationError(_("你的回访资格审查尚未通过，暂不能记录回访。请联系督查组。"))


def _pool(season: Season | int) -> QuerySet[Candidate]:
    """Candidates in the season's pool (a Season or its id) with no active assignment."""
    active = Assignment.objects.filter(candidate=OuterRef("pk"), active=True)
    return Candidate.objects.filter(season=season, in_pool=True).exclude(Exists(active))


def _pool_flagged(season: Season | int) -> QuerySet[Candidate]:
    """Candidates flagged `in_pool` (partial index `candidate_pool`), without `_pool`'s check for
    an active assignment: `_assign` clears the flag in the transaction that creates one, so a
    flagged candidate is free. That check made the claim a merge anti join over every active
    assignment (all of them, at platform scale) instead of a walk of the pool's first rows.
    Should a path assign without clearing the flag, `assignment_claim` repairs the flag when
    the unique constraint stops it (`_pool_flags_repair`) and claims again."""
    return Candidate.objects.filter(season=season, in_pool=True)


def _pool_flags_repair(candidate_ids: Iterable[int]) -> int:
    """Clear `in_pool` on those of `candidate_ids` that hold an active assignment."""
    active = Assignment.objects.filter(candidate=OuterRef("pk"), active=True)
    return (
        Candidate.objects.filter(id__in=list(candidate_ids), in_pool=True)
        .filter(Exists(active))
        .update(in_pool=False, updated_at=timezone.now())
    )


def _reporter_subquery():
    """Per candidate: the qualified caller who reported it (报备), if any."""
    return (
        reports_matching_outer()
        .filter(caller__qualification_status=QualificationStatus.QUALIFIED)
        .order_by("created_at")
        .values("caller_id")[:1]
    )


def _assign(pairs: Iterable[tuple[int, int, str]]) -> list[Assignment]:
    """Create active assignments (candidate id, caller id, source) and take them out of the pool.

    The partial unique constraint is the backstop: if a candidate got an active assignment by
    another path meanwhile, nothing is created and the caller is asked to try again.
    """
    rows = [Assignment(candidate_id=cid, caller_id=kid, source=src) for cid, kid, src in pairs]
    if not rows:
        return []
    try:
        with transaction.atomic():
            created = Assignment.objects.bulk_create(rows)
    except IntegrityError as exc:
        raise ValidationError(_("有考生刚刚被分配给别人，请重试。")) from exc
    Candidate.objects.filter(id__in=[r.candidate_id for r in rows]).update(
        in_pool=False, updated_at=timezone.now()
    )
    record_assignments_created(created)
    return created


# ---------------------------------------------------------------------------------------------
# Pool: release, claim, distribute, 报备


@dataclass(frozen=True)
class ReleaseResult:
    released: int
    to_reporters: int


def pool_release(
    *, season: Season, batch: str = "", province_id: int | None = None, level: str = ""
) -> ReleaseResult:
    """Release unassigned candidates into the pool, by batch / province / level (all if blank).

    Candidates reported earlier (报备) by a qualified caller go straight to that caller instead
    ("who reported, calls"). Withdrawn candidates are never released.
    """
    with transaction.atomic():
        active = Assignment.objects.filter(candidate=OuterRef("pk"), active=True)
        qs = (
            Candidate.objects.filter(season=season, in_pool=False)
            .exclude(status=CallbackStatus.WITHDRAWN)
            .exclude(Exists(active))
        )
        if batch:
            qs = qs.filter(batch=batch)
        if province_id:
            qs = qs.filter(province_id=province_id)
        if level:
            qs = qs.filter(level=level)
        if _uses_row_locks():
            qs = qs.select_for_update(skip_locked=True)
        rows = list(
            qs.annotate(reporter_id=Subquery(_reporter_subquery())).values_list(
                "id", "exam_number", "reporter_id"
            )
        )
        reported = [(cid, rid, AssignmentSource.REPORT) for cid, _e, rid in rows if rid]
        plain = [(cid, exam) for cid, exam, rid in rows if not rid]
        _assign(reported)
        _pool_flag_set(candidate_ids=[cid for cid, _e in plain], in_pool=True)
        _record_pool_flags(rows=plain, in_pool=True)
    return ReleaseResult(released=len(plain), to_reporters=len(reported))


def pool_withdraw(*, season: Season) -> int:
    """Take every unclaimed candidate back out of the pool (the office stops a release)."""
    with transaction.atomic():
        qs = _pool(season)
        if _uses_row_locks():
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        rows = list(qs.values_list("id", "exam_number"))
        _pool_flag_set(candidate_ids=[cid for cid, _e in rows], in_pool=False)
        _record_pool_flags(rows=rows, in_pool=False)
    return len(rows)


def _pool_flag_set(*, candidate_ids: list[int], in_pool: bool) -> None:
    for start in range(0, len(candidate_ids), 5000):  # keeps each statement's parameter list short
        Candidate.objects.filter(id__in=candidate_ids[start : start + 5000]).update(
            in_pool=in_pool, updated_at=timezone.now()
        )


def _record_pool_flags(*, rows: list[tuple[int, str]], in_pool: bool) -> None:
    """Audit entries for a release / withdrawal (`update()` sends no signal): candidate id, exam
    number as the label (no personal data), in_pool old → new; the actor is the request's user."""
    record_many(Candidate, ((cid, exam, {"in_pool": (not in_pool, in_pool)}) for cid, exam in rows))


def assignment_claim(*, caller: Caller, count: int) -> list[Assignment]:
    """Claim the next `count` candidates of the pool for `caller` (我的录检 · 点击领取).

    The caller's own reported candidates come first; candidates reported by another qualified
    caller are left for them. Returns the new assignments (fewer when the pool runs dry).
    """
    _require_qualified(caller)
    if not 1 <= count <= CLAIM_MAX:
        raise ValidationError({"count": _("每次可领取 1–%(max)d 名考生。") % {"max": CLAIM_MAX}})
    season = caller.season_id
    own_reports = list(ProspectReport.objects.filter(caller=caller).values_list("exam_number", "id_number"))
    with transaction.atomic():
        claimed: list[tuple[int, int, str]] = []
        if own_reports:
            # Few rows: the caller's reports, matched on the unique exam number (and ID number).
            exams = [e for e, _i in own_reports if e]
            ids = [i for _e, i in own_reports if i]
            match = Q(exam_number__in=exams) | Q(id_number__in=ids) if ids else Q(exam_number__in=exams)
            own = _pool(season).filter(match).order_by("id")
            if _uses_row_locks():
                own = own.select_for_update(skip_locked=True, of=("self",))
            claimed += [
                (cid, caller.pk, AssignmentSource.REPORT) for cid in own.values_list("id", flat=True)[:count]
            ]
        if len(claimed) >= count:
            return _assign(claimed)
        taken = [cid for cid, _k, _s in claimed]
        rest = _claim_from_pool(caller=caller, count=count - len(claimed), skip=taken)
        try:
            return _assign(claimed + rest)
        except ValidationError:
            # A flagged candidate turned out to be held (a path assigned it without clearing
            # the flag): clear such flags and claim once more; a second failure stands.
            if not _pool_flags_repair(cid for cid, _k, _s in rest):
                raise
        return _assign(claimed + _claim_from_pool(caller=caller, count=count - len(claimed), skip=taken))


def _claim_from_pool(*, caller: Caller, count: int, skip: list[int]) -> list[tuple[int, int, str]]:
    """The next `count` candidates of the pool for `caller`: the pool's first rows in id order
    (partial index `candidate_pool`, stopping after `count` rows), each checked for another
    qualified caller's report (unique indexes), locked with SKIP LOCKED so that concurrent
    claims take disjoint rows. A row another claim has just taken is re-checked under its lock
    (`in_pool` is false by then) and skipped, so a large pool costs no more than a small one.
    The usual claim (nothing to skip) runs a query compiled once per count."""
    args = {"season_id": caller.season_id, "caller_id": caller.pk}
    rows = _pool_claim_query(**args, count=count, skip=skip) if skip else _pool_claim_prepared(count)(**args)
    return [(row["id"], caller.pk, AssignmentSource.POOL) for row in rows]


def _pool_claim_query(*, season_id: int, caller_id: int, count: int, skip: Sequence[int] = ()) -> QuerySet:
    reserved = reports_matching_outer().filter(caller__qualification_status=QualificationStatus.QUALIFIED)
    rest = _pool_flagged(season_id).exclude(Exists(reserved.exclude(caller_id=caller_id)))
    if skip:
        rest = rest.exclude(id__in=skip)
    rest = rest.order_by("id")
    if _uses_row_locks():
        rest = rest.select_for_update(skip_locked=True, of=("self",))
    return rest.values("id")[:count]


@functools.cache  # one per count (1 … CLAIM_MAX, checked before)
def _pool_claim_prepared(count: int) -> PreparedValues:
    """The claim's pool query for `count` rows, compiled once per process."""
    return PreparedValues(
        functools.partial(_pool_claim_query, count=count),
        sample_a={"season_id": -2_000_000_001, "caller_id": -2_000_000_002},
        sample_b={"season_id": -2_000_000_003, "caller_id": -2_000_000_004},
    )


def distribution_callers(*, season: Season) -> QuerySet[Caller]:
    """Callers who receive a fair distribution: qualified members of regular teams."""
    return Caller.objects.filter(
        season=season,
        qualification_status=QualificationStatus.QUALIFIED,
        team__kind=TeamKind.REGULAR,
    ).order_by("id")


def apportion(total: int, weights: Sequence[Decimal]) -> list[int]:
    """Split `total` in proportion to `weights` by largest remainders (ties: earlier first).

    >>> apportion(5, [Decimal(1), Decimal("0.5"), Decimal("0.5")])
    [3, 1, 1]
    """
    weight_sum = sum(weights, Decimal(0))
    if total <= 0 or weight_sum <= 0:
        return [0] * len(weights)
    exact = [Decimal(total) * w / weight_sum for w in weights]
    shares = [int(x.to_integral_value(rounding=ROUND_FLOOR)) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def assignment_distribute(*, season: Season, callers: Sequence[Caller] | None = None) -> dict[int, int]:
    """Distribute the whole pool across qualified callers, weighted by capacity (分配).

    Reported candidates go to their reporter first (outside the quotas). The rest is split by
    `apportion` over the callers' weights; the candidates, sorted by province and id, are dealt
    out so that each caller gets a mix of provinces. Unqualified callers in `callers` are
    ignored. Candidates being claimed at the same moment are skipped (row locks), so nobody
    gets a candidate twice. Returns {caller id: number of candidates given}.
    """
    chosen = [
        c for c in (callers if callers is not None else distribution_callers(season=season)) if c.qualified
    ]
    if not chosen:
        raise ValidationError(_("没有资格审查已通过的回访员，无法分配。"))
    with transaction.atomic():
        qs = _pool(season).annotate(reporter_id=Subquery(_reporter_subquery())).order_by("province_id", "id")
        if _uses_row_locks():
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        rows = list(qs.values_list("id", "reporter_id"))
        given: dict[int, int] = {}
        pairs: list[tuple[int, int, str]] = []
        rest: list[int] = []
        for cid, rid in rows:
            if rid:
                pairs.append((cid, rid, AssignmentSource.REPORT))
                given[rid] = given.get(rid, 0) + 1
            else:
                rest.append(cid)
        quotas = apportion(len(rest), [c.weight for c in chosen])
        # Deal one by one to the caller furthest below their quota (smooth, deterministic).
        heap = [(Decimal(0), i) for i, q in enumerate(quotas) if q > 0]
        heapq.heapify(heap)
        dealt = [0] * len(chosen)
        for cid in rest:
            _key, i = heapq.heappop(heap)
            dealt[i] += 1
            pairs.append((cid, chosen[i].pk, AssignmentSource.OFFICE))
            if dealt[i] < quotas[i]:
                heapq.heappush(heap, (Decimal(dealt[i]) / quotas[i], i))
        for i, c in enumerate(chosen):
            if dealt[i]:
                given[c.pk] = given.get(c.pk, 0) + dealt[i]
        _assign(pairs)
    return given


def prospect_report_create(
    *, caller: Caller, exam_number: str = "", id_number: str = "", name: str = "", note: str = ""
) -> ProspectReport:
    """报备: register a prospect by exam number or ID number. First reporter wins.

    If the candidate is already waiting in the pool, it is assigned to the reporter at once.
    """
    exam_number = exam_number.strip()
    id_number = id_number.strip().upper()
    if not exam_number and not id_number:
        raise ValidationError({"exam_number": _("请填写考生号或身份证号。")})
    taken = ProspectReport.objects.filter(season=caller.season).filter(
        (Q(exam_number=exam_number) & ~Q(exam_number="")) | (Q(id_number=id_number) & ~Q(id_number=""))
    )
    with transaction.atomic():
        other = taken.select_related("caller").first()
        if other is not None:
            if other.caller_id == caller.pk:
                raise ValidationError({"exam_number": _("你已报备过该考生。")})
            raise ValidationError({"exam_number": _("该考生已由其他回访员报备（谁报备谁回访）。")})
        try:
            with transaction.atomic():
                report = ProspectReport.objects.create(
                    season=caller.season,
                    caller=caller,
                    exam_number=exam_number,
                    id_number=id_number,
                    name=name,
                    note=note,
                )
        except IntegrityError as exc:  # another caller reported the same prospect a moment ago
            raise ValidationError({"exam_number": _("该考生已由其他回访员报备（谁报备谁回访）。")}) from exc
        if caller.qualified:
            match = Q(exam_number=exam_number) if exam_number else Q()
            if id_number:
                match = (match | Q(id_number=id_number)) if exam_number else Q(id_number=id_number)
            waiting = _pool(caller.season).filter(match)
            if _uses_row_locks():
                waiting = waiting.select_for_update(skip_locked=True, of=("self",))
            ids = list(waiting.values_list("id", flat=True)[:1])
            _assign((cid, caller.pk, AssignmentSource.REPORT) for cid in ids)
    return report


# ---------------------------------------------------------------------------------------------
# Contacts and follow-ups


def status_after_contact(*, current: str, outcome: str, intent: str) -> str:
    """The candidate's status after a contact (the transitions a contact may make).

    - A stated intent sets the status: 确认就读, 考虑中·犹豫, 明确不来, 要求退档 → 申请退档.
    - Reached without a stated intent: 未联系 / 联系不上 become 考虑中 (not yet decided);
      anything else stays.
    - Not reached (空号, 错号, 无人接听, 关机, 停机, 拒接, 未回复): 未联系 / 考虑中 become 联系不上;
      a decision (确认, 明确不来, 申请退档, 已退档) is never overwritten by a missed call.
    - 已退档 is set by the withdrawal list only; a contact never changes it.
    """
    if current == CallbackStatus.WITHDRAWN:
        return current
    if intent and intent != Intent.NONE:
        return INTENT_STATUS[Intent(intent)]
    if outcome in Outcome.reached():
        if current in (CallbackStatus.UNCONTACTED, CallbackStatus.UNREACHABLE):
            return CallbackStatus.HESITANT
        return current
    if outcome in UNREACHED_OUTCOMES and current not in DECIDED_STATUSES:
        return CallbackStatus.UNREACHABLE
    return current


def normalize_phone(value: str) -> str:
    return re.sub(r"[\s\-()（）]", "", value or "")


def contact_validate(
    *,
    candidate: Candidate,
    contacted_at: dt.datetime,
    duration_seconds: int,
    outcome: str,
    intent: str,
    risk_signals: Sequence[str] = (),
    new_phones: Sequence[tuple[str, str]] = (),
    next_call_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Field checks shared by the form and the service; raises ValidationError keyed by field."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    if contacted_at > now + dt.timedelta(minutes=1):
        errors.setdefault("contacted_at", []).append(_("回访时间不能晚于现在。"))
    if duration_seconds < 0:
        errors.setdefault("duration", []).append(_("通话时长不能为负数。"))
    elif duration_seconds > MAX_DURATION_SECONDS:
        errors.setdefault("duration", []).append(_("通话时长不能超过 4 小时，请检查。"))
    if outcome not in Outcome.values:
        errors.setdefault("outcome", []).append(_("请选择回访结果。"))
    if intent not in Intent.values:
        errors.setdefault("intent", []).append(_("请选择考生意向。"))
    elif intent != Intent.NONE:
        if outcome not in INTENT_OUTCOMES:
            errors.setdefault("intent", []).append(_("未联系上考生时不能记录意向。"))
        if intent == Intent.WANTS_WITHDRAWAL and not candidate.province.withdrawable:
            errors.setdefault("intent", []).append(
                _("%(province)s不可退档：请按劝来策略沟通，不能记录为要求退档。")
                % {"province": candidate.province}
            )
    bad = [s for s in risk_signals if s not in RiskSignal.values]
    if bad:
        errors.setdefault("risk_signals", []).append(_("未知的风险信号。"))
    for number, owner in new_phones:
        if not PHONE_RE.match(normalize_phone(number)):
            errors.setdefault("new_phones", []).append(_("号码格式不对：%(n)s") % {"n": number})
        if owner not in PhoneOwner.values:
            errors.setdefault("new_phones", []).append(_("请选择号码归属。"))
    if next_call_at is not None and next_call_at <= now:
        errors.setdefault("next_call_at", []).append(_("下次回访时间必须晚于现在。"))
    if errors:
        raise ValidationError(errors)


def next_call_after_contact(
    *, current: dt.datetime | None, requested: dt.datetime | None, now: dt.datetime
) -> dt.datetime | None:
    """The assigned caller's next follow-up once a contact is logged: the one the contact sets;
    else none if the one on file was due (this contact was it); else the one on file."""
    if requested is not None:
        return requested
    if current is not None and current <= now:
        return None
    return current


def _locked_contact_query(*, candidate_id: int, caller_id: int) -> QuerySet:
    held = Assignment.objects.filter(candidate=OuterRef("pk"), caller_id=caller_id, active=True)
    locked = Candidate.objects.filter(pk=candidate_id).annotate(
        assigned_to_caller=Exists(held), caller_next_call_at=Subquery(held.values("next_call_at")[:1])
    )
    if _uses_row_locks():
        locked = locked.select_for_update(of=("self",))
    return locked.values(*CONTACT_SUMMARY_FIELDS, "assigned_to_caller", "caller_next_call_at")


# Compiled once per process (and database): every logged contact starts with it.
_locked_contact_rows = PreparedValues(
    _locked_contact_query,
    sample_a={"candidate_id": -2_000_000_001, "caller_id": -2_000_000_002},
    sample_b={"candidate_id": -2_000_000_003, "caller_id": -2_000_000_004},
)


def _contact_summary_changes(
    *, pk: int, status: str, seconds: int, contacted_at: dt.datetime, now: dt.datetime, masters: bool
) -> dict:
    """The candidate's summary after one more contact: the counters by F() expressions, so
    that concurrent logs lose nothing."""
    return {
        "status": status,
        "contact_count": F("contact_count") + 1,
        "contact_seconds": F("contact_seconds") + seconds,
        "last_contact_at": Case(
            When(
                Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=contacted_at),
                then=Value(contacted_at),
            ),
            default=F("last_contact_at"),
        ),
        "updated_at": now,
        "masters_track_interest": masters,
    }


_update_contact_summary = PreparedUpdate(
    lambda pk, **_changes: Candidate.objects.filter(pk=pk),
    _contact_summary_changes,
    sample_a={
        "pk": -2_000_000_001,
        "status": "sample-a",
        "seconds": -2_000_000_002,
        "contacted_at": dt.datetime(1901, 1, 2, tzinfo=dt.UTC),
        "now": dt.datetime(1901, 1, 3, tzinfo=dt.UTC),
        "masters": True,
    },
    sample_b={
        "pk": -2_000_000_003,
        "status": "sample-b",
        "seconds": -2_000_000_004,
        "contacted_at": dt.datetime(1902, 1, 2, tzinfo=dt.UTC),
        "now": dt.datetime(1902, 1, 3, tzinfo=dt.UTC),
        "masters": False,
    },
)


def contact_log(
    *,
    caller: Caller,
    candidate: Candidate,
    contacted_at: dt.datetime,
    outcome: str,
    channel: str = "phone",
    duration_seconds: int = 0,
    phone_number: str = "",
    intent: str = Intent.NONE,
    risk_signals: Sequence[str] = (),
    notes: str = "",
    new_phones: Sequence[tuple[str, str]] = (),
    masters_track_interest: bool = False,
    next_call_at: dt.datetime | None = None,
) -> ContactLog:
    """Log one contact in one transaction.

    Reads the candidate under a row lock together with the caller's active assignment (who may
    log: the assigned caller, or whoever a grant in `CONTACT_LOG_GRANTS` lets); inserts the
    ContactLog; moves the candidate's status (`status_after_contact`); bumps the summary counters
    with F() expressions so concurrent logs lose nothing; adds new phone numbers; sets the next
    follow-up, or clears one that was due.

    `candidate` is brought up to date in place: `status`, the summary counters,
    `last_contact_at`, `masters_track_interest` (exact: read under the lock), and for the
    assigned caller `next_call_at` — so a view can answer without reading them back.
    """
    if caller.season_id != candidate.season_id:
        raise ValidationError(_("只有负责该考生的回访员可以记录回访。"))
    _require_qualified_to_log(caller)
    now = timezone.now()
    phones = []
    for number, owner in new_phones:
        n = normalize_phone(number)
        if n and n not in {p.number for p in phones}:
            phones.append(CandidatePhone(candidate=candidate, number=n, owner=owner))
    mine = Assignment.objects.filter(candidate=candidate, caller=caller, active=True)
    with transaction.atomic():
        # One statement: lock the row, read what the status move and the summary need, and
        # whether `caller` holds the candidate (partial unique index on active assignments).
        rows = _locked_contact_rows(candidate_id=candidate.pk, caller_id=caller.pk)
        if not rows:
            raise Candidate.DoesNotExist
        row = rows[0]
        assigned = row["assigned_to_caller"]
        if not assigned and not any(grant(caller, candidate) for grant in CONTACT_LOG_GRANTS):
            raise ValidationError(_("只有负责该考生的回访员可以记录回访。"))
        contact_validate(
            candidate=candidate,
            contacted_at=contacted_at,
            duration_seconds=duration_seconds,
            outcome=outcome,
            intent=intent,
            risk_signals=risk_signals,
            new_phones=new_phones,
            next_call_at=next_call_at,
            now=now,
        )
        current = row["status"]
        new_status = status_after_contact(current=current, outcome=outcome, intent=intent)
        log = ContactLog.objects.create(
            candidate=candidate,
            caller=caller,
            contacted_at=contacted_at,
            channel=channel,
            duration_seconds=duration_seconds,
            phone_number=normalize_phone(phone_number),
            outcome=outcome,
            intent=intent or Intent.NONE,
            risk_signals=list(dict.fromkeys(risk_signals)),
            notes=notes,
            new_numbers=", ".join(p.number for p in phones),
        )
        _update_contact_summary(
            pk=candidate.pk,
            status=new_status,
            seconds=duration_seconds,
            contacted_at=contacted_at,
            now=now,
            masters=row["masters_track_interest"] or masters_track_interest,  # read under the lock
        )
        if new_status != current:
            # The status move in the audit trail, in this transaction (an UPDATE sends no model
            # signal). The actor by id: the caller's user row is not needed for the INSERT.
            record_many(
                Candidate,
                [(candidate.pk, str(candidate), {"status": (current, new_status)})],
                actor=User(pk=caller.user_id),
            )
        if phones:
            CandidatePhone.objects.bulk_create(phones, ignore_conflicts=True)
        if assigned:
            on_file = row["caller_next_call_at"]
            after = next_call_after_contact(current=on_file, requested=next_call_at, now=now)
            if next_call_at is not None:
                mine.update(next_call_at=next_call_at)
            elif after != on_file:  # the one on file was due: this contact was it
                mine.filter(next_call_at__lte=now).update(next_call_at=None)
            candidate.next_call_at = after
    # What the UPDATE wrote, computed from the values read under the lock.
    last = row["last_contact_at"]
    candidate.status = new_status
    candidate.contact_count = row["contact_count"] + 1
    candidate.contact_seconds = row["contact_seconds"] + duration_seconds
    candidate.last_contact_at = contacted_at if last is None or last < contacted_at else last
    candidate.masters_track_interest = row["masters_track_interest"] or masters_track_interest
    candidate.updated_at = now
    return log


def followup_schedule(*, caller: Caller, candidate: Candidate, next_call_at: dt.datetime | None) -> None:
    """Set (or clear, with None) when the assigned caller calls this candidate next."""
    if next_call_at is not None and next_call_at <= timezone.now():
        raise ValidationError({"next_call_at": _("下次回访时间必须晚于现在。")})
    with transaction.atomic():
        updated = Assignment.objects.filter(candidate=candidate, caller=caller, active=True).update(
            next_call_at=next_call_at
        )
    if not updated:
        raise ValidationError(_("只有负责该考生的回访员可以安排回访。"))
