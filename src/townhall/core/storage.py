"""The one place that knows which database dialect is underneath, and how to write in bulk."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from django.db import connection, models

T = TypeVar("T")
M = TypeVar("M", bound=models.Model)

# SQLite caps the number of bound parameters per statement (32,766 since 3.32); PostgreSQL at 65,535.
_MAX_PARAMS = 30_000


def vendor() -> str:
    return connection.vendor


def is_sqlite() -> bool:
    return connection.vendor == "sqlite"


def chunked(values: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for value in values:
        chunk.append(value)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def in_chunk_size(columns: int = 1) -> int:
    """How many values fit in one `IN (...)` or multi-row VALUES statement for this dialect."""
    return max(1, _MAX_PARAMS // max(columns, 1) // 2)


def bulk_insert(model: type[M], objects: Sequence[M], *, ignore_conflicts: bool = False) -> list[M]:
    """Insert rows in as few statements as the dialect allows; primary keys are set on the objects."""
    if not objects:
        return []
    columns = len(model._meta.concrete_fields)
    return model._default_manager.bulk_create(
        objects, batch_size=in_chunk_size(columns), ignore_conflicts=ignore_conflicts
    )


def sqlite_tune_for_bulk_load() -> None:
    """Per-connection settings that make large imports into SQLite faster without risking the file.

    SQLite refuses to change `synchronous` inside a transaction, so a caller already in one (an import
    started from a request or a test) keeps the connection's settings instead of failing.
    """
    if is_sqlite() and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA cache_size=-131072")


def _column(model: type[models.Model], name: str) -> str:
    """The quoted column of a field given by name or attname."""
    field = model._meta.get_field(name)
    return connection.ops.quote_name(str(getattr(field, "column", name)))


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _adapter(field: Any) -> Any:
    """A fast value -> database parameter converter for one column of the raw bulk path."""
    ops = connection.ops
    if isinstance(field, models.DateTimeField):
        return ops.adapt_datetimefield_value
    if isinstance(field, models.JSONField):
        return lambda value: json.dumps(value, ensure_ascii=False)
    return None


def insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    returning_ids: bool = True,
) -> list[int]:
    """Multi-row INSERT through the raw cursor: the ingest hot path, where the ORM's per-value work dominated.

    `columns` are field attnames. Ids come back in insert order (INSERT ... RETURNING, as the ORM's own bulk
    insert relies on), so callers can pair them with their rows.
    """
    if not rows:
        return []
    meta = model._meta
    fields = [meta.get_field(name) for name in columns]  # attnames (workspace_id) resolve too
    adapters = [_adapter(f) for f in fields]
    column_sql = ", ".join(_column(model, name) for name in columns)
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    if connection.vendor == "postgresql":
        return _insert_rows_unnest(model, fields, column_sql, rows, adapters, returning_ids)
    ids: list[int] = []
    per_statement = max(1, min(1000, _MAX_PARAMS // len(columns)))
    with connection.cursor() as cursor:
        for chunk in chunked(rows, per_statement):
            params: list[Any] = []
            for row in chunk:
                for value, adapt in zip(row, adapters, strict=True):
                    params.append(adapt(value) if adapt is not None and value is not None else value)
            values = ", ".join([placeholders] * len(chunk))
            sql = f"INSERT INTO {_table(model)} ({column_sql}) VALUES {values}"
            if returning_ids:
                cursor.execute(sql + f" RETURNING {_column(model, meta.pk.name)}", params)
                ids.extend(r[0] for r in cursor.fetchall())
            else:
                cursor.execute(sql + " ON CONFLICT DO NOTHING", params)
    return ids


def _insert_rows_unnest(
    model: type[models.Model],
    fields: list[Any],
    column_sql: str,
    rows: Sequence[Sequence[Any]],
    adapters: list[Any],
    returning_ids: bool,
) -> list[int]:
    """PostgreSQL: one array per column through `unnest`, so the statement text stays small and cached."""
    casts = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    sql = f"INSERT INTO {_table(model)} ({column_sql}) SELECT * FROM unnest({casts})"
    sql += f" RETURNING {_column(model, model._meta.pk.name)}" if returning_ids else " ON CONFLICT DO NOTHING"
    ids: list[int] = []
    with connection.cursor() as cursor:
        for chunk in chunked(rows, 5000):
            arrays: list[list[Any]] = [[] for _ in fields]
            for row in chunk:
                for array, value, adapt in zip(arrays, row, adapters, strict=True):
                    array.append(adapt(value) if adapt is not None and value is not None else value)
            cursor.execute(sql, arrays)
            if returning_ids:
                ids.extend(r[0] for r in cursor.fetchall())
    return ids


def execute_many(sql: str, params: Sequence[Sequence[Any]]) -> None:
    """One statement over many parameter rows (both dialects batch this well)."""
    if params:
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)


def adapt_datetime(value: Any) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def update_rows(
    model: type[models.Model],
    *,
    set_columns: Sequence[str],
    where_columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """`UPDATE table SET a = %s, ... WHERE b = %s AND ...` for each row (set values first, then the keys)."""
    if not rows:
        return
    assignments = ", ".join(f"{_column(model, c)} = %s" for c in set_columns)
    conditions = " AND ".join(f"{_column(model, c)} = %s" for c in where_columns)
    execute_many(f"UPDATE {_table(model)} SET {assignments} WHERE {conditions}", rows)


def widen_time_span(
    model: type[models.Model], *, first: str, last: str, spans: dict[int, tuple[Any, Any]]
) -> None:
    """Move each row's [first, last] timestamps out to include the given span (NULL counts as unset)."""
    if not spans:
        return
    f, ll = _column(model, first), _column(model, last)
    sql = (
        f"UPDATE {_table(model)} SET "
        f"{f} = CASE WHEN {f} IS NULL OR {f} > %s THEN %s ELSE {f} END, "
        f"{ll} = CASE WHEN {ll} IS NULL OR {ll} < %s THEN %s ELSE {ll} END "
        f"WHERE {_column(model, model._meta.pk.name)} = %s"
    )
    params = []
    for pk, (start, end) in spans.items():
        start, end = adapt_datetime(start), adapt_datetime(end)
        params.append((start, start, end, end, pk))
    execute_many(sql, params)
