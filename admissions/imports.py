"""Import kinds of the ground floor: province policies, candidates, payment / registration /
withdrawal lists. Registered from AdmissionsConfig.ready(); run through
callback_office.importing (validate everything, then one transaction of bulk writes).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.db.models import Model
from django.utils import timezone, translation
from django.utils.translation import gettext
from import_export import resources
from import_export.fields import Field

from admissions.choices import AdmissionType, CallbackStatus, Level, PhoneOwner
from admissions.models import (
    Candidate,
    CandidatePhone,
    PaymentRecord,
    ProvincePolicy,
    RegistrationRecord,
    Season,
    WithdrawalRecord,
)
from admissions.services import season_get_or_create
from callback_office import importing as imp
from callback_office.audit import CANDIDATE_FIELDS as AUDITED_CANDIDATE_FIELDS
from callback_office.audit import record_many
from callback_office.importing import Column, ImportKind, ImportPlan, RowError

WARNINGS_SHOWN = 20


def chinese_labels(choices: type) -> dict[str, str]:
    """{"本科": "undergraduate", ...}: the Chinese labels (the msgids) of a TextChoices."""
    with translation.override("zh-hans"):
        return {str(label): value for value, label in choices.choices}


PROVINCE_SUFFIX_RE = re.compile(r"(壮族自治区|回族自治区|维吾尔自治区|特别行政区|自治区|省|市)$")


def province_name(value: Any) -> str:
    """ "四川省" → "四川", "广西壮族自治区" → "广西": one name per province in both lists."""
    name = imp.text(20)(value)
    return PROVINCE_SUFFIX_RE.sub("", name) or name


def season_for(year: int) -> Season | None:
    return Season.objects.filter(year=year).first()


def _unmatched_warnings(plan: ImportPlan, unmatched: list[dict[str, Any]], list_name: str) -> None:
    if not unmatched:
        return
    plan.details[gettext("考生号不在投档名单中")] = len(unmatched)
    for row in unmatched[:WARNINGS_SHOWN]:
        plan.warnings.append(
            gettext("第%(row)s行：考生号“%(exam_number)s”不在本年度投档名单中（%(list)s已保存，留待对账）")
            % {"row": row["row_number"], "exam_number": row["exam_number"], "list": list_name}
        )
    if len(unmatched) > WARNINGS_SHOWN:
        plan.warnings.append(
            gettext("……另有 %(n)s 行考生号不在投档名单中") % {"n": len(unmatched) - WARNINGS_SHOWN}
        )


# --- policies ------------------------------------------------------------------------------------

POLICY_FIELDS = ("withdrawable", "phones_shielded", "new_gaokao")


def policies_plan(*, season_year: int, rows: list[dict[str, Any]]) -> ImportPlan:
    plan = ImportPlan()
    season = season_for(season_year)
    existing = {p.province: p for p in ProvincePolicy.objects.filter(season=season)} if season else {}
    to_create: list[ProvincePolicy] = []
    to_update: list[ProvincePolicy] = []
    for row in rows:
        values = {f: row[f] for f in POLICY_FIELDS}
        policy = existing.get(row["province"])
        if policy is None:
            to_create.append(ProvincePolicy(province=row["province"], **values))
        elif imp.changed_fields(policy, values):
            to_update.append(policy)
        else:
            plan.unchanged += 1
    plan.created, plan.updated = len(to_create), len(to_update)

    def write() -> None:
        season, _ = season_get_or_create(year=season_year)
        for policy in to_create:
            policy.season = season
        ProvincePolicy.objects.bulk_create(to_create, batch_size=imp.BATCH_SIZE)
        ProvincePolicy.objects.bulk_update(to_update, list(POLICY_FIELDS), batch_size=imp.BATCH_SIZE)

    plan.write = write
    return plan


# --- candidates ----------------------------------------------------------------------------------

CANDIDATE_FIELDS = (
    "name",
    "id_number",
    "province_id",
    "level",
    "admission_type",
    "batch",
    "major",
    "preference_order",
    "high_school",
    "address",
)
UPDATE_BATCH = 1000


def candidates_plan(*, season_year: int, rows: list[dict[str, Any]]) -> ImportPlan:
    plan = ImportPlan()
    season = season_for(season_year)
    provinces = (
        dict(ProvincePolicy.objects.filter(season=season).values_list("province", "id")) if season else {}
    )
    # exam_number → (id, *CANDIDATE_FIELDS) of the file's numbers only (one query, never the whole season)
    existing: dict[str, tuple] = {}
    known_phones: set[tuple[int, str]] = set()
    if season is not None:
        existing = {
            values[0]: values[1:]
            for values in imp.existing_by_key(
                Candidate.objects.filter(season=season), "exam_number", (r["exam_number"] for r in rows)
            ).values_list("exam_number", "id", *CANDIDATE_FIELDS)
        }
        if existing:
            known_phones = set(
                imp.existing_by_key(
                    CandidatePhone.objects.filter(candidate__season=season),
                    "candidate_id",
                    (values[0] for values in existing.values()),
                ).values_list("candidate_id", "number")
            )

    to_create: list[dict[str, Any]] = []
    to_update: list[tuple[int, dict[str, Any], tuple, str]] = []  # id, values, old row, 考生号
    new_phones: list[tuple[str, str, str]] = []  # (exam_number, number, owner)
    for row in rows:
        province_id = provinces.get(row["province"])
        if province_id is None:
            plan.errors.append(
                RowError(
                    row["row_number"],
                    "省份",
                    f"未知省份“{row['province']}”：{season_year}年度的省份政策中没有，请先导入省份政策",
                    f"unknown province {row['province']!r}: not in the {season_year} province policies "
                    "(import the policies first)",
                )
            )
            continue
        values = {f: row[f] for f in CANDIDATE_FIELDS if f != "province_id"}
        values["province_id"] = province_id
        current = existing.get(row["exam_number"])
        candidate_id = None
        if current is None:
            to_create.append({"exam_number": row["exam_number"], **values})
        else:
            candidate_id = current[0]
            if current[1:] != tuple(values[f] for f in CANDIDATE_FIELDS):
                to_update.append((candidate_id, values, current, row["exam_number"]))
            else:
                plan.unchanged += 1
        given: set[str] = set()  # a number in both 手机 and 家长电话 is stored once, as the first
        for numbers, owner in ((row["phone"], PhoneOwner.SELF), (row["parent_phone"], PhoneOwner.PARENT)):
            for number in numbers:
                if number not in given and (candidate_id, number) not in known_phones:
                    new_phones.append((row["exam_number"], number, owner.value))
                given.add(number)
    plan.created, plan.updated = len(to_create), len(to_update)
    plan.details[gettext("新增电话")] = len(new_phones)
    if plan.errors:
        return plan

    def write() -> None:
        now = timezone.now()
        imp.fast_insert(Candidate, [{"season_id": season.pk, **values} for values in to_create])
        updated = [Candidate(id=pk, updated_at=now, **values) for pk, values, _, _ in to_update]
        Candidate.objects.bulk_update(updated, [*CANDIDATE_FIELDS, "updated_at"], batch_size=UPDATE_BATCH)
        record_many(
            Candidate,
            [(pk, exam, _audited(current, values)) for pk, values, current, exam in to_update],
        )
        if not new_phones:
            return
        ids = {exam_number: values[0] for exam_number, values in existing.items()}
        if to_create:
            created = (values["exam_number"] for values in to_create)
            ids.update(
                imp.existing_by_key(
                    Candidate.objects.filter(season=season), "exam_number", created
                ).values_list("exam_number", "id")
            )
        imp.fast_insert(
            CandidatePhone,
            [{"candidate_id": ids[e], "number": n, "owner": o, "note": ""} for e, n, o in new_phones],
        )

    plan.write = write
    return plan


# --- payments, registrations, withdrawals --------------------------------------------------------


def _snapshots(queryset, key: Any, fields: Sequence[str], keys: Iterable[str]) -> dict:
    """Existing rows as light namespaces (id + `fields`) keyed by `key(ns)`: one query, no models."""
    found = imp.existing_by_key(queryset, "exam_number", keys).values("id", *fields)
    return {key(ns): ns for ns in (SimpleNamespace(**values) for values in found)}


def _candidates_by_exam_number(season: Season | None, rows: list[dict[str, Any]], *fields: str) -> dict:
    if season is None:
        return {}
    return _snapshots(
        Candidate.objects.filter(season=season),
        lambda c: c.exam_number,
        ["exam_number", *fields],
        (r["exam_number"] for r in rows),
    )


def _save_records(
    model: type[Model], season_year: int, to_create: list[dict], to_update: list, fields: list[str]
):
    season, _ = season_get_or_create(year=season_year)
    imp.fast_insert(model, [{"season_id": season.pk, **values} for values in to_create])
    updated = [model(id=ns.id, **{f: getattr(ns, f) for f in fields}) for ns in to_update]
    model.objects.bulk_update(updated, fields, batch_size=UPDATE_BATCH)


def _touch_candidates(changed: list[SimpleNamespace], fields: list[str]) -> None:
    now = timezone.now()
    updated = [Candidate(id=ns.id, updated_at=now, **{f: getattr(ns, f) for f in fields}) for ns in changed]
    Candidate.objects.bulk_update(updated, [*fields, "updated_at"], batch_size=UPDATE_BATCH)
    # the audit trail (old → new): bulk_update sends no model signal
    record_many(Candidate, [(ns.id, ns.exam_number, ns.audit) for ns in changed])


def _candidate_changed(candidate: SimpleNamespace, values: dict[str, Any]) -> bool:
    """Set `values` on the candidate snapshot; remember old → new for the audit trail."""
    old = {f: getattr(candidate, f) for f in values}
    names = imp.changed_fields(candidate, values)
    if names:
        candidate.audit = {f: (old[f], values[f]) for f in names}
    return bool(names)


def _audited(current: tuple, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Old → new of the audited, non-personal fields of a candidate import's update."""
    old = dict(zip(CANDIDATE_FIELDS, current[1:], strict=True))
    names = {"province_id": "province"}
    return {
        names.get(f, f): (old[f], values[f])
        for f in CANDIDATE_FIELDS
        if names.get(f, f) in AUDITED_CANDIDATE_FIELDS and old[f] != values[f]
    }


