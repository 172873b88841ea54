# SPDX-License-Identifier: GPL-2.0-or-later
"""uac_auth() through the real daemon (children=4): sipp caller → kampy →
sipp challenger/callee.  The callee challenges the first INVITE, checks the
credentials of the second (sipp's verifyauth for a 401; for a 407, whose
Proxy-Authorization sipp 3.6 cannot check, and for the algorithms sipp
lacks, our own digest check over the callee's message trace) and the CSeq of
everything it gets (the caller's 7 arrives as 8, and the caller's later
requests shifted by one); the caller checks that every reply carries its own
CSeq.  The scenarios fail the sipp run on any mismatch (ereg check_it)."""

import re
import subprocess

import pytest

from harness import Kampy, SCENARIOS, free_udp_port, sipp
from kampy.sip import digest, parse
from toolcheck import require_tool

CFG = """
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "siputils.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
#!ifdef WITH_DIALOG
loadmodule "dialog.so"
#!endif
loadmodule "uac.so"
modparam("rr", "append_fromtag", 1)
modparam("uac", "credential", "alice:proxy.test:secret")
request_route {
    if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
    if (has_totag()) {
        if (loose_route()) { t_relay(); exit; }
        if (is_method("ACK")) { if (t_check_trans()) t_relay(); exit; }
        sl_send_reply("404", "Not here");
        exit;
    }
    if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
#!ifdef WITH_DIALOG
    if (is_method("INVITE")) dlg_manage();
#!endif
    record_route();
    t_on_failure("AUTH");
    t_relay();
}
failure_route[AUTH] {
    if (t_is_canceled()) exit;
    if (t_check_status("401|407")) {
        if (uac_auth()) { t_on_failure("AUTH"); t_relay(); }
    }
}
"""

CALLS = 2


@pytest.fixture(scope="module")
def proxies(tmp_path_factory):
    """One daemon per mode, started when a test first needs it."""
    started = {}

    def get(mode):
        if mode not in started:
            defines = {"WITH_DIALOG": None} if mode == "dialog" else {}
            k = Kampy(tmp_path_factory.mktemp("kampy_" + mode), CFG, children=4, defines=defines)
            started[mode] = k.start()
        return started[mode]
    yield get
    for k in started.values():
        k.stop()


