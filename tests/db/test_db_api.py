# SPDX-License-Identifier: GPL-2.0-or-later
"""kampy.db's API on SQLite and on a real PostgreSQL server: every method,
identifiers checked, values bound, chunked fetch, timeouts, fork."""

import os
import time

import pytest

from kampy.db import DbError

ROW = dict(l_uuid="u1", l_username="alice", l_domain="example.com", r_username="bob",
           r_domain="prov.example.net", realm="prov", auth_username="bob", auth_password="pw1",
           auth_proxy="sip:prov.example.net", expires=600)


def row(n, **kw):
    r = dict(ROW, l_uuid="u%d" % n, l_username="user%d" % n, **kw)
    return r


def test_insert_query_update_delete(backend):
    db = backend.db()
    for n in (3, 1, 2):
        assert db.insert("uacreg", row(n, flags=n % 2)) is None
    got = db.query("uacreg", ["l_uuid", "l_username", "flags", "expires", "socket"], order_by="l_uuid")
    assert got == [
        {"l_uuid": "u1", "l_username": "user1", "flags": 1, "expires": 600, "socket": ""},
        {"l_uuid": "u2", "l_username": "user2", "flags": 0, "expires": 600, "socket": ""},
        {"l_uuid": "u3", "l_username": "user3", "flags": 1, "expires": 600, "socket": ""},
    ]
    full = db.query("uacreg", where={"l_uuid": "u2"})
    assert len(full) == 1 and full[0]["auth_password"] == "pw1" and isinstance(full[0]["id"], int)
    assert list(full[0]) == db.columns("uacreg")
    assert [r["l_uuid"] for r in db.query("uacreg", ["l_uuid"], where={"flags": 1, "expires": 600},
                                          order_by="-l_uuid")] == ["u3", "u1"]
    assert db.query("uacreg", ["l_uuid"], order_by=["flags", "-l_uuid"], limit=2) == [
        {"l_uuid": "u2"}, {"l_uuid": "u3"}]
    assert db.query("uacreg", ["l_uuid"], limit=0) == []
    assert db.query("uacreg", where={"l_uuid": "nobody"}) == []

    assert db.update("uacreg", {"flags": 1}, {"expires": 300, "reg_delay": 7}) == 2
    assert db.update("uacreg", {"l_uuid": "nobody"}, {"expires": 1}) == 0
    assert {r["l_uuid"]: (r["expires"], r["reg_delay"]) for r in db.query("uacreg")} == {
        "u1": (300, 7), "u2": (600, 0), "u3": (300, 7)}
    assert db.update("uacreg", {}, {"realm": "all"}) == 3
    assert db.delete("uacreg", {"l_uuid": "u1"}) == 1
    assert db.delete("uacreg", {"l_uuid": "u1"}) == 0
    assert db.delete("uacreg", {}) == 2
    assert db.query("uacreg") == []


def test_where_none_is_null(backend):
    backend.raw.sql("CREATE TABLE opt (k VARCHAR(8) NOT NULL, v VARCHAR(8), n INTEGER)")
    db = backend.db()
    db.insert("opt", {"k": "a", "v": None, "n": 1})
    db.insert("opt", {"k": "b", "v": "x", "n": None})
    db.insert("opt", {"k": "c", "v": "", "n": True})
    assert db.query("opt", ["k"], where={"v": None}) == [{"k": "a"}]
    assert db.query("opt", ["k"], where={"n": None, "v": "x"}) == [{"k": "b"}]
    assert db.query("opt", ["k", "n"], where={"v": ""}) == [{"k": "c", "n": 1}]
    assert db.update("opt", {"v": None}, {"v": "set", "n": None}) == 1
    assert db.query("opt", ["v", "n"], where={"k": "a"}) == [{"v": "set", "n": None}]
    assert db.delete("opt", {"n": None}) == 2


def test_columns_and_table_version(backend):
    db = backend.db()
    assert db.columns("uacreg") == [
        "id", "l_uuid", "l_username", "l_domain", "r_username", "r_domain", "realm",
        "auth_username", "auth_password", "auth_ha1", "auth_proxy", "expires", "flags",
        "reg_delay", "contact_addr", "socket"]
    assert db.columns("version") == ["id", "table_name", "table_version"]
    backend.raw.sql("ALTER TABLE uacreg ADD COLUMN contact_user VARCHAR(64) DEFAULT '' NOT NULL")
    assert db.columns("uacreg")[-1] == "contact_user"
    assert db.table_version("uacreg") == 5
    assert db.table_version("version") == 1
    assert db.table_version("no_such_table") is None
    backend.raw.sql("UPDATE version SET table_version = 4 WHERE table_name = 'uacreg'")
    assert db.table_version("uacreg") == 4
    with pytest.raises(DbError) as ei:
        db.columns("no_such_table")
    assert "no_such_table" in str(ei.value)
    assert db.available()                   # an SQL error is not an outage
    assert db.query("version", ["table_name"], where={"table_name": "version"})


