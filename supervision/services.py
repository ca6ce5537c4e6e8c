"""Writes of the supervision group. Each function is one transaction and raises `ValidationError`
with a Chinese message when a rule is broken. Findings move only along `FINDING_TRANSITIONS`
and every move writes a `FindingEvent`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage, default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from admissions.models import Season
from callback_office.media import archive_storage
from callback_office.roles import is_office
from callbacks.choices import QualificationStatus
from callbacks.models import Assignment, Caller, ContactLog, StrikeCase, Team
from supervision import sampling
from supervision.choices import (
    AttachmentKind,
    FindingCategory,
    FindingStatus,
    IncidentKind,
    ReviewOutcome,
    Severity,
)
from supervision.models import (
    AuditItem,
    AuditSample,
    AuditScore,
    ContactAttachment,
    Finding,
    FindingEvent,
    Incident,
    LedgerCheck,
    QualificationReview,
    Scorecard,
    ScorecardCriterion,
)
from supervision.selectors import (
    is_supervision_lead,
    ledger_shortfalls,
    new_caller_ids,
    open_findings_by_caller,
    scorecard_latest,
    supervised_team_ids,
)

# --- qualification review (资格审查) ----------------------------------------------------------


def qualification_review_record(
    *,
    caller: Caller,
    reviewer: AbstractBaseUser,
    trained: bool,
    script_tested: bool,
    rules_acknowledged: bool,
    outcome: str,
    note: str = "",
    reviewed_on: dt.date | None = None,
) -> QualificationReview:
    """Record a review and set the caller's qualification status from its outcome."""
    if outcome not in ReviewOutcome.values:
        raise ValidationError(_("请选择审查结论。"))
    if outcome == ReviewOutcome.QUALIFIED and not (trained and script_tested and rules_acknowledged):
        raise ValidationError(_("通过审查须已参加培训、话术考核通过并签署工作纪律。"))
    if outcome == ReviewOutcome.REJECTED and not note.strip():
        raise ValidationError(_("不通过时请写明原因。"))
    with transaction.atomic():
        review = QualificationReview.objects.create(
            caller=caller,
            reviewer=reviewer,
            reviewed_on=reviewed_on or timezone.localdate(),
            trained=trained,
            script_tested=script_tested,
            rules_acknowledged=rules_acknowledged,
            outcome=outcome,
            note=note.strip(),
        )
        caller.qualification_status = (
            QualificationStatus.QUALIFIED
            if outcome == ReviewOutcome.QUALIFIED
            else QualificationStatus.REJECTED
        )
        caller.save(update_fields=["qualification_status"])
    return review


# --- coverage (一对一督查) --------------------------------------------------------------------


def team_supervisors_set(*, team: Team, supervisors: Iterable[Caller]) -> None:
    """The office assigns the supervisors of a team (replaces the previous set)."""
    supervisors = list(supervisors)
    for s in supervisors:
        if s.season_id != team.season_id or not s.is_supervisor:
            raise ValidationError(_("%(name)s 不是本年度的督查。") % {"name": s.name})
    with transaction.atomic():
        team.supervisors.set(supervisors)


# --- sampling (抽查) --------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleParameters:
    per_team: int = sampling.DEFAULT_PER_TEAM
    strata: tuple[str, ...] = sampling.DEFAULT_STRATA
    new_caller_weight: float = sampling.DEFAULT_NEW_CALLER_WEIGHT
    open_finding_weight: float = sampling.DEFAULT_OPEN_FINDING_WEIGHT


def _period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    lo = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    hi = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
    return lo, hi


def _candidate_records(*, sample: AuditSample) -> dict[int, list[sampling.Record]]:
    """The records a sample draws from, from its stored parameters (same answer every time):
    contacts of the period by the stored callers, up to the stored highest contact id, not drawn
    by an earlier sample."""
    p = sample.parameters
    caller_teams = {int(k): v for k, v in p["caller_teams"].items()}
    lo, hi = _period_bounds(sample.period_start, sample.period_end)
    earlier = AuditItem.objects.filter(sample_id__lt=sample.pk).values("contact_log_id")
    rows = (
        ContactLog.objects.filter(
            caller_id__in=caller_teams.keys(),
            contacted_at__gte=lo,
            contacted_at__lt=hi,
            id__lte=p["max_contact_id"],
        )
        .exclude(id__in=earlier)
        .order_by("id")
        .values_list("id", "caller_id", "outcome")
    )
    by_team: dict[int, list[sampling.Record]] = {}
    for cid, caller_id, outcome in rows:
        by_team.setdefault(caller_teams[caller_id], []).append(sampling.Record(cid, caller_id, outcome))
    return by_team