class Callee:
    """A sipp challenger/callee in the background for CALLS calls."""

    def __init__(self, tmp_path, scenario, keys=()):
        self.port = free_udp_port()
        self.trace = tmp_path / "callee_messages.log"
        self.errors = tmp_path / "callee_errors.log"
        args = [require_tool("sipp"), "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(self.port),
                "-m", str(CALLS), "-nostdin", "-timeout", "30s", "-trace_msg", "-message_file",
                str(self.trace), "-trace_err", "-error_file", str(self.errors)]
        for k, v in keys:
            args += ["-key", k, v]
        self.proc = subprocess.Popen(args, cwd=str(tmp_path), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    def wait(self):
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def received(self):
        """Every message the callee received, as bytes, from its trace."""
        data = self.trace.read_bytes()
        out = []
        for m in re.finditer(rb"UDP message received \[(\d+)\] bytes :\r?\n\r?\n", data):
            out.append(data[m.end():m.end() + int(m.group(1))])
        return out


def _text(path):
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def call(k, tmp_path, caller, callee, keys=()):
    """Run CALLS calls (callee: a name in scenarios/ or a path); both sipp runs
    must succeed and kampy must log no error.  Returns the callee."""
    before = len(k.output())
    c = Callee(tmp_path, SCENARIOS / callee, keys)
    try:
        errors = tmp_path / "caller_errors.log"
        r = sipp(["127.0.0.1:%d" % k.port, "-sf", SCENARIOS / caller, "-i", "127.0.0.1",
                  "-p", free_udp_port(), "-m", CALLS, "-r", 10, "-nostdin", "-timeout", "30s",
                  "-timeout_error", "-key", "callee_port", c.port, "-trace_err", "-error_file", errors],
                 timeout=45, cwd=tmp_path)
        rc = c.wait()
    finally:
        c.stop()
    log = k.output()[before:]
    why = "caller: %s\ncallee: %s\nkampy: %s" % (_text(errors), _text(c.errors), log[-3000:])
    assert r.returncode == 0, why
    assert rc == 0, why
    assert " ERROR: " not in log, why
    return c


def auth_headers(c, name):
    """The credentials the callee got on each re-sent INVITE (CSeq 8)."""
    out = []
    for raw in c.received():
        m = parse(raw)
        if m.is_request and m.method == "INVITE" and m.cseq.number == 8:
            values = m.headers(name)
            assert len(values) == 1, raw
            out.append((m, digest.parse_credentials(values[0])))
    return out


@pytest.mark.parametrize("mode", ["rr", "dialog"])
def test_401_qop_auth_call_with_reinvite_and_bye(proxies, tmp_path, mode):
    c = call(proxies(mode), tmp_path, "uac_auth_caller.xml", "uac_auth_callee.xml",
             [("qop", "auth"), ("alg", "MD5"), ("check", "verifyauth")])
    got = auth_headers(c, "Authorization")
    assert len(got) == CALLS and all(cr.qop == "auth" for _m, cr in got)


def test_401_qop_auth_int(proxies, tmp_path):
    c = call(proxies("rr"), tmp_path, "uac_auth_caller.xml", "uac_auth_callee.xml",
             [("qop", "auth-int"), ("alg", "MD5"), ("check", "verifyauth")])
    got = auth_headers(c, "Authorization")
    assert len(got) == CALLS and all(cr.qop == "auth-int" and m.body for m, cr in got)


@pytest.mark.parametrize("mode, alg, qop", [
    ("rr", "MD5", "auth"), ("dialog", "MD5", "auth"),
    ("rr", "SHA-256", "auth-int"), ("rr", "SHA-512-256-sess", "auth"),
])
def test_407_checked_by_our_digest(proxies, tmp_path, mode, alg, qop):
    text = (SCENARIOS / "uac_auth_callee.xml").read_text()
    variant = text.replace("SIP/2.0 401 Unauthorized", "SIP/2.0 407 Proxy Authentication Required")
    variant = variant.replace("WWW-Authenticate: Digest", "Proxy-Authenticate: Digest")
    assert variant.count("SIP/2.0 407") == 1 and variant.count("Proxy-Authenticate: Digest") == 1
    scen = tmp_path / "uac_auth_callee_407.xml"
    scen.write_text(variant)
    c = call(proxies(mode), tmp_path, "uac_auth_caller.xml", scen,
             [("qop", qop), ("alg", alg), ("check", "trace")])
    got = auth_headers(c, "Proxy-Authorization")
    assert len(got) == CALLS
    base = alg[:-5] if alg.endswith("-sess") else alg
    for m, cr in got:
        assert (cr.username, cr.realm, cr.algorithm, cr.qop) == ("alice", "proxy.test", alg, qop)
        assert cr.uri == m.ruri.decode()
        assert digest.check_response(cr, "INVITE", digest.ha1(base, "alice", "proxy.test", "secret"), m.body)
        assert not digest.check_response(cr, "INVITE", digest.ha1(base, "alice", "proxy.test", "wrong"), m.body)


def test_401_for_a_message(proxies, tmp_path):
    c = call(proxies("rr"), tmp_path, "uac_auth_caller_message.xml", "uac_auth_callee_message.xml",
             [("qop", "auth-int")])
    assert sum(1 for raw in c.received() if raw.startswith(b"MESSAGE ") and b"Authorization:" in raw) == CALLS


def test_cancel_reaches_the_callee_matching_the_resent_invite(proxies, tmp_path):
    c = call(proxies("rr"), tmp_path, "uac_auth_caller_cancel.xml", "uac_auth_callee_cancel.xml",
             [("qop", "auth")])
    cancels = [parse(raw) for raw in c.received() if raw.startswith(b"CANCEL ")]
    invites = {parse(raw).call_id: parse(raw) for raw in c.received()
               if raw.startswith(b"INVITE ") and b"\r\nCSeq: 8 INVITE" in raw}
    assert len(cancels) == CALLS
    for x in cancels:
        assert x.branch == invites[x.call_id].branch


@pytest.mark.parametrize("mode", ["rr", "dialog"])
def test_callee_bye_keeps_its_own_cseq(proxies, tmp_path, mode):
    call(proxies(mode), tmp_path, "uac_auth_caller_wait.xml", "uac_auth_callee_bye.xml", [("qop", "auth")])