def payments_plan(*, season_year: int, rows: list[dict[str, Any]]) -> ImportPlan:
    """Payment records keyed by (考生号, 缴费日期); each candidate's paid_on becomes the earliest
    recorded payment and payment_amount the sum of them (so re-imports change nothing)."""
    plan = ImportPlan()
    season = season_for(season_year)
    candidates = _candidates_by_exam_number(season, rows, "paid_on", "payment_amount")
    records: dict[tuple[str, dt.date], SimpleNamespace] = {}
    if season is not None:
        records = _snapshots(
            PaymentRecord.objects.filter(season=season),
            lambda r: (r.exam_number, r.paid_on),
            ["exam_number", "paid_on", "amount", "candidate_id"],
            (r["exam_number"] for r in rows),
        )
    to_create, to_update, unmatched = [], [], []
    for row in rows:
        candidate = candidates.get(row["exam_number"])
        if candidate is None:
            unmatched.append(row)
        values = {"amount": row["amount"], "candidate_id": candidate.id if candidate else None}
        key = (row["exam_number"], row["paid_on"])
        record = records.get(key)
        if record is None:
            new = {"exam_number": row["exam_number"], "paid_on": row["paid_on"], **values}
            records[key] = SimpleNamespace(id=None, **new)
            to_create.append(new)
        elif imp.changed_fields(record, values):
            to_update.append(record)
        else:
            plan.unchanged += 1
    plan.created, plan.updated = len(to_create), len(to_update)
    _unmatched_warnings(plan, unmatched, gettext("缴费记录"))

    totals: dict[str, tuple[dt.date, Decimal]] = {}
    for (exam_number, paid_on), record in records.items():
        if exam_number in candidates:
            first, amount = totals.get(exam_number, (paid_on, Decimal(0)))
            totals[exam_number] = (min(first, paid_on), amount + record.amount)
    changed = []
    for exam_number, (paid_on, amount) in totals.items():
        candidate = candidates[exam_number]
        if _candidate_changed(candidate, {"paid_on": paid_on, "payment_amount": amount}):
            changed.append(candidate)
    plan.details[gettext("考生缴费状态更新")] = len(changed)

    def write() -> None:
        _save_records(PaymentRecord, season_year, to_create, to_update, ["amount", "candidate_id"])
        _touch_candidates(changed, ["paid_on", "payment_amount"])

    plan.write = write
    return plan