def _run_draw(sample: AuditSample) -> list[sampling.Drawn]:
    p = sample.parameters
    return sampling.draw(
        _candidate_records(sample=sample),
        seed=sample.seed,
        per_team=p["per_team"],
        strata=tuple(p["strata"]),
        caller_weights={int(k): float(v) for k, v in p["caller_weights"].items()},
    )


def sample_draw(
    *,
    supervisor: Caller,
    season: Season,
    period_start: dt.date,
    period_end: dt.date,
    team_ids: Sequence[int] | None = None,
    params: SampleParameters | None = None,
    seed: int | None = None,
) -> AuditSample:
    """Draw a random, stratified sample of the supervisor's teams' contact logs in the period.

    Records drawn by any earlier sample are never drawn again (also enforced by the constraint
    `audit_item_contact_drawn_once`). Seed and parameters are stored for `sample_reproduce`.
    """
    params = params or SampleParameters()
    if period_end < period_start:
        raise ValidationError(_("结束日期不能早于开始日期。"))
    if params.per_team < 1 or params.per_team > 500:
        raise ValidationError(_("每组抽查条数应在 1–500 之间。"))
    if not params.strata or set(params.strata) - {"caller", "outcome"}:
        raise ValidationError(_("分层方式无效。"))
    covered = set(Team.objects.filter(season=season, supervisors=supervisor).values_list("id", flat=True))
    chosen = set(team_ids) if team_ids else covered
    if not chosen:
        raise ValidationError(_("你尚未被分配督查小组。"))
    if chosen - covered:
        raise ValidationError(_("只能抽查你负责督查的小组。"))

    with transaction.atomic():
        # one sampling at a time: the 'drawn before' set must not change under our feet
        list(Team.objects.select_for_update().filter(id__in=chosen).order_by("id").values_list("id"))
        callers = dict(Caller.objects.filter(season=season, team_id__in=chosen).values_list("id", "team_id"))
        new = new_caller_ids(season=season, caller_ids=set(callers))
        open_ = open_findings_by_caller(season=season)
        weights = {}
        for cid in callers:
            w = 1.0
            if cid in new:
                w *= params.new_caller_weight
            if open_.get(cid):
                w *= params.open_finding_weight
            weights[str(cid)] = w
        max_id = ContactLog.objects.aggregate(m=Max("id"))["m"] or 0
        sample = AuditSample.objects.create(
            season=season,
            supervisor=supervisor,
            period_start=period_start,
            period_end=period_end,
            **({"seed": seed} if seed is not None else {}),
            parameters={
                "per_team": params.per_team,
                "strata": list(params.strata),
                "new_caller_weight": params.new_caller_weight,
                "open_finding_weight": params.open_finding_weight,
                "team_ids": sorted(chosen),
                "caller_teams": {str(k): v for k, v in sorted(callers.items())},
                "caller_weights": weights,
                "max_contact_id": max_id,
            },
        )
        drawn = _run_draw(sample)
        AuditItem.objects.bulk_create(
            [
                AuditItem(sample=sample, contact_log_id=d.id, team_id=d.team_id, stratum=d.stratum)
                for d in drawn
            ]
        )
    return sample


def sample_reproduce(*, sample: AuditSample) -> list[int]:
    """Run the stored draw again; the contact ids equal the sample's items."""
    return [d.id for d in _run_draw(sample)]


def item_set_calibration(*, item: AuditItem, calibration: bool) -> AuditItem:
    """The office opens an item to every supervisor for blind calibration scoring."""
    item.calibration = calibration
    item.save(update_fields=["calibration"])
    return item


# --- scorecard --------------------------------------------------------------------------------

DEFAULT_CRITERIA: list[tuple[str, int, Decimal]] = [
    ("礼貌开场并表明身份", 10, Decimal("1")),
    ("所在省份政策讲解准确", 10, Decimal("2")),
    ("无虚假宣传或违规承诺", 10, Decimal("3")),
    ("无禁用语", 10, Decimal("1")),
    ("记录与通话一致（不得虚假回访）", 10, Decimal("3")),
    ("下一步安排清楚", 10, Decimal("1")),
]


