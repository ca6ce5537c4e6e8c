"""Querysets whose SQL is compiled once per process.

Django builds and compiles a queryset's SQL on every evaluation. For the caller's list (a join,
three CASE expressions, a four-key order) that cost more than PostgreSQL's time to run it, on the
page every caller opens all day. `PreparedValues` keeps the queryset as the one definition of the
query: it compiles it twice with two sample argument sets, finds the parameters that changed (the
arguments' slots), and afterwards only swaps the real arguments into those slots. A queryset whose
SQL text depends on an argument's value, or that transforms an argument before it reaches the
SQL, is refused at the first call — never silently mis-bound.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import QuerySet


class NotPreparable(Exception):
    """The queryset's SQL cannot be reused with other arguments."""


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    slots: tuple[tuple[int, str], ...]  # (parameter index, argument name)
    names: tuple[str, ...]
    converters: tuple  # ((position, (converters, expression)), ...) as Django's compiler keeps them


def _adapt(connection, value: Any) -> Any:
    """An argument as the backend receives it in the parameters (SQLite gets datetimes as text)."""
    if isinstance(value, dt.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, dt.date):
        return connection.ops.adapt_datefield_value(value)
    return value


class PreparedValues:
    """`build(**args)` → a `.values(...)` queryset; calling the instance with the same keyword
    arguments returns its rows as dicts, compiling the SQL once per database alias."""

    def __init__(self, build: Callable[..., QuerySet], *, sample_a: dict, sample_b: dict) -> None:
        if sample_a.keys() != sample_b.keys() or any(sample_a[k] == sample_b[k] for k in sample_a):
            raise ValueError("the two samples must name the same arguments with different values")
        self.build = build
        self.samples = (sample_a, sample_b)
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, using: str) -> _Compiled:
        connection = connections[using]
        (sql_a, params_a, compiler), (sql_b, params_b, _c) = (
            self._sql(self.build(**sample), using) for sample in self.samples
        )
        if sql_a != sql_b or len(params_a) != len(params_b):
            raise NotPreparable("the SQL text depends on the arguments")
        adapted = {name: _adapt(connection, value) for name, value in self.samples[0].items()}
        slots = []
        for index, (a, b) in enumerate(zip(params_a, params_b, strict=True)):
            if a == b:
                continue
            name = next((n for n, v in adapted.items() if v == a), None)
            if name is None:
                raise NotPreparable(f"parameter {index} is derived from an argument, not equal to one")
            slots.append((index, name))
        if {name for _i, name in slots} != set(adapted):
            raise NotPreparable("an argument does not reach the SQL as a parameter")
        query = compiler.query
        # as Django's ValuesIterable names the columns
        if query.selected:
            names = tuple(query.selected)
        else:
            names = (*query.extra_select, *query.values_select, *query.annotation_select)
        fields = [s[0] for s in compiler.select[: compiler.col_count]]
        converters = tuple(compiler.get_converters(fields).items())
        return _Compiled(sql_a, tuple(params_a), tuple(slots), names, converters)

    @staticmethod
    def _sql(qs: QuerySet, using: str):
        compiler = qs.query.get_compiler(using)
        sql, params = compiler.as_sql()
        return sql, params, compiler

    def __call__(self, *, using: str = "default", **args: Any) -> list[dict]:
        compiled = self._compiled.get(using)
        if compiled is None:
            compiled = self._compiled[using] = self._compile(using)
        connection = connections[using]
        params = list(compiled.params)
        for index, name in compiled.slots:
            params[index] = _adapt(connection, args[name])
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


def concrete_columns(model, prefix: str = "") -> list[str]:
    """The `values()` names of a model's concrete fields (through `prefix`, e.g. "season__")."""
    return [prefix + f.attname for f in model._meta.concrete_fields]


def instance_from_values(model, row: dict, prefix: str = "", using: str = "default"):
    """The model instance a `values(*concrete_columns(model, prefix))` row describes, as the ORM
    would load it (`Model.from_db`); None when its primary key is null (an outer join's miss)."""
    names = [f.attname for f in model._meta.concrete_fields]
    values = [row[prefix + name] for name in names]
    if values[names.index(model._meta.pk.attname)] is None:
        return None
    return model.from_db(using, names, values)


def attach_prefetched(instance, name: str, objects: list) -> None:
    """Leave `instance.<name>.all()` answering `objects` without a query, as `prefetch_related`
    leaves it (the same cache, filled the same way)."""
    qs = getattr(instance, name).all()
    qs._result_cache = list(objects)
    qs._prefetch_done = True
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache[name] = qs
