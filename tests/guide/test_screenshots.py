"""The user guide's screenshots (docs/guide/img/<role>-<screen>.png), taken in a real browser.

One small demo season (the demo generator with the apps' seeders, plus a payout run and a
withdrawal request with its material), one chromium, every screen a role uses opened as that
role: each page must answer 200 and show its Chinese heading before it is shot. At the end every
image the guide's Markdown references must exist and have been written by this run, and every
image in docs/guide/img/ must be referenced (no stale screenshots).

The test writes its PNGs to a temporary directory, so that running the suite leaves the
repository as it was. After changing a screen, refresh the guide's images and commit them with the
change: `UPDATE_GUIDE_SCREENSHOTS=1 .venv/bin/python -m pytest tests/guide`.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from PIL import Image
from playwright.sync_api import expect

from admissions.choices import CallbackStatus
from admissions.models import Candidate, Discrepancy, DiscrepancyKind, PiiField, ReconciliationRun
from admissions.services import pii_access_record
from callback_office.excel import SheetWriter, new_workbook, save_workbook
from callbacks import accounts, casework_services
from callbacks.casework_models import MaterialKind, StrikeCase, StrikeCaseStatus, WithdrawalRequest
from callbacks.demo import DemoOptions, demo_logins, demo_season_generate
from callbacks.models import Caller, ContactLog
from reports.models import WeeklyReport
from subsidies.models import Inquiry
from subsidies.services import payout_run_create
from supervision import services as supervision_services
from supervision.choices import FindingCategory, Severity
from supervision.models import AuditItem, AuditSample, Finding

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide"
IMG = GUIDE / "img"
IMAGE_REF = re.compile(r"\]\((img/[^)\s]+\.png)\)")
SEASON = DemoOptions(candidates=1000, callers=20, teams=2, year=2023, seed=42, previous_season=False)
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass(frozen=True)
class Shot:
    who: str  # the role whose guide page shows it: caller, leader, supervisor, strike, office, index
    screen: str
    url: str
    heading: str  # text of an h1/h2 that the page must show
    full: bool = False  # up to FULL_HEIGHT pixels instead of the first screen
    upload: tuple[str, bytes] | None = None  # (import kind, xlsx): submit the page's upload form

    @property
    def file_name(self) -> str:
        return f"{self.who}-{self.screen}.png"


FULL_HEIGHT = 1600
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _photo(name: str = "退档申请.png") -> SimpleUploadedFile:
    """A stand-in for the photo of a signed withdrawal letter + ID card + exam ticket."""
    from PIL import ImageDraw

    image = Image.new("RGB", (320, 200), (240, 236, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 150, 190), outline=(40, 40, 40), width=3)
    draw.rectangle((170, 10, 310, 95), outline=(40, 40, 120), width=3)
    draw.rectangle((170, 105, 310, 190), outline=(120, 40, 40), width=3)
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/png")


def build_world() -> tuple[dict[str, User], list[Shot]]:
    """The demo season and, for each role, the screens of its guide page."""
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        demo_season_generate(options=SEASON)
    logins = {login.role: login.username for login in demo_logins(year=SEASON.year)}
    users = {role.value: User.objects.get(username=name) for role, name in logins.items()}
    leader = Caller.objects.select_related("team").get(user=users["leader"], season__year=SEASON.year)
    strike = Caller.objects.get(user=users["strike"], season__year=SEASON.year)
    season = leader.season
    # the caller: a member of the leader's team with a withdrawal request under way (退档申请),
    # else the demo's caller, who opens one for a candidate of a withdrawable province
    withdrawal = (
        WithdrawalRequest.objects.filter(caller__team=leader.team)
        .exclude(caller=leader)
        .select_related("caller__user")
        .order_by("id")
        .first()
    )
    if withdrawal is not None:
        caller = withdrawal.caller
        users["caller"] = caller.user
    else:
        caller = Caller.objects.get(user=users["caller"], season=season)
        target = (
            Candidate.objects.filter(assignments__caller=caller, assignments__active=True)
            .filter(province__withdrawable=True, enrolled_on__isnull=True, withdrawn_on__isnull=True)
            .exclude(status__in=[CallbackStatus.WITHDRAWN, CallbackStatus.WITHDRAWAL_REQUESTED])
            .order_by("id")
            .first()
        )
        withdrawal = casework_services.withdrawal_open(
            candidate=target, user=caller.user, note="考生想复读，家长同意退档"
        )
    if not withdrawal.materials.exists():
        casework_services.withdrawal_material_add(
            request=withdrawal, kind=MaterialKind.COMBINED, upload=_photo(), user=caller.user
        )
    # the caller's most-called candidate still to come
    mine = Candidate.objects.filter(assignments__caller=caller, assignments__active=True)
    candidate = mine.filter(enrolled_on__isnull=True).order_by("-contact_count", "id").first() or mine.first()
    contact = ContactLog.objects.filter(candidate=candidate).order_by("-contacted_at").first()
    supervision_services.attachment_add(
        contact_log=contact, upload=_photo("微信聊天截图.png"), user=caller.user
    )
    # a candidate still to be escalated to the strike team (转突击组)
    to_escalate = (
        mine.filter(enrolled_on__isnull=True, strike_cases__isnull=True, status=CallbackStatus.UNREACHABLE)
        .order_by("-contact_count", "id")
        .first()
        or candidate
    )

    office = users["office"]
    run = payout_run_create(season=season, user=office)
    payout_run_create(season=season, user=office)  # a second run: the comparison page
    line = run.lines.filter(person=caller).first()
    if line is not None:
        Inquiry.objects.create(run=run, line=line, person=caller, question="报到人数少算了一人？")
    latest_run = season.payout_runs.order_by("-number").first()

    strike_case = (
        StrikeCase.objects.filter(holder=strike).first()
        or StrikeCase.objects.filter(status=StrikeCaseStatus.APPROVED).first()
    )
    sample = (
        AuditSample.objects.filter(season=season, supervisor__user=users["supervisor"]).order_by("id").first()
    )
    item = AuditItem.objects.filter(sample=sample).order_by("id").first()
    finding = Finding.objects.filter(team=leader.team).order_by("id").first()
    # a finding on one of the caller's sampled calls (我的整改), if the sample drew one
    own = AuditItem.objects.filter(sample=sample, contact_log__caller=caller, scores__isnull=True).first()
    if own is not None:
        card = supervision_services.scorecard_current(season=season)
        marks = {str(c.id): c.max_points for c in card.criteria.all()}
        supervision_services.audit_score_submit(item=own, supervisor=sample.supervisor, marks=marks)
        supervision_services.finding_create(
            item=own,
            author=sample.supervisor,
            severity=Severity.MINOR,
            category=FindingCategory.NEXT_STEP,
            description="未约定下次联系时间。",
            required_rectification="与考生约定下一步并记录。",
        )
    # a reconciliation finding on one of the caller's candidates (对账差异)
    recon = ReconciliationRun.objects.filter(season=season).order_by("-id").first()
    paid = mine.filter(paid_on__isnull=False).order_by("id").first()
    if paid is not None and recon is not None:
        Discrepancy.objects.create(
            season=season,
            kind=DiscrepancyKind.CONFIRMED_UNPAID_PAST_STAGE,
            exam_number=paid.exam_number,
            candidate=paid,
            details="缴费名单中没有该考生，请核实是否已缴费",
            first_run=recon,
            last_run=recon,
        )
    weekly = WeeklyReport.objects.filter(season=season, team=leader.team).order_by("-week_start").first()
    member = leader.team.members.exclude(pk=leader.pk).order_by("staff_no").first()

    # the caller once revealed a full ID number (个人信息查看记录); a new user's set-password link
    pii_access_record(
        user=caller.user,
        candidate=candidate,
        field=PiiField.ID_NUMBER,
        path=reverse("callbacks:candidate_detail", kwargs={"pk": candidate.pk}),
    )
    newcomer = leader.team.members.exclude(pk__in=[leader.pk, caller.pk]).order_by("staff_no").first()
    (link,) = accounts.password_links_issue(users=[newcomer.user], issued_by=office, absolute=str)

    # a payment list for the import preview (缴费名单: 考生号、缴费日期、金额)
    wb = new_workbook()
    sheet = SheetWriter(wb, "缴费名单", ["考生号", "缴费日期", "金额"])
    unpaid = Candidate.objects.filter(season=season, paid_on__isnull=True).order_by("exam_number")[:8]
    for c in unpaid:
        sheet.append([c.exam_number, dt.date(season.year, 8, 20), Decimal("18000.00")])
    payments = io.BytesIO()
    save_workbook(wb, payments)

    def u(name: str, query: str = "", **kwargs) -> str:
        return reverse(name, kwargs=kwargs or None) + query

    shots = [
        Shot("index", "login", u("login"), "登录回访办"),
        Shot("index", "set-password", link.url, "设置密码"),
        Shot("index", "home", u("home"), "你好"),
        # 回访人员
        Shot("caller", "pool", u("callbacks:pool"), "录检池"),
        Shot("caller", "mine", u("callbacks:my_candidates"), "我的考生"),
        Shot("caller", "candidate", u("callbacks:candidate_detail", pk=candidate.pk), candidate.name, True),
        Shot("caller", "withdrawal", u("casework:withdrawal_detail", pk=withdrawal.pk), "退档申请"),
        Shot("caller", "escalate", u("casework:candidate_escalate", candidate_id=to_escalate.pk), "转突击组"),
        Shot(
            "caller", "attachments", u("supervision:contact_attachments", contact_id=contact.pk), "录音与截图"
        ),
        Shot("caller", "ledger", u("callbacks:ledger"), "台账"),
        Shot("caller", "discrepancies", u("reports:discrepancies"), "对账差异"),
        Shot("caller", "findings", u("supervision:my_findings"), "我的整改"),
        Shot("caller", "subsidy", u("subsidies:my_statement"), "年度补贴", True),
        # 小组长
        Shot("leader", "team", u("callbacks:team"), "本组", True),
        Shot("leader", "dashboard", u("reports:team_dashboard"), "本组看板"),
        Shot("leader", "member-ledger", u("callbacks:ledger_caller", caller_id=member.pk), "台账"),
        Shot("leader", "withdrawals", u("casework:withdrawal_list"), "退档审核"),
        Shot("leader", "strike", u("casework:strike_board"), "突击组"),
        Shot("leader", "weekly", u("reports:weekly_list"), "小组周报"),
        Shot("leader", "weekly-report", u("reports:weekly_detail", pk=weekly.pk), "周报"),
        Shot("leader", "drilldown", u("reports:drilldown", "?status=hesitant"), "考生名单"),
        # 督查组
        Shot("supervisor", "home", u("supervision:home"), "年度督查"),
        Shot("supervisor", "dashboard", u("reports:supervisor_dashboard"), "督查看板"),
        Shot("supervisor", "qualification", u("supervision:qualification"), "待资格审查的回访员"),
        Shot("supervisor", "samples", u("supervision:samples"), "新建随机抽查"),
        Shot("supervisor", "sample", u("supervision:sample", sample_id=sample.pk), "抽查"),
        Shot("supervisor", "item", u("supervision:item", item_id=item.pk), "回访记录", True),
        Shot("supervisor", "findings", u("supervision:findings"), "问题与整改"),
        Shot("supervisor", "finding", u("supervision:finding", finding_id=finding.pk), finding.caller.name),
        Shot("supervisor", "arbitration", u("supervision:arbitration"), "待仲裁的申诉"),
        Shot("supervisor", "incidents", u("supervision:incidents"), "记录舆情"),
        Shot("supervisor", "noshow", u("supervision:noshow"), "待核实的不报到考生"),
        Shot("supervisor", "ledger-checks", u("supervision:ledger_checks"), "回访台账抽查"),
        Shot("supervisor", "audit-ledger", u("supervision:ledger"), "督查工作台账"),
        # 突击组
        Shot("strike", "board", u("casework:strike_board"), "突击组"),
        Shot("strike", "case", u("casework:strike_detail", pk=strike_case.pk), "突击组", True),
        Shot("strike", "mine", u("callbacks:my_candidates"), "我的考生"),
        # 招生办
        Shot("office", "imports", u("imports:index"), "数据导入", True),
        Shot("office", "import-preview", u("imports:index"), "预览", True, ("payments", payments.getvalue())),
        Shot("office", "distribute", u("callbacks:distribute"), "分配"),
        Shot("office", "dashboard", u("reports:office_dashboard"), "全校看板"),
        Shot("office", "provinces", u("reports:province_report"), "省份报表"),
        Shot("office", "reconciliation", u("reports:reconciliation"), "年度对账"),
        Shot("office", "reconciliation-run", u("reports:reconciliation_run", pk=recon.pk), "对账运行"),
        Shot("office", "discrepancies", u("reports:discrepancies"), "对账差异"),
        Shot("office", "withdrawals", u("casework:withdrawal_list"), "退档审核"),
        Shot("office", "strike", u("casework:strike_board"), "突击组"),
        Shot("office", "coverage", u("supervision:coverage"), "一对一"),
        Shot("office", "scorecard", u("supervision:scorecard"), "抽查评分表"),
        Shot("office", "calibration", u("supervision:calibration"), "评分校准"),
        Shot("office", "runs", u("subsidies:runs"), "年度补贴核算"),
        Shot("office", "run", u("subsidies:run_detail", pk=run.pk), "次核算"),
        Shot("office", "run-diff", u("subsidies:run_diff", pk=latest_run.pk), "核算比较"),
        Shot("office", "statement", u("subsidies:statement", run_pk=run.pk, caller_pk=caller.pk), "年度补贴"),
        Shot("office", "scheme", u("subsidies:scheme_edit"), "年度补贴方案", True),
        Shot("office", "deductions", u("subsidies:deductions"), "违纪扣除"),
        Shot("office", "inquiries", u("subsidies:inquiries"), "补贴询问"),
        Shot("office", "export-log", u("reports:export_log"), "导出记录"),
        Shot("office", "passwords", u("accounts:password_links"), "账号与密码"),
        Shot("office", "audit-log", u("audit_log"), "操作日志"),
        Shot("office", "pii-log", u("pii_log"), "个人信息查看记录"),
        Shot("index", "help", u("help:index"), "回访人员使用说明"),
    ]
    return users, shots


# who → the user it is taken as (index shots: the caller's view)
AS_ROLE = {"index": "caller", "caller": "caller", "leader": "leader", "supervisor": "supervisor"}


def login(page, live_server, client, user: User | None) -> None:
    page.context.clear_cookies()
    client.logout()
    if user is None:
        return
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def save_small(path: Path, png: bytes) -> None:
    """256-colour PNG: the screens are flat colours and text, a third of the size of RGB."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(path)