def scorecard_current(*, season: Season) -> Scorecard:
    """The season's latest scorecard; version 1 with the seeds' standards if none exists yet."""
    card = scorecard_latest(season=season)
    if card is not None:
        return card
    with transaction.atomic():
        card, created = Scorecard.objects.get_or_create(season=season, version=1)
        if created:
            ScorecardCriterion.objects.bulk_create(
                ScorecardCriterion(scorecard=card, position=i, label=label, max_points=pts, weight=w)
                for i, (label, pts, w) in enumerate(DEFAULT_CRITERIA, start=1)
            )
    return scorecard_latest(season=season)


def scorecard_revise(
    *, season: Season, user: AbstractBaseUser, criteria: Sequence[tuple[str, int, Decimal]]
) -> Scorecard:
    """A new version with these criteria; existing scores keep the version they were made with."""
    cleaned = []
    for label, pts, weight in criteria:
        label = (label or "").strip()
        if not label:
            continue
        if pts is None or int(pts) < 1 or int(pts) > 100:
            raise ValidationError(_("“%(label)s”的满分应在 1–100 之间。") % {"label": label})
        if weight is None or Decimal(weight) <= 0 or Decimal(weight) > 100:
            raise ValidationError(_("“%(label)s”的权重应大于 0。") % {"label": label})
        cleaned.append((label, int(pts), Decimal(weight)))
    if not cleaned:
        raise ValidationError(_("评分表至少需要一项。"))
    with transaction.atomic():
        top = (
            Scorecard.objects.select_for_update().filter(season=season).aggregate(v=Max("version"))["v"] or 0
        )
        card = Scorecard.objects.create(season=season, version=top + 1, created_by=user)
        ScorecardCriterion.objects.bulk_create(
            ScorecardCriterion(scorecard=card, position=i, label=label, max_points=pts, weight=w)
            for i, (label, pts, w) in enumerate(cleaned, start=1)
        )
    return card


def score_total(card: Scorecard, marks: dict[str, int]) -> Decimal:
    """Weighted percentage: Σ weight × mark / max ÷ Σ weight × 100, two decimals."""
    crit = list(card.criteria.all())
    num = sum(c.weight * Decimal(marks[str(c.id)]) / c.max_points for c in crit)
    den = sum(c.weight for c in crit)
    return (num / den * 100).quantize(Decimal("0.01"))


def audit_score_submit(
    *,
    item: AuditItem,
    supervisor: Caller,
    marks: dict[Any, Any],
    comment: str = "",
) -> AuditScore:
    """A supervisor scores a sampled record once, against the season's current scorecard."""
    season = item.sample.season
    if not supervisor.is_supervisor:
        raise ValidationError(_("只有督查可以评分。"))
    covers = item.team.supervisors.filter(pk=supervisor.pk).exists()
    if not (covers or item.calibration):
        raise ValidationError(_("只能评你负责督查的小组的记录。"))
    card = scorecard_current(season=season)
    clean: dict[str, int] = {}
    for c in card.criteria.all():
        raw = marks.get(str(c.id), marks.get(c.id))
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise ValidationError(_("请为“%(label)s”打分。") % {"label": c.label}) from None
        if not 0 <= value <= c.max_points:
            raise ValidationError(
                _("“%(label)s”的得分应在 0–%(max)s 之间。") % {"label": c.label, "max": c.max_points}
            )
        clean[str(c.id)] = value
    with transaction.atomic():
        if AuditScore.objects.filter(item=item, supervisor=supervisor).exists():
            raise ValidationError(_("你已为这条记录评过分。"))
        return AuditScore.objects.create(
            item=item,
            supervisor=supervisor,
            scorecard=card,
            marks=clean,
            total=score_total(card, clean),
            comment=comment.strip(),
        )


# --- findings and rectification (整改) --------------------------------------------------------

