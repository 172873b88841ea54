# SPDX-License-Identifier: GPL-2.0-or-later
"""Bindings survive a restart of kampy: usrloc db_mode 1 (write-through) and
2 (write-back) on SQLite and PostgreSQL.  A sipp phone registers, kampy
stops, a new kampy on the same port loads the location table, and a sipp
caller reaches the phone through lookup("location")."""

import pytest

from kampy.db import Database, schema

from harness import Kampy, free_udp_port, wait_for
from pg import pg_server  # noqa: F401  (the session's PostgreSQL server)
from test_registrar import Phone, call, errors, phone_run

CFG = """
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "db_sqlite.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
modparam("usrloc", "db_url", "DBURL")
modparam("usrloc", "db_mode", DBMODE)
modparam("usrloc", "timer_interval", 1)
modparam("registrar", "min_expires_mode", 1)
request_route {
    if (is_method("REGISTER")) { save("location"); exit; }
    if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
    t_relay();
}
"""


@pytest.fixture
def db_url(request, tmp_path):
    if request.param == "sqlite":
        url = "sqlite://%s" % (tmp_path / "kampy.db")
    else:
        url = request.getfixturevalue("pg_server").new_database()
    schema.create(url, tables=("version", "location"))
    return url


@pytest.fixture
def things():
    started = []
    yield started
    for t in reversed(started):
        t.stop()


def rows(url):
    db = Database(url)
    try:
        return db.query("location", columns=["username", "contact", "callid"])
    finally:
        db.close()


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
@pytest.mark.parametrize("mode", [1, 2])
def test_bindings_survive_a_restart(things, tmp_path, db_url, mode):
    cfg = CFG.replace("DBURL", db_url).replace("DBMODE", str(mode))
    first = tmp_path / "first"
    first.mkdir()
    k = Kampy(first, cfg, children=2).start()
    things.append(k)
    port = free_udp_port()
    r = phone_run(first, k, "regphone_423.xml", "erin", port)
    assert r.returncode == 0, r.stdout[-1500:] + errors(first) + k.output()[-2000:]
    contact = "sip:erin@127.0.0.1:%d" % port
    # write-through: the row is there at once; write-back: the usrloc timer writes it
    got = wait_for(lambda: [x["contact"] for x in rows(db_url)] == [contact], 10 if mode == 2 else 0.5)
    assert got, (rows(db_url), k.output()[-2000:])
    state = k.rpc("ul.lookup", "location", "erin")["Contacts"][0]["Contact"]["State"]
    assert state == "CS_SYNC"
    assert k.stop() == 0
    things.remove(k)

    second = tmp_path / "second"
    second.mkdir()
    k2 = Kampy(second, cfg, children=2, port=k.port).start()
    things.append(k2)
    assert wait_for(lambda: any("usrloc timer" in p["DSC"] for p in k2.rpc("core.psx")), 5)

    def loaded():
        try:
            return k2.rpc("ul.lookup", "location", "erin")["Contacts"]
        except RuntimeError:
            return None
    got = wait_for(loaded, 10)
    assert got and got[0]["Contact"]["Address"] == contact, k2.output()[-2000:]
    phone = Phone(second, port)
    things.append(phone)
    r = call(second, k2, "erin")
    assert r.returncode == 0, r.stdout[-1500:] + errors(second) + k2.output()[-2000:]
    rc, out = phone.wait()
    assert rc == 0, out[-1500:] + errors(second)
