"""Querysets whose SQL is compiled once per process.

Django builds and compiles a queryset's SQL on every evaluation. For the caller's list (a join,
three CASE expressions, a four-key order) that cost more than PostgreSQL's time to run it, on the
page every caller opens all day. `PreparedValues` keeps the queryset as the one definition of the
query: it compiles it twice with two sample argument sets, finds the parameters that changed (the
arguments' slots), and afterwards only swaps the real arguments into those slots. A queryset whose
SQL text depends on an argument's value, or that transforms an argument before it reaches the
SQL, is refused at the first call — never silently mis-bound. Each call's arguments must have
the samples' names and types (no None: `= NULL` would match nothing where the ORM writes
`IS NULL`; no naive datetime), and a `FOR UPDATE` statement must run in a transaction, as the ORM
checks — those checks happen on every call, since the ORM that would have made them is skipped.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.sql.compiler import SQLCompiler
from django.db.models.sql.subqueries import UpdateQuery
from django.db.transaction import TransactionManagementError


class NotPreparable(Exception):
    """The queryset's SQL cannot be reused with other arguments."""


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    # (parameter index, argument name, the backend's wrapper type if it wraps the value, e.g.
    # psycopg's Int4 for an integer inside an expression)
    slots: tuple[tuple[int, str, type | None], ...]
    names: tuple[str, ...] = ()
    converters: tuple = ()  # ((position, (converters, expression)), ...) as Django's compiler keeps them
    for_update: bool = False


def _adapt(connection: Any, value: Any) -> Any:
    """An argument as the backend receives it in the parameters (SQLite gets datetimes as text)."""
    if isinstance(value, dt.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, dt.date):
        return connection.ops.adapt_datefield_value(value)
    return value


def _slots(
    connection: Any, samples: tuple[dict, dict], compiled: tuple[tuple[str, list], tuple[str, list]]
) -> tuple[tuple[int, str, type | None], ...]:
    """Where each argument goes in the parameters: the positions that differ between the two
    compilations, each equal to exactly one argument's sample in both."""
    (sql_a, params_a), (sql_b, params_b) = compiled
    if sql_a != sql_b or len(params_a) != len(params_b):
        raise NotPreparable("the SQL text depends on the arguments")
    adapted = [{n: _adapt(connection, v) for n, v in sample.items()} for sample in samples]
    slots = []
    for index, (a, b) in enumerate(zip(params_a, params_b, strict=True)):
        if a == b:
            continue
        names_a = [n for n, v in adapted[0].items() if isinstance(a, type(v)) and v == a]
        names_b = [n for n, v in adapted[1].items() if isinstance(b, type(v)) and v == b]
        if len(names_a) != 1 or names_a != names_b or type(a) is not type(b):
            raise NotPreparable(f"parameter {index} is derived from an argument, not equal to one")
        name = names_a[0]
        slots.append((index, name, None if type(a) is type(adapted[0][name]) else type(a)))
    if {slot[1] for slot in slots} != set(adapted[0]):
        raise NotPreparable("an argument does not reach the SQL as a parameter")
    return tuple(slots)


class _Prepared(ABC):
    """Compiles a statement per database alias and binds each call's arguments into it."""

    def __init__(self, *, sample_a: dict, sample_b: dict) -> None:
        if sample_a.keys() != sample_b.keys() or any(sample_a[k] == sample_b[k] for k in sample_a):
            raise ValueError("the two samples must name the same arguments with different values")
        for sample in (sample_a, sample_b):
            # pairwise distinct values (True == 1 too), so that each parameter slot names one argument
            values = list(sample.values())
            if any(a == b for i, a in enumerate(values) for b in values[i + 1 :]):
                raise ValueError("the values of a sample must differ from each other")
            if any(v is None for v in values):
                raise ValueError("None cannot be located among the parameters")
        self.samples = (sample_a, sample_b)
        self._types = {name: type(value) for name, value in sample_a.items()}
        self._compiled: dict[str, _Compiled] = {}

    def _check(self, args: dict) -> None:
        if args.keys() != self._types.keys():
            raise TypeError(f"arguments {sorted(args)} instead of {sorted(self._types)}")
        for name, value in args.items():
            expected = self._types[
                name
            ]  # a subclass passes (a TextChoices member is a str), but not bool for int
            if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
                raise TypeError(f"{name}: {type(value).__name__} instead of {expected.__name__}")
            if isinstance(value, dt.datetime) and settings.USE_TZ and value.utcoffset() is None:
                raise TypeError(f"{name}: a naive datetime")

    @abstractmethod
    def _compiler(self, using: str, args: dict) -> SQLCompiler:
        """The SQL compiler of the statement built with `args`."""

    def _compile(self, using: str) -> _Compiled:
        compilers = [self._compiler(using, sample) for sample in self.samples]
        sqls = tuple(c.as_sql() for c in compilers)
        slots = _slots(connections[using], self.samples, sqls)
        # as the ORM: FOR UPDATE outside a transaction is refused where the backend locks rows
        for_update = (
            bool(compilers[0].query.select_for_update) and connections[using].features.has_select_for_update
        )
        return self._finish(
            _Compiled(sqls[0][0], tuple(sqls[0][1]), slots, for_update=for_update), compilers[0]
        )

    def _finish(self, compiled: _Compiled, compiler: SQLCompiler) -> _Compiled:
        return compiled

    def _statement(self, using: str, args: dict) -> tuple[_Compiled, list]:
        self._check(args)
        compiled = self._compiled.get(using)
        if compiled is None:
            compiled = self._compiled[using] = self._compile(using)
        connection = connections[using]
        if compiled.for_update and connection.get_autocommit():
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        params = list(compiled.params)
        for index, name, wrapper in compiled.slots:
            value = _adapt(connection, args[name])
            params[index] = value if wrapper is None else wrapper(value)
        return compiled, params


