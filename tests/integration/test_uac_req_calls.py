# SPDX-License-Identifier: GPL-2.0-or-later
"""uac_req_send() through the real daemon (children=4), sipp as the far end.

The test asks kampy to send with an OPTIONS (or a MESSAGE it relays), then
checks what sipp received (its message trace) and what event_route[uac:reply]
saw (xlog lines in kampy's log)."""

import re
import subprocess

import pytest

from kampy.sip import digest

from harness import Kampy, SCENARIOS, free_udp_port, send_udp, wait_for
from toolcheck import require_tool

CFG = r"""
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "xlog.so"
loadmodule "textops.so"
loadmodule "uac.so"
modparam("uac", "restore_mode", "none")
modparam("tm", "fr_timer", 1000)

request_route {
    if (is_method("OPTIONS")) {
        route(FILL);
        $var(rc) = uac_req_send();
        if ($var(rc) == 1) { sl_send_reply("200", "Sent"); } else { sl_send_reply("500", "Not Sent"); }
        exit;
    }
    if (is_method("MESSAGE")) {
        t_on_failure("AGAIN");
        t_relay("127.0.0.1", UAS_PORT);
        exit;
    }
    sl_send_reply("405", "Method Not Allowed");
}

route[FILL] {
    $uac_req(all) = $null;
    $uac_req(method) = "MESSAGE";
    $uac_req(ruri) = "sip:bob@127.0.0.1:UAS_PORT";
    $uac_req(furi) = "\"Kampy Bot\" <sip:bot@kampy.test>";
    $uac_req(turi) = "sip:bob@example.test";
    $uac_req(hdrs) = "X-Answer: 200\r\nX-Case: " + $ci + "\r\nContent-Type: text/plain\r\n";
    $uac_req(body) = "hello from " + $ci;
    $uac_req(callid) = $ci + "-uac";
    $uac_req(evroute) = $hdr(X-Evroute);
    $uac_req(evparam) = $ci;
    if ($hdr(X-Auth) == "yes") {
        $uac_req(auser) = "alice";
        $uac_req(apasswd) = "s3cret";
    }
}

failure_route[AGAIN] {
    route(FILL);
    $uac_req(evroute) = 1;
    $uac_req(evparam) = "from-failure";
    $uac_req(callid) = $ci + "-failure";
    uac_req_send();
}

event_route[uac:reply] {
    xlog("L_NOTICE", "UACREPLY param=$uac_req(evparam) code=$uac_req(evcode) type=$uac_req(evtype) EVREST");
    if ($uac_req(evparam) == "from-failure") {
        $uac_req(evparam) = "from-event";
        $uac_req(callid) = $null;
        $uac_req(hdrs) = "X-Answer: 202\r\nX-Case: from-event\r\n";
        uac_req_send();
    }
}
"""

CFG = CFG.replace("EVREST", r"rs=$rs cseq=$hdr(CSeq) xr=$hdr(X-R)\n")
REPLY_RE = re.compile(r"UACREPLY param=(\S+) code=(\d+) type=(\d+) rs=(\S+) cseq=(.+?) xr=(\S+)$", re.M)


