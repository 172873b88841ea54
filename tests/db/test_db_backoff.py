# SPDX-License-Identifier: GPL-2.0-or-later
"""A database that is down or goes away: DbError at once (bounded), back-off
1, 2, 4 ... 30 s between connection attempts, recovery when the server is
back.  Real servers and real sockets; the back-off runs on an explicit clock
where waiting for real would only slow the test down."""

import socket
import threading
import time

import pytest

from kampy.db import Database, DbError, schema
from pg import PASSWORD, PgServer, free_tcp_port


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


class Listener:
    """A TCP port that accepts and counts connections; `silent` ones are kept
    open without a word (a server that hangs), others are closed at once."""

    def __init__(self, silent=False, port=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.silent = silent
        self.accepted = 0
        self.held = []
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            if self.silent:
                self.held.append(conn)
            else:
                conn.close()

    def close(self):
        self.stopping = True
        self.thread.join(5)
        for c in self.held:
            c.close()
        self.sock.close()


@pytest.fixture
def listener():
    made = []

    def make(**kw):
        lst = Listener(**kw)
        made.append(lst)
        return lst
    yield make
    for lst in made:
        if not lst.stopping:
            lst.close()


@pytest.fixture(scope="module")
def module_pg():
    srv = PgServer.start_new()
    yield srv
    srv.destroy()


@pytest.fixture
def private_pg(module_pg):
    """A server these tests may stop and start (running again after each)."""
    yield module_pg
    if not module_pg.running:
        module_pg.start()


def settle(lst):
    """The accept count.  The listener counts a connection before closing it
    and the client fails only once it is closed, so by the time a call has
    raised, every connection it made is counted."""
    return lst.accepted


def test_backoff_doubles_to_30s_then_recovers(listener, private_pg):
    srv = private_pg
    url = srv.new_database("kampy_backoff")
    schema.create(url)
    srv.stop()
    lst = listener(port=srv.port)
    clock, logs = Clock(), []
    db = Database(url, timeout=1.0, name="uac", log=logs.append, clock=clock)
    assert db.available()
    seen = 0
    for n, delay in enumerate([1, 2, 4, 8, 16, 30, 30], 1):
        with pytest.raises(DbError) as ei:
            db.query("uacreg")
        assert "next attempt in %d s" % delay in str(ei.value)
        now = settle(lst)
        assert now > seen                       # this call tried to connect
        seen = now
        assert len(logs) == n and logs[-1] == str(ei.value)
        assert "uac: postgres://kampy:***@127.0.0.1" in logs[-1] and PASSWORD not in logs[-1]
        assert not db.available()
        clock.t += delay - 0.01
        with pytest.raises(DbError) as ei:      # still down: refused without I/O
            db.insert("uacreg", {"l_uuid": "x"})
        assert "unavailable" in str(ei.value) and "next attempt in 0.0 s" in str(ei.value)
        assert not db.available()
        assert settle(lst) == seen and len(logs) == n
        clock.t += 0.01
        assert db.available()

    lst.close()
    srv.start()
    assert db.query("uacreg") == []
    assert logs[-1] == "uac: %s: connected again after 7 failed attempts" % db.url
    assert db.available()
    db.close()


def test_refused_is_quick_and_backoff_is_real_time(listener):
    """Nothing listens: DbError in far less than the timeout; calls while
    down cost nothing; the next attempt comes after about 1 s."""
    port = free_tcp_port()
    db = Database("postgres://kampy:pw@127.0.0.1:%d/kampy" % port, timeout=2.0, log=lambda t: None)
    t0 = time.monotonic()
    with pytest.raises(DbError) as ei:
        db.columns("uacreg")
    assert time.monotonic() - t0 < 2.0
    assert "cannot connect" in str(ei.value)
    t0 = time.monotonic()
    for _ in range(200):
        with pytest.raises(DbError):
            db.query("uacreg")
    assert time.monotonic() - t0 < 1.0
    assert not db.available()

    lst = listener()        # the same real-time back-off, counted on a live port
    db = Database("postgres://kampy:pw@127.0.0.1:%d/kampy" % lst.port, timeout=2.0, log=lambda t: None)
    with pytest.raises(DbError):
        db.query("uacreg")
    failed_at = time.monotonic()
    first = settle(lst)
    assert first >= 1
    with pytest.raises(DbError):
        db.query("uacreg")
    if time.monotonic() - failed_at < 0.9:      # (settle took < 0.9 s, as it does unless the VM stalls)
        assert settle(lst) == first
    while time.monotonic() - failed_at < 1.05:
        time.sleep(0.05)
    assert db.available()
    with pytest.raises(DbError) as ei:
        db.query("uacreg")
    assert "next attempt in 2 s" in str(ei.value)
    assert settle(lst) > first


def test_server_that_never_answers_is_bounded(listener):
    lst = listener(silent=True)
    logs = []
    db = Database("postgres://kampy:pw@127.0.0.1:%d/kampy" % lst.port, timeout=1.0, log=logs.append)
    t0 = time.monotonic()
    with pytest.raises(DbError):
        db.query("uacreg")
    took = time.monotonic() - t0
    assert took < 8.0            # libpq's connect timeout has a floor of 2 s
    assert lst.accepted >= 1 and len(logs) == 1 and not db.available()


def test_server_stopped_while_connected_then_restarted(private_pg):
    srv = private_pg
    url = srv.new_database("kampy_restart")
    schema.create(url)
    clock, logs = Clock(), []
    db = Database(url, timeout=2.0, log=logs.append, clock=clock)
    db.insert("uacreg", {"l_uuid": "a"})

    srv.stop("fast")
    t0 = time.monotonic()
    with pytest.raises(DbError) as ei:
        db.query("uacreg")
    assert time.monotonic() - t0 < 3.0
    assert "next attempt in 1 s" in str(ei.value) and not db.available()
    srv.start()
    with pytest.raises(DbError) as ei:          # back-off not over: no attempt yet
        db.query("uacreg")
    assert "unavailable" in str(ei.value)
    clock.t += 1.0
    assert db.available()
    assert [r["l_uuid"] for r in db.query("uacreg")] == ["a"]
    assert "connected again after 1 failed attempt" in logs[-1]

    srv.stop("immediate")                       # a crash, not a clean shutdown
    with pytest.raises(DbError):
        db.insert("uacreg", {"l_uuid": "b"})
    assert not db.available()
    srv.start()
    clock.t += 1.0
    db.insert("uacreg", {"l_uuid": "b"})
    assert len(db.query("uacreg")) == 2
    db.close()


def test_restart_while_idle_is_invisible(private_pg):
    """The server restarted between two calls: the dead connection is noticed
    before use and replaced, and the call succeeds."""
    srv = private_pg
    url = srv.new_database("kampy_idle")
    schema.create(url)
    logs = []
    db = Database(url, log=logs.append)
    db.insert("uacreg", {"l_uuid": "a"})
    srv.stop("fast")
    srv.start()
    assert [r["l_uuid"] for r in db.query("uacreg")] == ["a"]
    assert db.available()
    assert logs == ["%s: the server closed the connection; reconnecting" % db.url]
    db.close()


def test_connection_lost_during_a_chunked_fetch(private_pg):
    srv = private_pg
    url = srv.new_database("kampy_chunks")
    schema.create(url)
    clock = Clock()
    db = Database(url, log=lambda t: None, clock=clock)
    for i in range(30):
        db.insert("uacreg", {"l_uuid": "u%d" % i})
    it = db.query_chunks("uacreg", chunk=10)
    assert len(next(it)) == 10
    srv.stop("fast")
    with pytest.raises(DbError) as ei:
        next(it)
    assert "connection lost" in str(ei.value) and not db.available()
    it.close()
    srv.start()
    clock.t += 1.0
    assert sum(len(c) for c in db.query_chunks("uacreg", chunk=10)) == 30
    db.close()


def test_sqlite_file_missing_then_created(tmp_path):
    path = tmp_path / "later.db"
    url = "sqlite://%s" % path
    clock, logs = Clock(), []
    db = Database(url, log=logs.append, clock=clock)
    with pytest.raises(DbError) as ei:
        db.query("uacreg")
    assert "cannot connect" in str(ei.value) and not path.exists()
    assert not db.available() and len(logs) == 1
    schema.create(url)
    with pytest.raises(DbError):
        db.query("uacreg")
    clock.t += 1.0
    assert db.query("uacreg") == []
    assert "connected again" in logs[-1]
