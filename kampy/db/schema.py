# SPDX-License-Identifier: GPL-2.0-or-later
"""Kamailio's table layouts, so that a database Kamailio created works with
kampy unchanged and the other way round.

TABLES is the one place a layout lives: a table's columns with Kamailio's
types and defaults, its unique constraints and indexes, and the version
number Kamailio records for it in the `version` table.  create() renders them
for SQLite or PostgreSQL as Kamailio's kamdbctl scripts do (an `id` primary
key that is INTEGER on SQLite and SERIAL on PostgreSQL, VARCHAR(n) DEFAULT ''
NOT NULL strings, INTEGER DEFAULT 0 NOT NULL numbers).  A later table (e.g.
subscriber, location) is one more entry in TABLES, here or declared by its
module in modules/<name>/dbschema.py as a module-level Table, which
discover() finds when a table is asked for by name.
"""

import importlib
import os
from dataclasses import dataclass

from .core import Database, ident
from .url import DbError


@dataclass(frozen=True)
class Column:
    name: str
    type: str               # id, int, bigint, string, char, text, datetime, float, double
    size: int = 0           # string / char length
    default: object = None  # None: no DEFAULT clause
    null: bool = False      # True: NULL allowed


@dataclass(frozen=True)
class Table:
    name: str
    version: int                 # Kamailio's table_version
    columns: tuple
    unique: tuple = ()           # ((constraint name, (column, ...)), ...)
    indexes: tuple = ()          # ((index name, (column, ...)), ...)


def _s(name, size, default="", null=False):
    return Column(name, "string", size, default, null)


def _i(name, default=0, null=False):
    return Column(name, "int", 0, default, null)


ID = Column("id", "id")

TABLES = {
    "version": Table("version", 1, (
        ID,
        _s("table_name", 32, default=None),
        _i("table_version"),
    ), unique=(("version_table_name_idx", ("table_name",)),)),

    # Kamailio 5.6, uacreg version 5
    "uacreg": Table("uacreg", 5, (
        ID,
        _s("l_uuid", 64), _s("l_username", 64), _s("l_domain", 64),
        _s("r_username", 64), _s("r_domain", 64), _s("realm", 64),
        _s("auth_username", 64), _s("auth_password", 64), _s("auth_ha1", 128),
        _s("auth_proxy", 128), _i("expires"), _i("flags"), _i("reg_delay"),
        _s("contact_addr", 255), _s("socket", 128),
    ), unique=(("uacreg_l_uuid_idx", ("l_uuid",)),)),
}

_TYPES = {
    "sqlite": {"id": "INTEGER PRIMARY KEY NOT NULL", "int": "INTEGER", "bigint": "BIGINT",
               "string": "VARCHAR(%d)", "char": "CHAR(%d)", "text": "TEXT",
               "datetime": "TIMESTAMP WITHOUT TIME ZONE", "float": "REAL",
               "double": "DOUBLE PRECISION"},
    "postgres": {"id": "SERIAL PRIMARY KEY NOT NULL", "int": "INTEGER", "bigint": "BIGINT",
                 "string": "VARCHAR(%d)", "char": "CHAR(%d)", "text": "TEXT",
                 "datetime": "TIMESTAMP WITHOUT TIME ZONE", "float": "REAL",
                 "double": "DOUBLE PRECISION"},
}


def _literal(v) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise DbError("bad column default %r" % (v,))
    if isinstance(v, str):
        return "'%s'" % v.replace("'", "''")
    return repr(v)


def _column_sql(col: Column, dialect: str) -> str:
    t = _TYPES[dialect].get(col.type)
    if t is None:
        raise DbError("column %s: unknown type %r (known: %s)" % (
            col.name, col.type, ", ".join(_TYPES[dialect])))
    if "%d" in t:
        t = t % col.size
    if col.type == "id":
        return "%s %s" % (ident(col.name), t)
    out = "%s %s" % (ident(col.name), t)
    if col.default is not None:
        out += " DEFAULT " + _literal(col.default)
    if not col.null:
        out += " NOT NULL"
    return out


def create_sql(table: Table, dialect: str) -> list:
    """CREATE statements for one table (IF NOT EXISTS: safe to run again)."""
    lines = [_column_sql(c, dialect) for c in table.columns]
    lines += ["CONSTRAINT %s UNIQUE (%s)" % (ident(name), ", ".join(ident(c) for c in cols))
              for name, cols in table.unique]
    out = ["CREATE TABLE IF NOT EXISTS %s (\n    %s\n)" % (ident(table.name), ",\n    ".join(lines))]
    out += ["CREATE INDEX IF NOT EXISTS %s ON %s (%s)" % (
        ident(name), ident(table.name), ", ".join(ident(c) for c in cols))
        for name, cols in table.indexes]
    return out


def discover() -> list:
    """Add the Tables that kampy's modules declare in their dbschema.py; the
    names of all known tables.  A module that fails to import is skipped."""
    from .. import loader
    try:
        pkg = loader.modules_package()
    except Exception:
        return list(TABLES)
    for d in pkg.__path__:
        for entry in sorted(os.listdir(d)):
            if not os.path.isfile(os.path.join(d, entry, "dbschema.py")):
                continue
            try:
                mod = importlib.import_module("kampy.modules.%s.dbschema" % entry)
            except Exception:
                continue
            for value in vars(mod).values():
                if isinstance(value, Table):
                    TABLES.setdefault(value.name, value)
    return list(TABLES)


def create(url, tables=("version", "uacreg"), *, timeout=10.0, log=None) -> dict:
    """Create Kamailio's tables and their `version` rows; idempotent.

    Returns {table: "created" | "exists" | "exists, version N (kampy expects M)"}.
    An SQLite file is created if missing (its folder must exist)."""
    tables = list(tables)
    if any(t not in TABLES for t in tables):
        discover()
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise DbError("unknown table%s %s; known: %s" % (
            "s" if len(unknown) > 1 else "", ", ".join(unknown), ", ".join(TABLES)))
    if "version" in tables:
        tables.remove("version")
    tables.insert(0, "version")
    db = Database(url, timeout=timeout, name="schema", log=log, _create=True)
    try:
        before = {}
        for name in tables:
            try:
                db.columns(name)
                before[name] = True
            except DbError:
                if not db.available():
                    raise
                before[name] = False
        ph = db._ph
        statements = []
        for name in tables:
            statements += [(sql, ()) for sql in create_sql(TABLES[name], db.scheme)]
            statements.append((
                'INSERT INTO "version" ("table_name", "table_version") SELECT %s, %s '
                'WHERE NOT EXISTS (SELECT 1 FROM "version" WHERE "table_name" = %s)' % (ph, ph, ph),
                (name, TABLES[name].version, name)))
        db._script(statements)
        out = {}
        for name in tables:
            have = db.table_version(name)
            if not before[name]:
                out[name] = "created"
            elif have == TABLES[name].version:
                out[name] = "exists"
            else:
                out[name] = "exists, version %s (kampy expects %d)" % (have, TABLES[name].version)
        return out
    finally:
        db.close()