FINDING_TRANSITIONS: dict[str, frozenset[str]] = {
    FindingStatus.OPEN: frozenset({FindingStatus.DISPUTED, FindingStatus.RESPONDED}),
    FindingStatus.DISPUTED: frozenset({FindingStatus.OPEN, FindingStatus.DISMISSED}),
    FindingStatus.RESPONDED: frozenset({FindingStatus.CLOSED, FindingStatus.OPEN}),
    FindingStatus.CLOSED: frozenset(),
    FindingStatus.DISMISSED: frozenset(),
}


def dispute_days() -> int:
    return int(getattr(settings, "FINDING_DISPUTE_DAYS", 3))


def _move(finding: Finding, to: str, *, actor: AbstractBaseUser | None, action: str, note: str = "") -> None:
    src = finding.status
    if to != src and to not in FINDING_TRANSITIONS[src]:
        raise ValidationError(
            _("问题当前状态为“%(status)s”，不能执行此操作。") % {"status": finding.get_status_display()}
        )
    finding.status = to
    FindingEvent.objects.create(
        finding=finding, actor=actor, action=action, from_status=src, to_status=to, note=note
    )


def _locked(finding: Finding) -> Finding:
    return Finding.objects.select_for_update(of=("self",)).select_related("caller", "team").get(pk=finding.pk)


def finding_create(
    *,
    item: AuditItem,
    author: Caller,
    severity: str,
    category: str,
    description: str,
    required_rectification: str,
) -> Finding:
    """A supervisor records a problem in a record they scored."""
    if severity not in Severity.values or category not in FindingCategory.values:
        raise ValidationError(_("请选择严重程度和类别。"))
    if not description.strip() or not required_rectification.strip():
        raise ValidationError(_("请填写问题描述和整改要求。"))
    if not AuditScore.objects.filter(item=item, supervisor=author).exists():
        raise ValidationError(_("请先为这条记录评分，再记录问题。"))
    contact = item.contact_log
    with transaction.atomic():
        finding = Finding.objects.create(
            season=item.sample.season,
            item=item,
            caller_id=contact.caller_id,
            team_id=item.team_id,
            author=author,
            severity=severity,
            category=category,
            description=description.strip(),
            required_rectification=required_rectification.strip(),
            dispute_deadline=timezone.now() + dt.timedelta(days=dispute_days()),
        )
        FindingEvent.objects.create(
            finding=finding, actor=author.user, action="create", to_status=finding.status
        )
    return finding


def _require_own(finding: Finding, caller: Caller) -> None:
    if finding.caller_id != caller.pk:
        raise ValidationError(_("只有被督查的回访员本人可以确认或申诉。"))


def finding_acknowledge(*, finding: Finding, caller: Caller) -> Finding:
    with transaction.atomic():
        finding = _locked(finding)
        _require_own(finding, caller)
        if finding.status != FindingStatus.OPEN or finding.acknowledged_at:
            raise ValidationError(_("这条问题已确认或正在处理。"))
        finding.acknowledged_at = timezone.now()
        _move(finding, FindingStatus.OPEN, actor=caller.user, action="acknowledge")
        finding.save()
    return finding


def finding_dispute(*, finding: Finding, caller: Caller, reason: str) -> Finding:
    """The caller disputes a finding with a reason, within FINDING_DISPUTE_DAYS of its creation."""
    if not reason.strip():
        raise ValidationError(_("请填写申诉理由。"))
    with transaction.atomic():
        finding = _locked(finding)
        _require_own(finding, caller)
        if finding.acknowledged_at or finding.disputed_at:
            raise ValidationError(_("已确认或已申诉过的问题不能再申诉。"))
        if timezone.now() > finding.dispute_deadline:
            raise ValidationError(_("已超过申诉期限（%(days)s 天）。") % {"days": dispute_days()})
        _move(finding, FindingStatus.DISPUTED, actor=caller.user, action="dispute", note=reason.strip())
        finding.dispute_reason = reason.strip()
        finding.disputed_at = timezone.now()
        finding.save()
    return finding


def may_arbitrate(*, finding: Finding, user: AbstractBaseUser) -> bool:
    """The office, the supervision lead, or another supervisor of the team (never the author)."""
    if is_office(user):
        return True
    season = finding.season
    if finding.author.user_id == user.pk:
        return False
    if is_supervision_lead(user=user, season=season):
        return True
    return finding.team_id in supervised_team_ids(user=user, season=season)


