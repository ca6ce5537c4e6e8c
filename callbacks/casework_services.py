"""Writes for casework: withdrawal requests (退档申请) and strike-team cases (突击组).

Every change is one function, in one transaction, moving a status only along the transitions
maps of `casework_models` (anything else raises `ValidationError`). Who may do what is checked
here as well as in the views (`PermissionDenied`), so no other caller of these functions can skip
it. Concurrent decisions are serialised: withdrawal steps lock the request row
(`select_for_update`), strike-case steps are conditional updates (`UPDATE … WHERE status = …`),
so two leaders approving at once, or two strike members taking one case, apply once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import uuid
import warnings
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from admissions.choices import CallbackStatus
from admissions.models import Candidate
from callback_office.audit import record_many
from callback_office.roles import Role, has_role, is_office
from callbacks.casework_models import (
    STRIKE_TRANSITIONS,
    WITHDRAWAL_TRANSITIONS,
    MaterialKind,
    StrikeCase,
    StrikeCaseKind,
    StrikeCaseStatus,
    StrikeResult,
    StrikeStep,
    WithdrawalMaterial,
    WithdrawalRequest,
    WithdrawalStatus,
)
from callbacks.casework_selectors import (
    _assigned_caller,
    is_assigned_caller,
    leads_candidate,
    strike_open_for,
    withdrawal_open_for,
)
from callbacks.selectors import caller_for

SCHOOL_NAME_DEFAULT = "成都文理学院"
MATERIALS_PER_REQUEST_MAX = 12

# province name as written in a letter: municipalities and autonomous regions keep their own suffix
_PROVINCE_FULL_NAMES = {
    "北京": "北京市",
    "天津": "天津市",
    "上海": "上海市",
    "重庆": "重庆市",
    "内蒙古": "内蒙古自治区",
    "广西": "广西壮族自治区",
    "西藏": "西藏自治区",
    "宁夏": "宁夏回族自治区",
    "新疆": "新疆维吾尔自治区",
}


def _transition_check(
    current: str, target: str, transitions: dict[str, frozenset[str]], labels: dict
) -> None:
    if target not in transitions.get(current, frozenset()):
        raise ValidationError(
            _("当前状态「%(current)s」不能改为「%(target)s」。")
            % {"current": labels.get(current, current), "target": labels.get(target, target)}
        )


# --- the withdrawal letter ----------------------------------------------------------------------


def province_full_name(province: str) -> str:
    if province.endswith(("省", "市", "自治区", "特别行政区")):
        return province
    return _PROVINCE_FULL_NAMES.get(province, f"{province}省")


def withdrawal_letter_text(*, candidate: Candidate) -> str:
    """The manual's 退档申请书, filled in for the candidate (2024 培训手册, 「2、如何退档」).

    Plain text for WeChat/QQ; deliberately not translated: the province receives it in Chinese.
    """
    school = getattr(settings, "SCHOOL_NAME", SCHOOL_NAME_DEFAULT)
    year = candidate.season.year
    return (
        "退档申请书\n"
        f"{school}：\n"
        f"　　本人是{province_full_name(candidate.province.province)}的 {year} 年考生，"
        f"姓名：{candidate.name}，考生号：{candidate.exam_number}，"
        "由于个人原因自愿放弃贵校录取，特此申请退档，退档后一切责任由考生本人自己承担。\n"
        "考生签名：　　　　　　（摁手印）\n"
        "家长签名：　　　　　　（摁手印）\n"
        f"{year}年　　月　　日\n"
        "\n"
        "请将以上申请书手写或打印，考生和家长签名并摁手印，"
        "把“退档申请+身份证+准考证”放在同一张照片内拍照，发送到我的微信或QQ上。"
    )


# --- materials: checked by content -------------------------------------------------------------

_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"%PDF-", "application/pdf", ".pdf"),
)
EXTENSION_BY_TYPE = {content_type: ext for _sig, content_type, ext in _SIGNATURES}


def material_inspect(data: bytes) -> str:
    """The content type of an upload judged by its bytes (never by its name or the browser's
    claim): JPEG or PNG that Pillow can parse, or a PDF with header and end marker."""
    limit = settings.UPLOAD_MAX_BYTES
    if len(data) > limit:
        raise ValidationError(
            _("文件过大：%(size).1f MB，最大 %(limit).1f MB。")
            % {"size": len(data) / 1048576, "limit": limit / 1048576},
            code="too_big",
        )
    if not data:
        raise ValidationError(_("文件是空的。"), code="empty")
    content_type = next((ct for sig, ct, _ext in _SIGNATURES if data.startswith(sig)), None)
    if content_type is None:
        raise ValidationError(_("只能上传 JPEG、PNG 图片或 PDF 文件（按文件内容判断）。"), code="type")
    if content_type == "application/pdf":
        if b"%%EOF" not in data[-2048:]:
            raise ValidationError(_("PDF 文件不完整或已损坏。"), code="corrupt")
        return content_type
    from PIL import Image

    expected = {"image/jpeg": "JPEG", "image/png": "PNG"}[content_type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt = image.format
                image.verify()
    except Exception as exc:
        raise ValidationError(_("图片无法识别或已损坏。"), code="corrupt") from exc
    if fmt != expected:
        raise ValidationError(_("图片格式与内容不符。"), code="type")
    return content_type


def withdrawal_missing_materials(request: WithdrawalRequest, kinds: Iterable[str] | None = None) -> list[str]:
    """Labels of what is still missing: nothing if there is a combined photo or all three parts."""
    have = set(kinds if kinds is not None else request.materials.values_list("kind", flat=True))
    if MaterialKind.COMBINED in have:
        return []
    return [str(MaterialKind(k).label) for k in MaterialKind.values if k in MaterialKind.separate() - have]


# --- withdrawal permissions ---------------------------------------------------------------------


def _may_collect(user: AbstractBaseUser, candidate: Candidate) -> bool:
    return is_assigned_caller(user=user, candidate=candidate) or leads_candidate(
        user=user, candidate=candidate
    )


def _may_leader_decide(user: AbstractBaseUser, candidate: Candidate) -> bool:
    return is_office(user) or (
        has_role(user, Role.LEADER) and leads_candidate(user=user, candidate=candidate)
    )


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def _locked(request: WithdrawalRequest) -> WithdrawalRequest:
    return WithdrawalRequest.objects.select_for_update().select_related("candidate").get(pk=request.pk)


def _set_request(req: WithdrawalRequest, **fields) -> WithdrawalRequest:
    for name, value in fields.items():
        setattr(req, name, value)
    req.save(update_fields=[*fields, "updated_at"])
    return req


# --- withdrawal flow ----------------------------------------------------------------------------


@transaction.atomic
def withdrawal_open(*, candidate: Candidate, user: AbstractBaseUser, note: str = "") -> WithdrawalRequest:
    """Open a withdrawal request (status 收集材料); the candidate becomes 申请退档."""
    _require(_may_collect(user, candidate))
    candidate = (
        Candidate.objects.select_for_update().select_related("province", "season").get(pk=candidate.pk)
    )
    if not candidate.province.withdrawable:
        raise ValidationError(
            _("%(province)s录取期间不可退档，不能发起退档申请（该省以劝来为主）。")
            % {"province": candidate.province.province}
        )
    if candidate.status == CallbackStatus.WITHDRAWN or candidate.withdrawn_on:
        raise ValidationError(_("该考生已退档。"))
    if candidate.enrolled_on:
        raise ValidationError(_("该考生已报到，不能退档。"))
    if withdrawal_open_for(candidate=candidate) is not None:
        raise ValidationError(_("该考生已有进行中的退档申请。"))
    try:
        with transaction.atomic():
            req = WithdrawalRequest.objects.create(
                candidate=candidate,
                season_id=candidate.season_id,
                caller=_assigned_caller(candidate),
                previous_candidate_status=candidate.status,
                note=note,
                opened_by=user,
            )
    except IntegrityError as exc:
        raise ValidationError(_("该考生已有进行中的退档申请。")) from exc
    Candidate.objects.filter(pk=candidate.pk).update(
        status=CallbackStatus.WITHDRAWAL_REQUESTED, updated_at=timezone.now()
    )
    changes = {"status": (candidate.status, CallbackStatus.WITHDRAWAL_REQUESTED)}
    _audit_candidate(candidate.pk, candidate.exam_number, changes, user)
    return req


def withdrawal_material_add(
    *, request: WithdrawalRequest, kind: str, upload, user: AbstractBaseUser
) -> WithdrawalMaterial:
    """Store one checked file under MEDIA_ROOT/withdrawals/<year>/<random>.<ext>."""
    if kind not in MaterialKind.values:
        raise ValidationError(_("请选择材料类型。"))
    if getattr(upload, "size", 0) > settings.UPLOAD_MAX_BYTES:
        raise ValidationError(
            _("文件过大：%(size).1f MB，最大 %(limit).1f MB。")
            % {"size": upload.size / 1048576, "limit": settings.UPLOAD_MAX_BYTES / 1048576},
            code="too_big",
        )
    data = upload.read(settings.UPLOAD_MAX_BYTES + 1)
    content_type = material_inspect(data)
    original = (getattr(upload, "name", "") or "")[-200:]
    with transaction.atomic():
        req = _locked(request)
        _require(_may_collect(user, req.candidate))
        if req.status != WithdrawalStatus.COLLECTING:
            raise ValidationError(_("只有「收集材料」状态的申请可以上传材料。"))
        if req.materials.count() >= MATERIALS_PER_REQUEST_MAX:
            raise ValidationError(_("材料太多了，请先删除不需要的文件。"))
        material = WithdrawalMaterial(
            request=req,
            kind=kind,
            content_type=content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            original_name=original,
            uploaded_by=user,
        )
        name = f"{req.candidate.season.year}/{uuid.uuid4().hex}{EXTENSION_BY_TYPE[content_type]}"
        material.file.save(name, ContentFile(data), save=False)
        stored = material.file.name
        try:
            material.save()
        except Exception:
            material.file.storage.delete(stored)
            raise
        req.save(update_fields=["updated_at"])
    return material


@transaction.atomic
def withdrawal_material_remove(*, material: WithdrawalMaterial, user: AbstractBaseUser) -> None:
    req = _locked(material.request)
    _require(_may_collect(user, req.candidate))
    if req.status != WithdrawalStatus.COLLECTING:
        raise ValidationError(_("只有「收集材料」状态的申请可以删除材料。"))
    storage, name = material.file.storage, material.file.name
    material.delete()
    transaction.on_commit(lambda: storage.delete(name))


_W_LABELS = dict(WithdrawalStatus.choices)


@transaction.atomic
def withdrawal_leader_check(*, request: WithdrawalRequest, user: AbstractBaseUser) -> WithdrawalRequest:
    """The leader confirms the materials are complete. Missing material blocks: the plan punishes
    wrong withdrawals (误退) caused by incomplete materials."""
    req = _locked(request)
    _require(_may_leader_decide(user, req.candidate))
    _transition_check(req.status, WithdrawalStatus.LEADER_CHECKED, WITHDRAWAL_TRANSITIONS, _W_LABELS)
    missing = withdrawal_missing_materials(req)
    if missing:
        raise ValidationError(
            _("材料不全，缺少：%(missing)s。请上传三合一照片，或分别上传签字申请书、身份证和准考证。")
            % {"missing": "、".join(missing)},
            code="missing_material",
        )
    return _set_request(
        req, status=WithdrawalStatus.LEADER_CHECKED, checked_by=user, checked_at=timezone.now()
    )


@transaction.atomic
def withdrawal_submit(*, request: WithdrawalRequest, user: AbstractBaseUser) -> WithdrawalRequest:
    """The office has sent the request on to the provincial exam authority."""
    _require(is_office(user))
    req = _locked(request)
    _transition_check(req.status, WithdrawalStatus.SUBMITTED, WITHDRAWAL_TRANSITIONS, _W_LABELS)
    if withdrawal_missing_materials(req):
        raise ValidationError(_("材料不全，不能提交。"), code="missing_material")
    return _set_request(
        req, status=WithdrawalStatus.SUBMITTED, submitted_by=user, submitted_at=timezone.now()
    )


@transaction.atomic
def withdrawal_return(
    *, request: WithdrawalRequest, user: AbstractBaseUser, reason: str
) -> WithdrawalRequest:
    """The office sends a checked request back to the caller (e.g. an unreadable photo)."""
    _require(is_office(user))
    if not reason.strip():
        raise ValidationError(_("请写明退回原因。"))
    req = _locked(request)
    _transition_check(req.status, WithdrawalStatus.COLLECTING, WITHDRAWAL_TRANSITIONS, _W_LABELS)
    note = f"{req.note}\n{_('退回补充材料')}：{reason.strip()}".strip()
    return _set_request(req, status=WithdrawalStatus.COLLECTING, checked_by=None, checked_at=None, note=note)


@transaction.atomic
def withdrawal_complete(
    *, request: WithdrawalRequest, user: AbstractBaseUser, withdrawn_on: dt.date | None = None
) -> WithdrawalRequest:
    """The province returned the file: the candidate becomes 已退档 with the date."""
    _require(is_office(user))
    req = _locked(request)
    _transition_check(req.status, WithdrawalStatus.COMPLETED, WITHDRAWAL_TRANSITIONS, _W_LABELS)
    day = withdrawn_on or timezone.localdate()
    if day > timezone.localdate():
        raise ValidationError(_("退档日期不能晚于今天。"))
    old = Candidate.objects.filter(pk=req.candidate_id).values("exam_number", "status", "withdrawn_on").get()
    Candidate.objects.filter(pk=req.candidate_id).update(
        status=CallbackStatus.WITHDRAWN, withdrawn_on=day, updated_at=timezone.now()
    )
    changes = {
        "status": (old["status"], CallbackStatus.WITHDRAWN),
        "withdrawn_on": (old["withdrawn_on"], day),
    }
    _audit_candidate(req.candidate_id, old["exam_number"], changes, user)
    return _set_request(
        req, status=WithdrawalStatus.COMPLETED, decided_by=user, decided_at=timezone.now(), withdrawn_on=day
    )


@transaction.atomic
def withdrawal_reject(
    *, request: WithdrawalRequest, user: AbstractBaseUser, reason: str
) -> WithdrawalRequest:
    """Reject with a reason (leader or office before submission, the office after). The candidate
    gets back the status they had before the request."""
    if not reason.strip():
        raise ValidationError(_("请写明驳回原因。"))
    req = _locked(request)
    if req.status == WithdrawalStatus.SUBMITTED:
        _require(is_office(user))
    else:
        _require(_may_leader_decide(user, req.candidate))
    _transition_check(req.status, WithdrawalStatus.REJECTED, WITHDRAWAL_TRANSITIONS, _W_LABELS)
    back = req.previous_candidate_status or CallbackStatus.HESITANT
    if Candidate.objects.filter(pk=req.candidate_id, status=CallbackStatus.WITHDRAWAL_REQUESTED).update(
        status=back, updated_at=timezone.now()
    ):
        label = req.candidate.exam_number
        _audit_candidate(
            req.candidate_id, label, {"status": (CallbackStatus.WITHDRAWAL_REQUESTED, back)}, user
        )
    return _set_request(
        req,
        status=WithdrawalStatus.REJECTED,
        decided_by=user,
        decided_at=timezone.now(),
        reject_reason=reason.strip(),
    )


# --- strike cases -------------------------------------------------------------------------------

_S_LABELS = dict(StrikeCaseStatus.choices)
_UNREACHED = {CallbackStatus.UNCONTACTED, CallbackStatus.UNREACHABLE}


def _registration_closed(candidate: Candidate, today: dt.date) -> bool:
    closes = candidate.season.registration_date
    return closes is not None and today > closes


def _strike_create(*, candidate: Candidate, **fields) -> StrikeCase:
    if strike_open_for(candidate=candidate) is not None:
        raise ValidationError(_("该考生已在突击组处理中。"))
    try:
        with transaction.atomic():
            return StrikeCase.objects.create(candidate=candidate, season_id=candidate.season_id, **fields)
    except IntegrityError as exc:
        raise ValidationError(_("该考生已在突击组处理中。")) from exc


@transaction.atomic
def strike_case_escalate(
    *, candidate: Candidate, user: AbstractBaseUser, kind: str, steps_tried: list[str], note: str
) -> StrikeCase:
    """A caller hands a candidate to the strike team (pending the leader's approval).

    `unreachable`: never reached, with the steps already tried. `no_show`: said they won't come,
    in a province where the file cannot be withdrawn (needs supervision's verification too).
    The caller keeps the assignment.
    """
    _require(
        is_assigned_caller(user=user, candidate=candidate) or leads_candidate(user=user, candidate=candidate)
    )
    candidate = (
        Candidate.objects.select_for_update().select_related("province", "season").get(pk=candidate.pk)
    )
    steps = list(dict.fromkeys(steps_tried))
    if any(step not in StrikeStep.values for step in steps):
        raise ValidationError(_("未知的联系办法。"))
    if not note.strip():
        raise ValidationError(_("请写明情况说明。"))
    if candidate.enrolled_on or candidate.status == CallbackStatus.WITHDRAWN:
        raise ValidationError(_("该考生已报到或已退档，无需转突击组。"))
    if kind == StrikeCaseKind.UNREACHABLE:
        if candidate.status not in _UNREACHED:
            raise ValidationError(_("只有联系不上的考生才能按“联系不上”转突击组。"))
        if not steps:
            raise ValidationError(_("请勾选已经尝试过的联系办法（空号、错号、114 查询、班主任……）。"))
    elif kind == StrikeCaseKind.NO_SHOW:
        if candidate.province.withdrawable:
            raise ValidationError(_("可退档省份的考生确认不来时应办理退档，不转突击组。"))
        if candidate.status != CallbackStatus.REFUSED:
            raise ValidationError(_("只有明确不来的考生才能按“确认不来”转突击组。"))
    else:
        raise ValidationError(_("回访员只能转“联系不上”或“确认不来”的考生。"))
    return _strike_create(
        candidate=candidate,
        kind=kind,
        status=StrikeCaseStatus.PENDING,
        requested_by=caller_for(user=user, season=candidate.season),
        created_by=user,
        steps_tried=steps,
        note=note.strip(),
    )


@transaction.atomic
def strike_case_send_after_registration(
    *, candidate: Candidate, user: AbstractBaseUser, note: str, today: dt.date | None = None
) -> StrikeCase:
    """After registration closed, the office or the leader sends a confirmed no-show to the strike
    team. Approved at once; supervision must verify it before the strike team may take it."""
    _require(
        is_office(user) or (has_role(user, Role.LEADER) and leads_candidate(user=user, candidate=candidate))
    )
    candidate = Candidate.objects.select_for_update().select_related("season").get(pk=candidate.pk)
    today = today or timezone.localdate()
    if not _registration_closed(candidate, today):
        raise ValidationError(_("报到尚未结束，报到日期过后才能转“报到后未报到”。"))
    if candidate.enrolled_on:
        raise ValidationError(_("该考生已报到。"))
    if candidate.status == CallbackStatus.WITHDRAWN:
        raise ValidationError(_("该考生已退档。"))
    if not note.strip():
        raise ValidationError(_("请写明情况说明。"))
    now = timezone.now()
    return _strike_create(
        candidate=candidate,
        kind=StrikeCaseKind.AFTER_REGISTRATION,
        status=StrikeCaseStatus.APPROVED,
        requested_by=caller_for(user=user, season=candidate.season),
        created_by=user,
        note=note.strip(),
        approved_by=user,
        approved_at=now,
    )


def _audit_candidate(pk: int, label: str, changes: dict, user: AbstractBaseUser) -> None:
    """The candidate UPDATEs here send no model signal: write their audit entry (old → new)."""
    record_many(Candidate, [(pk, label, changes)], actor=user)


def _strike_move(
    case: StrikeCase, target: str, *, actor: AbstractBaseUser, extra_filter: dict | None = None, **fields
) -> StrikeCase:
    """Conditional update: applies only if the row still has the status we read."""
    current = StrikeCase.objects.filter(pk=case.pk).values_list("status", flat=True).first()
    if current is None:
        raise ValidationError(_("案件不存在。"))
    _transition_check(current, target, STRIKE_TRANSITIONS, _S_LABELS)
    updated = StrikeCase.objects.filter(pk=case.pk, status=current, **(extra_filter or {})).update(
        status=target, **fields
    )
    if updated != 1:
        raise ValidationError(_("该案件刚被他人处理，请刷新页面。"), code="conflict")
    record_many(StrikeCase, [(case.pk, f"#{case.pk}", {"status": (current, target)})], actor=actor)
    case.refresh_from_db()
    return case


def _may_approve(user: AbstractBaseUser, case: StrikeCase) -> bool:
    return is_office(user) or (
        has_role(user, Role.LEADER) and leads_candidate(user=user, candidate=case.candidate)
    )


@transaction.atomic
def strike_case_approve(*, case: StrikeCase, user: AbstractBaseUser) -> StrikeCase:
    _require(_may_approve(user, case))
    return _strike_move(
        case, StrikeCaseStatus.APPROVED, actor=user, approved_by=user, approved_at=timezone.now()
    )


@transaction.atomic
def strike_case_decline(*, case: StrikeCase, user: AbstractBaseUser, reason: str) -> StrikeCase:
    _require(_may_approve(user, case))
    if not reason.strip():
        raise ValidationError(_("请写明未批准的原因。"))
    return _strike_move(
        case,
        StrikeCaseStatus.DECLINED,
        actor=user,
        approved_by=user,
        approved_at=timezone.now(),
        decline_reason=reason.strip(),
    )


@transaction.atomic
def strike_case_take(*, case: StrikeCase, user: AbstractBaseUser) -> StrikeCase:
    """A strike-team member takes a case from the queue; of two taking at once only one wins."""
    _require(has_role(user, Role.STRIKE))
    member = caller_for(user=user, season=case.candidate.season)
    if member is None:
        raise PermissionDenied
    if (
        case.needs_verification
        and not StrikeCase.objects.filter(pk=case.pk, verified_at__isnull=False).exists()
    ):
        raise ValidationError(_("该案件尚待督查组核实，核实后才能接手。"))
    return _strike_move(
        case,
        StrikeCaseStatus.TAKEN,
        actor=user,
        extra_filter={"holder__isnull": True},
        holder=member,
        taken_at=timezone.now(),
    )


@transaction.atomic
def strike_case_close(*, case: StrikeCase, user: AbstractBaseUser, result: str, note: str) -> StrikeCase:
    """Record the result. The holder closes a taken case; the office (or the leader, before the
    strike team took it) may withdraw an approved one."""
    case = StrikeCase.objects.select_related("holder", "candidate").get(pk=case.pk)
    if case.status == StrikeCaseStatus.TAKEN:
        _require(is_office(user) or (case.holder is not None and case.holder.user_id == user.pk))
    else:
        _require(_may_approve(user, case))
    if result not in StrikeResult.values:
        raise ValidationError(_("请选择结果。"))
    return _strike_move(
        case,
        StrikeCaseStatus.CLOSED,
        actor=user,
        result=result,
        result_note=note.strip(),
        closed_by=user,
        closed_at=timezone.now(),
    )
