# SPDX-License-Identifier: GPL-2.0-or-later
"""uac remote registrations from the uacreg table (SQLite and PostgreSQL),
in-process: startup load, bad rows, a DB down at startup, reload, refresh."""

import logging

import pytest

import kampy.db as D
from kampy.runtime import Runtime
from kampy.rpc import RpcFault
from kampy.script.compiler import compile_text

from kampy.modules.uac import reg as REG
from kampy.modules.uac import reg_core as C
from kampy.modules.uac import reg_rpc as R

from test_uac_reg_unit import Env, T0  # noqa: F401  (shared in-process helpers)

PROXY = "sip:127.0.0.1:5099"


def row(uuid, **kw):
    r = {"l_uuid": uuid, "l_username": "user_" + uuid, "l_domain": "local.test",
         "r_username": "acc_" + uuid, "r_domain": "prov.test", "realm": "",
         "auth_username": "acc_" + uuid, "auth_password": "pw", "auth_ha1": "",
         "auth_proxy": PROXY, "expires": 600, "flags": 0, "reg_delay": 0, "contact_addr": "",
         "socket": ""}
    r.update(kw)
    return r


def make_db(url, rows):
    D.schema.create(url)
    db = D.Database(url)
    for r in rows:
        db.insert("uacreg", r)
    return db


class DbEnv(Env):
    def __init__(self, url, params=""):
        super().__init__('modparam("uac", "reg_db_url", "%s")\n%s' % (url, params))

    def tick(self, seconds):
        self.rt.timers.now_ms = T0 + int(seconds * 1000)
        REG.tick(self.rt)
        self.rt.fire_timers()


@pytest.fixture
def sqlite_url(tmp_path):
    return "sqlite://" + str(tmp_path / "kampy.db")


def test_startup_load_skips_bad_rows_naming_the_column(sqlite_url, caplog):
    make_db(sqlite_url, [row("u1"), row("u2", r_domain=""), row("u3", auth_password="", auth_ha1=""),
                         row("u4", auth_ha1="zz"), row("u5", flags=1), row("u6", expires=0)])
    caplog.set_level(logging.ERROR)
    env = DbEnv(sqlite_url)
    text = caplog.text
    assert "l_uuid='u2'" in text and "r_domain" in text
    assert "l_uuid='u3'" in text and "auth_password" in text
    assert "l_uuid='u4'" in text and "auth_ha1" in text
    assert C.table(env.rt).get("u1") is None          # stored by the timer process
    env.tick(0)
    assert sorted(k for k, _ in C.table(env.rt).items()) == ["u1", "u5", "u6"]
    assert len(env.requests()) == 1                    # u5 disabled, u6 expires 0
    assert env.rec("u5")["fl"] == 1
    assert env.rt.counters.get("uac:regtotal") == 3


def test_contact_user_column_is_honoured_when_present(sqlite_url):
    db = make_db(sqlite_url, [])
    import sqlite3
    con = sqlite3.connect(sqlite_url[len("sqlite://"):])
    con.execute("ALTER TABLE uacreg ADD COLUMN contact_user VARCHAR(64) DEFAULT '' NOT NULL")
    con.commit()
    con.close()
    db.insert("uacreg", dict(row("u1"), contact_user="trunk"))
    env = DbEnv(sqlite_url)
    env.tick(0)
    assert env.one().header("contact") == b"<sip:trunk@127.0.0.1:5060;line=u1>"


def test_db_down_at_startup_is_retried(tmp_path, caplog):
    url = "sqlite://" + str(tmp_path / "later.db")
    env = DbEnv(url)                       # no such file yet: startup goes on
    env.tick(0)
    assert C.meta_get(env.rt, "loaded") is None and "when the database answers" in caplog.text
    make_db(url, [row("u1")])
    env.tick(0.5)                          # still in back-off
    assert C.meta_get(env.rt, "loaded") is None
    env.tick(1.0)
    assert C.meta_get(env.rt, "loaded") == 1 and env.rec("u1") is not None
    assert len(env.requests()) == 1


def test_bad_url_and_missing_contact_addr_are_startup_errors(tmp_path):
    rt = Runtime(compile_text('listen=udp:127.0.0.1:5060\nloadmodule "tm.so"\nloadmodule "rr.so"\n'
                              'loadmodule "uac.so"\nmodparam("rr", "append_fromtag", 1)\nmodparam("uac", "reg_db_url", "mysql://u:p@h/db")\n'
                              'modparam("uac", "reg_contact_addr", "1.2.3.4")\nrequest_route { exit; }\n',
                              "t.cfg"))
    with pytest.raises(ValueError) as e:
        rt.init_modules()
    assert "sqlite" in str(e.value) and "postgres" in str(e.value)
    rt = Runtime(compile_text('listen=udp:127.0.0.1:5060\nloadmodule "tm.so"\nloadmodule "rr.so"\n'
                              'loadmodule "uac.so"\nmodparam("rr", "append_fromtag", 1)\nmodparam("uac", "reg_db_url", "sqlite://%s/x.db")\n'
                              'request_route { exit; }\n' % tmp_path, "t.cfg"))
    with pytest.raises(ValueError) as e:
        rt.init_modules()
    assert "reg_contact_addr" in str(e.value)


