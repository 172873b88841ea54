# SPDX-License-Identifier: GPL-2.0-or-later
"""uac remote registrations through the real daemon against sipp registrars:
401 then 200 (digest checked by sipp), 403, 423 Min-Expires, no answer,
503 Retry-After; refresh before expiry; the RPCs and kampyctl's output; the
manual's "lookup remote registrations" example routing a provider's INVITE
to the local user; 1 000 records all registering."""

import sqlite3
import subprocess
import time

import pytest

import kampy.db as D
from harness import Kampy, SCENARIOS, free_udp_port, sipp, wait_for
from toolcheck import require_tool

CFG = """
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "xlog.so"
loadmodule "siputils.so"
loadmodule "textops.so"
loadmodule "db_sqlite.so"
loadmodule "uac.so"
modparam("rr", "append_fromtag", 1)
modparam("uac", "reg_db_url", "DBURL")
modparam("uac", "reg_contact_addr", "127.0.0.1:KPORT")
modparam("uac", "reg_timer_interval", 1)
modparam("uac", "reg_retry_interval", 2)
modparam("uac", "reload_delta", 2)
modparam("tm", "fr_timer", 1500)
request_route {
    if (has_totag()) { t_relay("127.0.0.1", LOCALUAS); exit; }
    if (is_method("INVITE")) {
        if (uac_reg_lookup("$rU", "$ru")) {
            xlog("L_NOTICE", "request from a remote SIP provider [$ou => $ru]\\n");
        }
        $var(st) = uac_reg_status("$oU");
        xlog("L_NOTICE", "status of $oU is $var(st)\\n");
        t_relay("127.0.0.1", LOCALUAS);
        exit;
    }
    sl_send_reply("404", "Not here");
}
"""


