"""`manage.py seed_demo`: generate the demo season, check for it, or print its logins."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.management.base import BaseCommand, CommandError

from callback_office.roles import Role
from callbacks.demo import (
    DEMO_PASSWORD,
    DemoOptions,
    demo_logins,
    demo_season_delete,
    demo_season_exists,
    demo_season_generate,
)

ROLE_LABELS = {
    Role.OFFICE: "招生办 office",
    Role.LEADER: "组长 leader",
    Role.CALLER: "回访员 caller",
    Role.SUPERVISOR: "督查 supervisor",
    Role.STRIKE: "突击组 strike",
}


class Command(BaseCommand):
    help = "生成演示招生年度（默认 10,000 名考生、100 名回访员）/ Generate the demo season."

    def add_arguments(self, parser):
        parser.add_argument("--candidates", type=int, default=10_000)
        parser.add_argument("--callers", type=int, default=100)
        parser.add_argument("--teams", type=int, default=None, help="默认每 10 名回访员一组")
        parser.add_argument("--supervisors", type=int, default=None, help="默认每 10 组 7 名督查")
        parser.add_argument("--strike", type=int, default=None, help="突击组人数，默认每 20 名回访员 1 人")
        parser.add_argument("--contacts-per-candidate", type=float, default=6.0)
        parser.add_argument("--year", type=int, default=2023)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--batch-size", type=int, default=5_000)
        parser.add_argument("--no-previous", action="store_true", help="不生成上一年度（同比数据）")
        parser.add_argument("--reset", action="store_true", help="先删除该年度与上一年度再生成")
        parser.add_argument("--check", action="store_true", help="演示年度存在时退出码 0，否则 1")
        parser.add_argument("--logins", action="store_true", help="列出各角色的演示账号")

    def handle(self, *args, **options):
        year = options["year"]
        if options["check"]:
            exists = demo_season_exists(year=year)
            self.stdout.write(f"{year}: {'存在 exists' if exists else '不存在 missing'}")
            raise SystemExit(0 if exists else 1)
        if options["logins"]:
            self.print_logins(year)
            return
        if options["candidates"] < 1 or options["callers"] < 2:
            raise CommandError("至少需要 1 名考生和 2 名回访员")
        validate_password(DEMO_PASSWORD)
        if options["reset"]:
            for y in (year, year - 1):
                demo_season_delete(year=y, batch_size=options["batch_size"])
        opts = DemoOptions(
            candidates=options["candidates"],
            callers=options["callers"],
            teams=options["teams"],
            supervisors=options["supervisors"],
            strike=options["strike"],
            contacts_per_candidate=options["contacts_per_candidate"],
            year=year,
            seed=options["seed"],
            batch_size=options["batch_size"],
            previous_season=not options["no_previous"],
        )
        verbose = options["verbosity"] >= 1
        try:
            summary = demo_season_generate(options=opts, log=self.stdout.write if verbose else None)
        except ValueError as exc:
            raise CommandError(f"{exc}；如需重新生成请加 --reset") from exc
        counts = "，".join(f"{k} {v:,}" for k, v in summary.counts.items())
        self.stdout.write(self.style.SUCCESS(f"演示年度 {year} 已生成（{summary.seconds:.1f} 秒）：{counts}"))

    def print_logins(self, year: int) -> None:
        if not demo_season_exists(year=year):
            raise CommandError(f"演示年度 {year} 不存在，请先运行 seed_demo")
        rows = [
            (ROLE_LABELS[login.role], login.username, login.name, login.team)
            for login in demo_logins(year=year)
        ]
        self.stdout.write(f"演示账号 demo logins（密码 password: {DEMO_PASSWORD}）")
        header = ("角色 role", "用户名 username", "姓名 name", "小组 team")
        widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(4)]
        for row in [header, *rows]:
            self.stdout.write("  " + "  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)))


def _width(text: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
