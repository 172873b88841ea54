# SPDX-License-Identifier: GPL-2.0-or-later
"""usrloc with Kamailio's location table on SQLite and PostgreSQL, in-process:
write-through (1), write-back (2), DB only (3), load at startup, a database
that goes away and comes back."""

import datetime
import sqlite3
import time

import pytest

from kampy.db import Database, schema
from kampy.runtime import Runtime
from kampy.script.compiler import compile_text

from kampy.modules.usrloc import rpc as R
from kampy.modules.usrloc import store as S
from kampy.modules.usrloc.dbschema import LOCATION, VERSION

from pg import PgServer, pg_server  # noqa: F401  (the session's PostgreSQL server)

CFG = """
listen=udp:127.0.0.1:5060
loadmodule "usrloc"
modparam("usrloc", "preload", "location")
modparam("usrloc", "db_url", "%s")
modparam("usrloc", "db_mode", %d)
%s
request_route { exit; }
"""


@pytest.fixture(params=["sqlite", "postgres"])
def url(request, tmp_path):
    if request.param == "sqlite":
        u = "sqlite://%s" % (tmp_path / "kampy.db")
    else:
        u = request.getfixturevalue("pg_server").new_database()
    schema.create(u, tables=("version", "location"))
    return u


class Env:
    def __init__(self, url, mode, params=""):
        self.url = url
        self.rt = Runtime(compile_text(CFG % (url, mode, params), "t.cfg"))
        self.rt.timers.now_ms = 1_000_000
        self.rt.init_modules()
        self.api = self.rt.api("usrloc")
        self.db = Database(url)

    def add(self, aor, uri, expires=600, **kw):
        api = self.api

        def fn(cs, t):
            for c in cs:
                if c["c"] == uri:
                    c.update(kw, e=t + expires if expires else 0, cs=c["cs"] + 1)
                    return 2
            c = {"c": uri, "e": t + expires, "q": -1, "ci": "call-" + aor, "cs": 1, "p": "",
                 "r": "", "ua": "phone/2", "sk": "udp:127.0.0.1:5060", "in": "", "ri": 0,
                 "m": 0xFFFFFFFF, "f": 0, "cf": 0, "id": api.new_ruid()}
            c.update(kw)
            cs.append(c)
            return 1
        return api.modify("location", aor, fn)

    def remove(self, aor, uri):
        def fn(cs, t):
            cs[:] = [c for c in cs if c["c"] != uri]
        return self.api.modify("location", aor, fn)

    def rows(self, **where):
        return sorted(self.db.query("location", where=where or None), key=lambda r: r["contact"])

    def tick(self, seconds=0):
        self.rt.timers.now_ms += int(seconds * 1000)
        S.timer(self.rt)

    def states(self, aor):
        out = R.rpc_dump(self.rt)["Domains"][0]["Domain"]["AoRs"]
        for a in out:
            if a["Info"]["AoR"] == aor:
                return [(c["Contact"]["Address"], c["Contact"]["State"], c["Contact"]["Expires"])
                        for c in a["Info"]["Contacts"]]
        return []

    def close(self):
        self.db.close()


def as_unix(v):
    if isinstance(v, datetime.datetime):
        return int(time.mktime(v.timetuple()))
    return int(time.mktime(time.strptime(v, "%Y-%m-%d %H:%M:%S")))


def test_write_through_writes_kamailios_row_at_once(url):
    env = Env(url, 1)
    env.add("alice", "sip:alice@192.0.2.1:5060", q=500, m=0xFFFFFFFF, r="sip:203.0.113.9:4000")
    [row] = env.rows()
    [c] = env.api.get("location", "alice")
    assert row["username"] == "alice" and row["domain"] is None
    assert row["contact"] == "sip:alice@192.0.2.1:5060" and row["ruid"] == c["id"]
    assert as_unix(row["expires"]) == c["e"] and as_unix(row["last_modified"]) == c["lm"]
    assert row["q"] == pytest.approx(0.5) and row["callid"] == "call-alice" and row["cseq"] == 1
    assert row["methods"] == -1 and row["flags"] == 0 and row["user_agent"] == "phone/2"
    assert row["socket"] == "udp:127.0.0.1:5060" and row["received"] == "sip:203.0.113.9:4000"
    assert row["path"] is None and row["instance"] is None and row["reg_id"] == 0
    assert env.states("alice") == [("sip:alice@192.0.2.1:5060", "CS_SYNC", 600)]
    env.add("alice", "sip:alice@192.0.2.1:5060", expires=300)
    [row] = env.rows()
    assert row["cseq"] == 2 and as_unix(row["expires"]) == env.api.now() + 300
    env.remove("alice", "sip:alice@192.0.2.1:5060")
    assert env.rows() == [] and env.api.get("location", "alice") == []
    env.close()