class Registrar:
    """A sipp UAS playing a registrar, in the background (ends by -timeout)."""

    def __init__(self, workdir, scenario, extra=()):
        exe = require_tool("sipp")
        self.port = free_udp_port()
        self.proc = subprocess.Popen(
            [exe, "-i", "127.0.0.1", "-p", str(self.port), "-sf", str(SCENARIOS / scenario),
             "-nostdin", "-timeout", "120s"] + list(extra),
            cwd=str(workdir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        self.proc.kill()
        self.proc.wait(5)


def row(uuid, port, **kw):
    r = {"l_uuid": uuid, "l_username": "user_" + uuid, "l_domain": "local.test",
         "r_username": "acc_" + uuid, "r_domain": "prov.test", "realm": "prov.test",
         "auth_username": "acc_" + uuid, "auth_password": "secret", "auth_ha1": "",
         "auth_proxy": "sip:127.0.0.1:%d" % port, "expires": 600, "flags": 0, "reg_delay": 0,
         "contact_addr": "", "socket": ""}
    r.update(kw)
    return r


def make_db(path, rows):
    """A uacreg table (kampy.db's schema) holding rows, inserted in one transaction."""
    url = "sqlite://" + str(path)
    D.schema.create(url)
    if rows:
        cols = list(rows[0])
        con = sqlite3.connect(str(path))
        con.executemany("INSERT INTO uacreg (%s) VALUES (%s)" % (", ".join(cols), ", ".join("?" * len(cols))),
                        [[r[c] for c in cols] for r in rows])
        con.commit()
        con.close()
    return url, D.Database(url)


def info(k, uuid):
    return k.rpc("uac.reg_info", "l_uuid", uuid)


def state(k, uuid, field="flags"):
    """A field of the record, None while it is not loaded yet."""
    try:
        return info(k, uuid)[field]
    except RuntimeError:
        return None


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("uacreg")
    things = []
    try:
        auth = Registrar(tmp, "reg_auth.xml", ["-set", "granted", "4"])
        things.append(auth)
        r403 = Registrar(tmp, "reg_403.xml")
        things.append(r403)
        r423 = Registrar(tmp, "reg_423.xml")
        things.append(r423)
        r503 = Registrar(tmp, "reg_503.xml")
        things.append(r503)
        local = Registrar(tmp, "reg_local_uas.xml")
        things.append(local)
        silent = free_udp_port()                      # nobody answers there
        rows = [row("r1", auth.port), row("r403", r403.port), row("r423", r423.port, expires=60),
                row("rsilent", silent), row("r503", r503.port),
                row("rwrong", auth.port, auth_password="wrong"),
                row("roff", auth.port, flags=1)]
        url, db = make_db(tmp / "uacreg.db", rows)
        port = free_udp_port()
        k = Kampy(tmp, CFG.replace("DBURL", url).replace("KPORT", str(port))
                  .replace("LOCALUAS", str(local.port)), children=2, port=port)
        things.append(k)
        k.start()
        yield {"k": k, "db": db, "auth": auth, "local": local, "tmp": tmp}
    finally:
        for t in reversed(things):
            t.stop()


def test_outcomes_against_sipp_registrars(world):
    k = world["k"]
    assert wait_for(lambda: state(k, "r1", "flags") == 20, 10), info(k, "r1")
    r1 = info(k, "r1")
    assert r1["last_code"] == 200 and r1["status"] == "registered" and r1["auth_password"] == "***"
    assert 0 < r1["diff_expires"] <= 4
    assert wait_for(lambda: state(k, "r423", "flags") == 20, 10), info(k, "r423")
    assert info(k, "r423")["expires"] == 1800
    assert wait_for(lambda: state(k, "r403", "last_code") == 403, 10)
    assert info(k, "r403")["flags"] & 1 == 0 and info(k, "r403")["flags"] & 4 == 0
    assert wait_for(lambda: state(k, "rwrong", "last_code") == 403, 10)   # sipp refused the digest
    assert wait_for(lambda: state(k, "r503", "last_code") == 503, 10)
    r503 = info(k, "r503")
    assert r503["next_attempt"] - r503["last_time"] >= 3          # Retry-After over reg_retry_interval
    assert wait_for(lambda: state(k, "rsilent", "last_code") == 408, 10)
    assert info(k, "roff")["flags"] == 1 and info(k, "roff")["last_code"] == 0
    stats = k.rpc("stats.get_statistics", "uac:")
    assert "uac:regtotal = 7" in stats and "uac:regdisabled = 1" in stats


def test_refresh_keeps_the_binding(world):
    k = world["k"]
    assert wait_for(lambda: state(k, "r1", "flags") == 20, 10)
    first = info(k, "r1")["last_time"]
    # granted 4 s: the refresh (challenged again) must land before expiry
    assert wait_for(lambda: (state(k, "r1", "last_time") or 0) > first, 6)
    r1 = info(k, "r1")
    assert r1["flags"] & 4 and r1["last_code"] == 200 and r1["diff_expires"] > 0


def test_retry_after_spacing(world):
    k = world["k"]
    assert wait_for(lambda: state(k, "r503", "last_code") == 503, 10)
    t1 = info(k, "r503")["last_time"]
    assert wait_for(lambda: (state(k, "r503", "last_time") or 0) > t1, 8)
    assert info(k, "r503")["last_time"] - t1 >= 3


def test_kampyctl_prints_like_kamcmd(world):
    k = world["k"]
    assert wait_for(lambda: (state(k, "r1") or 0) & 4, 10)
    r = k.kampyctl("uac.reg_info", "l_uuid", "r1")
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and lines[0] == "{" and lines[1] == "\tl_uuid: r1"
    assert "\tauth_password: ***" in lines and "\tauth_ha1: none" in lines
    assert "\tsocket: <null string>" in lines and "secret" not in r.stdout
    r = k.kampyctl("uac.reg_info", "l_domain", "x")
    assert r.stdout.strip() == "error: 400 - Unsupported filter attribute" and r.returncode == 1
    r = k.kampyctl("uac.reg_info", "l_uuid", "nobody")
    assert r.stdout.strip() == "error: 404 - Record not found"
    r = k.kampyctl("stats.get_statistics", "regtotal")
    assert r.stdout.strip() == "uac:regtotal = 7"
    dump = k.rpc("uac.reg_dump")
    assert sorted(d["l_uuid"] for d in dump) == ["r1", "r403", "r423", "r503", "roff", "rsilent",
                                                  "rwrong"]


def test_provider_invite_reaches_the_local_user(world):
    k = world["k"]
    assert wait_for(lambda: state(k, "r1") == 20, 10)
    r = sipp(["127.0.0.1:%d" % k.port, "-sn", "uac", "-s", "r1", "-m", 1, "-i", "127.0.0.1",
              "-p", free_udp_port(), "-nostdin", "-timeout", "15s", "-timeout_error"],
             timeout=30, cwd=world["tmp"])
    assert r.returncode == 0, r.stdout[-1500:] + r.stderr[-3000:] + k.output()[-2000:]
    out = k.output()
    assert "request from a remote SIP provider [sip:r1@127.0.0.1:%d => sip:user_r1@local.test]" % k.port in out


def test_rpc_controls(world):
    k = world["k"]
    db = world["db"]
    assert wait_for(lambda: (state(k, "r1") or 0) & 4, 10)
    k.rpc("uac.reg_disable", "l_username", "user_r1")
    assert info(k, "r1")["flags"] & 1 and info(k, "r1")["next_attempt"] == 0
    k.rpc("uac.reg_enable", "auth_username", "acc_r1")
    assert wait_for(lambda: state(k, "r1", "flags") == 20 and info(k, "r1")["last_time"], 10)
    assert k.rpc("uac.reg_active", 0) == {"omode": 1, "nmode": 0}
    assert k.rpc("uac.reg_active", 1) == {"omode": 0, "nmode": 1}
    # a record added to memory registers; removed, it is gone
    k.rpc("uac.reg_add", "radd", "ua", "local.test", "acc_radd", "prov.test", ".", "acc_radd", "secret",
          ".", "sip:127.0.0.1:%d" % world["auth"].port, 600, 0, 0, ".", ".")
    assert wait_for(lambda: state(k, "radd", "flags") == 20, 10)
    with pytest.raises(RuntimeError, match="409"):
        k.rpc("uac.reg_add", "radd", "ua", "local.test", "acc_radd", "prov.test", ".", "acc_radd",
              "secret", ".", "sip:127.0.0.1:1", 600, 0, 0, ".", ".")
    k.rpc("uac.reg_remove", "radd")
    with pytest.raises(RuntimeError, match="404"):
        info(k, "radd")
    # unregister (Expires: 0) then register again
    k.rpc("uac.reg_unregister", "l_uuid", "r1")
    assert wait_for(lambda: state(k, "r1", "flags") == 17, 10), info(k, "r1")
    k.rpc("uac.reg_register", "l_uuid", "r1")
    assert wait_for(lambda: state(k, "r1", "flags") == 20, 10)
    # refresh and reload from the DB
    db.update("uacreg", {"l_uuid": "r403"}, {"auth_proxy": "sip:127.0.0.1:%d" % world["auth"].port})
    k.rpc("uac.reg_refresh", "r403")
    assert wait_for(lambda: state(k, "r403", "flags") == 20, 10), info(k, "r403")
    with pytest.raises(RuntimeError, match="404"):
        k.rpc("uac.reg_refresh", "nobody")
    db.insert("uacreg", row("rnew", world["auth"].port))
    db.delete("uacreg", {"l_uuid": "roff"})
    time.sleep(2.1)                  # reload_delta 2
    k.rpc("uac.reg_reload")
    with pytest.raises(RuntimeError, match="500"):
        k.rpc("uac.reg_reload")
    assert wait_for(lambda: state(k, "rnew", "flags") == 20, 10)
    with pytest.raises(RuntimeError, match="404"):
        info(k, "roff")


def test_thousand_records_all_register(tmp_path):
    auth = Registrar(tmp_path, "reg_auth.xml", ["-set", "granted", "3600"])
    k = None
    try:
        rows = [row("t%04d" % i, auth.port) for i in range(1000)]
        url, _db = make_db(tmp_path / "many.db", rows)
        port = free_udp_port()
        k = Kampy(tmp_path, CFG.replace("DBURL", url).replace("KPORT", str(port))
                  .replace("LOCALUAS", "9"), children=4, port=port)
        k.start()
        t0 = time.time()

        def active():
            lines = k.rpc("stats.get_statistics", "uac:regactive")
            return int(lines[0].split(" = ")[1]) == 1000
        assert wait_for(active, 120, step=0.25), k.rpc("stats.get_statistics", "uac:")
        took = time.time() - t0
        dump = k.rpc("uac.reg_dump")
        assert len(dump) == 1000 and all(d["flags"] == 20 for d in dump)
        assert took < 120
    finally:
        if k is not None:
            k.stop()
        auth.stop()
