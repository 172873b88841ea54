# SPDX-License-Identifier: GPL-2.0-or-later
"""Database: one lazily opened connection per process, with back-off.

Theory of operation.  A Database is created in the supervisor, before the
fork, and holds no connection until first used; each process then opens its
own.  A connection seen in another process than the one that opened it (the
fork generation changed) is let go of without closing the parent's session.

    state        call                      outcome
    up           statement ok              result
    up           statement fails (SQL)     DbError, stays up
    up           connection lost           DbError, down for 1 s
    up, stale    (server closed it idle)   reconnect first, then as above
    down         before retry time         DbError at once, no I/O
    down         retry time reached        connect: ok -> up (logged);
                                           fails -> down for twice as long
                                           (1, 2, 4 ... 30 s), logged

So a SIP worker never waits on a database that is known to be down, and waits
at most about `timeout` on one that is up (statement_timeout / busy timeout;
PostgreSQL's connect timeout has libpq's floor of 2 s).  Identifiers are
checked against [A-Za-z_][A-Za-z0-9_]* and quoted; values are always bound.
"""

import os
import re
import sys
import time

from . import drivers
from .url import DbError, parse_url, redact

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_VALUE_TYPES = (str, int, float, bytes)

_fork_gen = 0


def _after_fork():
    global _fork_gen
    _fork_gen += 1


os.register_at_fork(after_in_child=_after_fork)


def _stderr_log(text):
    sys.stderr.write("kampy.db: %s\n" % text)
    sys.stderr.flush()


def ident(name) -> str:
    """A checked, quoted identifier."""
    if not isinstance(name, str) or len(name) > 63 or not _IDENT.match(name):
        raise DbError("bad SQL identifier %r: letters, digits and '_' only, not starting "
                      "with a digit" % (name,))
    return '"%s"' % name


def _value(v):
    if v is None or isinstance(v, _VALUE_TYPES):
        return int(v) if isinstance(v, bool) else v
    raise DbError("cannot store a %s in the database (%r)" % (type(v).__name__, v))