def test_write_back_waits_for_the_timer(url):
    env = Env(url, 2)
    env.add("alice", "sip:a@h1")
    env.add("bob", "sip:b@h2")
    assert env.rows() == []
    assert env.states("alice") == [("sip:a@h1", "CS_NEW", 600)]
    env.tick(1)
    assert [r["contact"] for r in env.rows()] == ["sip:a@h1", "sip:b@h2"]
    assert env.states("alice") == [("sip:a@h1", "CS_SYNC", 599)]
    env.add("alice", "sip:a@h1", expires=900)
    assert env.states("alice")[0][1] == "CS_DIRTY"
    assert env.rows(username="alice")[0]["cseq"] == 1
    env.tick(1)
    assert env.rows(username="alice")[0]["cseq"] == 2
    # an unregistered contact stays as "deleted" until its row is gone
    env.remove("bob", "sip:b@h2")
    assert env.states("bob") == [("sip:b@h2", "CS_SYNC", "deleted")]
    assert env.api.get("location", "bob") == []
    env.tick(1)
    assert env.states("bob") == [] and [r["contact"] for r in env.rows()] == ["sip:a@h1"]
    env.close()


def test_expired_contacts_leave_memory_and_table(url):
    env = Env(url, 2)
    env.add("alice", "sip:a@h1", expires=60)
    env.add("alice", "sip:a@h2", expires=600)
    env.tick(1)
    assert len(env.rows()) == 2
    env.tick(60)
    assert [r["contact"] for r in env.rows()] == ["sip:a@h2"]
    assert [c["c"] for c in env.api.get("location", "alice")] == ["sip:a@h2"]
    assert env.rt.counters.get("usrloc:location-expires") == 1
    env.close()


def test_flush_writes_now_and_memory_only_contacts_never(url):
    env = Env(url, 2)
    env.add("alice", "sip:a@h1")
    env.add("alice", "sip:a@h2", f=env.api.FL_MEM)
    R.rpc_flush(env.rt)
    assert [r["contact"] for r in env.rows()] == ["sip:a@h1"]
    env.close()


@pytest.mark.parametrize("mode", [1, 2])
def test_a_restart_loads_the_bindings(url, mode):
    env = Env(url, mode)
    env.add("alice", "sip:a@h1", q=800)
    env.add("alice", "sip:a@h2", expires=1200)
    env.add("bob", "sip:b@h3")
    if mode == 2:
        env.rt.modules["usrloc"].destroy(env.rt)       # shutdown flushes the write-back cache
    before = {c["id"]: c for c in env.api.get("location", "alice")}
    env.close()
    env2 = Env(url, mode)                               # a new server: empty shared memory
    assert env2.api.get("location", "alice") == []
    env2.tick(0)                                        # the usrloc timer process loads
    got = env2.api.get("location", "alice")
    assert [c["c"] for c in got] == ["sip:a@h1", "sip:a@h2"]
    for c in got:
        b = before[c["id"]]
        assert {k: c[k] for k in b if k not in ("st",)} == {k: b[k] for k in b if k != "st"}
        assert c["st"] == S.SYNC
    assert len(env2.api.get("location", "bob")) == 1
    env2.tick(0)                                        # loaded once only
    assert len(env2.api.get("location", "alice")) == 2
    env2.close()


def test_db_only_mode_keeps_nothing_in_memory(url):
    env = Env(url, 3)
    env.add("alice", "sip:a@h1", expires=60)
    env.add("alice", "sip:a@h2", q=900)
    assert len(env.rt.tables["location"]) == 0
    assert [c["c"] for c in env.api.get("location", "alice")] == ["sip:a@h2", "sip:a@h1"]
    out = R.rpc_lookup(env.rt, "location", "alice")
    assert [c["Contact"]["Address"] for c in out["Contacts"]] == ["sip:a@h2", "sip:a@h1"]
    assert env.rt.counters.get("usrloc:location-contacts") == 0      # Kamailio: no statistics
    env.tick(61)
    assert [r["contact"] for r in env.rows()] == ["sip:a@h2"]
    env.remove("alice", "sip:a@h2")
    assert env.rows() == []
    env.close()


def test_use_domain_splits_user_and_domain_columns(url):
    env = Env(url, 1, 'modparam("usrloc", "use_domain", 1)')
    env.add("alice@example.org", "sip:a@h1")
    [row] = env.rows()
    assert row["username"] == "alice" and row["domain"] == "example.org"
    env.close()
    env2 = Env(url, 1, 'modparam("usrloc", "use_domain", 1)')
    env2.tick(0)
    assert len(env2.api.get("location", "alice@example.org")) == 1
    env2.close()


