"""Many rows into one table at once on PostgreSQL: binary COPY instead of multi-row INSERTs.

SQLAlchemy writes a chunk's rows on PostgreSQL as multi-row ``INSERT ... VALUES`` statements
(insertmanyvalues, for ``RETURNING``) or row by row in psycopg's pipeline (a plain
executemany): psycopg parses each big statement again (it caches none over 4,096 characters)
and sends each pipelined row as its own prepared execution, a few tenths of a second of CPU on
both sides for 1,000 mails. ``COPY ... FROM STDIN (FORMAT BINARY)`` sends the same rows as
one stream the server takes in without parsing SQL; the ids a ``RETURNING`` would give are
taken from the table's sequence first, in the order the INSERT would have taken them (one
``nextval`` per row, ascending with the rows), and written explicitly.

The rows are the same as the Core insert's: values go through the columns' bind processing
(``CleanText`` drops NULs) and missing keys get the columns' scalar defaults. Binary COPY is
stricter than an INSERT about Python types (a 2**31 sent as int4 would wrap, not fail), so a
row is copied only when every value is of its column's plain type and in its range; anything
else goes the Core way, with the INSERT's own errors. A failed COPY names the column, never its
value (the text format would quote it), as ``hide_parameters`` keeps values out of errors.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Table, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import ScalarElementColumnDefault

#: psycopg connection -> table -> column -> type oid (read from the catalog once per connection)
_TYPES: weakref.WeakKeyDictionary[Any, dict[str, dict[str, int]]] = weakref.WeakKeyDictionary()


def _int_below(bound: int) -> Callable[[object], bool]:
    return lambda v: type(v) is int and -bound <= v < bound


_INTEGERS, _BYTEA = (21, 23, 20), 17
#: Type oid -> whether binary COPY writes a (non-NULL) Python value into such a column as an
#: INSERT would: int2/int4/int8 in range (binary COPY would wrap), text without NUL, and only
#: an aware datetime (an INSERT reads a naive one in the session's time zone).
_PLAIN: dict[int, Callable[[object], bool]] = {
    21: _int_below(2**15), 23: _int_below(2**31), 20: _int_below(2**63),
    25: lambda v: type(v) is str and "\x00" not in v,
    1043: lambda v: type(v) is str and "\x00" not in v,
    16: lambda v: type(v) is bool,
    1184: lambda v: type(v) is datetime and v.tzinfo is not None,
    17: lambda v: type(v) is bytes,
}


class CopyWriter:
    """Bulk inserts of one session on PostgreSQL with psycopg (``for_session`` says if so)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @classmethod
    def for_session(cls, session: Session) -> CopyWriter | None:
        """A writer when the session's database is PostgreSQL through psycopg, else None."""
        dialect = session.get_bind().dialect
        return cls(session) if (dialect.name, dialect.driver) == ("postgresql", "psycopg") else None

    def insert(self, table: Table, rows: Sequence[Mapping[str, object]]) -> None:
        """``session.execute(insert(table), rows)``."""
        if not rows:
            return
        copy = self._prepare(table, rows)
        if copy is None:
            self.session.execute(insert(table), rows)
        else:
            self._send(table, *copy)

    def insert_returning_ids(self, table: Table, rows: Sequence[Mapping[str, object]]
                             ) -> list[int]:
        """The ids ``insert(table).returning(id, sort_by_parameter_order=True)`` would give,
        in the order of ``rows``."""
        if not rows:
            return []
        copy = self._prepare(table, rows, with_id=True)
        if copy is None:
            stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            return [row[0] for row in self.session.execute(stmt, rows)]
        with self._driver().cursor() as cur:
            cur.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))"
                        " FROM generate_series(1, %s)", (table.name, len(rows)))
            ids = sorted(row[0] for row in cur)
        names, oids, values = copy
        if not (_PLAIN[oids[0]](ids[0]) and _PLAIN[oids[0]](ids[-1])):  # COPY would wrap it
            raise OverflowError(f"{table.name}: id {ids[-1]} is out of its column's range")
        for pk, out in zip(ids, values, strict=True):
            out[0] = pk
        self._send(table, names, oids, values)
        return ids

    def _driver(self) -> Any:
        """The psycopg connection of the session's transaction."""
        return self.session.connection().connection.driver_connection

    def _types(self, table: Table) -> dict[str, int]:
        """Column name -> type oid, as the database has it (binary COPY must match it)."""
        conn = self._driver()
        known = _TYPES.setdefault(conn, {})
        if table.name not in known:
            with conn.cursor() as cur:
                cur.execute("SELECT attname, atttypid FROM pg_attribute WHERE attrelid = "
                            "%s::regclass AND attnum > 0 AND NOT attisdropped", (table.name,))
                known[table.name] = {name: oid for name, oid in cur}
        return known[table.name]

    def _prepare(self, table: Table, rows: Sequence[Mapping[str, object]], *,
                 with_id: bool = False) -> tuple[list[str], list[int], list[list[object]]] | None:
        """The column names, type oids and values COPY writes for ``rows`` (with a place for
        the id first when ``with_id``), or None when the rows differ in their keys or a value
        is not one COPY takes as INSERT would (then the Core insert writes them)."""
        keys = rows[0].keys()
        if any(row.keys() != keys for row in rows):
            return None
        types = self._types(table)
        dialect = self.session.get_bind().dialect
        columns = _columns(table, keys)
        if columns is None:
            return None
        names = [col.name for col in columns]
        if with_id:
            if ("id" in keys or types.get("id") not in _INTEGERS
                    or table.c.id.default is not None):
                return None
            names = ["id", *names]
        oids = [types.get(name, 0) for name in names]
        if any(oid not in _PLAIN for oid in oids):
            return None
        specs = []
        for col, oid in zip(columns, oids[with_id:], strict=True):
            default = (col.default.arg if isinstance(col.default, ScalarElementColumnDefault)
                       and col.key not in keys else None)
            process: Callable[[Any], Any] | None = col.type.bind_processor(dialect)
            if oid == _BYTEA:  # SQLAlchemy's LargeBinary binds psycopg's Binary(bytes)
                process = _unwrapped(process)
            specs.append((col.key, default, process, _PLAIN[oid]))
        values = []
        for row in rows:
            out: list[object] = [None] if with_id else []
            for key, default, process, plain in specs:
                value = row.get(key, default)
                if process is not None:
                    value = process(value)
                if value is not None and not plain(value):
                    return None
                out.append(value)
            values.append(out)
        return names, oids, values

    def _send(self, table: Table, names: list[str], oids: list[int],
              values: list[list[object]]) -> None:
        sql = "COPY {} ({}) FROM STDIN (FORMAT BINARY)".format(
            _quote(table.name), ", ".join(_quote(name) for name in names))
        dialect = self.session.get_bind().dialect
        try:
            with self._driver().cursor() as cur, cur.copy(sql) as copy:
                copy.set_types(oids)
                for out in values:
                    copy.write_row(out)
        except dialect.loaded_dbapi.Error as exc:  # what the Core insert would raise
            raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error,
                                      hide_parameters=True, dialect=dialect) from exc


def _unwrapped(process: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """``process``, then the bytes out of a DB-API ``Binary`` wrapper."""
    def unwrap(value: Any) -> Any:
        bound = process(value) if process is not None else value
        return getattr(bound, "obj", bound)

    return unwrap


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(table: Table, keys: Collection[str]) -> list[Column[Any]] | None:
    """The columns a Core insert of rows with these keys names: those given, and those with
    a Python-side default (the server fills in the rest, as it would); None when a default
    is not a plain value (a function or SQL: left to the Core insert)."""
    columns = []
    for col in table.columns:
        if col.key in keys:
            columns.append(col)
        elif col.default is not None and not col.primary_key:
            if not isinstance(col.default, ScalarElementColumnDefault):
                return None
            columns.append(col)
    return columns