def _dated_list_plan(
    *,
    season_year: int,
    rows: list[dict[str, Any]],
    model: type[Model],
    date_field: str,
    list_name: str,
    candidate_values: Any,
) -> ImportPlan:
    """A list with one date per 考生号 (registrations, withdrawals): records upserted by 考生号,
    the matching candidates updated with `candidate_values(date)`."""
    plan = ImportPlan()
    season = season_for(season_year)
    candidate_fields = list(candidate_values(dt.date.today()))
    candidates = _candidates_by_exam_number(season, rows, *candidate_fields)
    records = {}
    if season is not None:
        records = _snapshots(
            model.objects.filter(season=season),
            lambda r: r.exam_number,
            ["exam_number", date_field, "candidate_id"],
            (r["exam_number"] for r in rows),
        )
    to_create, to_update, unmatched, changed = [], [], [], []
    for row in rows:
        candidate = candidates.get(row["exam_number"])
        if candidate is None:
            unmatched.append(row)
        elif _candidate_changed(candidate, candidate_values(row[date_field])):
            changed.append(candidate)
        values = {date_field: row[date_field], "candidate_id": candidate.id if candidate else None}
        record = records.get(row["exam_number"])
        if record is None:
            to_create.append({"exam_number": row["exam_number"], **values})
        elif imp.changed_fields(record, values):
            to_update.append(record)
        else:
            plan.unchanged += 1
    plan.created, plan.updated = len(to_create), len(to_update)
    plan.details[gettext("考生状态更新")] = len(changed)
    _unmatched_warnings(plan, unmatched, list_name)

    def write() -> None:
        _save_records(model, season_year, to_create, to_update, [date_field, "candidate_id"])
        _touch_candidates(changed, candidate_fields)

    plan.write = write
    return plan