class Far:
    """A sipp UAS for -m calls; its message trace is kept for the test."""

    def __init__(self, tmp_path, scenario, calls, port, keys=()):
        self.port = port
        self.trace = tmp_path / ("far_%d_messages.log" % port)
        self.screen = tmp_path / ("far_%d_screen.log" % port)
        args = [require_tool("sipp"), "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1",
                "-p", str(port), "-m", str(calls), "-nostdin", "-timeout", "30s", "-timeout_error",
                "-trace_msg", "-message_file", str(self.trace), "-trace_err",
                "-error_file", str(tmp_path / ("far_%d_errors.log" % port))]
        for k, v in keys:
            args += ["-key", k, v]
        # sipp's screen goes to a file: a pipe nobody reads yet could fill and stall it
        with open(self.screen, "wb") as out:
            self.proc = subprocess.Popen(args, cwd=str(tmp_path), stdout=out, stderr=subprocess.STDOUT)

    def wait(self, timeout=30):
        """sipp's exit code once its calls are done (0: every call as scripted)."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
        self.out = self.screen.read_text(errors="replace")
        return self.proc.returncode

    def received(self):
        """The requests sipp received, in order, retransmissions left out, as
        {first line, headers [(name, value)], get {name: first value}, body}."""
        text = self.trace.read_text(errors="replace") if self.trace.exists() else ""
        out, seen = [], set()
        for block in re.split(r"\n-{20,}[^\n]*\n", text):
            m = re.search(r"message received \[\d+\] bytes :\n\n(.*)", block, re.S)
            if not m or m.group(1).startswith("SIP/2.0"):
                continue
            raw = m.group(1).rstrip("\n")
            if raw in seen:
                continue
            seen.add(raw)
            head, _sep, body = raw.partition("\n\n")
            lines = head.split("\n")
            hdrs = [tuple(x.strip() for x in ln.split(":", 1)) for ln in lines[1:]]
            out.append({"line": lines[0], "headers": hdrs, "body": body.strip("\n"),
                        "get": {k.lower(): v for k, v in reversed(hdrs)}})
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)


@pytest.fixture
def net(tmp_path):
    things = []
    yield things
    for t in reversed(things):
        t.stop()


def start(net, tmp_path, scenario, calls, keys=()):
    """kampy and its far end, on two distinct free ports chosen before either starts."""
    ports = [free_udp_port()]
    while len(ports) < 2:
        p = free_udp_port()
        if p not in ports:
            ports.append(p)
    far = Far(tmp_path, scenario, calls, ports[1], keys)
    net.append(far)
    k = Kampy(tmp_path, CFG.replace("UAS_PORT", str(far.port)), children=4, port=ports[0]).start()
    net.append(k)
    return k, far


def trigger(k, callid, evroute=None, auth=False):
    extra = b""
    if evroute is not None:
        extra += b"X-Evroute: %d\r\n" % evroute
    if auth:
        extra += b"X-Auth: yes\r\n"
    req = (b"OPTIONS sip:ping@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK%s;rport\r\n"
           b"From: <sip:tester@127.0.0.1>;tag=t1\r\nTo: <sip:ping@127.0.0.1>\r\nCall-ID: %s\r\n"
           b"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n%sContent-Length: 0\r\n\r\n"
           % (k.port, callid.encode(), callid.encode(), extra))
    reply = send_udp(k.port, req, timeout=5)
    assert reply is not None and reply.startswith(b"SIP/2.0 200 Sent"), (reply, k.output()[-2000:])


def events(k):
    return [m.groups() for m in REPLY_RE.finditer(k.output())]


def test_send_from_request_route(net, tmp_path):
    k, far = start(net, tmp_path, "uac_req_uas.xml", 4)
    for i in range(4):
        trigger(k, "plain-%d" % i)
    assert far.wait() == 0, far.out[-1500:] + k.output()[-2000:]
    got = far.received()
    assert sorted(r["get"]["call-id"] for r in got) == ["plain-%d-uac" % i for i in range(4)]
    for r in got:
        ci = r["get"]["call-id"][:-4]
        assert r["line"] == "MESSAGE sip:bob@127.0.0.1:%d SIP/2.0" % far.port
        names = [h[0] for h in r["headers"]]
        assert names == ["Via", "To", "From", "CSeq", "Call-ID", "Max-Forwards", "Content-Length",
                         "User-Agent", "X-Answer", "X-Case", "Content-Type"]
        g = r["get"]
        assert re.fullmatch(r'"Kampy Bot" <sip:bot@kampy\.test>;tag=[0-9a-f]{8,}', g["from"])
        assert g["to"] == "<sip:bob@example.test>" and g["cseq"] == "10 MESSAGE"
        assert g["x-case"] == ci and g["content-type"] == "text/plain"
        assert r["body"] == "hello from " + ci and g["content-length"] == str(len(r["body"]))
        assert re.fullmatch(r"SIP/2\.0/UDP 127\.0\.0\.1:%d;branch=z9hG4bK\S+" % k.port, g["via"])
    assert events(k) == []      # evroute 0: no event route


@pytest.mark.parametrize("code,qop", [("401", "auth"), ("401", "auth-int"), ("407", "auth-int")])
def test_auth_and_event_route_twice(net, tmp_path, code, qop):
    """sipp checks the answer to a 401 (verifyauth: 403 if wrong); we check
    every answer with our own digest code, 407's Proxy-Authorization too."""
    k, far = start(net, tmp_path, "uac_req_auth.xml", 1, [("qop", qop)])
    trigger(k, "auth-" + code, evroute=1, auth=True)
    assert far.wait() == 0, far.out[-1500:] + k.output()[-2000:]
    assert wait_for(lambda: len(events(k)) >= 2, 10), k.output()[-2000:]
    evs = events(k)
    assert [e[:6] for e in evs] == [
        ("auth-" + code, code, "1", code, "10 MESSAGE", "<null>"),
        ("auth-" + code, "200", "1", "200", "11 MESSAGE", "<null>"),
    ]
    first, second = far.received()
    assert first["get"]["cseq"] == "10 MESSAGE" and second["get"]["cseq"] == "11 MESSAGE"
    assert first["get"]["call-id"] == second["get"]["call-id"] == "auth-%s-uac" % code
    assert first["get"]["from"] == second["get"]["from"]
    cred_name = "Authorization" if code == "401" else "Proxy-Authorization"
    names = [h[0] for h in second["headers"]]
    assert names[-1] == cred_name and cred_name not in [h[0] for h in first["headers"]]
    cred = second["get"][cred_name.lower()]
    assert 'username="alice"' in cred and 'realm="kampy.test"' in cred and "qop=%s" % qop in cred
    assert 'uri="sip:bob@127.0.0.1:%d"' % far.port in cred and 'opaque="op1"' in cred
    ha1 = digest.ha1("MD5", "alice", "kampy.test", "s3cret")
    assert second["body"] == "hello from auth-" + code
    assert digest.check_response(digest.parse_credentials(cred), "MESSAGE", ha1, second["body"].encode())
    if qop == "auth-int":      # the body is part of the answer
        assert not digest.check_response(digest.parse_credentials(cred), "MESSAGE", ha1, b"other body")


