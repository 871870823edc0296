"""Many rows of one model in one INSERT per few thousand, on PostgreSQL without the per-field,
per-row Python work of `bulk_create` (a campaign's 10,000 contacts and recipients).

Each column that varies is sent as one array (binary) and the rows are built by `unnest` in
the database; every other column gets its model default, computed once. Columns are taken from
the model's own declaration, so a field added later is filled with its default here too.
"""

import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models
from django.db.models.fields import AutoFieldMixin

CHUNK = 5000


def supported() -> bool:
    return connection.vendor == "postgresql"


def _db_type(field: models.Field) -> str:
    return field.db_type(connection)


# Fields whose values of these exact types go to the database as they are (what their
# get_db_prep_save answers for them): 10,000 calls of it cost more than the INSERT's parsing.
_AS_THEY_ARE = {
    models.CharField: str,
    models.TextField: str,
    models.UUIDField: uuid.UUID,
    models.IntegerField: int,
    models.SmallIntegerField: int,
    models.BigIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveSmallIntegerField: int,
}


def _prepared(field: models.Field, values: list) -> list:
    kind = _AS_THEY_ARE.get(type(field))
    if kind is not None and all(type(value) is kind or (value is None and field.null) for value in values):
        return values
    return [field.get_db_prep_save(value, connection) for value in values]


def insert_rows(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    *,
    constants: dict[str, Any] | None = None,
    returning: Iterable[str] = (),
    ignore_conflicts: bool = False,
) -> list[tuple]:
    """INSERT `rows` (dicts by field attname, all with the same keys) with `constants` for every
    row and model defaults for the rest; answers the `returning` columns of the inserted rows
    (rows skipped by a conflict are not in it). PostgreSQL only (see `supported`)."""
    if not rows:
        return []
    constants = constants or {}
    varying = list(rows[0])
    returning = list(returning)
    fields = [field for field in model._meta.concrete_fields]
    by_attname = {field.attname: field for field in fields}
    out: list[tuple] = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        columns, selects, array_params, select_params, names = [], [], [], [], []
        for field in fields:
            if field.attname in varying:
                names.append(f"c{len(names)}")
                columns.append(field.column)
                values = [row[field.attname] for row in chunk]
                if isinstance(field, models.JSONField):
                    array_params.append((["null" if v is None else json.dumps(v) for v in values], "text[]"))
                    selects.append(f"t.{names[-1]}::jsonb")
                else:
                    array_params.append((_prepared(field, values), f"{_db_type(field)}[]"))
                    selects.append(f"t.{names[-1]}")
                continue
            if isinstance(field, AutoFieldMixin):
                continue  # the database numbers the rows
            if field.primary_key and field.attname not in constants:
                raise ValueError(f"{model.__name__}.{field.attname} must be given per row")
            value = constants[field.attname] if field.attname in constants else field.get_default()
            columns.append(field.column)
            if isinstance(field, models.JSONField):
                selects.append("%s::jsonb")
                select_params.append(json.dumps(value))
            else:
                selects.append(f"%s::{_db_type(field)}")
                select_params.append(field.get_db_prep_save(value, connection))
        quote = connection.ops.quote_name
        unnest = ", ".join(f"%b::{cast}" for _, cast in array_params)
        # Only the model's own table and column names (quoted) are spliced in; values are parameters.
        sql = (
            f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
            f"SELECT {', '.join(selects)} FROM unnest({unnest}) AS t({', '.join(names)})"
        )
        if ignore_conflicts:
            sql += " ON CONFLICT DO NOTHING"
        if returning:
            sql += f" RETURNING {', '.join(quote(by_attname[name].column) for name in returning)}"
        # Django's cursor (its errors are Django's, its queries counted), binding server-side
        # (settings.py): client-side binding quoted every element of every array in Python. The
        # arrays go in psycopg's binary format (`%b`): its text format escapes each element with
        # a regular expression, 15 times slower for 10,000 JSON contexts than the insert itself.
        with connection.cursor() as cursor:
            cursor.execute(sql, [*select_params, *[values for values, _ in array_params]])
            if returning:
                out.extend(cursor.fetchall())
    return out


def update_rows(model: type[models.Model], objs: Sequence[models.Model], fields: Sequence[str]) -> int:
    """Save `fields` of each of `objs` (already changed in memory), by primary key: on
    PostgreSQL one `UPDATE ... FROM unnest(...)` per few thousand rows, each column's values
    sent as one array; elsewhere Django's bulk_update. Django's own builds a CASE WHEN per field
    and row in Python, which costs more than the update itself (a campaign's chunk of outcomes)."""
    if not objs:
        return 0
    if not supported():
        return model.objects.bulk_update(objs, fields, batch_size=500)
    pk = model._meta.pk
    targets = [model._meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    updated = 0
    for start in range(0, len(objs), CHUNK):
        chunk = objs[start : start + CHUNK]
        arrays = [([pk.get_db_prep_save(obj.pk, connection) for obj in chunk], f"{_db_type(pk)}[]")]
        sets = []
        for n, field in enumerate(targets):
            values = [getattr(obj, field.attname) for obj in chunk]
            if isinstance(field, models.JSONField):
                arrays.append((["null" if v is None else json.dumps(v) for v in values], "text[]"))
                sets.append(f"{quote(field.column)} = t.c{n}::jsonb")
            else:
                arrays.append(([field.get_db_prep_save(v, connection) for v in values], f"{_db_type(field)}[]"))
                sets.append(f"{quote(field.column)} = t.c{n}")
        names = ", ".join(["k", *(f"c{n}" for n in range(len(targets)))])
        unnest = ", ".join(f"%b::{cast}" for _, cast in arrays)
        # Only the model's own table and column names (quoted) are spliced in; values are parameters.
        sql = (
            f"UPDATE {table} SET {', '.join(sets)} FROM unnest({unnest}) AS t({names}) "  # noqa: S608
            f"WHERE {table}.{quote(pk.column)} = t.k"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [values for values, _ in arrays])
            updated += cursor.rowcount
    return updated