def registrations_plan(*, season_year: int, rows: list[dict[str, Any]]) -> ImportPlan:
    return _dated_list_plan(
        season_year=season_year,
        rows=rows,
        model=RegistrationRecord,
        date_field="registered_on",
        list_name=gettext("报到记录"),
        candidate_values=lambda day: {"enrolled_on": day},
    )


def withdrawals_plan(*, season_year: int, rows: list[dict[str, Any]]) -> ImportPlan:
    return _dated_list_plan(
        season_year=season_year,
        rows=rows,
        model=WithdrawalRecord,
        date_field="withdrawn_on",
        list_name=gettext("退档记录"),
        candidate_values=lambda day: {"withdrawn_on": day, "status": CallbackStatus.WITHDRAWN.value},
    )


# --- exports in the import format (django-import-export Resources) -----------------------------


def yes_no(value: bool) -> str:
    return imp.YES if value else imp.NO


class PolicyResource(resources.ModelResource):
    """省份政策 in the import's columns (also usable for an admin export button)."""

    province = Field(attribute="province", column_name="省份")
    withdrawable = Field(column_name="可退档")
    phones_shielded = Field(column_name="屏蔽考生电话")
    new_gaokao = Field(column_name="新高考")

    class Meta:
        model = ProvincePolicy
        fields = ("province", "withdrawable", "phones_shielded", "new_gaokao")

    def dehydrate_withdrawable(self, obj: ProvincePolicy) -> str:
        return yes_no(obj.withdrawable)

    def dehydrate_phones_shielded(self, obj: ProvincePolicy) -> str:
        return yes_no(obj.phones_shielded)

    def dehydrate_new_gaokao(self, obj: ProvincePolicy) -> str:
        return yes_no(obj.new_gaokao)


