"""Every download of personal data leaves one `reports.ExportLog` row: who, when, what, how many rows.

PIPL wants exports of personal data traceable; the office reads the log at 报表 → 导出记录. The
model belongs to `reports` (the top layer, which shows the log), but the exports live in every
app (the candidate list in 数据导入, withdrawals and ledgers in `callbacks`, the audit ledger in
`supervision`, payout sheets in `subsidies`). Those apps must not import `reports`, so they log
through this shared helper, which names the model by its label instead of importing it.

    export_log_record(user=request.user, season=season, what=_("退档名单"), row_count=n,
                      filters={"status": status})

Jobs that write an export file log it when the file is saved, with the job's owner as `user`.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import transaction


def export_log_record(
    *,
    user: Any,
    season: Any,
    what: str,
    row_count: int,
    filters: dict[str, Any] | None = None,
    personal_data: bool = True,
) -> Any:
    """Record one export (the `reports.ExportLog` row is returned)."""
    export_log = apps.get_model("reports", "ExportLog")
    with transaction.atomic():
        return export_log.objects.create(
            user=user if getattr(user, "pk", None) else None,
            season=season,
            what=str(what)[:64],
            personal_data=personal_data,
            row_count=row_count,
            filters={k: str(v) for k, v in (filters or {}).items()},
        )