def finding_arbitrate(*, finding: Finding, user: AbstractBaseUser, upheld: bool, note: str) -> Finding:
    """Decide a dispute: upheld → back to open (rectify), not upheld → dismissed."""
    if not note.strip():
        raise ValidationError(_("请填写仲裁意见。"))
    with transaction.atomic():
        finding = _locked(finding)
        if finding.author.user_id == user.pk:
            raise ValidationError(_("提出问题的督查不能仲裁自己的问题。"))
        if not may_arbitrate(finding=finding, user=user):
            raise ValidationError(_("只有其他督查或督查组长可以仲裁。"))
        if finding.status != FindingStatus.DISPUTED:
            raise ValidationError(_("只有申诉中的问题可以仲裁。"))
        to = FindingStatus.OPEN if upheld else FindingStatus.DISMISSED
        _move(finding, to, actor=user, action="arbitrate", note=note.strip())
        finding.arbitrated_by = user
        finding.arbitrated_at = timezone.now()
        finding.arbitration_upheld = upheld
        finding.arbitration_note = note.strip()
        if upheld:
            finding.acknowledged_at = finding.acknowledged_at or timezone.now()
        finding.save()
    return finding


def finding_respond(*, finding: Finding, caller: Caller, text: str) -> Finding:
    """The caller reports their rectification (→ responded); their leader may add a note."""
    if not text.strip():
        raise ValidationError(_("请填写整改说明。"))
    with transaction.atomic():
        finding = _locked(finding)
        now = timezone.now()
        if finding.caller_id == caller.pk:
            if finding.status != FindingStatus.OPEN:
                raise ValidationError(_("只有待整改的问题可以反馈整改。"))
            finding.caller_response = text.strip()
            finding.caller_responded_at = now
            finding.acknowledged_at = finding.acknowledged_at or now
            _move(finding, FindingStatus.RESPONDED, actor=caller.user, action="respond", note=text.strip())
        elif finding.team.leader_id == caller.pk:
            if finding.status not in (FindingStatus.OPEN, FindingStatus.RESPONDED):
                raise ValidationError(_("这条问题已处理完毕。"))
            finding.leader_response = text.strip()
            finding.leader_responded_at = now
            FindingEvent.objects.create(
                finding=finding,
                actor=caller.user,
                action="leader_respond",
                from_status=finding.status,
                to_status=finding.status,
                note=text.strip(),
            )
        else:
            raise ValidationError(_("只有本人或其组长可以反馈整改。"))
        finding.save()
    return finding


def finding_verify(*, finding: Finding, supervisor: Caller, accepted: bool, note: str = "") -> Finding:
    """A supervisor of the team checks the rectification: accepted → closed, else back to open."""
    if not accepted and not note.strip():
        raise ValidationError(_("退回整改时请写明原因。"))
    with transaction.atomic():
        finding = _locked(finding)
        if not finding.team.supervisors.filter(pk=supervisor.pk).exists():
            raise ValidationError(_("只有该组的督查可以核实整改。"))
        if finding.status != FindingStatus.RESPONDED:
            raise ValidationError(_("回访员尚未反馈整改。"))
        to = FindingStatus.CLOSED if accepted else FindingStatus.OPEN
        _move(
            finding, to, actor=supervisor.user, action="verify" if accepted else "reopen", note=note.strip()
        )
        finding.verification_note = note.strip()
        if accepted:
            finding.verified_by = supervisor
            finding.verified_at = timezone.now()
        finding.save()
    return finding


# --- recordings and screenshots ---------------------------------------------------------------

AUDIO_TYPES = {"mp3": "audio/mpeg", "m4a": "audio/mp4", "wav": "audio/wav", "amr": "audio/amr"}
IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


def sniff(head: bytes) -> tuple[str, str, str] | None:
    """(kind, content type, extension) from a file's first bytes, or None when not allowed."""
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return AttachmentKind.AUDIO, AUDIO_TYPES["mp3"], ".mp3"
    if head[4:8] == b"ftyp" and head[8:12] in (b"M4A ", b"M4B ", b"mp42", b"isom", b"3gp4", b"3gp5"):
        return AttachmentKind.AUDIO, AUDIO_TYPES["m4a"], ".m4a"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return AttachmentKind.AUDIO, AUDIO_TYPES["wav"], ".wav"
    if head.startswith(b"#!AMR"):
        return AttachmentKind.AUDIO, AUDIO_TYPES["amr"], ".amr"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return AttachmentKind.IMAGE, IMAGE_TYPES["png"], ".png"
    if head.startswith(b"\xff\xd8\xff"):
        return AttachmentKind.IMAGE, IMAGE_TYPES["jpg"], ".jpg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return AttachmentKind.IMAGE, IMAGE_TYPES["gif"], ".gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return AttachmentKind.IMAGE, IMAGE_TYPES["webp"], ".webp"
    if head.startswith(b"%PDF-"):
        return AttachmentKind.PDF, "application/pdf", ".pdf"
    return None