def test_schema_create_knows_the_location_table(tmp_path):
    u = "sqlite://%s" % (tmp_path / "k.db")
    assert schema.create(u, tables=("location",)) == {"version": "created", "location": "created"}
    db = Database(u)
    assert db.table_version("location") == VERSION == 9
    assert db.columns("location") == [c.name for c in LOCATION.columns]
    db.close()


def test_a_missing_version_row_is_a_startup_error(tmp_path):
    u = "sqlite://%s" % (tmp_path / "bare.db")
    schema.create(u, tables=("version",))
    with pytest.raises(Exception, match="cannot use location table location"):
        Env(u, 1)


def test_expires_type_1_stores_unix_times(tmp_path):
    u = "sqlite://%s" % (tmp_path / "k.db")
    schema.create(u, tables=("version", "location"))
    env = Env(u, 1, 'modparam("usrloc", "expires_type", 1)')
    env.add("alice", "sip:a@h1")
    [row] = env.rows()
    assert row["expires"] == env.api.get("location", "alice")[0]["e"]
    env.close()


def test_a_database_that_goes_away_keeps_changes_pending_until_it_is_back():
    srv = PgServer.start_new()
    try:
        u = srv.new_database()
        schema.create(u, tables=("version", "location"))
        env = Env(u, 1)
        env.add("alice", "sip:a@h1")
        assert len(env.rows()) == 1
        env.db.close()
        srv.stop()
        env.add("alice", "sip:a@h2")                     # write-through fails: kept as new
        env.remove("alice", "sip:a@h1")                  # its row cannot go: a tombstone
        assert sorted(env.states("alice")) == [("sip:a@h1", "CS_SYNC", "deleted"),
                                               ("sip:a@h2", "CS_NEW", 600)]
        assert [c["c"] for c in env.api.get("location", "alice")] == ["sip:a@h2"]
        srv.start()
        env.tick(31)                                     # past the back-off: the timer writes
        assert [r["contact"] for r in env.rows()] == ["sip:a@h2"]
        assert env.states("alice") == [("sip:a@h2", "CS_SYNC", 569)]
        env.close()
    finally:
        srv.destroy()


def test_rows_kamailio_wrote_are_loaded(tmp_path):
    """A row as Kamailio's db_sqlite writes it (local-time DATETIME text)."""
    path = tmp_path / "k.db"
    u = "sqlite://%s" % path
    schema.create(u, tables=("version", "location"))
    exp = int(time.time()) + 3000
    con = sqlite3.connect(str(path))
    con.execute("INSERT INTO location (ruid, username, contact, expires, q, callid, cseq, "
                "last_modified, flags, cflags, user_agent, socket, methods) VALUES "
                "('uloc-5f-1', 'carol', 'sip:carol@10.1.1.1:5060', ?, -1, 'abc', 7, "
                "'2024-01-02 03:04:05', 0, 64, 'Kamailio phone', 'udp:127.0.0.1:5060', 8191)",
                (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(exp)),))
    con.commit()
    con.close()
    env = Env(u, 2)
    env.tick(0)
    [c] = env.api.get("location", "carol")
    assert c["id"] == "uloc-5f-1" and c["e"] == exp and c["q"] == -1 and c["cs"] == 7
    assert c["cf"] == 64 and c["m"] == 8191 and c["ua"] == "Kamailio phone"
    assert c["lm"] == int(time.mktime((2024, 1, 2, 3, 4, 5, 0, 0, -1)))
    env.close()


def test_a_table_named_by_a_module_initialised_first_is_checked_too(tmp_path):
    """registrar loaded before usrloc: its table is checked once usrloc's
    database is set up."""
    u = "sqlite://%s" % (tmp_path / "k.db")
    schema.create(u, tables=("version",))
    cfg = ('loadmodule "sl"\nloadmodule "registrar"\nloadmodule "usrloc"\n'
           'modparam("usrloc", "db_url", "%s")\nmodparam("usrloc", "db_mode", 2)\n'
           'request_route { save("location"); }\n' % u)
    rt = Runtime(compile_text(cfg, "t.cfg"))
    with pytest.raises(Exception, match="cannot use location table location"):
        rt.init_modules()
    schema.create(u, tables=("location",))
    rt = Runtime(compile_text(cfg, "t.cfg"))
    rt.init_modules()
    assert rt.api("usrloc").domains() == ["location"]


def test_db_mode_4_loads_and_never_writes(url):
    env = Env(url, 1)
    env.add("alice", "sip:a@h1")
    env.close()
    env4 = Env(url, 4)
    env4.tick(0)
    assert [c["c"] for c in env4.api.get("location", "alice")] == ["sip:a@h1"]
    env4.add("alice", "sip:a@h2")
    env4.remove("alice", "sip:a@h1")
    R.rpc_flush(env4.rt)
    env4.tick(1)
    assert [r["contact"] for r in env4.rows()] == ["sip:a@h1"]
    env4.close()
