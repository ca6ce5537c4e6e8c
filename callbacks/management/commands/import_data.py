"""python manage.py import_data <kind> <file.xlsx> --season <year> [--dry-run]
python manage.py import_data --template <kind> <out.xlsx>"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from callback_office import importing


class Command(BaseCommand):
    help = (
        "Import an Excel list (validated, atomic, idempotent) or write its template. "
        "Kinds: roster, policies, candidates, payments, registrations, withdrawals, attendance."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "args",
            nargs="*",
            metavar="KIND FILE | OUT",
            help="<kind> <file.xlsx> to import; with --template only the output path",
        )
        parser.add_argument("--season", type=int, help="admissions year, e.g. 2023 (created if missing)")
        parser.add_argument("--dry-run", action="store_true", help="validate and count, change nothing")
        parser.add_argument("--template", metavar="KIND", help="write the template workbook of KIND")

    def handle(self, *args: str, **options) -> None:
        known = importing.kind_names()
        if options["template"]:
            kind = options["template"]
            if kind not in known or len(args) != 1:
                raise CommandError(f"usage: import_data --template <{'|'.join(known)}> out.xlsx")
            importing.write_template(kind, args[0])
            self.stdout.write(f"模板已写入 template written: {args[0]}")
            return
        if len(args) != 2 or args[0] not in known:
            raise CommandError(
                f"usage: import_data <{'|'.join(known)}> <file.xlsx> --season <year> [--dry-run]"
            )
        kind, path = args
        if options["season"] is None:
            raise CommandError("--season <year> is required")
        if not Path(path).is_file():
            raise CommandError(f"文件不存在 file not found: {path}")
        result = importing.import_file(kind, path, season_year=options["season"], dry_run=options["dry_run"])
        for warning in result.warnings:
            self.stdout.write(self.style.WARNING(f"提示 warning: {warning}"))
        if not result.ok:
            for error in result.errors:
                self.stderr.write(f"{error}  | {error.as_english()}")
            count = len(result.errors)
            raise CommandError(f"{count} 处错误，没有任何改动 / {count} error(s), nothing was changed")
        prefix = "试导入（未写入）dry run: " if result.dry_run else ""
        self.stdout.write(self.style.SUCCESS(f"{prefix}{result.summary()} ({result.seconds}s)"))