def test_timeout_runs_the_event_route_with_evroute_2_only(net, tmp_path):
    k, far = start(net, tmp_path, "uac_req_silent.xml", 2)
    trigger(k, "silent-1", evroute=1)
    trigger(k, "silent-2", evroute=2)
    assert wait_for(lambda: events(k), 10), k.output()[-2000:]
    assert [e[:6] for e in events(k)] == [("silent-2", "408", "2", "408", "10 MESSAGE", "<null>")]
    # sipp holds each call 4 s, long after both 1 s timers ran out: still nothing for evroute 1
    assert far.wait() == 0, far.out[-1500:]
    assert [e[0] for e in events(k)] == ["silent-2"]
    assert [r["get"]["call-id"] for r in far.received()] == ["silent-1-uac", "silent-2-uac"]


def test_send_from_failure_route_and_event_route(net, tmp_path):
    k, far = start(net, tmp_path, "uac_req_uas.xml", 3)
    msg = (b"MESSAGE sip:bob@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKfr1;rport\r\n"
           b"From: <sip:tester@127.0.0.1>;tag=t1\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: fr1\r\n"
           b"CSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\nX-Answer: 404\r\nContent-Length: 0\r\n\r\n" % k.port)
    reply = send_udp(k.port, msg, timeout=5)
    assert reply is not None and reply.startswith(b"SIP/2.0 404 Not Here"), (reply, k.output()[-2000:])
    assert far.wait() == 0, far.out[-1500:] + k.output()[-2000:]
    got = far.received()
    assert [r["get"]["x-answer"] for r in got] == ["404", "200", "202"]
    assert got[1]["get"]["call-id"] == "fr1-failure" and got[1]["get"]["x-case"] == "fr1"
    assert got[2]["get"]["x-case"] == "from-event" and got[2]["get"]["call-id"] not in ("fr1", "fr1-failure")
    assert got[2]["body"] == "hello from fr1"       # the rest as it was when the first was sent
    assert wait_for(lambda: len(events(k)) >= 2, 10), k.output()[-2000:]
    assert [e[:3] + e[5:6] for e in events(k)] == [("from-failure", "200", "1", "200"),
                                                   ("from-event", "202", "1", "202")]
