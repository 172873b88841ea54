# SPDX-License-Identifier: GPL-2.0-or-later
"""tm.t_uac_start / tm.t_uac_wait through kampyctl against a sipp UAS: the
ctl process sends, a worker gets the reply and hands it back through the
shared table, kampyctl prints Kamailio's array."""

import subprocess

import pytest

from harness import Kampy, SCENARIOS, free_udp_port
from toolcheck import require_tool

CFG = """
loadmodule "tm.so"
loadmodule "sl.so"
modparam("tm", "fr_timer", 1500)
request_route { sl_send_reply("404", "Not here"); }
"""


class Uas:
    def __init__(self, tmp_path, scenario):
        self.port = free_udp_port()
        self.proc = subprocess.Popen(
            [require_tool("sipp"), "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1", "-p", str(self.port),
             "-m", "1", "-nostdin", "-timeout", "20s", "-timeout_error", "-trace_err"],
            cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def wait(self):
        try:
            out, _ = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.stop()
            return None, ""
        return self.proc.returncode, out[-1500:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=5)


@pytest.fixture
def env(tmp_path):
    things = []
    k = Kampy(tmp_path, CFG, children=2).start()
    things.append(k)
    yield k, things
    for t in reversed(things):
        t.stop()


def hdrs(port, extra=""):
    return "From: <sip:rpc@kampy.test>\\r\\nTo: <sip:bob@127.0.0.1:%d>\\r\\n%s" % (port, extra)


def uas_errors(tmp_path):
    return "".join(p.read_text(errors="replace")[-1500:] for p in tmp_path.glob("*errors.log"))


def test_t_uac_wait_returns_the_final_reply(env, tmp_path):
    k, things = env
    uas = Uas(tmp_path, "tm_uas_options.xml")
    things.append(uas)
    r = k.kampyctl("tm.t_uac_wait", "MESSAGE", "sip:bob@127.0.0.1:%d" % uas.port, ".", ".",
                   hdrs(uas.port, "X-Test: hello !!\\r\\nContent-Type: text/plain\\r\\n"), "ping-body")
    assert r.returncode == 0, r.stdout + r.stderr + k.output()[-2000:]
    lines = r.stdout.splitlines()
    assert lines[:2] == ["200", "OK"], r.stdout
    # a 2xx without Contact sets up no dialog: target, next hop and routes are empty
    assert lines[2:5] == ["<null string>"] * 3, r.stdout
    assert "X-Answer: 42" in r.stdout and "CSeq: 10 MESSAGE" in r.stdout
    assert uas.wait()[0] == 0, uas_errors(tmp_path)


def test_t_uac_wait_invite_is_acked_and_gives_the_dialog(env, tmp_path):
    k, things = env
    uas = Uas(tmp_path, "tm_uas_invite.xml")
    things.append(uas)
    r = k.kampyctl("--json", "tm.t_uac_wait", "INVITE", "sip:bob@127.0.0.1:%d" % uas.port, ".", ".",
                   hdrs(uas.port, "CSeq: 5 INVITE\\r\\nContact: <sip:rpc@127.0.0.1:%d>\\r\\n" % k.port))
    assert r.returncode == 0, r.stdout + r.stderr + k.output()[-2000:]
    import json
    code, reason, target, hop, routes, rest = json.loads(r.stdout)
    assert (code, reason) == (200, "OK")
    assert target == "sip:callee@127.0.0.1:%d" % uas.port
    assert hop == "sip:127.0.0.1:%d;lr;x=1" % uas.port
    assert routes == "Route: <sip:127.0.0.1:%d;lr;x=1>" % uas.port
    assert "CSeq: 5 INVITE" in rest
    assert uas.wait()[0] == 0, uas_errors(tmp_path)     # it got our ACK, along the route


def test_t_uac_start_returns_at_once_and_the_request_arrives(env, tmp_path):
    k, things = env
    uas = Uas(tmp_path, "tm_uas_options.xml")
    things.append(uas)
    r = k.kampyctl("tm.t_uac_start", "MESSAGE", "sip:bob@127.0.0.1:%d" % uas.port,
                   "sip:127.0.0.1:%d" % uas.port, "udp:127.0.0.1:%d" % k.port,
                   hdrs(uas.port, "X-Test: hello !!\\r\\nContent-Type: text/plain\\r\\n"), "ping-body")
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr
    assert uas.wait()[0] == 0, uas_errors(tmp_path)


def test_t_uac_wait_timeout_and_faults(env, tmp_path):
    k, _things = env
    silent = free_udp_port()
    r = k.kampyctl("tm.t_uac_wait", "OPTIONS", "sip:nobody@127.0.0.1:%d" % silent, ".", ".", hdrs(silent))
    assert r.returncode == 0 and r.stdout.splitlines()[:2] == ["408", "Request Timeout"], r.stdout
    faults = [
        (["OPTIONS", "sip:a@127.0.0.1", ".", ".", "To: <sip:a@127.0.0.1>"], "400 - From missing"),
        (["OPTIONS", "sip:a@127.0.0.1", ".", ".", "From: <sip:x@y>"], "400 - To missing"),
        (["OPTIONS", "nonsense", ".", ".", hdrs(5060)], '400 - Invalid request uri "nonsense"'),
        (["OPTIONS", "sip:a@127.0.0.1", ".", "udp:10.9.9.9:5060", hdrs(5060)],
         '400 - No local socket for "udp:10.9.9.9:5060"'),
        (["OPTIONS", "sip:a@127.0.0.1", ".", ".", hdrs(5060, "CSeq: 3 INFO\\r\\n")], "400 - CSeq method mismatch"),
        (["MESSAGE", "sip:a@127.0.0.1", ".", ".", hdrs(5060), "body"], "400 - Content-Type missing"),
        (["OPTIONS", "sip:a@127.0.0.1", "."], "400 - too few parameters (3/5)"),
    ]
    for args, text in faults:
        r = k.kampyctl("tm.t_uac_start", *args)
        assert r.returncode == 1 and r.stdout.strip() == "error: " + text, (args, r.stdout)
