# SPDX-License-Identifier: GPL-2.0-or-later
"""Fixtures for the DB layer's tests: each API test runs on SQLite and on a
real PostgreSQL server (tests/pg.py), with Kamailio's tables created and a
direct connection (`raw`) to look at or prepare the data behind kampy.db."""

import sqlite3

import pytest

from kampy.db import Database, schema
from pg import USER, pg_server  # noqa: F401  (the session's PostgreSQL server)


class Raw:
    """Plain SQL on the same database, outside kampy.db."""

    def __init__(self, kind, conn):
        self.kind = kind
        self.conn = conn
        self.ph = "?" if kind == "sqlite" else "%s"

    def sql(self, text, params=()):
        text = text.replace("?", self.ph)
        cur = self.conn.execute(text, params)
        return cur.fetchall() if cur.description else None

    def many(self, text, rows):
        text = text.replace("?", self.ph)
        if self.kind == "sqlite":
            self.conn.execute("BEGIN")
            self.conn.executemany(text, rows)
            self.conn.execute("COMMIT")
        else:
            with self.conn.transaction():
                with self.conn.cursor() as cur:
                    cur.executemany(text, rows)

    def close(self):
        self.conn.close()


class Backend:
    def __init__(self, kind, url, raw):
        self.kind = kind
        self.url = url
        self.raw = raw
        self.dbs = []

    def db(self, **kw):
        kw.setdefault("timeout", 5.0)
        db = Database(self.url, **kw)
        self.dbs.append(db)
        return db


_reused = {}


def fresh_pg_database(srv) -> str:
    """One database per server, emptied for each test (CREATE DATABASE costs
    about 0.4 s; dropping the schema a few ms)."""
    url = _reused.get(id(srv))
    if url is None:
        url = _reused[id(srv)] = srv.new_database()
    with srv.connect(url.rsplit("/", 1)[1], user=USER) as conn:
        conn.execute("SET lock_timeout = '10s'")
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, tmp_path):
    """A database with Kamailio's version and uacreg tables, on each engine."""
    if request.param == "sqlite":
        path = tmp_path / "kampy.db"
        url = "sqlite://%s" % path
        schema.create(url)
        raw = Raw("sqlite", sqlite3.connect(str(path), isolation_level=None))
    else:
        srv = request.getfixturevalue("pg_server")
        url = fresh_pg_database(srv)
        schema.create(url)
        raw = Raw("postgres", srv.connect(url.rsplit("/", 1)[1], user=USER))
    b = Backend(request.param, url, raw)
    yield b
    for db in b.dbs:
        db.close()
    raw.close()