class CandidateResource(resources.ModelResource):
    """投档考生名单 in the import's columns; phones by owner, several joined with 、."""

    exam_number = Field(attribute="exam_number", column_name="考生号")
    name = Field(attribute="name", column_name="姓名")
    id_number = Field(attribute="id_number", column_name="身份证号")
    province = Field(attribute="province__province", column_name="省份")
    level = Field(column_name="层次")
    admission_type = Field(column_name="类型")
    batch = Field(attribute="batch", column_name="批次")
    major = Field(attribute="major", column_name="预录专业")
    preference_order = Field(attribute="preference_order", column_name="志愿顺序")
    high_school = Field(attribute="high_school", column_name="中学")
    phone = Field(column_name="手机")
    parent_phone = Field(column_name="家长电话")
    address = Field(attribute="address", column_name="地址")

    class Meta:
        model = Candidate
        fields = (
            "exam_number",
            "name",
            "id_number",
            "province",
            "level",
            "admission_type",
            "batch",
            "major",
            "preference_order",
            "high_school",
            "phone",
            "parent_phone",
            "address",
        )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.levels = {v: k for k, v in chinese_labels(Level).items()}
        self.types = {v: k for k, v in chinese_labels(AdmissionType).items()}

    def dehydrate_level(self, obj: Candidate) -> str:
        return self.levels.get(obj.level, obj.level)

    def dehydrate_admission_type(self, obj: Candidate) -> str:
        return self.types.get(obj.admission_type, obj.admission_type)

    def _phones(self, obj: Candidate, owners: set[str]) -> str:
        return "、".join(p.number for p in obj.phones.all() if p.owner in owners)

    def dehydrate_phone(self, obj: Candidate) -> str:
        return self._phones(obj, {PhoneOwner.SELF})

    def dehydrate_parent_phone(self, obj: Candidate) -> str:
        return self._phones(obj, {PhoneOwner.PARENT, PhoneOwner.OTHER})


class PaymentRecordResource(resources.ModelResource):
    exam_number = Field(attribute="exam_number", column_name="考生号")
    paid_on = Field(attribute="paid_on", column_name="缴费日期")
    amount = Field(attribute="amount", column_name="金额")

    class Meta:
        model = PaymentRecord
        fields = ("exam_number", "paid_on", "amount")


class RegistrationRecordResource(resources.ModelResource):
    exam_number = Field(attribute="exam_number", column_name="考生号")
    registered_on = Field(attribute="registered_on", column_name="报到日期")

    class Meta:
        model = RegistrationRecord
        fields = ("exam_number", "registered_on")


class WithdrawalRecordResource(resources.ModelResource):
    exam_number = Field(attribute="exam_number", column_name="考生号")
    withdrawn_on = Field(attribute="withdrawn_on", column_name="退档日期")

    class Meta:
        model = WithdrawalRecord
        fields = ("exam_number", "withdrawn_on")


def _exporter(resource: type[resources.ModelResource], queryset: Any) -> Any:
    return lambda season_year: resource().export(queryset=queryset(season_year))


# --- registration -------------------------------------------------------------------------------

EXAM_NUMBER = Column("考生号", "exam_number", imp.text(32), example="23510101000001", hint="文本")
DATE_HINT = "Excel 日期或 YYYY-MM-DD"


