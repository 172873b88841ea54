# SPDX-License-Identifier: GPL-2.0-or-later
"""registrar and usrloc through the real daemon: sipp phones register
(several contacts with q, expires param vs header, Contact *, 423) and get
a call from a sipp caller through lookup("location") + t_relay();
ul.dump / ul.lookup read with kampyctl."""

import subprocess

import pytest

from harness import Kampy, SCENARIOS, free_udp_port, sipp, wait_for
from toolcheck import require_tool

CFG = """
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
#!ifdef MIN_EXPIRES_MODE
modparam("registrar", "min_expires_mode", 1)
#!endif
request_route {
    if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
    if (is_method("REGISTER")) { save("location"); exit; }
    if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
    t_relay();
}
"""


class Phone:
    """A sipp UAS answering one call on the port a phone registered from."""

    def __init__(self, tmp_path, port):
        self.port = port
        exe = require_tool("sipp")
        self.proc = subprocess.Popen(
            [exe, "-sf", str(SCENARIOS / "regphone_callee.xml"), "-i", "127.0.0.1", "-p", str(port),
             "-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error", "-trace_err"],
            cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def wait(self, timeout=30):
        out, _ = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def things():
    started = []
    yield started
    for t in reversed(started):
        t.stop()


def phone_run(tmp_path, k, scenario, user, port):
    """One sipp phone scenario (REGISTER ...) from `port`, to completion."""
    return sipp(["127.0.0.1:%d" % k.port, "-sf", SCENARIOS / scenario, "-s", user, "-m", 1,
                 "-i", "127.0.0.1", "-p", port, "-nostdin", "-timeout", "15s", "-timeout_error",
                 "-trace_err"], timeout=30, cwd=tmp_path)


def call(tmp_path, k, user):
    return sipp(["127.0.0.1:%d" % k.port, "-sn", "uac", "-s", user, "-m", 1, "-d", 300, "-i", "127.0.0.1",
                 "-p", free_udp_port(), "-nostdin", "-timeout", "20s", "-timeout_error"],
                timeout=40, cwd=tmp_path)


def errors(tmp_path):
    return "".join(p.read_text(errors="replace")[-2000:] for p in tmp_path.glob("*errors.log"))


def addresses(k, user):
    out = k.rpc("ul.lookup", "location", user)
    return [(c["Contact"]["Address"], c["Contact"]["Q"], c["Contact"]["Expires"]) for c in out["Contacts"]]


def test_register_two_contacts_then_star_removes_them(things, tmp_path):
    k = Kampy(tmp_path, CFG, children=2).start()
    things.append(k)
    port = free_udp_port()
    r = phone_run(tmp_path, k, "regphone_register.xml", "alice", port)
    assert r.returncode == 0, r.stdout[-1500:] + errors(tmp_path) + k.output()[-2000:]
    got = addresses(k, "alice")
    assert [(a, q) for a, q, _e in got] == [("sip:alice@127.0.0.1:%d" % port, 0.8),
                                            ("sip:alice-desk@127.0.0.1:%d" % port, 0.3)]
    assert 590 <= got[0][2] <= 600 and 110 <= got[1][2] <= 120
    # kampyctl prints ul.dump the way kamcmd does
    out = k.kampyctl("ul.dump")
    assert out.returncode == 0
    assert "\t\t\t\t\t\t\tAoR: alice\n" in out.stdout
    assert "Address: sip:alice-desk@127.0.0.1:%d\n" % port in out.stdout
    assert "User-Agent: sipp phone\n" in out.stdout and "State: CS_NEW\n" in out.stdout
    stats = dict(x.split(" = ") for x in k.rpc("stats.get_statistics", "usrloc:"))
    assert stats["usrloc:location-contacts"] == "2" and stats["usrloc:registered_users"] == "1"
    r = phone_run(tmp_path, k, "regphone_star.xml", "alice", port)
    assert r.returncode == 0, r.stdout[-1500:] + errors(tmp_path) + k.output()[-2000:]
    out = k.kampyctl("ul.lookup", "location", "alice")
    assert out.returncode != 0 and "error: 500 - AOR not found in location table" in out.stdout
    assert dict(x.split(" = ") for x in k.rpc("stats.get_statistics", "registrar:"))[
        "registrar:accepted_regs"] == "2"


def test_short_expires_gets_423_with_min_expires(things, tmp_path):
    k = Kampy(tmp_path, CFG, children=2, defines={"MIN_EXPIRES_MODE": None}).start()
    things.append(k)
    r = phone_run(tmp_path, k, "regphone_423.xml", "bob", free_udp_port())
    assert r.returncode == 0, r.stdout[-1500:] + errors(tmp_path) + k.output()[-2000:]
    [(_a, _q, e)] = addresses(k, "bob")
    assert 55 <= e <= 60
    stats = dict(x.split(" = ") for x in k.rpc("stats.get_statistics", "registrar:"))
    assert stats["registrar:rejected_regs"] == "1" and stats["registrar:accepted_regs"] == "1"


def test_call_reaches_the_registered_phone(things, tmp_path):
    k = Kampy(tmp_path, CFG, children=4, defines={"MIN_EXPIRES_MODE": None}).start()
    things.append(k)
    port = free_udp_port()
    r = phone_run(tmp_path, k, "regphone_423.xml", "carol", port)    # 423, then registered
    assert r.returncode == 0, r.stdout[-1500:] + errors(tmp_path) + k.output()[-2000:]
    phone = Phone(tmp_path, port)
    things.append(phone)
    r = call(tmp_path, k, "carol")
    assert r.returncode == 0, r.stdout[-1500:] + errors(tmp_path) + k.output()[-2000:]
    rc, out = phone.wait()
    assert rc == 0, out[-1500:] + errors(tmp_path)
    # nobody registered as dave: 404 from the proxy, the caller fails
    r = call(tmp_path, k, "dave")
    assert r.returncode != 0
    assert wait_for(lambda: dict(x.split(" = ") for x in k.rpc("stats.get_statistics", "sl:"))
                    .get("sl:404_replies") == "1", 5)