class PreparedValues(_Prepared):
    """`build(**args)` → a `.values(...)` queryset; calling the instance with the same keyword
    arguments returns its rows as dicts, compiling the SQL once per database alias."""

    def __init__(self, build: Callable[..., QuerySet], *, sample_a: dict, sample_b: dict) -> None:
        super().__init__(sample_a=sample_a, sample_b=sample_b)
        self.build = build

    def _compiler(self, using: str, args: dict) -> SQLCompiler:
        return self.build(**args).query.get_compiler(using)

    def _finish(self, compiled: _Compiled, compiler: SQLCompiler) -> _Compiled:
        query = compiler.query
        # as Django's ValuesIterable names the columns
        if query.selected:
            names = tuple(query.selected)
        else:
            names = (*query.extra_select, *query.values_select, *query.annotation_select)
        fields = [s[0] for s in compiler.select[: compiler.col_count]]
        converters = tuple(compiler.get_converters(fields).items())
        return replace(compiled, names=names, converters=converters)

    def __call__(self, *, using: str = "default", **args: Any) -> list[dict]:
        compiled, params = self._statement(using, args)
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        names, width = compiled.names, len(compiled.names)
        out = []
        for row in rows:
            row = list(row[:width])
            for pos, (convs, expression) in compiled.converters:
                value = row[pos]
                for converter in convs:
                    value = converter(value, expression, connection)
                row[pos] = value
            out.append(dict(zip(names, row, strict=True)))
        return out


class PreparedUpdate(_Prepared):
    """`queryset(**args).update(**changes(**args))`, compiled once per database alias; calling
    the instance returns the number of rows updated. Run it in a transaction (as `update` runs)."""

    def __init__(
        self,
        queryset: Callable[..., QuerySet],
        changes: Callable[..., dict],
        *,
        sample_a: dict,
        sample_b: dict,
    ) -> None:
        super().__init__(sample_a=sample_a, sample_b=sample_b)
        self.queryset = queryset
        self.changes = changes

    def _compiler(self, using: str, args: dict) -> SQLCompiler:
        # as QuerySet.update builds its query
        query = self.queryset(**args).query.chain(UpdateQuery)
        query.add_update_values(self.changes(**args))
        query.annotations = {}
        return query.get_compiler(using)

    def __call__(self, *, using: str = "default", **args: Any) -> int:
        compiled, params = self._statement(using, args)
        with connections[using].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            return cursor.rowcount


def concrete_columns(model: type[Model], prefix: str = "") -> list[str]:
    """The `values()` names of a model's concrete fields (through `prefix`, e.g. "season__")."""
    return [prefix + f.attname for f in model._meta.concrete_fields]


def instance_from_values(
    model: type[Model], row: dict, prefix: str = "", using: str = "default"
) -> Model | None:
    """The model instance a `values(*concrete_columns(model, prefix))` row describes, as the ORM
    would load it (`Model.from_db`); None when its primary key is null (an outer join's miss)."""
    names = [f.attname for f in model._meta.concrete_fields]
    values = [row[prefix + name] for name in names]
    if values[names.index(model._meta.pk.attname)] is None:
        return None
    return model.from_db(using, names, values)


def attach_prefetched(instance: Model, name: str, objects: list) -> None:
    """Leave `instance.<name>.all()` answering `objects` without a query, as `prefetch_related`
    leaves it (the same cache, filled the same way)."""
    qs = getattr(instance, name).all()
    qs._result_cache = list(objects)
    qs._prefetch_done = True
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache[name] = qs
