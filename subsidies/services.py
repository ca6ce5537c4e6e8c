"""Writes: schemes, payout runs (create, approve, diff), deductions, inquiries, adjustments."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from admissions.models import Season
from callback_office.importing import fast_insert
from callbacks.models import Caller
from subsidies.engine import Scheme, SchemeError, compute
from subsidies.engine.serialize import facts_to_dict
from subsidies.facts import load_facts
from subsidies.models import (
    Adjustment,
    AdjustmentReason,
    Deduction,
    Inquiry,
    InquiryStatus,
    PayoutLine,
    PayoutRun,
    RunStatus,
    SubsidyScheme,
)

# --- schemes --------------------------------------------------------------------------------


def scheme_for(season: Season) -> SubsidyScheme:
    """The season's current scheme version; the 2023 plan is created as version 1 if none."""
    current = SubsidyScheme.objects.filter(season=season).order_by("-version").first()
    if current is None:
        current, _ = SubsidyScheme.objects.get_or_create(
            season=season, version=1, defaults={"params": Scheme().to_dict(), "note": "2023年方案（默认）"}
        )
    return current


def scheme_update(
    *, season: Season, params: dict[str, Any], note: str, user: AbstractBaseUser
) -> SubsidyScheme:
    """Validate `params` against the engine's Scheme and save them as a new version."""
    try:
        scheme = Scheme.from_dict(params)
    except SchemeError as exc:
        raise ValidationError(
            {"params": [f"{k}：{m}" for k, msgs in exc.errors.items() for m in msgs]}
        ) from exc
    with transaction.atomic():
        current = scheme_for(season)
        return SubsidyScheme.objects.create(
            season=season,
            version=current.version + 1,
            params=scheme.to_dict(),
            note=note,
            created_by=user,
        )


# --- payout runs ----------------------------------------------------------------------------


def payout_run_create(*, season: Season, user: AbstractBaseUser | None) -> PayoutRun:
    """Load the facts, compute, and freeze the facts, the scheme and every line as a new run."""
    scheme_row = scheme_for(season)
    scheme = Scheme.from_dict(scheme_row.params)
    facts = load_facts(season=season)
    result = compute(facts, scheme)
    with transaction.atomic():
        # one run number at a time per season: lock the season row
        Season.objects.select_for_update().filter(pk=season.pk).first()
        last = PayoutRun.objects.filter(season=season).aggregate(n=Max("number"))["n"]
        run = PayoutRun.objects.create(
            season=season,
            number=(last or 0) + 1,
            scheme=scheme_row,
            scheme_snapshot=scheme.to_dict(),
            facts=facts_to_dict(facts),
            total=result.grand_total,
            person_count=len(result.totals),
            created_by=user if user is not None and user.is_authenticated else None,
        )
        # COPY on PostgreSQL (executemany elsewhere): one statement whatever the number of
        # people, no model instances (10,000 callers make ~33,000 lines)
        fast_insert(
            PayoutLine,
            [
                {
                    "run_id": run.pk,
                    "person_id": line.person_id,
                    "position": i,
                    "rule": line.rule,
                    "category": line.category,
                    "subject": line.subject,
                    "inputs": line.inputs,
                    "rate": line.rate,
                    "tier": line.tier,
                    "steps": line.steps,
                    "points": line.points,
                    "amount": line.amount,
                    "reason": line.reason,
                }
                for i, line in enumerate(result.lines)
            ],
        )
    return run


def payout_run_approve(*, run: PayoutRun, user: AbstractBaseUser) -> PayoutRun:
    """Lock a draft run; adjustments it carried are settled by it."""
    with transaction.atomic():
        run = PayoutRun.objects.select_for_update().get(pk=run.pk)
        ensure_draft(run)
        run.status = RunStatus.APPROVED
        run.approved_by = user
        run.approved_at = timezone.now()
        run.save(update_fields=["status", "approved_by", "approved_at"])
        carried = [a["id"] for a in run.facts.get("adjustments", [])]
        Adjustment.objects.filter(id__in=carried, settled_run__isnull=True).update(settled_run=run)
    return run


def payout_run_delete(*, run: PayoutRun) -> None:
    with transaction.atomic():
        run = PayoutRun.objects.select_for_update().get(pk=run.pk)
        ensure_draft(run)
        run.lines.all().delete()
        run.delete()


def ensure_draft(run: PayoutRun) -> None:
    if run.status != RunStatus.DRAFT:
        raise ValidationError(_("该核算已审批并锁定，不能修改；请重新核算生成新的核算。"))


@dataclass(frozen=True)
class RuleChange:
    rule: str
    subject: str
    old: Decimal
    new: Decimal


