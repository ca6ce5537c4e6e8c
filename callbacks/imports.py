"""Import kinds of the callbacks app: the roster (回访人员名单) and attendance (考勤), plus the
optional 回访员工号 column of the candidate list (pre-assignment). Registered from
CallbacksConfig.ready(); run through callback_office.importing.

Roster rules:
- 工号 is the login name: a User is created (unusable password until its owner sets one through
  the office's set-password link, callbacks/accounts.py) or renamed, and a Caller profile for the
  season is created or updated.
- 小组 names the caller's team (created on first sight; "督查组" / "突击组" get those kinds).
  For a supervisor (是否督查=是) 小组 lists the teams they supervise (several separated by 、),
  and the supervisor has no team of their own.
- Roles are Django groups named after callback_office.roles.Role: everyone on the roster but
  supervisors is a caller; 是否组长 → leader (and the team's leader), 是否督查 → supervisor,
  是否突击组 → strike. The roster keeps these four groups in step for the people it lists; the
  office role is never touched.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group, User
from django.utils import timezone
from django.utils.translation import gettext
from import_export import resources
from import_export.fields import Field

from admissions.imports import WARNINGS_SHOWN, chinese_labels, season_for, yes_no
from admissions.models import Candidate
from admissions.services import season_get_or_create
from callback_office import importing as imp
from callback_office.audit import record_assignments_created, record_many
from callback_office.importing import CellError, Column, ImportKind, ImportPlan, KindExtension, RowError
from callback_office.roles import Role
from callbacks.choices import AssignmentSource, CallerKind, QualificationStatus, TeamKind
from callbacks.models import (
    TEAM_SIZE_MAX,
    TEAM_SIZE_MIN,
    Assignment,
    Attendance,
    Caller,
    Team,
    team_default_sort_order,
)

MANAGED_ROLES = (Role.CALLER, Role.LEADER, Role.SUPERVISOR, Role.STRIKE)
SPECIAL_TEAMS = {"督查组": TeamKind.SUPERVISION, "突击组": TeamKind.STRIKE}
TEAM_SPLIT_RE = re.compile(r"[,，;；、/]+")
CALLER_FIELDS = (
    "name",
    "kind",
    "department",
    "phone",
    "is_supervisor",
    "is_strike",
    "prev_undergrad_rate",
    "prev_junior_rate",
    "prev_excellent",
)


def team_names(value: Any) -> list[str]:
    names = []
    for part in TEAM_SPLIT_RE.split(imp.text(255)(value)):
        name = part.strip()
        if len(name) > 64:
            raise CellError(
                f"小组名称超过 64 个字符：“{name}”", f"team name longer than 64 characters: {name!r}"
            )
        if name and name not in names:
            names.append(name)
    return names


def unknown_staff_no(row_number: int, column: str, staff_no: str, season_year: int) -> RowError:
    return RowError(
        row_number,
        column,
        f"未知工号“{staff_no}”：{season_year}年度回访人员名单中没有，请先导入回访人员名单",
        f"unknown staff number {staff_no!r}: not on the {season_year} roster (import the roster first)",
    )


def unqualified_caller(row_number: int, column: str, caller: Caller) -> RowError:
    """Pre-assignment to a caller whose qualification review is pending or rejected (资格审查)."""
    if caller.qualification_status == QualificationStatus.REJECTED:
        zh, en = "资格审查未通过", "failed the qualification review"
    else:
        zh, en = "尚未完成资格审查", "has not been through the qualification review yet"
    return RowError(
        row_number,
        column,
        f"回访员“{caller.staff_no}”{zh}，不能预分配考生：请先完成资格审查，或改填已通过审查的回访员",
        f"caller {caller.staff_no!r} {en} and cannot be pre-assigned candidates: "
        "review the caller first, or name a qualified caller",
    )


# --- roster --------------------------------------------------------------------------------------


def _roster_row_errors(rows: list[dict[str, Any]], existing_teams: set[str]) -> list[RowError]:
    errors = []
    member_teams = {r["teams"][0] for r in rows if not r["is_supervisor"] and len(r["teams"]) == 1}
    leaders: dict[str, int] = {}
    for row in rows:
        n = row["row_number"]
        if row["is_supervisor"]:
            if row["is_leader"]:
                errors.append(
                    RowError(
                        n,
                        "是否组长",
                        "督查人员不能同时是组长（督查在“小组”填写所督查的小组）",
                        "a supervisor cannot also be a team leader",
                    )
                )
            for name in row["teams"]:
                if name not in member_teams and name not in existing_teams:
                    errors.append(
                        RowError(
                            n,
                            "小组",
                            f"督查的小组“{name}”不存在（名单中没有该组的组员）",
                            f"supervised team {name!r} does not exist (no members on the roster)",
                        )
                    )
            continue
        if len(row["teams"]) != 1:
            errors.append(RowError(n, "小组", "应填写且只填写一个小组", "exactly one team is required"))
            continue
        if row["is_leader"]:
            team = row["teams"][0]
            if team in leaders:
                errors.append(
                    RowError(
                        n,
                        "是否组长",
                        f"小组“{team}”已有组长（第{leaders[team]}行）",
                        f"team {team!r} already has a leader (row {leaders[team]})",
                    )
                )
            else:
                leaders[team] = n
    return errors


def roles_for(row: dict[str, Any]) -> set[str]:
    roles = set()
    if not row["is_supervisor"]:
        roles.add(Role.CALLER.value)
    if row["is_leader"]:
        roles.add(Role.LEADER.value)
    if row["is_supervisor"]:
        roles.add(Role.SUPERVISOR.value)
    if row["is_strike"]:
        roles.add(Role.STRIKE.value)
    return roles


def roster_plan(*, season_year: int, rows: list[dict[str, Any]]) -> ImportPlan:
    plan = ImportPlan()
    season = season_for(season_year)
    teams = {t.name: t for t in Team.objects.filter(season=season)} if season else {}
    plan.errors = _roster_row_errors(rows, set(teams))
    if plan.errors:
        return plan
    staff_nos = [r["staff_no"] for r in rows]
    users = {u.username: u for u in imp.existing_by_key(User.objects.all(), "username", staff_nos)}
    # what the roster also keeps in step: roles (groups) and supervised teams
    current_roles: dict[str, set[str]] = defaultdict(set)
    for username, role in imp.existing_by_key(
        User.groups.through.objects.filter(group__name__in=[r.value for r in MANAGED_ROLES]),
        "user__username",
        staff_nos,
    ).values_list("user__username", "group__name"):
        current_roles[username].add(role)
    current_supervised: dict[str, set[str]] = defaultdict(set)
    if season is not None:
        for staff_no, team_name in Team.supervisors.through.objects.filter(team__season=season).values_list(
            "caller__staff_no", "team__name"
        ):
            current_supervised[staff_no].add(team_name)
    callers = (
        {
            c.staff_no: c
            for c in imp.existing_by_key(Caller.objects.filter(season=season), "staff_no", staff_nos)
        }
        if season
        else {}
    )
    team_name_by_id = {t.pk: name for name, t in teams.items()}

    new_users = [r for r in rows if r["staff_no"] not in users]
    renamed_users = []
    for row in rows:
        user = users.get(row["staff_no"])
        if user is not None and user.first_name != row["name"]:
            user.first_name = row["name"]
            renamed_users.append(user)
    new_team_names = sorted(
        {r["teams"][0] for r in rows if not r["is_supervisor"]} - set(teams),
        key=lambda n: (team_default_sort_order(n, SPECIAL_TEAMS.get(n, TeamKind.REGULAR)), n),
    )

    to_create: list[tuple[dict, Caller]] = []
    to_update: list[tuple[dict, Caller]] = []
    for row in rows:
        values = {f: row[f] for f in CALLER_FIELDS}
        caller = callers.get(row["staff_no"])
        own_team = None if row["is_supervisor"] else row["teams"][0]
        if caller is None:
            to_create.append((row, Caller(staff_no=row["staff_no"], **values)))
            continue
        changed = imp.changed_fields(caller, values)
        if team_name_by_id.get(caller.team_id) != own_team:
            changed.append("team")
        if roles_for(row) != current_roles[row["staff_no"]]:
            changed.append("roles")
        if row["is_supervisor"] and set(row["teams"]) != current_supervised[row["staff_no"]]:
            changed.append("supervised teams")
        if changed:
            to_update.append((row, caller))
        else:
            plan.unchanged += 1
    plan.created, plan.updated = len(to_create), len(to_update)
    plan.details[gettext("新建账号")] = len(new_users)
    plan.details[gettext("新建小组")] = len(new_team_names)

    sizes = Counter(r["teams"][0] for r in rows if not r["is_supervisor"])
    for name, size in sorted(sizes.items()):
        kind = teams[name].kind if name in teams else SPECIAL_TEAMS.get(name, TeamKind.REGULAR)
        if kind == TeamKind.REGULAR and not TEAM_SIZE_MIN <= size <= TEAM_SIZE_MAX:
            plan.warnings.append(
                gettext("小组“%(team)s”名单中有 %(n)s 人，通常为 %(min)s–%(max)s 人")
                % {"team": name, "n": size, "min": TEAM_SIZE_MIN, "max": TEAM_SIZE_MAX}
            )

    def write() -> None:
        season, _ = season_get_or_create(year=season_year)
        # users
        created_users = [User(username=r["staff_no"], first_name=r["name"]) for r in new_users]
        for user in created_users:
            user.set_unusable_password()
        User.objects.bulk_create(created_users, batch_size=imp.BATCH_SIZE)
        User.objects.bulk_update(renamed_users, ["first_name"], batch_size=imp.BATCH_SIZE)
        user_ids = {u.username: u.pk for u in (*users.values(), *created_users)}
        if any(u.pk is None for u in created_users):
            user_ids.update(User.objects.filter(username__in=staff_nos).values_list("username", "id"))
        # teams
        created_teams = []
        for n in new_team_names:
            kind = SPECIAL_TEAMS.get(n, TeamKind.REGULAR)
            created_teams.append(
                Team(season=season, name=n, kind=kind, sort_order=team_default_sort_order(n, kind))
            )
        Team.objects.bulk_create(created_teams)
        all_teams = {**teams, **{t.name: t for t in created_teams}}
        if any(t.pk is None for t in created_teams):
            all_teams = {t.name: t for t in Team.objects.filter(season=season)}
        # callers
        for row, caller in (*to_create, *to_update):
            caller.season = season
            caller.user_id = user_ids[row["staff_no"]]
            caller.team = None if row["is_supervisor"] else all_teams[row["teams"][0]]
        Caller.objects.bulk_create([c for _, c in to_create], batch_size=imp.BATCH_SIZE)
        Caller.objects.bulk_update([c for _, c in to_update], [*CALLER_FIELDS, "team"], batch_size=500)
        caller_ids = {c.staff_no: c.pk for c in (*callers.values(), *(c for _, c in to_create))}
        if any(c.pk is None for _, c in to_create):
            caller_ids.update(Caller.objects.filter(season=season).values_list("staff_no", "id"))
        _write_leaders(rows, all_teams, caller_ids)
        _write_supervised_teams(season, rows, all_teams, caller_ids)
        _write_groups(rows, user_ids)

    plan.write = write
    return plan


def _write_leaders(rows: list[dict], teams: dict[str, Team], caller_ids: dict[str, int]) -> None:
    listed = {caller_ids[r["staff_no"]] for r in rows}
    leader_of = {r["teams"][0]: caller_ids[r["staff_no"]] for r in rows if r["is_leader"]}
    changed = []
    for name in {r["teams"][0] for r in rows if not r["is_supervisor"]}:
        team = teams[name]
        leader_id = leader_of.get(name)
        if leader_id is None and team.leader_id is not None and team.leader_id not in listed:
            continue  # a leader set elsewhere and not on this list stays
        if team.leader_id != leader_id:
            team.leader_id = leader_id
            changed.append(team)
    Team.objects.bulk_update(changed, ["leader"])


def _write_supervised_teams(
    season, rows: list[dict], teams: dict[str, Team], caller_ids: dict[str, int]
) -> None:
    Through = Team.supervisors.through
    supervisors = {caller_ids[r["staff_no"]]: r for r in rows if r["is_supervisor"]}
    listed = {caller_ids[r["staff_no"]] for r in rows}
    wanted = {(teams[name].pk, cid) for cid, r in supervisors.items() for name in r["teams"]}
    existing = {
        (t, c): pk
        for pk, t, c in Through.objects.filter(team__season=season).values_list("id", "team_id", "caller_id")
    }
    stale = [pk for (t, c), pk in existing.items() if c in listed and (t, c) not in wanted]
    if stale:
        Through.objects.filter(id__in=stale).delete()
    Through.objects.bulk_create(
        [Through(team_id=t, caller_id=c) for t, c in wanted if (t, c) not in existing]
    )


def _write_groups(rows: list[dict], user_ids: dict[str, int]) -> None:
    names = [r.value for r in MANAGED_ROLES]
    groups = {g.name: g.pk for g in Group.objects.filter(name__in=names)}
    missing = [Group(name=n) for n in names if n not in groups]
    if missing:
        Group.objects.bulk_create(missing)
        groups = {g.name: g.pk for g in Group.objects.filter(name__in=names)}
    Through = User.groups.through
    wanted = {(user_ids[r["staff_no"]], groups[role]) for r in rows for role in roles_for(r)}
    existing = {
        (u, g): pk
        for pk, u, g in Through.objects.filter(
            user_id__in=set(user_ids.values()), group_id__in=groups.values()
        ).values_list("id", "user_id", "group_id")
    }
    stale = [pk for key, pk in existing.items() if key not in wanted]
    if stale:
        Through.objects.filter(id__in=stale).delete()
    Through.objects.bulk_create([Through(user_id=u, group_id=g) for u, g in wanted if (u, g) not in existing])


# --- attendance ----------------------------------------------------------------------------------


def attendance_plan(*, season_year: int, rows: list[dict[str, Any]]) -> ImportPlan:
    plan = ImportPlan()
    season = season_for(season_year)
    staff_nos = {r["staff_no"] for r in rows}
    callers = (
        dict(
            imp.existing_by_key(Caller.objects.filter(season=season), "staff_no", staff_nos).values_list(
                "staff_no", "id"
            )
        )
        if season
        else {}
    )
    for row in rows:
        if row["staff_no"] not in callers:
            plan.errors.append(unknown_staff_no(row["row_number"], "工号", row["staff_no"], season_year))
    if plan.errors:
        return plan
    existing = set(
        imp.existing_by_key(
            Attendance.objects.filter(caller__season=season), "caller_id", callers.values()
        ).values_list("caller_id", "day")
    )
    to_create = []
    for row in rows:
        key = (callers[row["staff_no"]], row["day"])
        if key in existing:
            plan.unchanged += 1
        else:
            to_create.append(Attendance(caller_id=key[0], day=key[1]))
    plan.created = len(to_create)

    def write() -> None:
        Attendance.objects.bulk_create(to_create, batch_size=imp.BATCH_SIZE)

    plan.write = write
    return plan


# --- candidates: 回访员工号 pre-assignment -------------------------------------------------------

REASSIGNED = "名单重新分配"


def preassignment_plan(*, season_year: int, rows: list[dict[str, Any]]) -> ImportPlan:
    """Candidates with a 回访员工号 get an active Assignment(source="import") to that caller.

    An earlier import assignment to another caller is ended and replaced; an assignment made
    another way (office, pool, report ...) is left alone with a warning.
    """
    plan = ImportPlan()
    wanted_rows = [r for r in rows if r.get("caller_staff_no")]
    if not wanted_rows:
        return plan
    season = season_for(season_year)
    callers = (
        {
            c.staff_no: c
            for c in imp.existing_by_key(
                Caller.objects.filter(season=season).only("staff_no", "qualification_status"),
                "staff_no",
                (r["caller_staff_no"] for r in wanted_rows),
            )
        }
        if season
        else {}
    )
    for row in wanted_rows:
        caller = callers.get(row["caller_staff_no"])
        if caller is None:
            plan.errors.append(
                unknown_staff_no(row["row_number"], "回访员工号", row["caller_staff_no"], season_year)
            )
        elif not caller.qualified:
            plan.errors.append(unqualified_caller(row["row_number"], "回访员工号", caller))
    if plan.errors:
        return plan
    active = {
        a["candidate__exam_number"]: a
        for a in imp.existing_by_key(
            Assignment.objects.filter(active=True, candidate__season=season),
            "candidate__exam_number",
            (r["exam_number"] for r in wanted_rows),
        ).values("id", "caller_id", "source", "candidate__exam_number")
    }
    to_end: list[int] = []
    to_assign: list[tuple[str, int]] = []
    kept_elsewhere = []
    unchanged = 0
    for row in wanted_rows:
        caller_id = callers[row["caller_staff_no"]].pk
        current = active.get(row["exam_number"])
        if current is None:
            to_assign.append((row["exam_number"], caller_id))
        elif current["caller_id"] == caller_id:
            unchanged += 1
        elif current["source"] == AssignmentSource.IMPORT:
            to_end.append(current["id"])
            to_assign.append((row["exam_number"], caller_id))
        else:
            kept_elsewhere.append(row)
    plan.details[gettext("新预分配")] = len(to_assign)
    plan.details[gettext("预分配未变")] = unchanged
    for row in kept_elsewhere[:WARNINGS_SHOWN]:
        plan.warnings.append(
            gettext("第%(row)s行：考生已由其他方式分配给回访员，保持原分配") % {"row": row["row_number"]}
        )

    def write() -> None:
        now = timezone.now()
        if to_end:
            Assignment.objects.filter(id__in=to_end).update(
                active=False, ended_at=now, ended_reason=REASSIGNED
            )
            ended = {"active": (True, False), "ended_reason": ("", REASSIGNED)}
            record_many(Assignment, [(pk, f"#{pk}", ended) for pk in to_end])
        ids = dict(
            imp.existing_by_key(
                Candidate.objects.filter(season__year=season_year), "exam_number", (e for e, _ in to_assign)
            ).values_list("exam_number", "id")
        )
        created = Assignment.objects.bulk_create(
            [
                Assignment(candidate_id=ids[e], caller_id=c, source=AssignmentSource.IMPORT)
                for e, c in to_assign
            ],
            batch_size=imp.BATCH_SIZE,
        )
        record_assignments_created(created)
        # Assigned candidates leave the pool (the claim relies on the flag).
        Candidate.objects.filter(id__in=[a.candidate_id for a in created], in_pool=True).update(
            in_pool=False, updated_at=now
        )

    plan.write = write
    return plan


# --- exports in the import format (django-import-export Resources) -----------------------------


def percent_text(value: Decimal | None) -> str:
    return "" if value is None else f"{(value * 100).normalize():f}%"


class RosterResource(resources.ModelResource):
    """回访人员名单 in the import's columns: exporting, editing and re-importing round-trips."""

    staff_no = Field(attribute="staff_no", column_name="工号")
    name = Field(attribute="name", column_name="姓名")
    kind = Field(column_name="身份")
    department = Field(attribute="department", column_name="部门")
    teams = Field(column_name="小组")
    is_leader = Field(column_name="是否组长")
    is_supervisor = Field(column_name="是否督查")
    is_strike = Field(column_name="是否突击组")
    prev_undergrad_rate = Field(column_name="上年本科报到率")
    prev_junior_rate = Field(column_name="上年专科报到率")
    prev_excellent = Field(column_name="上年优秀个人")
    phone = Field(attribute="phone", column_name="手机")

    class Meta:
        model = Caller
        fields = (
            "staff_no",
            "name",
            "kind",
            "department",
            "teams",
            "is_leader",
            "is_supervisor",
            "is_strike",
            "prev_undergrad_rate",
            "prev_junior_rate",
            "prev_excellent",
            "phone",
        )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kinds = {v: k for k, v in chinese_labels(CallerKind).items()}

    def dehydrate_kind(self, obj: Caller) -> str:
        return self.kinds.get(obj.kind, obj.kind)

    def dehydrate_teams(self, obj: Caller) -> str:
        if obj.is_supervisor:
            teams = sorted(obj.supervised_teams.all(), key=lambda t: (t.sort_order, t.pk))
            return "、".join(t.name for t in teams)
        return obj.team.name if obj.team else ""

    def dehydrate_is_leader(self, obj: Caller) -> str:
        return yes_no(any(t.pk == obj.team_id for t in obj.led_teams.all()))

    def dehydrate_is_supervisor(self, obj: Caller) -> str:
        return yes_no(obj.is_supervisor)

    def dehydrate_is_strike(self, obj: Caller) -> str:
        return yes_no(obj.is_strike)

    def dehydrate_prev_undergrad_rate(self, obj: Caller) -> str:
        return percent_text(obj.prev_undergrad_rate)

    def dehydrate_prev_junior_rate(self, obj: Caller) -> str:
        return percent_text(obj.prev_junior_rate)

    def dehydrate_prev_excellent(self, obj: Caller) -> str:
        return yes_no(obj.prev_excellent)