class Database:
    """Database(url, *, timeout=2.0, name="", log=None): one URL, one
    connection per process, opened on first use.

    log(text) gets one line per failed connection attempt, lost connection and
    recovery (default: stderr); name prefixes those lines and the DbErrors.
    clock (time.monotonic) drives the back-off; tests pass their own.  Use one
    Database from one thread at a time."""

    def __init__(self, url, *, timeout=2.0, name="", log=None, clock=time.monotonic,
                 _create=False):
        spec = parse_url(url)
        try:
            timeout = float(timeout)
        except (TypeError, ValueError):
            timeout = 0.0
        if not timeout > 0:
            raise DbError("database timeout must be > 0 seconds")
        self.scheme = spec.scheme
        self.url = redact(url.strip())
        self.name = name
        self.timeout = timeout
        self._password = spec.password
        self._log = log or _stderr_log
        self._clock = clock
        if spec.scheme == "sqlite":
            self._drv = drivers.SqliteDriver(spec, timeout, create=_create)
        else:
            self._drv = drivers.PostgresDriver(spec, timeout, name)
        self._ph = self._drv.ph
        self._gen = None
        self._delay = 0.0          # current back-off; 0 while up
        self._retry_at = 0.0
        self._failures = 0
        self._last_error = ""

    def __repr__(self):
        return "<Database %s%s>" % (self.url, " (%s)" % self.name if self.name else "")

    # --- state ------------------------------------------------------------------------
    @property
    def _label(self):
        return "%s%s" % (self.name + ": " if self.name else "", self.url)

    def _clean(self, exc) -> str:
        text = " ".join(str(exc).split()) or type(exc).__name__
        if len(self._password) >= 4:
            text = text.replace(self._password, "***")
        return text

    def available(self) -> bool:
        """False while in back-off after a failure: skip the DB, keep memory state."""
        return self._delay == 0 or self._clock() >= self._retry_at

    def _down(self, what: str, exc):
        self._failures += 1
        self._delay = BACKOFF_FIRST if self._delay == 0 else min(self._delay * 2, BACKOFF_MAX)
        self._retry_at = self._clock() + self._delay
        self._last_error = self._clean(exc)
        msg = "%s: %s: %s; next attempt in %g s" % (self._label, what, self._last_error, self._delay)
        self._say(msg)
        return DbError(msg)

    def _say(self, text):
        try:
            self._log(text)
        except Exception:       # a broken logger must not turn into a DB failure
            pass

    def _connection(self):
        """The driver, connected in this process, or DbError."""
        drv = self._drv
        if drv.conn is not None and self._gen != _fork_gen:
            drv.abandon()
        if drv.conn is not None and drv.stale():
            drv.close()
            self._say("%s: the server closed the connection; reconnecting" % self._label)
        if drv.conn is None:
            if self._delay and self._clock() < self._retry_at:
                raise DbError("%s: unavailable (%s); next attempt in %.1f s" % (
                    self._label, self._last_error, self._retry_at - self._clock()))
            try:
                drv.connect()
            except Exception as e:
                drv.close()
                raise self._down("cannot connect", e) from None
            self._gen = _fork_gen
            if self._failures:
                self._say("%s: connected again after %d failed attempt%s" % (
                    self._label, self._failures, "" if self._failures == 1 else "s"))
            self._delay = 0.0
            self._failures = 0
        return drv

    def _failed(self, exc):
        """The DbError for a failed statement; a lost connection also starts the back-off."""
        if isinstance(exc, DbError):
            return exc
        if self._drv.conn is not None and self._drv.lost(exc):
            self._drv.close()
            return self._down("connection lost", exc)
        return DbError("%s: %s" % (self._label, self._clean(exc)))

    def _run(self, sql, params=()):
        drv = self._connection()
        try:
            return drv.execute(sql, params)
        except Exception as e:
            raise self._failed(e) from None

    # --- SQL --------------------------------------------------------------------------
    def _where(self, where, params):
        if where is None:
            return ""
        if not isinstance(where, dict):
            raise DbError("where must be a dict of column -> value")
        parts = []
        for col, v in where.items():
            if v is None:
                parts.append("%s IS NULL" % ident(col))
            else:
                parts.append("%s = %s" % (ident(col), self._ph))
                params.append(_value(v))
        return " WHERE " + " AND ".join(parts) if parts else ""

    def _select(self, table, columns, where, order_by=None, limit=None):
        if columns is None:
            cols = "*"
        else:
            if isinstance(columns, str) or not columns:
                raise DbError("columns must be a non-empty list of column names")
            cols = ", ".join(ident(c) for c in columns)
        params = []
        sql = "SELECT %s FROM %s%s" % (cols, ident(table), self._where(where, params))
        if order_by:
            keys = [order_by] if isinstance(order_by, str) else list(order_by)
            sql += " ORDER BY " + ", ".join(
                ident(k[1:]) + " DESC" if k.startswith("-") else ident(k) for k in keys)
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
                raise DbError("limit must be an integer >= 0")
            sql += " LIMIT %d" % limit
        return sql, params

    @staticmethod
    def _dicts(names, rows):
        return [dict(zip(names, r)) for r in rows]

    # --- the API ----------------------------------------------------------------------
    def query(self, table, columns=None, where=None, order_by=None, limit=None) -> list:
        """Rows as dicts.  where: {col: value} AND-ed, None matches NULL;
        order_by: a column or a list of them, "-col" for descending."""
        sql, params = self._select(table, columns, where, order_by, limit)
        names, rows, _ = self._run(sql, params)
        return self._dicts(names, rows)

    def query_chunks(self, table, columns=None, where=None, chunk=1000):
        """An iterator of lists of at most `chunk` row dicts, fetched from the
        server as they are consumed (a server-side cursor on PostgreSQL).
        On PostgreSQL the fetch runs in a transaction until the iterator is
        exhausted or closed: statements issued meanwhile on this Database
        belong to it."""
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise DbError("chunk must be an integer >= 1")
        sql, params = self._select(table, columns, where)
        return self._chunks(sql, params, chunk)

    def _chunks(self, sql, params, chunk):
        drv = self._connection()
        it = drv.chunks(sql, params, chunk)
        try:
            while True:
                try:
                    names, rows = next(it)
                except StopIteration:
                    return
                except Exception as e:
                    raise self._failed(e) from None
                yield self._dicts(names, rows)
        finally:
            try:
                it.close()
            except Exception:
                pass

    def insert(self, table, row: dict) -> None:
        """Insert one row {col: value}."""
        if not isinstance(row, dict) or not row:
            raise DbError("insert needs a non-empty dict of column -> value")
        cols = ", ".join(ident(c) for c in row)
        marks = ", ".join([self._ph] * len(row))
        self._run("INSERT INTO %s (%s) VALUES (%s)" % (ident(table), cols, marks),
                  [_value(v) for v in row.values()])

    def update(self, table, where: dict, values: dict) -> int:
        """Set `values` on the rows matching `where` ({} matches all); the row count."""
        if not isinstance(values, dict) or not values:
            raise DbError("update needs a non-empty dict of column -> value")
        if not isinstance(where, dict):
            raise DbError("where must be a dict of column -> value")
        params = [_value(v) for v in values.values()]
        sets = ", ".join("%s = %s" % (ident(c), self._ph) for c in values)
        sql = "UPDATE %s SET %s%s" % (ident(table), sets, self._where(where, params))
        return self._run(sql, params)[2]

    def delete(self, table, where: dict) -> int:
        """Delete the rows matching `where` ({} matches all); the row count."""
        if not isinstance(where, dict):
            raise DbError("where must be a dict of column -> value")
        params = []
        sql = "DELETE FROM %s%s" % (ident(table), self._where(where, params))
        return self._run(sql, params)[2]

    def columns(self, table) -> list:
        """The table's column names, in table order."""
        names, _, _ = self._run("SELECT * FROM %s LIMIT 0" % ident(table))
        return names

    def table_version(self, table):
        """The table's row in Kamailio's `version` table, or None without one."""
        ident(table)
        names, rows, _ = self._run(
            'SELECT "table_version" FROM "version" WHERE "table_name" = %s' % self._ph, [table])
        if not rows:
            return None
        try:
            return int(rows[0][0])
        except (TypeError, ValueError):
            raise DbError("%s: version of %s is not a number: %r" % (self._label, table, rows[0][0]))

    def _script(self, statements):
        """Several statements in one transaction (kampy.db.schema)."""
        drv = self._connection()
        try:
            drv.script(statements)
        except Exception as e:
            raise self._failed(e) from None

    def close(self):
        """Close this process's connection (a later call opens a new one)."""
        if self._drv.conn is not None and self._gen != _fork_gen:
            self._drv.abandon()
        self._drv.close()
