# SPDX-License-Identifier: GPL-2.0-or-later
"""The uac manual's "lookup remote registrations" example end to end: kampy
registers an account to a sipp provider (uacreg in SQLite, digest checked
by sipp), a sipp phone registers locally, the provider's INVITE to the
Contact kampy registered is mapped by uac_reg_lookup() to the local user
and delivered to the phone by lookup("location")."""

import subprocess

import kampy.db as D
from harness import Kampy, SCENARIOS, free_udp_port, sipp, wait_for
from test_registrar import Phone, errors, phone_run
from toolcheck import require_tool

CFG = """
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "db_sqlite.so"
loadmodule "uac.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
modparam("uac", "restore_mode", "none")
modparam("uac", "reg_db_url", "DBURL")
modparam("uac", "reg_contact_addr", "127.0.0.1:KPORT")
modparam("uac", "reg_timer_interval", 1)
modparam("registrar", "min_expires_mode", 1)
request_route {
    if (is_method("REGISTER")) { save("location"); exit; }
    if (uac_reg_lookup("$rU", "$ru")) {
        xlog("L_NOTICE", "request from a remote SIP provider [$ou => $ru]\\n");
    }
    if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
    t_relay();
}
"""


def test_provider_call_reaches_the_phone_registered_locally(tmp_path):
    exe = require_tool("sipp")
    things = []
    try:
        provider = subprocess.Popen(
            [exe, "-i", "127.0.0.1", "-p", str(free_udp_port()), "-sf", str(SCENARIOS / "reg_auth.xml"),
             "-set", "granted", "600", "-nostdin", "-timeout", "40s"],
            cwd=str(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        things.append(provider)
        prov_port = int(provider.args[provider.args.index("-p") + 1])
        url = "sqlite://" + str(tmp_path / "kampy.db")
        D.schema.create(url)
        db = D.Database(url)
        db.insert("uacreg", {
            "l_uuid": "acc7", "l_username": "gina", "l_domain": "local.test", "r_username": "acc7",
            "r_domain": "prov.test", "realm": "", "auth_username": "acc7", "auth_password": "secret",
            "auth_ha1": "", "auth_proxy": "sip:127.0.0.1:%d" % prov_port, "expires": 600, "flags": 0,
            "reg_delay": 0, "contact_addr": "", "socket": ""})
        db.close()
        port = free_udp_port()
        k = Kampy(tmp_path, CFG.replace("DBURL", url).replace("KPORT", str(port)), children=2,
                  port=port).start()
        things.append(k)

        def registered():
            try:
                return k.rpc("uac.reg_info", "l_uuid", "acc7")["flags"] == 20
            except RuntimeError:
                return False
        assert wait_for(registered, 10), k.output()[-2000:]
        phone_port = free_udp_port()
        r = phone_run(tmp_path, k, "regphone_423.xml", "gina", phone_port)
        assert r.returncode == 0, r.stdout[-1500:] + errors(tmp_path) + k.output()[-2000:]
        phone = Phone(tmp_path, phone_port)
        things.append(phone)
        # the provider calls the Contact kampy registered: sip:acc7@127.0.0.1:<kampy>
        r = sipp(["127.0.0.1:%d" % k.port, "-sn", "uac", "-s", "acc7", "-m", 1, "-d", 300,
                  "-i", "127.0.0.1", "-p", free_udp_port(), "-nostdin", "-timeout", "20s",
                  "-timeout_error"], timeout=40, cwd=tmp_path)
        assert r.returncode == 0, r.stdout[-1500:] + errors(tmp_path) + k.output()[-2000:]
        rc, out = phone.wait()
        assert rc == 0, out[-1500:] + errors(tmp_path)
        assert ("request from a remote SIP provider [sip:acc7@127.0.0.1:%d => sip:gina@local.test]"
                % k.port) in k.output()
    finally:
        for t in reversed(things):
            if isinstance(t, subprocess.Popen):
                t.kill()
                t.wait(5)
            else:
                t.stop()