class AttendanceResource(resources.ModelResource):
    staff_no = Field(attribute="caller__staff_no", column_name="工号")
    day = Field(attribute="day", column_name="日期")

    class Meta:
        model = Attendance
        fields = ("staff_no", "day")


def export_roster(season_year: int) -> Any:
    callers = (
        Caller.objects.filter(season__year=season_year)
        .select_related("team")
        .prefetch_related("led_teams", "supervised_teams")
        .order_by("staff_no")
    )
    return RosterResource().export(queryset=callers)


def export_attendance(season_year: int) -> Any:
    days = Attendance.objects.filter(caller__season__year=season_year).select_related("caller")
    return AttendanceResource().export(queryset=days.order_by("caller__staff_no", "day"))


# --- registration -------------------------------------------------------------------------------

STAFF_NO = Column("工号", "staff_no", imp.text(32), example="T1001")


def register() -> None:
    kinds = chinese_labels(CallerKind)
    flag = {"required": False, "default": False, "hint": "是/否，空白为否"}
    rate_hint = "百分比，如 97.5% 或 0.975；可空"
    imp.register_kind(
        ImportKind(
            name="roster",
            title="回访人员名单",
            order=20,
            key=("staff_no",),
            plan=roster_plan,
            exporter=export_roster,
            columns=(
                STAFF_NO,
                Column("姓名", "name", imp.text(64), example="张老师"),
                Column("身份", "kind", imp.choice(kinds), example="教师", hint="/".join(kinds)),
                Column("部门", "department", imp.text(128), required=False, default="", example="招生办"),
                Column(
                    "小组",
                    "teams",
                    team_names,
                    required=False,
                    default=[],
                    example="第一组",
                    hint="所在小组；督查填写所督查的小组，多个用、分隔",
                ),
                Column("是否组长", "is_leader", imp.yes_no, example="否", **flag),
                Column("是否督查", "is_supervisor", imp.yes_no, example="否", **flag),
                Column("是否突击组", "is_strike", imp.yes_no, example="否", **flag),
                Column(
                    "上年本科报到率",
                    "prev_undergrad_rate",
                    imp.rate,
                    required=False,
                    example=Decimal("0.975"),
                    hint=rate_hint,
                ),
                Column(
                    "上年专科报到率",
                    "prev_junior_rate",
                    imp.rate,
                    required=False,
                    example=Decimal("0.95"),
                    hint=rate_hint,
                ),
                Column("上年优秀个人", "prev_excellent", imp.yes_no, example="否", **flag),
                Column("手机", "phone", imp.phone, required=False, default="", example="13800000000"),
            ),
        )
    )
    imp.register_kind(
        ImportKind(
            name="attendance",
            title="考勤",
            order=70,
            key=("staff_no", "day"),
            plan=attendance_plan,
            exporter=export_attendance,
            columns=(
                STAFF_NO,
                Column("日期", "day", imp.date, example="2023-07-15", hint="Excel 日期或 YYYY-MM-DD"),
            ),
        )
    )
    imp.register_extension(
        "candidates",
        KindExtension(
            columns=(
                Column(
                    "回访员工号",
                    "caller_staff_no",
                    imp.text(32),
                    required=False,
                    optional_header=True,
                    default="",
                    example="T1001",
                    hint="可选：预分配给该回访员",
                ),
            ),
            plan=preassignment_plan,
        ),
    )


register()