def register() -> None:
    levels = chinese_labels(Level)
    types = chinese_labels(AdmissionType)
    yes_no_hint = "是/否"
    imp.register_kind(
        ImportKind(
            name="policies",
            title="省份政策",
            order=10,
            key=("province",),
            plan=policies_plan,
            exporter=_exporter(PolicyResource, lambda y: ProvincePolicy.objects.filter(season__year=y)),
            columns=(
                Column("省份", "province", province_name, example="四川", hint="如 四川、广西"),
                Column("可退档", "withdrawable", imp.yes_no, example="否", hint=yes_no_hint),
                Column("屏蔽考生电话", "phones_shielded", imp.yes_no, example="否", hint=yes_no_hint),
                Column("新高考", "new_gaokao", imp.yes_no, example="是", hint=yes_no_hint),
            ),
        )
    )
    imp.register_kind(
        ImportKind(
            name="candidates",
            title="投档考生名单",
            order=30,
            key=("exam_number",),
            plan=candidates_plan,
            exporter=_exporter(
                CandidateResource,
                lambda y: (
                    Candidate.objects.filter(season__year=y)
                    .select_related("province")
                    .prefetch_related("phones")
                    .order_by("exam_number")
                ),
            ),
            columns=(
                EXAM_NUMBER,
                Column("姓名", "name", imp.text(64), example="张三"),
                Column(
                    "身份证号",
                    "id_number",
                    imp.id_number,
                    required=False,
                    default="",
                    example="510101200501011234",
                    hint="18位，以文本格式填写",
                ),
                Column("省份", "province", province_name, example="四川", hint="须已在省份政策中"),
                Column("层次", "level", imp.choice(levels), example="本科", hint="/".join(levels)),
                Column(
                    "类型",
                    "admission_type",
                    imp.choice(types),
                    required=False,
                    default=AdmissionType.GENERAL.value,
                    example="普通类",
                    hint="/".join(types) + "，空白为普通类",
                ),
                Column("批次", "batch", imp.text(64), required=False, default="", example="本科一批"),
                Column(
                    "预录专业", "major", imp.text(128), required=False, default="", example="计算机科学与技术"
                ),
                Column(
                    "志愿顺序", "preference_order", imp.positive_int, required=False, example=1, hint="正整数"
                ),
                Column("中学", "high_school", imp.text(128), required=False, default="", example="成都七中"),
                Column(
                    "手机",
                    "phone",
                    imp.phones,
                    required=False,
                    default=[],
                    example="13800000001",
                    hint="考生本人；多个号码用、分隔",
                ),
                Column(
                    "家长电话",
                    "parent_phone",
                    imp.phones,
                    required=False,
                    default=[],
                    example="13900000002",
                    hint="多个号码用、分隔",
                ),
                Column(
                    "地址",
                    "address",
                    imp.text(255),
                    required=False,
                    default="",
                    example="四川省成都市青羊区某街1号",
                ),
            ),
        )
    )
    imp.register_kind(
        ImportKind(
            name="payments",
            title="缴费名单",
            order=40,
            key=("exam_number", "paid_on"),
            plan=payments_plan,
            exporter=_exporter(PaymentRecordResource, lambda y: PaymentRecord.objects.filter(season__year=y)),
            columns=(
                EXAM_NUMBER,
                Column("缴费日期", "paid_on", imp.date, example="2023-08-01", hint=DATE_HINT),
                Column("金额", "amount", imp.money, example=Decimal("5000.00"), hint="元"),
            ),
        )
    )
    imp.register_kind(
        ImportKind(
            name="registrations",
            title="报到名单",
            order=50,
            key=("exam_number",),
            plan=registrations_plan,
            exporter=_exporter(
                RegistrationRecordResource, lambda y: RegistrationRecord.objects.filter(season__year=y)
            ),
            columns=(
                EXAM_NUMBER,
                Column("报到日期", "registered_on", imp.date, example="2023-09-08", hint=DATE_HINT),
            ),
        )
    )
    imp.register_kind(
        ImportKind(
            name="withdrawals",
            title="退档名单",
            order=60,
            key=("exam_number",),
            plan=withdrawals_plan,
            exporter=_exporter(
                WithdrawalRecordResource, lambda y: WithdrawalRecord.objects.filter(season__year=y)
            ),
            columns=(
                EXAM_NUMBER,
                Column("退档日期", "withdrawn_on", imp.date, example="2023-07-20", hint=DATE_HINT),
            ),
        )
    )


register()