@pytest.mark.parametrize("call", [
    lambda db: db.query("uacreg; DROP TABLE uacreg"),
    lambda db: db.query('uacreg"'),
    lambda db: db.query("1uacreg"),
    lambda db: db.query(""),
    lambda db: db.query(None),
    lambda db: db.query("uacreg", ["l_uuid", "flags FROM version --"]),
    lambda db: db.query("uacreg", "l_uuid"),
    lambda db: db.query("uacreg", []),
    lambda db: db.query("uacreg", where={"l_uuid = l_uuid OR 1": 1}),
    lambda db: db.query("uacreg", where=[("l_uuid", "x")]),
    lambda db: db.query("uacreg", order_by="l_uuid; DELETE FROM uacreg"),
    lambda db: db.query("uacreg", order_by=["-", "l_uuid"]),
    lambda db: db.query("uacreg", limit=-1),
    lambda db: db.query("uacreg", limit="1; DELETE FROM uacreg"),
    lambda db: db.query("uacreg", where={"l_uuid": {"nested": 1}}),
    lambda db: db.query_chunks("uacreg", chunk=0),
    lambda db: db.query_chunks("uac reg"),
    lambda db: db.insert("uacreg", {}),
    lambda db: db.insert("uacreg", {"l_uuid)": "x"}),
    lambda db: db.insert("uacreg", {"l_uuid": ["x"]}),
    lambda db: db.update("uacreg", {"l_uuid": "u1"}, {}),
    lambda db: db.update("uacreg", None, {"flags": 1}),
    lambda db: db.update("uacreg", {"l_uuid": "u1"}, {"flags=0, expires": 1}),
    lambda db: db.delete("uacreg", None),
    lambda db: db.delete("uacreg WHERE 1=1 --", {}),
    lambda db: db.columns("uacreg LIMIT 1"),
    lambda db: db.table_version("x' OR '1'='1"),
    lambda db: db.query("a" * 64),
])
def test_identifiers_and_arguments_checked(backend, call):
    db = backend.db()
    db.insert("uacreg", row(1))
    with pytest.raises(DbError):
        call(db)
    assert backend.raw.sql("SELECT count(*) FROM uacreg") == [(1,)]
    assert db.available()


def test_values_are_bound_not_spliced(backend):
    db = backend.db()
    evil = "x'); DROP TABLE uacreg; --"
    db.insert("uacreg", row(1, realm=evil, auth_password="p'\"\\%s?"))
    got = db.query("uacreg", ["realm", "auth_password"], where={"realm": evil})
    assert got == [{"realm": evil, "auth_password": "p'\"\\%s?"}]
    assert db.update("uacreg", {"realm": evil}, {"realm": "' OR 1=1 --"}) == 1
    assert db.query("uacreg", ["realm"]) == [{"realm": "' OR 1=1 --"}]
    assert db.query("uacreg", where={"l_uuid": "' OR '1'='1"}) == []


def test_unique_l_uuid(backend):
    db = backend.db()
    db.insert("uacreg", row(1))
    with pytest.raises(DbError) as ei:
        db.insert("uacreg", row(1))
    assert "l_uuid" in str(ei.value) or "unique" in str(ei.value).lower()
    assert db.available()
    assert len(db.query("uacreg")) == 1


def fill(backend, n):
    cols = ("l_uuid", "l_username", "l_domain", "r_username", "r_domain", "auth_username",
            "auth_password", "auth_proxy", "expires", "flags")
    backend.raw.many("INSERT INTO uacreg (%s) VALUES (%s)" % (", ".join(cols), ", ".join("?" * len(cols))),
                     [("uuid%05d" % i, "l%d" % i, "d", "r%d" % i, "rd", "a%d" % i, "pw", "sip:p",
                       3600, i % 3) for i in range(n)])


