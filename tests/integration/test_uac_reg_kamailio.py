# SPDX-License-Identifier: GPL-2.0-or-later
"""uac remote registrations against Debian's Kamailio as the registrar:
digest authentication by auth_db against its own subscriber table (SQLite,
created with Kamailio's SQL scripts), bindings saved by registrar/usrloc.
A wrong password is refused; an unregister removes the binding."""

import os
import pathlib
import sqlite3
import subprocess

import kampy.db as D
from harness import Kampy, free_udp_port, options, send_udp, wait_for, stop_group
from test_uac_reg import CFG, row, state
from toolcheck import require_tool

KAM_SQL = pathlib.Path("/usr/share/kamailio/db_sqlite")
KAM_MODULES = ("/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/kamailio/modules")

KAMCFG = """#!KAMAILIO
debug=2
log_stderror=yes
children=2
listen=udp:127.0.0.1:KAMPORT
mpath="MPATH"
loadmodule "db_sqlite.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "xlog.so"
loadmodule "textops.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
loadmodule "auth_db.so"
modparam("usrloc", "db_mode", 0)
modparam("auth_db", "db_url", "sqlite://KAMDB")
modparam("auth_db", "calculate_ha1", 1)
modparam("auth_db", "password_column", "password")
modparam("auth_db", "load_credentials", "")
request_route {
    if (is_method("REGISTER")) {
        if (!auth_check("$fd", "subscriber", "1")) {
            auth_challenge("$fd", "0");
            exit;
        }
        if (!save("location")) { sl_reply_error(); exit; }
        xlog("L_NOTICE", "saved $tu expires $hdr(Expires)\\n");
        exit;
    }
    sl_send_reply("404", "Not here");
}
"""


def _kamailio_db(path):
    con = sqlite3.connect(str(path))
    con.executescript((KAM_SQL / "standard-create.sql").read_text())
    con.executescript((KAM_SQL / "auth_db-create.sql").read_text())
    con.execute("INSERT INTO subscriber (username, domain, password) VALUES ('acc_k1', 'prov.test', 'secret')")
    con.commit()
    con.close()


def _bindings(log_text, aor):
    return log_text.count("saved sip:%s@prov.test" % aor)


def test_kamailio_registrar(tmp_path):
    exe = require_tool("kamailio")
    mpath = next((m for m in KAM_MODULES if os.path.isdir(m)), KAM_MODULES[0])
    kamdir = tmp_path / "kam"
    kamdir.mkdir()
    _kamailio_db(kamdir / "kam.db")
    kport = free_udp_port()
    (kamdir / "kamailio.cfg").write_text(KAMCFG.replace("KAMPORT", str(kport)).replace("MPATH", mpath + "/")
                                         .replace("KAMDB", str(kamdir / "kam.db")))
    klog = open(kamdir / "kamailio.log", "wb")
    kam = subprocess.Popen([exe, "-f", str(kamdir / "kamailio.cfg"), "-DD", "-E", "-Y", str(kamdir),
                            "-P", str(kamdir / "kamailio.pid"), "-m", "64", "-M", "8"],
                           stdout=klog, stderr=subprocess.STDOUT, start_new_session=True)
    k = None
    try:
        up = wait_for(lambda: kam.poll() is not None or send_udp(kport, options(kport), timeout=0.3), 15)
        assert up and kam.poll() is None, (kamdir / "kamailio.log").read_text(errors="replace")[-3000:]
        url = "sqlite://" + str(tmp_path / "uacreg.db")
        D.schema.create(url)
        db = D.Database(url)
        db.insert("uacreg", row("k1", kport))
        db.insert("uacreg", row("k2", kport, r_username="acc_k1", auth_username="acc_k1",
                                auth_password="wrong"))
        db.close()
        port = free_udp_port()
        k = Kampy(tmp_path, CFG.replace("DBURL", url).replace("KPORT", str(port)).replace("LOCALUAS", "9")
                  .replace('modparam("uac", "reg_retry_interval", 2)', 'modparam("uac", "reg_retry_interval", 0)'),
                  children=2, port=port)
        k.start()
        # k1's auth user acc_k1 is in Kamailio's subscriber table: registered
        assert wait_for(lambda: state(k, "k1") == 20, 15), (kamdir / "kamailio.log").read_text()[-3000:]
        r = k.rpc("uac.reg_info", "l_uuid", "k1")
        assert r["last_code"] == 200 and 0 < r["diff_expires"] <= 600
        kam_log = lambda: (kamdir / "kamailio.log").read_text(errors="replace")   # noqa: E731
        assert wait_for(lambda: _bindings(kam_log(), "acc_k1") >= 1, 5)
        # k2 answers the challenge with a wrong password: Kamailio challenges again
        assert wait_for(lambda: state(k, "k2") == 17, 15)
        assert k.rpc("uac.reg_info", "l_uuid", "k2")["last_code"] == 401
        # unregister: Kamailio drops the binding (Expires: 0) and answers 200
        k.rpc("uac.reg_unregister", "l_uuid", "k1")
        assert wait_for(lambda: state(k, "k1") == 17, 10)
        assert wait_for(lambda: "saved sip:acc_k1@prov.test expires 0" in kam_log(), 5)
    finally:
        if k is not None:
            k.stop()
        stop_group(kam, 10)     # the whole group: no Kamailio child may outlive the test
        klog.close()