def _registered(env, uuid):
    req = [r for r in env.requests() if r.header("contact").startswith(b"<sip:%s@" % uuid.encode())]
    assert len(req) == 1
    env.answer(req[0], 200, contact_expires=600)
    assert env.rec(uuid)["fl"] == 20
    return req[0]


def test_reload_keeps_unchanged_registered_records(sqlite_url):
    db = make_db(sqlite_url, [row("keep"), row("change"), row("gone")])
    env = DbEnv(sqlite_url, 'modparam("uac", "reload_delta", 30)')
    env.tick(0)
    reqs = {r.header("contact")[5:].split(b"@")[0].decode(): r for r in env.requests()}
    for uuid, req in reqs.items():
        env.answer(req, 200, contact_expires=600)
    keep_before = env.rec("keep")
    db.update("uacreg", {"l_uuid": "change"}, {"expires": 120})
    db.delete("uacreg", {"l_uuid": "gone"})
    db.insert("uacreg", row("new"))
    R.reg_reload(env.rt)
    assert env.rec("keep") == keep_before                # still registered, nothing resent
    assert env.rec("gone") is None
    assert env.rec("change")["ex"] == 120 and env.rec("change")["fl"] == 0
    assert R.reg_info(env.rt, "r_username", "acc_new")["l_uuid"] == "new"
    env.tick(0.1)
    sent = sorted(r.header("contact")[5:].split(b"@")[0].decode() for r in env.requests())
    assert sent == ["change", "new"]
    with pytest.raises(RpcFault) as e:
        R.reg_reload(env.rt)
    assert (e.value.code, e.value.message) == (500, "Failed to shift records - check log messages")
    env.rt.timers.now_ms = T0 + 31_000
    R.reg_reload(env.rt)
    with pytest.raises(RpcFault):
        R.reg_info(env.rt, "l_uuid", "gone")


def test_reload_revives_a_record_disabled_by_failure(sqlite_url):
    make_db(sqlite_url, [row("u1")])
    env = DbEnv(sqlite_url, 'modparam("uac", "reload_delta", 0)')
    env.tick(0)
    env.answer(env.one(), 403, b"Forbidden")
    assert env.rec("u1")["fl"] == 17
    R.reg_reload(env.rt)
    env.tick(0.1)
    assert len(env.requests()) == 1 and env.rec("u1")["fl"] == 18


def test_refresh_rpc_and_function(sqlite_url):
    db = make_db(sqlite_url, [row("u1")])
    env = DbEnv(sqlite_url)
    env.tick(0)
    _registered(env, "u1")
    R.reg_refresh(env.rt, "u1")                          # unchanged and registered: kept
    assert env.rec("u1")["fl"] == 20
    db.update("uacreg", {"l_uuid": "u1"}, {"r_username": "renamed"})
    R.reg_refresh(env.rt, "u1")
    assert env.rec("u1")["run"] == "renamed" and C.find(env.rt, "r_username", "acc_u1") == []
    assert C.find(env.rt, "r_username", "renamed") == ["u1"]
    with pytest.raises(RpcFault) as e:
        R.reg_refresh(env.rt, "nope")
    assert (e.value.code, e.value.message) == (404, "Record not found")
    db.insert("uacreg", row("u2"))
    ctx = env.ctx()
    assert REG.uac_reg_refresh(ctx, "u2") == 1 and env.rec("u2") is not None
    assert REG.uac_reg_refresh(ctx, "nope") == -1


def test_postgres_load_and_reload(pg_server):
    url = pg_server.new_database()
    db = make_db(url, [row("p1"), row("p2", r_username="")])
    env = DbEnv(url, 'modparam("uac", "reload_delta", 0)')
    env.tick(0)
    assert [k for k, _ in C.table(env.rt).items()] == ["p1"]
    _registered(env, "p1")
    db.insert("uacreg", row("p3"))
    R.reg_reload(env.rt)
    assert env.rec("p1")["fl"] == 20 and env.rec("p3") is not None
    info = R.reg_info(env.rt, "l_uuid", "p1")
    assert info["auth_password"] == "***"


from pg import pg_server  # noqa: E402,F401  (session fixture)
