"""Audit trail (django-auditlog): who changed what, when, old → new; the office reads it in the
admin (日志 · Log entries) and on each registered object's admin history.

Why django-auditlog: one table for every model, the diff of the changed fields only (no copy of
the whole row, so no second copy of personal data), the request's user as actor through its
middleware, and an admin to browse it. Personal fields (names, ID numbers, phones, addresses) are
left out on purpose.

What writes history (see RELIABILITY.md for the list and its tests):
- contact logs themselves are append-only records (no edit view; read-only in the admin once
  drawn for a supervision audit), so they are not registered;
- every `save()` / `create()` / `delete()` of the registered models (model signals): withdrawal
  requests through their whole flow, payout runs (created, approved), scheme versions, strike
  cases when created, candidates edited in the admin or saved by services;
- contact logging moves the candidate's status with an UPDATE (F() counters under a row lock),
  which sends no model signal: `callbacks.services.contact_log` writes that entry itself with
  `record_many`, inside its transaction (old status read under the lock);
- the nightly reconciliation writes its candidates' entries (paid_on/payment_amount/enrolled_on)
  itself, set-based: one INSERT … SELECT in the same format on PostgreSQL, `record_many` elsewhere;
- other bulk paths that bypass signals (the imports' fast inserts, claims/distribution
  `bulk_create` of assignments, strike-case transitions by conditional `update()`, withdrawal
  completion's candidate UPDATE) keep their own records too: ImportBatch rows, Assignment rows
  themselves (who, source, created_at), StrikeCase's *_by/*_at columns, WithdrawalRequest
  (logged here) with withdrawn_on. `record_update()` is the hook for a service
  that wants an entry for such a path.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.db.models.signals import pre_save
from django.utils.translation import gettext as _

CANDIDATE_FIELDS = [
    "status",
    "in_pool",
    "masters_track_interest",
    "paid_on",
    "payment_amount",
    "enrolled_on",
    "withdrawn_on",
    "province",
    "level",
    "batch",
    "major",
]


def register() -> None:
    """Register the audited models (called from CallbackOfficeConfig.ready())."""
    from admissions.models import Candidate
    from callbacks.casework_models import StrikeCase, WithdrawalRequest
    from callbacks.models import Assignment, ContactLog
    from subsidies.models import PayoutRun, SubsidyScheme

    if auditlog.contains(Candidate):
        return
    auditlog.register(Candidate, include_fields=CANDIDATE_FIELDS)
    auditlog.register(Assignment)
    auditlog.register(WithdrawalRequest)
    auditlog.register(StrikeCase)
    auditlog.register(SubsidyScheme)
    auditlog.register(PayoutRun, exclude_fields=["facts", "scheme_snapshot"])
    pre_save.connect(_contact_edited, sender=ContactLog, dispatch_uid="audit_contact_edit")


def record_update(instance: Model, changes: dict[str, tuple[Any, Any]], actor: Any = None) -> LogEntry | None:
    """Write an UPDATE entry for `instance` (old → new per field) for paths that bypass signals."""
    real = {k: [str(old), str(new)] for k, (old, new) in changes.items() if old != new}
    if not real:
        return None
    extra = {"actor": actor} if actor is not None and getattr(actor, "is_authenticated", False) else {}
    return LogEntry.objects.log_create(instance, action=LogEntry.Action.UPDATE, changes=real, **extra)


def current_actor() -> Any:
    """The request's user set by auditlog's middleware / `set_actor` (None outside one).

    auditlog leaves its context variable set after the block ends and only disconnects its
    signal receiver, so the value counts only while that receiver is still connected."""
    from auditlog.context import auditlog_value

    value = auditlog_value.get(None) or {}
    duid = value.get("signal_duid")
    if duid is None or not any(key[0] == duid for key, *_ in pre_save.receivers):
        return None
    return value.get("actor")


def record_many(
    model: type[Model],
    rows: Iterable[tuple[Any, str, dict[str, tuple[Any, Any]]]],
    *,
    action: int = LogEntry.Action.UPDATE,
    actor: Any = None,
) -> int:
    """Audit entries for a bulk path in one INSERT: rows of (pk, label, {field: (old, new)}).

    For services that write with `bulk_create` / `bulk_update` / `update()` (no model signals).
    Unchanged fields are dropped; rows left with no change write nothing. The actor defaults to
    the request's user."""
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    actor = actor if actor is not None else current_actor()
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    content_type = ContentType.objects.get_for_model(model)
    now = timezone.now()
    entries = []
    for pk, label, changes in rows:
        real = {k: [_text(old), _text(new)] for k, (old, new) in changes.items() if old != new}
        if real:
            entries.append(
                LogEntry(
                    content_type=content_type,
                    object_pk=str(pk),
                    object_id=pk if isinstance(pk, int) else None,
                    object_repr=str(label)[:200],
                    action=action,
                    changes=real,
                    actor=actor,
                    timestamp=now,
                )
            )
    if entries:
        LogEntry.objects.bulk_create(entries, batch_size=1000)
    return len(entries)


def record_assignments_created(assignments: Iterable[Any], *, actor: Any = None) -> int:
    """CREATE entries for assignments made by `bulk_create` (claims, distribution, imports)."""
    from callbacks.models import Assignment

    rows = [
        (
            a.pk,
            f"{a.candidate_id} → {a.caller_id}",
            {"candidate": (None, a.candidate_id), "caller": (None, a.caller_id), "source": (None, a.source)},
        )
        for a in assignments
    ]
    return record_many(Assignment, rows, action=LogEntry.Action.CREATE, actor=actor)


def _text(value: Any) -> str:
    return "None" if value is None else str(value)


# Contact-log fields whose values are personal data: the entry says they changed, not to what.
CONTACT_HIDDEN_FIELDS = {"phone_number", "new_numbers"}


def _contact_edited(sender, instance, raw: bool = False, **kwargs) -> None:
    """A contact log saved again (the admin is the only path): refused once a supervisor drew it
    for an audit; before that, the edit is recorded field by field (old → new). Inserts of new
    contacts (no pk yet) pass through without a query."""
    if raw or instance.pk is None or instance._state.adding:
        return
    old = type(instance).objects.filter(pk=instance.pk).first()
    if old is None:
        return
    if old.audit_items.exists():
        raise PermissionDenied(_("已被督查抽查的回访记录不能修改。"))
    changes = {}
    for field in instance._meta.concrete_fields:
        before, after = field.value_from_object(old), field.value_from_object(instance)
        if before != after and field.name != "id":
            hidden = field.name in CONTACT_HIDDEN_FIELDS
            changes[field.name] = ("***", "***（已修改）") if hidden else (before, after)
    record_many(sender, [(instance.pk, f"#{instance.pk}", changes)])
