# SPDX-License-Identifier: GPL-2.0-or-later
"""The two engines behind kampy.db, each one connection in one process.

A driver knows how to connect, run one statement under a deadline, fetch a
result in chunks, tell a lost connection from a failed statement, and let go
of a connection inherited through fork() without hurting the parent's.  It
raises the engine's own exceptions; kampy.db.core turns them into DbError.
"""

import math
import os
import select
import sqlite3
import time
import urllib.parse

_ABANDONED = []   # inherited SQLite handles, kept alive so the child never closes them


class Lost(Exception):
    """The connection is gone (not just one statement failing)."""


class SqliteDriver:
    """stdlib sqlite3: autocommit, busy timeout, and a progress handler that
    interrupts a statement running past its deadline."""

    ph = "?"

    def __init__(self, spec, timeout: float, create: bool = False):
        self.path = spec.path
        self.timeout = timeout
        self.create = create
        self.conn = None
        self._deadline = math.inf

    def connect(self):
        mode = "rwc" if self.create else "rw"
        uri = "file:%s?mode=%s" % (urllib.parse.quote(self.path), mode)
        conn = sqlite3.connect(uri, uri=True, timeout=self.timeout, isolation_level=None,
                               check_same_thread=False)
        conn.set_progress_handler(self._past_deadline, 10000)
        self.conn = conn

    def _past_deadline(self):
        return time.monotonic() > self._deadline

    def stale(self) -> bool:
        return False

    def lost(self, exc) -> bool:
        return isinstance(exc, sqlite3.ProgrammingError) and "closed" in str(exc)

    def errors(self):
        return (sqlite3.Error,)

    def execute(self, sql, params=()):
        """(column names or None, rows or None, rowcount)."""
        self._deadline = time.monotonic() + self.timeout
        try:
            cur = self.conn.execute(sql, params)
            if cur.description is None:
                return None, None, cur.rowcount
            names = [d[0] for d in cur.description]
            return names, cur.fetchall(), cur.rowcount
        finally:
            self._deadline = math.inf

    def script(self, statements):
        """Several statements in one transaction (schema creation)."""
        self.execute("BEGIN")
        try:
            for sql, params in statements:
                self.execute(sql, params)
            self.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def chunks(self, sql, params, size):
        """Yields (names, rows) of at most `size` rows; SQLite steps the
        statement as rows are fetched, so memory stays at one chunk."""
        cur = None
        try:
            self._deadline = time.monotonic() + self.timeout
            cur = self.conn.execute(sql, params)
            names = [d[0] for d in cur.description]
            while True:
                self._deadline = time.monotonic() + self.timeout
                rows = cur.fetchmany(size)
                self._deadline = math.inf
                if not rows:
                    return
                yield names, rows
        finally:
            self._deadline = math.inf
            if cur is not None:
                cur.close()

    def close(self):
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass

    def abandon(self):
        """After fork: SQLite must not use a handle opened by the parent, and
        closing it could touch the parent's locks; keep it, unused, forever."""
        if self.conn is not None:
            _ABANDONED.append(self.conn)
        self.conn = None


class PostgresDriver:
    """psycopg 3: autocommit; connect_timeout and statement_timeout from the
    timeout; TCP keepalives and tcp_user_timeout so that a peer that vanished
    is noticed within a few seconds instead of hanging a worker."""

    ph = "%s"

    def __init__(self, spec, timeout: float, name: str = ""):
        self.spec = spec
        self.timeout = timeout
        self.name = name
        self.conn = None
        self._cursors = 0

    def connect(self):
        import psycopg
        s = self.spec
        ms = max(1, int(self.timeout * 1000))
        kw = dict(host=s.host, port=s.port, dbname=s.dbname,
                  connect_timeout=max(2, math.ceil(self.timeout)),
                  options="-c statement_timeout=%d" % ms,
                  application_name=("kampy " + self.name).strip()[:63],
                  keepalives=1, keepalives_idle=max(1, math.ceil(self.timeout)),
                  keepalives_interval=1, keepalives_count=3, tcp_user_timeout=ms,
                  autocommit=True)
        if s.user:
            kw["user"] = s.user
        if s.password:
            kw["password"] = s.password
        self.conn = psycopg.connect(**kw)

    def errors(self):
        import psycopg
        return (psycopg.Error,)

    def stale(self) -> bool:
        """An idle connection whose socket is readable was closed by the server
        (restart, admin shutdown, idle timeout): reconnect before using it."""
        conn = self.conn
        if conn.closed or conn.broken:
            return True
        from psycopg import pq
        if conn.info.transaction_status != pq.TransactionStatus.IDLE:   # inside a chunked fetch
            return False
        try:
            readable, _, _ = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def lost(self, exc) -> bool:
        conn = self.conn
        return conn is None or conn.closed or conn.broken

    def execute(self, sql, params=()):
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            if cur.description is None:
                return None, None, cur.rowcount
            names = [d.name for d in cur.description]
            return names, cur.fetchall(), cur.rowcount

    def script(self, statements):
        with self.conn.transaction():
            with self.conn.cursor() as cur:
                for sql, params in statements:
                    cur.execute(sql, params)

    def chunks(self, sql, params, size):
        """A server-side cursor inside a transaction: FETCH `size` rows at a
        time, each FETCH under statement_timeout."""
        self._cursors += 1
        name = "kampy_chunks_%d" % self._cursors
        with self.conn.transaction():
            with self.conn.cursor(name=name) as cur:
                cur.execute(sql, params)
                names = [d.name for d in cur.description]
                while True:
                    rows = cur.fetchmany(size)
                    if not rows:
                        return
                    yield names, rows

    def close(self):
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def abandon(self):
        """After fork: the socket is shared with the parent.  Point this
        process's copy of the descriptor at /dev/null first, so that closing
        the inherited connection cannot send the server a goodbye on the
        parent's session."""
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            fd = conn.fileno()
            null = os.open(os.devnull, os.O_RDWR)
            try:
                os.dup2(null, fd)
            finally:
                os.close(null)
        except Exception:
            _ABANDONED.append(conn)
            return
        try:
            conn.close()
        except Exception:
            _ABANDONED.append(conn)