def attachment_max_bytes() -> int:
    return int(getattr(settings, "ATTACHMENT_MAX_BYTES", 30 * 1024 * 1024))


def attachment_add(
    *, contact_log: ContactLog, upload: UploadedFile, user: AbstractBaseUser
) -> ContactAttachment:
    """Attach a recording (mp3/m4a/wav/amr), a screenshot (png/jpeg/gif/webp) or a PDF, type
    checked by content, stored as recordings/<random> in the default storage (MEDIA_ROOT or
    the bucket)."""
    if upload.size is None or upload.size == 0:
        raise ValidationError(_("文件为空。"))
    if upload.size > attachment_max_bytes():
        raise ValidationError(
            _("文件过大（上限 %(mb)s MB）。") % {"mb": attachment_max_bytes() // (1024 * 1024)}
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    found = sniff(head)
    if found is None:
        raise ValidationError(_("只接受录音（mp3/m4a/wav/amr）、图片（png/jpg/gif/webp）或 PDF 文件。"))
    kind, ctype, ext = found
    original = (upload.name or "")[:200]
    att = ContactAttachment(
        contact_log=contact_log,
        kind=kind,
        content_type=ctype,
        size=upload.size,
        original_name=original,
        uploaded_by=user,
    )
    with transaction.atomic():
        att.file.save(f"upload{ext}", upload, save=False)
        att.save()
    return att


MIN_RETENTION_DAYS = 150


def attachments_archive(*, older_than_days: int = MIN_RETENTION_DAYS, now: dt.datetime | None = None) -> int:
    """Move recordings and screenshots older than `older_than_days` (at least 150 days, about
    five months) from the default storage to the archive storage (STORAGES["archive"]: the
    local RECORDING_ARCHIVE_ROOT, or a prefix/bucket of the object store) and mark them
    archived. Idempotent: a run that stopped between copy and delete is finished by the next."""
    if older_than_days < MIN_RETENTION_DAYS:
        raise ValidationError(_("录音至少保存五个月（%(days)s 天）。") % {"days": MIN_RETENTION_DAYS})
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=older_than_days)
    live, archive = default_storage, archive_storage()
    moved = 0
    for att in (
        ContactAttachment.objects.filter(archived=False, uploaded_at__lt=cutoff).order_by("id").iterator()
    ):
        name = att.file.name
        if not name:
            continue
        if live.exists(name):
            if not archive.exists(name):
                with live.open(name, "rb") as fh:
                    saved = archive.save(name, fh)
                if saved != name:  # a parallel run stored it first; keep one copy
                    archive.delete(saved)
            live.delete(name)
        elif not archive.exists(name):
            continue
        # claim once: a parallel run that got here first has already marked it
        moved += ContactAttachment.objects.filter(pk=att.pk, archived=False).update(
            archived=True, archived_at=now, archive_path=name
        )
    return moved


def attachment_stored(att: ContactAttachment) -> tuple[Storage, str]:
    """The storage and name that hold the attachment's file now (live or archived)."""
    if att.archived:
        return archive_storage(), att.archive_path
    return default_storage, att.file.name


# --- incidents (舆情/投诉) --------------------------------------------------------------------


def incident_record(
    *,
    season: Season,
    kind: str,
    team: Team,
    caller: Caller | None,
    caused_by_improper_callback: bool,
    description: str,
    handling: str,
    occurred_on: dt.date,
    handled_on: dt.date | None,
    user: AbstractBaseUser,
) -> Incident:
    if kind not in IncidentKind.values:
        raise ValidationError(_("请选择类型。"))
    if team.season_id != season.pk:
        raise ValidationError(_("小组不属于本年度。"))
    if caller is not None and caller.team_id != team.pk:
        raise ValidationError(_("回访员不在该小组。"))
    if kind == IncidentKind.WRONG_WITHDRAWAL and caller is None:
        raise ValidationError(_("误退须指明回访员。"))
    if not description.strip():
        raise ValidationError(_("请填写经过。"))
    if occurred_on > timezone.localdate():
        raise ValidationError(_("发生日期不能晚于今天。"))
    if handled_on and handled_on < occurred_on:
        raise ValidationError(_("处理日期不能早于发生日期。"))
    return Incident.objects.create(
        season=season,
        kind=kind,
        team=team,
        caller=caller,
        caused_by_improper_callback=caused_by_improper_callback,
        description=description.strip(),
        handling=handling.strip(),
        occurred_on=occurred_on,
        handled_on=handled_on,
        recorded_by=user,
    )


# --- no-show verification (不报到核实) ---------------------------------------------------------


def strike_case_team_id(case: StrikeCase) -> int | None:
    """The team whose caller holds the candidate (the requesting caller's, else the assignee's)."""
    if case.requested_by_id and case.requested_by.team_id:
        return case.requested_by.team_id
    a = (
        Assignment.objects.filter(candidate_id=case.candidate_id, active=True)
        .select_related("caller")
        .first()
    )
    return a.caller.team_id if a else None


def noshow_verify(*, case: StrikeCase, supervisor: Caller, note: str, confirmed: bool) -> StrikeCase:
    """A supervisor of the candidate's team checks the record and recordings of a no-show case:
    confirmed → verified (the strike team may take it); not confirmed → dismissed."""
    from callbacks.casework_models import StrikeCaseStatus

    if not note.strip():
        raise ValidationError(_("请填写核实说明（核查了哪些记录和录音）。"))
    with transaction.atomic():
        case = (
            StrikeCase.objects.select_for_update(of=("self",)).select_related("requested_by").get(pk=case.pk)
        )
        if not case.needs_verification:
            raise ValidationError(_("只有“确认不来”和“报到后未报到”的案件需要督查核实。"))
        if case.verified_at is not None:
            raise ValidationError(_("该案件已核实。"))
        if case.status not in (StrikeCaseStatus.PENDING, StrikeCaseStatus.APPROVED):
            raise ValidationError(_("该案件当前状态不能核实。"))
        team_id = strike_case_team_id(case)
        if team_id is None or not Team.objects.filter(pk=team_id, supervisors=supervisor).exists():
            raise ValidationError(_("只能核实你负责督查的小组的考生。"))
        if confirmed:
            case.verified_by = supervisor
            case.verified_at = timezone.now()
            case.verification_note = note.strip()
            case.save(update_fields=["verified_by", "verified_at", "verification_note"])
        else:
            if case.status != StrikeCaseStatus.APPROVED:
                raise ValidationError(_("请在组长审批后再核实。"))
            case.status = StrikeCaseStatus.DISMISSED
            case.verification_note = note.strip()
            case.closed_at = timezone.now()
            case.save(update_fields=["status", "verification_note", "closed_at"])
    return case


# --- follow-up ledger spot checks (台账抽查) ----------------------------------------------------


def ledger_check_record(
    *,
    supervisor: Caller,
    team: Team,
    note: str = "",
    min_contacts: int = 4,
    min_minutes: int = 20,
    stale_days: int = 7,
) -> LedgerCheck:
    if not team.supervisors.filter(pk=supervisor.pk).exists():
        raise ValidationError(_("只能抽查你负责督查的小组。"))
    rows = ledger_shortfalls(
        team_ids={team.pk},
        season=team.season,
        min_contacts=min_contacts,
        min_minutes=min_minutes,
        stale_days=stale_days,
    )
    flagged = [
        {
            "caller_id": r.caller.pk,
            "name": r.caller.name,
            "candidates": r.candidates,
            "avg_contacts": str(r.avg_contacts),
            "avg_minutes": str(r.avg_minutes),
            "stale": r.stale,
        }
        for r in rows
        if r.flagged
    ]
    return LedgerCheck.objects.create(
        season=team.season,
        supervisor=supervisor,
        team=team,
        note=note.strip(),
        flagged=flagged,
        parameters={"min_contacts": min_contacts, "min_minutes": min_minutes, "stale_days": stale_days},
    )