@dataclass(frozen=True)
class PersonDiff:
    person_id: int
    staff_no: str
    name: str
    old_total: Decimal
    new_total: Decimal
    changes: list[RuleChange] = field(default_factory=list)

    @property
    def delta(self) -> Decimal:
        return self.new_total - self.old_total


def payout_run_diff(old: PayoutRun, new: PayoutRun) -> list[PersonDiff]:
    """What changed per person between two runs (by rule and subject), people with changes only."""
    amounts: dict[int, dict[tuple[str, str], list[Decimal]]] = {}
    names: dict[int, tuple[str, str]] = {}
    for idx, run in enumerate((old, new)):
        for row in PayoutLine.objects.filter(run=run).values(
            "person_id", "person__staff_no", "person__name", "rule", "subject", "amount"
        ):
            pid = row["person_id"]
            names[pid] = (row["person__staff_no"], row["person__name"])
            slot = amounts.setdefault(pid, {}).setdefault(
                (row["rule"], row["subject"]), [Decimal("0.00"), Decimal("0.00")]
            )
            slot[idx] += row["amount"]
    out = []
    for pid, rules in amounts.items():
        changes = [RuleChange(r, s, a[0], a[1]) for (r, s), a in rules.items() if a[0] != a[1]]
        if not changes:
            continue
        old_total = sum((a[0] for a in rules.values()), Decimal("0.00"))
        new_total = sum((a[1] for a in rules.values()), Decimal("0.00"))
        out.append(PersonDiff(pid, names[pid][0], names[pid][1], old_total, new_total, changes))
    return sorted(out, key=lambda d: d.staff_no)


# --- deductions, inquiries, adjustments -----------------------------------------------------


def deduction_record(
    *, season: Season, person: Caller, percent: Decimal, reason: str, user: AbstractBaseUser
) -> Deduction:
    scheme = Scheme.from_dict(scheme_for(season).params)
    if person.season_id != season.pk:
        raise ValidationError(_("该人员不属于本年度。"))
    if not (scheme.misconduct_min <= percent <= scheme.misconduct_max):
        raise ValidationError(
            _("扣除比例必须在 %(low)s%% 到 %(high)s%% 之间。")
            % {"low": f"{scheme.misconduct_min * 100:.0f}", "high": f"{scheme.misconduct_max * 100:.0f}"}
        )
    if not reason.strip():
        raise ValidationError(_("请填写扣除原因。"))
    return Deduction.objects.create(
        season=season, person=person, percent=percent, reason=reason.strip(), recorded_by=user
    )


def inquiry_raise(*, line: PayoutLine, person: Caller, question: str) -> Inquiry:
    if line.person_id != person.pk:
        raise ValidationError(_("只能对本人的补贴明细提出询问。"))
    if not question.strip():
        raise ValidationError(_("请填写问题。"))
    return Inquiry.objects.create(run_id=line.run_id, line=line, person=person, question=question.strip())


def inquiry_answer(
    *,
    inquiry: Inquiry,
    answer: str,
    user: AbstractBaseUser,
    adjustment_amount: Decimal | None = None,
    reason_code: str = "",
    adjustment_reason: str = "",
) -> Inquiry:
    """Answer an inquiry; with an amount, also record an adjustment the next run carries."""
    if not answer.strip():
        raise ValidationError(_("请填写答复。"))
    with transaction.atomic():
        inquiry.answer = answer.strip()
        inquiry.status = InquiryStatus.ANSWERED
        inquiry.answered_by = user
        inquiry.answered_at = timezone.now()
        inquiry.save(update_fields=["answer", "status", "answered_by", "answered_at"])
        if adjustment_amount:
            adjustment_create(
                season=inquiry.run.season,
                person=inquiry.person,
                amount=adjustment_amount,
                reason_code=reason_code,
                reason=adjustment_reason or answer,
                user=user,
                inquiry=inquiry,
            )
    return inquiry


def adjustment_create(
    *,
    season: Season,
    person: Caller,
    amount: Decimal,
    reason_code: str,
    reason: str,
    user: AbstractBaseUser,
    inquiry: Inquiry | None = None,
) -> Adjustment:
    if reason_code not in AdjustmentReason.values:
        raise ValidationError(_("请选择调整原因类别。"))
    if amount == 0:
        raise ValidationError(_("调整金额不能为 0。"))
    if person.season_id != season.pk:
        raise ValidationError(_("该人员不属于本年度。"))
    return Adjustment.objects.create(
        season=season,
        person=person,
        amount=amount,
        reason_code=reason_code,
        reason=reason.strip(),
        inquiry=inquiry,
        created_by=user,
    )