def test_query_chunks_10000_rows(backend):
    fill(backend, 10000)
    db = backend.db()
    chunks = list(db.query_chunks("uacreg", ["l_uuid", "flags"]))
    assert [len(c) for c in chunks] == [1000] * 10
    uuids = [r["l_uuid"] for c in chunks for r in c]
    assert sorted(uuids) == ["uuid%05d" % i for i in range(10000)]
    assert [len(c) for c in db.query_chunks("uacreg", chunk=3000)] == [3000, 3000, 3000, 1000]
    sizes = [len(c) for c in db.query_chunks("uacreg", ["l_uuid"], where={"flags": 2}, chunk=1000)]
    assert sizes == [1000, 1000, 1000, 333]
    assert list(db.query_chunks("uacreg", where={"l_uuid": "none"})) == []
    first = next(iter(db.query_chunks("uacreg", chunk=1)))
    assert len(first) == 1 and set(first[0]) == set(db.columns("uacreg"))


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_query_chunks_is_fetched_from_the_server_as_consumed(backend):
    """PostgreSQL: a server-side cursor keeps a transaction open while the
    iteration runs, and closing the iterator ends it."""
    fill(backend, 2500)
    db = backend.db(name="chunks-test")
    state = ("SELECT state FROM pg_stat_activity WHERE application_name = 'kampy chunks-test'")
    it = db.query_chunks("uacreg", ["l_uuid"], chunk=1000)
    assert len(next(it)) == 1000
    assert backend.raw.sql(state) == [("idle in transaction",)]
    assert db.query("uacreg", ["l_uuid"], where={"l_uuid": "uuid00007"})   # usable meanwhile
    it.close()
    assert backend.raw.sql(state) == [("idle",)]
    assert sum(len(c) for c in db.query_chunks("uacreg")) == 2500
    assert backend.raw.sql(state) == [("idle",)]


def test_statement_timeout(backend):
    """A table held locked by someone else: the statement gives up after about
    `timeout` instead of blocking a worker, and the database stays usable."""
    db = backend.db(timeout=0.5)
    db.insert("uacreg", row(1))
    locker = backend.raw
    if backend.kind == "sqlite":
        locker.sql("BEGIN EXCLUSIVE")
    else:
        locker.sql("BEGIN")
        locker.sql("LOCK TABLE uacreg IN ACCESS EXCLUSIVE MODE")
    try:
        t0 = time.monotonic()
        with pytest.raises(DbError) as ei:
            db.update("uacreg", {"l_uuid": "u1"}, {"flags": 1})
        took = time.monotonic() - t0
    finally:
        locker.sql("ROLLBACK")
    assert 0.3 < took < 5.0
    text = str(ei.value).lower()
    assert "locked" in text or "timeout" in text
    assert db.available()
    assert db.update("uacreg", {"l_uuid": "u1"}, {"flags": 1}) == 1


def test_endless_statement_is_cut_at_the_timeout(backend):
    """A view that never finishes computing: statement_timeout (PostgreSQL) or
    the progress handler (SQLite) ends it after about `timeout`."""
    backend.raw.sql("CREATE VIEW endless AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
                    "SELECT x + 1 FROM c) SELECT count(*) AS n FROM c")
    db = backend.db(timeout=0.5)
    t0 = time.monotonic()
    with pytest.raises(DbError) as ei:
        db.query("endless")
    took = time.monotonic() - t0
    assert 0.4 < took < 5.0
    text = str(ei.value).lower()
    assert "interrupted" in text or "statement timeout" in text
    assert db.available() and db.columns("endless") == ["n"]


def test_fork_each_process_connects_on_its_own(backend):
    """Used before the fork, the parent's connection survives the child: the
    child opens its own and never touches the inherited one."""
    logs = []
    db = backend.db(log=logs.append)
    db.insert("uacreg", row(1))
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            db.insert("uacreg", row(2))
            code = 0 if len(db.query("uacreg")) == 2 else 3
        except BaseException:
            code = 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        assert time.monotonic() < deadline, "child hung"
        time.sleep(0.02)
    assert os.waitstatus_to_exitcode(status) == 0
    assert [r["l_uuid"] for r in db.query("uacreg", ["l_uuid"], order_by="l_uuid")] == ["u1", "u2"]
    db.insert("uacreg", row(3))
    assert logs == []                     # no lost connection, no reconnect in the parent


def test_close_then_use_reconnects(backend):
    db = backend.db()
    db.insert("uacreg", row(1))
    db.close()
    db.close()
    assert db.query("uacreg", ["l_uuid"]) == [{"l_uuid": "u1"}]


def test_kamailio_four_slash_sqlite_url_opens_the_same_file(tmp_path):
    from kampy.db import Database, schema
    path = str(tmp_path / "k.db")
    schema.create("sqlite://" + path, tables=("version",))          # kampy: sqlite:///abs
    db = Database("sqlite:///" + path)                                # Kamailio: sqlite:////abs
    try:
        assert db.query("version", ["table_name"], where={"table_name": "version"})
    finally:
        db.close()