def referenced_images() -> dict[str, set[str]]:
    """Markdown page → the img/… files it shows."""
    return {md.name: set(IMAGE_REF.findall(md.read_text(encoding="utf-8"))) for md in GUIDE.glob("*.md")}


def test_every_screen_of_the_guide(page, live_server, client, tmp_path):
    started = time.time()
    update = os.environ.get("UPDATE_GUIDE_SCREENSHOTS") == "1"
    out = IMG if update else tmp_path
    users, shots = build_world()
    out.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    taken: set[str] = set()
    current = object()
    failures = []
    for shot in shots:
        role = AS_ROLE.get(shot.who, shot.who)
        if shot.screen in ("login", "set-password"):
            role = None
        if role != current:
            login(page, live_server, client, users[role] if role else None)
            current = role
        response = page.goto(live_server.url + shot.url)
        if shot.upload is not None and response is not None and response.status == 200:
            kind, body = shot.upload
            page.select_option("#id_kind", kind)
            page.set_input_files(
                "#id_file", files=[{"name": f"{kind}.xlsx", "mimeType": XLSX, "buffer": body}]
            )
            with page.expect_navigation() as navigation:
                page.get_by_role("button", name="上传并预览").click()
            response = navigation.value
        if response is None or response.status != 200:
            failures.append((shot.who, shot.screen, shot.url, response and response.status))
            continue
        heading = page.locator("h1, h2").filter(has_text=shot.heading).first
        expect(heading).to_be_visible()
        if shot.full:
            height = min(FULL_HEIGHT, page.evaluate("document.documentElement.scrollHeight"))
            png = page.screenshot(full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": height})
        else:
            png = page.screenshot()
        save_small(out / shot.file_name, png)
        taken.add(f"img/{shot.file_name}")
    assert failures == [], failures
    assert len(taken) == len(shots), "two shots share a file name"

    refs = referenced_images()
    expected_pages = {f"{p}.md" for p in ("index", "caller", "leader", "supervisor", "strike", "office")}
    assert expected_pages <= set(refs), sorted(expected_pages - set(refs))
    all_refs = set().union(*refs.values())
    missing = sorted(all_refs - taken)
    assert missing == [], f"the guide shows images this test does not take: {missing}"
    if update:
        stale = [r for r in all_refs if (GUIDE / r).stat().st_mtime < started]
        assert stale == [], stale
    unused = sorted(taken - all_refs)
    assert unused == [], f"screenshots no guide page shows: {unused}"
    on_disk = {f"img/{p.name}" for p in IMG.glob("*.png")}
    assert on_disk == taken, f"old or missing screenshots in docs/guide/img: {sorted(on_disk ^ taken)}"
    # each role's page shows its own screens
    for md, images in refs.items():
        who = md.removesuffix(".md")
        assert any(Path(i).name.startswith(f"{who}-") for i in images), (md, "shows none of its screens")
    total = sum((out / Path(r).name).stat().st_size for r in taken)
    assert total < 5 * 1024 * 1024, f"screenshots take {total} bytes"
