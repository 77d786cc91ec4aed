"""PostgreSQL: the dataset's table dropped, created from its schema and filled with COPY, all in
one transaction, so a reader sees the old rows or the new ones, never half of them.

The stack's database (named by a stack output, e.g. its name) is created on first use on the
server the DSN points at; one server holds a database per stack.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from ..errors import LoadError, TargetError
from . import Columns, Row


class PostgresStore:
    def __init__(self, dsn: str, database: str, table: str, dataset: str, columns: Columns) -> None:
        self.dsn = dsn
        self.database = database
        self.table = table
        self.dataset = dataset
        self.columns = columns
        self.description = f"postgres:{database}/{table}"

    def _connect(self, database: str | None = None, autocommit: bool = False) -> Any:
        import psycopg

        conninfo = psycopg.conninfo.make_conninfo(self.dsn, dbname=database) if database else self.dsn
        try:
            return psycopg.connect(conninfo, autocommit=autocommit, connect_timeout=10)
        except psycopg.Error as exc:
            raise TargetError(self.dataset, self.description, f"cannot connect ({exc})") from exc

    def validate(self) -> None:
        """Creates the stack's database when missing (nothing in it yet), else just connects."""
        from psycopg import sql

        with self._connect(autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
            if found.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))

    def load(self, rows: Iterable[Row]) -> int:
        import psycopg
        from psycopg import sql

        names = [c for c, _ in self.columns]
        table = sql.Identifier(self.table)
        create = sql.SQL("CREATE TABLE {} ({})").format(table, sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in self.columns))
        copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
            table, sql.SQL(", ").join(map(sql.Identifier, names)))
        written = 0
        try:
            with self._connect(self.database) as conn, conn.transaction(), conn.cursor() as cur:
                cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
                cur.execute(create)
                with cur.copy(copy) as out:
                    for row in rows:
                        out.write_row([_cell(row.get(c)) for c in names])
                        written += 1
        except psycopg.Error as exc:
            raise LoadError(self.dataset, self.description, str(exc).strip()) from exc
        return written

    def remove(self) -> None:
        self.empty()

    def empty(self) -> None:
        from psycopg import sql

        with self._connect(self.database) as conn:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(self.table)))


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return msgspec.json.encode(value).decode()
    return value


def drop_database(dsn: str, database: str) -> bool:
    """Drop a stack's database (teardown leaves nothing behind); False when there was none.
    Connections still open to it are ended first (`WITH (FORCE)`, PostgreSQL 13+)."""
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
            if found is None:
                return False
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))
    except psycopg.Error as exc:
        raise LoadError(database, f"postgres:{database}", f"cannot drop the database ({exc})") from exc
    return True
