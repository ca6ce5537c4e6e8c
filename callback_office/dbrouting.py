"""Read replica, used only where asked for (dashboards, exports).

A streaming replica lags the primary by up to a few seconds, so nothing reads from it by
default: a view or job opts in, either per queryset or for a block of code::

    from callback_office.dbrouting import replica_alias, using_replica

    rows = Candidate.objects.using(replica_alias()).filter(...)   # one queryset
    with using_replica():                                          # every read in the block
        build_the_export()

Without DATABASE_REPLICA_URL both fall back to the primary ("default"). Writes always go to
the primary; migrations never run on the replica.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

REPLICA = "replica"
DEFAULT = "default"

_read_alias: ContextVar[str | None] = ContextVar("callback_office_read_alias", default=None)


def replica_alias() -> str:
    """ "replica" when a replica is configured, else "default"."""
    return REPLICA if REPLICA in settings.DATABASES else DEFAULT


@contextmanager
def using_replica() -> Iterator[str]:
    """Send the reads of the block to the replica (if configured); yields the alias used."""
    alias = replica_alias()
    token = _read_alias.set(alias)
    try:
        yield alias
    finally:
        _read_alias.reset(token)


class ReplicaRouter:
    """Reads go to the replica only inside `using_replica()`; everything else is Django's
    default behaviour (the primary)."""

    def db_for_read(self, model, **hints):
        return _read_alias.get()

    def db_for_write(self, model, **hints):
        return DEFAULT

    def allow_relation(self, obj1, obj2, **hints):
        # Same data on both: objects read from the replica may relate to primary objects.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA
