"""Model queries compiled to SQL once and run many times, for the few reads on a hot path whose
compilation by the ORM costs more than running them (the widget's brain and calendars: ~0.9 ms
of CPU each to compile, ~0.1 ms to run and build the instances).

`CompiledQuery(build, *fields)`: `build(*values)` returns a queryset whose SQL parameters are
exactly `values` in order, each prepared by its field in `fields` (a filter on each field and
nothing else parameterized; a slice's LIMIT is written into the SQL). The first run in a
thread compiles it with the ORM and checks that mapping, failing loudly when it does not hold;
later runs prepare the values, execute the SQL and build the instances, `select_related` ones
and annotations included, as the ORM's own iterable does (django.db.models.query.ModelIterable), database
converters applied. A thread has its own connection, so each keeps its own compiled query.
"""

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.models import Field, Model, QuerySet
from django.db.models.query import get_related_populators

M = TypeVar("M", bound=Model)


class _Compiled:
    def __init__(self, queryset: QuerySet, connection, fields: tuple[Field, ...], values: tuple[Any, ...]):
        compiler = queryset.query.get_compiler(connection=connection)
        self.sql, params = compiler.as_sql()
        prepared = [field.get_db_prep_value(value, connection) for field, value in zip(fields, values, strict=True)]
        if list(params) != prepared:
            raise ImproperlyConfigured(
                f"CompiledQuery: the SQL's parameters {list(params)!r} are not the values {prepared!r}: "
                "build() must filter on each field once, with nothing else parameterized."
            )
        self.connection = connection
        self.compiler = compiler
        self.db = queryset.db
        klass_info, select = compiler.klass_info, compiler.select
        self.model = klass_info["model"]
        fields_at = klass_info["select_fields"]
        self.start, self.end = fields_at[0], fields_at[-1] + 1
        self.init_list = [column[0].target.attname for column in select[self.start : self.end]]
        self.populators = get_related_populators(klass_info, select, self.db)
        self.annotations = list(compiler.annotation_col_map.items())  # (attribute, column) as the ORM sets them
        self.converters = compiler.get_converters([column[0] for column in select[: compiler.col_count]])


class CompiledQuery(Generic[M]):
    def __init__(self, build: Callable[..., QuerySet[M]], *fields: Field):
        self._build = build
        self._fields = fields
        self._local = threading.local()
        self._alias: str | None = None

    def all(self, *values: Any) -> list[M]:
        if self._alias is None:
            self._alias = self._build(*values).db
        connection = connections[self._alias]
        compiled: _Compiled | None = getattr(self._local, "compiled", None)
        if compiled is None or compiled.connection is not connection:
            compiled = _Compiled(self._build(*values), connection, self._fields, values)
            self._local.compiled = compiled
        params = [field.get_db_prep_value(value, connection) for field, value in zip(self._fields, values, strict=True)]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            rows = compiled.compiler.apply_converters(rows, compiled.converters)
        found = []
        for row in rows:
            instance = compiled.model.from_db(compiled.db, compiled.init_list, row[compiled.start : compiled.end])
            for populator in compiled.populators:
                populator.populate(row, instance)
            for name, at in compiled.annotations:
                setattr(instance, name, row[at])
            found.append(instance)
        return found

    def first(self, *values: Any) -> M | None:
        found = self.all(*values)
        return found[0] if found else None
