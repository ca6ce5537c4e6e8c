from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from supervision.services import MIN_RETENTION_DAYS, attachments_archive


class Command(BaseCommand):
    help = (
        "把超过保存期（至少五个月）的录音和截图移到归档位置 (move recordings past retention to the archive)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than-days", type=int, default=MIN_RETENTION_DAYS)

    def handle(self, *args, older_than_days: int, **options):
        try:
            n = attachments_archive(older_than_days=older_than_days)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(f"archived {n}")
