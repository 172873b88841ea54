# SPDX-License-Identifier: GPL-2.0-or-later
"""uac remote registrations from PostgreSQL through the real daemon: the
server stopped while kampy runs (registrations carry on, a reload fails
cleanly), back again (reload works), and down at kampy's startup (the
records come when it answers).  Passwords never reach the log."""

import pytest

import kampy.db as D
from harness import Kampy, free_udp_port, wait_for
from pg import PASSWORD, PgServer
from test_uac_reg import CFG, Registrar, row, state


def _create(url, rows):
    D.schema.create(url)
    db = D.Database(url)
    for r in rows:
        db.insert("uacreg", r)
    db.close()


def _kampy(tmp_path, url, local_port):
    port = free_udp_port()
    cfg = (CFG.replace("DBURL", url).replace("KPORT", str(port)).replace("LOCALUAS", str(local_port))
           .replace('modparam("uac", "reload_delta", 2)', 'modparam("uac", "reload_delta", 0)'))
    return Kampy(tmp_path, cfg.replace('"db_sqlite.so"', '"db_postgres.so"'), children=2, port=port)


def _total(k):
    try:
        return int(k.rpc("stats.get_statistics", "uac:regtotal")[0].split(" = ")[1])
    except (RuntimeError, IndexError):
        return -1


def test_postgres_down_and_back(tmp_path):
    srv = PgServer.start_new()
    auth = Registrar(tmp_path, "reg_auth.xml", ["-set", "granted", "3"])
    k = None
    try:
        url = srv.new_database()
        _create(url, [row("p1", auth.port), row("p2", auth.port)])
        k = _kampy(tmp_path, url, auth.port).start()
        assert wait_for(lambda: state(k, "p1") == 20 and state(k, "p2") == 20, 15)
        srv.stop()
        t1 = state(k, "p1", "last_time")
        # granted 3 s: refreshes go on without the database
        assert wait_for(lambda: (state(k, "p1", "last_time") or 0) > t1, 8)
        assert state(k, "p1") == 20
        with pytest.raises(RuntimeError, match="500"):
            k.rpc("uac.reg_reload")
        assert _total(k) == 2 and state(k, "p2") & 4
        srv.start()
        db = D.Database(url)
        db.insert("uacreg", row("p3", auth.port))
        db.close()
        assert wait_for(lambda: _reload_ok(k), 10)
        assert wait_for(lambda: state(k, "p3") == 20, 10)
        assert state(k, "p1") & 4
        assert PASSWORD not in k.output()
    finally:
        if k is not None:
            k.stop()
        auth.stop()
        srv.destroy()


def _reload_ok(k):
    try:
        k.rpc("uac.reg_reload")
        return True
    except RuntimeError:
        return False


def test_postgres_down_at_startup(tmp_path):
    srv = PgServer.start_new()
    auth = Registrar(tmp_path, "reg_auth.xml", ["-set", "granted", "60"])
    k = None
    try:
        url = srv.new_database()
        _create(url, [row("q1", auth.port)])
        srv.stop()
        k = _kampy(tmp_path, url, auth.port).start()      # starts anyway
        assert _total(k) == 0
        srv.start()
        assert wait_for(lambda: state(k, "q1") == 20, 20), k.output()[-2000:]
        assert PASSWORD not in k.output()
    finally:
        if k is not None:
            k.stop()
        auth.stop()
        srv.destroy()
