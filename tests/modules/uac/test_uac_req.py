# SPDX-License-Identifier: GPL-2.0-or-later
"""uac: $uac_req, uac_req_send() and event_route[uac:reply], in-process:
what goes on the wire (RecordingTransport), replies fed through the worker's
Receiver, timeouts driven by the explicit clock."""

import logging
import re

import pytest

from kampy.runtime import Runtime
from kampy.script.ast import ConfigErrors
from kampy.script.compiler import compile_text
from kampy.sip import digest, parse
from kampy.worker import Receiver

HEAD = """debug=2
listen=udp:127.0.0.1:5060
listen=udp:127.0.0.1:5070
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "xlog.so"
loadmodule "uac.so"
modparam("uac", "restore_mode", "none")
"""
UAS = ("127.0.0.1", 5077)
REQ = (b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKin%d\r\n"
       b"From: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: in%d\r\nCSeq: 1 OPTIONS\r\n"
       b"Content-Length: 0\r\n\r\n")


class Proxy:
    """A compiled config in this process; each trigger() runs request_route."""

    def __init__(self, route, extra=""):
        self.rt = Runtime(compile_text(HEAD + "request_route {\n" + route + "\n}\n" + extra, "t.cfg"))
        self.rt.init_modules()
        self.rx = Receiver(self.rt)
        self.n = 0

    def trigger(self):
        self.n += 1
        ctx = self.rt.new_context(parse(REQ % (self.n, self.n)))
        self.rt.run_request(ctx)
        return ctx

    @property
    def sent(self):
        return [parse(s[3]) for s in self.rt.transport.sent if not s[3].startswith(b"SIP/2.0")]

    def raw(self, i=-1):
        return [s for s in self.rt.transport.sent if not s[3].startswith(b"SIP/2.0")][i]

    def answer(self, code, reason, extra=b"", req=None):
        """The far end's reply to the last request we sent (or `req`)."""
        req = req or self.sent[-1]
        data = (b"SIP/2.0 %d %s\r\nVia: %s\r\nFrom: %s\r\nTo: %s;tag=far\r\nCall-ID: %s\r\nCSeq: %s\r\n"
                b"%sContent-Length: 0\r\n\r\n" % (code, reason, req.header("via"), req.header("from"),
                                                   req.header("to"), req.call_id, req.header("cseq"), extra))
        self.rx.handle(data, UAS, self.rt.sockets[0])

    def expire(self, until_ms=40000):
        t = self.rt.timers
        while t.now_ms < until_ms:
            t.now_ms += 250
            self.rt.fire_timers()


SET_ALL = """
$uac_req(method) = "MESSAGE";
$uac_req(ruri) = "sip:bob@127.0.0.1:5077";
"""


def lines(caplog, tag):
    return [m.split(tag, 1)[1].strip() for m in caplog.messages if tag in m]


# --- $uac_req: keys, reset, limits, startup errors ---------------------------------------

def test_keys_read_back_and_all_resets():
    route = """
$uac_req(method) = "OPTIONS"; $uac_req(ruri) = "sip:r@h"; $uac_req(furi) = "sip:f@h";
$uac_req(turi) = "sip:t@h"; $uac_req(ouri) = "sip:o@h"; $uac_req(hdrs) = "X-A: 1\\r\\n";
$uac_req(body) = "b"; $uac_req(flags) = 1; $uac_req(callid) = "cid"; $uac_req(cseqno) = 77;
$uac_req(auser) = "u"; $uac_req(apasswd) = "p"; $uac_req(sock) = "udp:127.0.0.1:5060";
$uac_req(evroute) = "2"; $uac_req(evparam) = "ep";
$var(got) = $uac_req(method) + "|" + $uac_req(ruri) + "|" + $uac_req(furi) + "|" + $uac_req(turi)
  + "|" + $uac_req(ouri) + "|" + $uac_req(hdrs) + "|" + $uac_req(body) + "|" + $uac_req(flags)
  + "|" + $uac_req(callid) + "|" + $uac_req(cseqno) + "|" + $uac_req(auser) + "|" + $uac_req(apasswd)
  + "|" + $uac_req(sock) + "|" + $uac_req(evroute) + "|" + $uac_req(evparam) + "|" + $uac_req(evcode)
  + "|" + $uac_req(evtype);
$uac_req(ruri) = $null;
if ($uac_req(ruri) == $null) $var(ruri_null) = 1;
$uac_req(all) = $null;
if ($uac_req(method) == $null && $uac_req(hdrs) == $null && $uac_req(auser) == $null) $var(empty) = 1;
$var(ints) = $uac_req(flags) + $uac_req(cseqno) + $uac_req(evroute) + $uac_req(evtype);
"""
    p = Proxy(route)
    p.trigger()
    v = p.rt.vars
    assert v["got"] == ("OPTIONS|sip:r@h|sip:f@h|sip:t@h|sip:o@h|X-A: 1\r\n|b|1|cid|77|u|p|"
                        "udp:127.0.0.1:5060|2|ep|0|0")
    assert v["ruri_null"] == 1 and v["empty"] == 1 and v["ints"] == 0


def test_values_are_kept_by_the_process_between_messages():
    p = Proxy('if ($var(n) == 0) { $uac_req(evparam) = "kept"; }\n$var(n) = $var(n) + 1;\n'
              '$var(seen) = $uac_req(evparam);')
    p.trigger()
    p.trigger()
    assert p.rt.vars["n"] == 2 and p.rt.vars["seen"] == "kept"


LIMITS = [("method", 32), ("ruri", 1024), ("furi", 1024), ("turi", 1024), ("ouri", 1024),
          ("hdrs", 2048), ("body", 32768), ("callid", 128), ("sock", 1024), ("auser", 128),
          ("apasswd", 64), ("evparam", 128)]


@pytest.mark.parametrize("key,size", LIMITS)
def test_kamailio_size_limits_refuse_the_value(key, size, caplog):
    caplog.set_level(logging.ERROR, logger="kampy")
    fits, too_long = "a" * (size - 1), "b" * size
    p = Proxy('$uac_req(%s) = "%s";\n$var(a) = $uac_req(%s);\n$uac_req(%s) = "%s";\n$var(b) = $uac_req(%s);'
              % (key, fits, key, key, too_long, key))
    p.trigger()
    assert p.rt.vars["a"] == fits and p.rt.vars["b"] == fits     # refused: the key keeps its value
    assert any("t.cfg:12:" in m and "$uac_req(%s) is too long: %d bytes, at most %d" % (key, size, size - 1) in m
               for m in caplog.messages), caplog.messages


def test_bad_integer_values_are_refused(caplog):
    caplog.set_level(logging.ERROR, logger="kampy")
    p = Proxy('$uac_req(evroute) = 1;\n$uac_req(evroute) = 3;\n$uac_req(cseqno) = "x";\n'
              '$var(e) = $uac_req(evroute);\n$var(c) = $uac_req(cseqno);')
    p.trigger()
    assert p.rt.vars["e"] == 1 and p.rt.vars["c"] == 0
    text = "\n".join(caplog.messages)
    assert "$uac_req(evroute) is 0, 1 or 2, not 3" in text and "$uac_req(cseqno) takes an integer" in text


@pytest.mark.parametrize("stmt,msg", [
    ('$uac_req(nope) = "x";', "unknown $uac_req key 'nope'"),
    ('$var(x) = $uac_req(Method);', "unknown $uac_req key 'Method'"),
    ('$uac_req(evcode) = 200;', "read-only"),
    ('$uac_req(evtype) = 1;', "read-only"),
    ('$uac_req(all) = "x";', "only $null can be assigned"),
    ('$var(x) = $uac_req($var(k));', "$uac_req needs a fixed key"),
])
def test_startup_errors_with_position(stmt, msg):
    with pytest.raises(ConfigErrors) as ei:
        Proxy("$var(y) = 1;\n" + stmt)
    assert "t.cfg:11:" in str(ei.value) and msg in str(ei.value)


def test_allowed_routes():
    for where in ("failure_route[f]", "branch_route[b]", "onreply_route[o]", "event_route[uac:reply]",
                  "reply_route"):
        Proxy("exit;", extra="%s { uac_req_send(); }\n" % where)
    with pytest.raises(ConfigErrors) as ei:
        Proxy("exit;", extra="onsend_route { uac_req_send(); }\n")
    assert "function 'uac_req_send' cannot be used in onsend_route" in str(ei.value)


# --- the request on the wire ---------------------------------------------------------

def test_request_headers_exactly_as_kamailio_orders_them():
    p = Proxy(SET_ALL + """
$uac_req(furi) = "\\"Kampy Bot\\" <sip:bot@kampy.test>";
$uac_req(turi) = "Bob <sip:bob@example.test>";
$uac_req(hdrs) = "X-Test: one\\r\\nContent-Type: text/plain\\r\\n";
$uac_req(body) = "hello bob";
$uac_req(callid) = "call-" + $ci;
$var(rc) = uac_req_send();
""")
    p.trigger()
    assert p.rt.vars["rc"] == 1
    sock, ip, port, data = p.raw()
    assert (ip, port) == UAS and sock is p.rt.sockets[0]
    head, body = data.split(b"\r\n\r\n", 1)
    hl = head.split(b"\r\n")
    tag = parse(data).from_tag
    assert re.fullmatch(rb"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK[^;]+;rport", hl[1])
    assert hl[0:1] + hl[2:] == [
        b"MESSAGE sip:bob@127.0.0.1:5077 SIP/2.0",
        b"To: Bob <sip:bob@example.test>",
        b'From: "Kampy Bot" <sip:bot@kampy.test>;tag=' + tag,
        b"CSeq: 10 MESSAGE",
        b"Call-ID: call-in1",
        b"Max-Forwards: 70",
        b"Content-Length: 9",
        b"User-Agent: kampy",
        b"X-Test: one",
        b"Content-Type: text/plain",
    ]
    assert body == b"hello bob" and len(tag) >= 8


def test_defaults_ouri_cseqno_and_headers_without_last_crlf():
    p = Proxy("""
$uac_req(method) = "OPTIONS";
$uac_req(ruri) = "sip:alice@far.invalid";
$uac_req(ouri) = "sip:127.0.0.1:5077";
$uac_req(cseqno) = 4711;
$uac_req(hdrs) = "X-A: 1\\nX-B: 2";
uac_req_send();
""")
    p.trigger()
    _s, ip, port, data = p.raw()
    m = parse(data)
    assert (ip, port) == UAS                       # the outbound proxy, not the R-URI host
    assert m.ruri == b"sip:alice@far.invalid" and m.cseq.number == 4711
    assert m.header("from").startswith(b"<sip:alice@far.invalid>;tag=")   # From and To default to the R-URI
    assert m.header("to") == b"<sip:alice@far.invalid>" and m.to_tag is None
    assert m.headers("X-A") == [b"1"] and m.headers("X-B") == [b"2"] and m.body == b""
    assert m.call_id and m.call_id.endswith(b"@127.0.0.1")


def test_sock_must_be_one_of_ours(caplog):
    caplog.set_level(logging.ERROR, logger="kampy")
    p = Proxy(SET_ALL + '$uac_req(sock) = "udp:127.0.0.1:5070";\n$var(a) = uac_req_send();\n'
              '$uac_req(sock) = "udp:127.0.0.2:5060";\n$var(b) = uac_req_send();')
    p.trigger()
    assert p.rt.vars["a"] == 1 and p.rt.vars["b"] == -1
    assert len(p.sent) == 1
    sock, _ip, _port, data = p.raw()
    assert sock is p.rt.sockets[1] and parse(data).via.port == 5070
    assert any("$uac_req(sock) 'udp:127.0.0.2:5060' is not one of our sockets" in m for m in caplog.messages)


@pytest.mark.parametrize("stmt,msg", [
    ('$uac_req(method) = $null;', "$uac_req(method) and $uac_req(ruri) must be set"),
    ('$uac_req(ruri) = "not a uri";', "$uac_req(ruri) is not a SIP URI"),
    ('$uac_req(furi) = "<sip:a@b>;x=1";', "header parameters after '>' are not supported"),
    ('$uac_req(hdrs) = "Call-ID: mine\\r\\n";', "must not hold Call-ID"),
    ('$uac_req(hdrs) = "garbage\\r\\n";', "not a header line"),
    ('$uac_req(method) = "BAD METHOD";', "not a SIP method"),
])
def test_bad_requests_are_not_sent(stmt, msg, caplog):
    caplog.set_level(logging.ERROR, logger="kampy")
    p = Proxy(SET_ALL + stmt + "\n$var(rc) = uac_req_send();")
    p.trigger()
    assert p.rt.vars["rc"] == -1 and p.sent == []
    assert any(msg in m for m in caplog.messages), caplog.messages


# --- authentication -------------------------------------------------------------------

AUTH = SET_ALL + """
$uac_req(auser) = "alice";
$uac_req(apasswd) = "s3cret";
$uac_req(body) = "hi";
$uac_req(hdrs) = "Content-Type: text/plain\\r\\n";
"""


def _check(creds_hdr, method, password=None, ha1=None, body=b""):
    cr = digest.parse_credentials(creds_hdr)
    ha1 = ha1 or digest.ha1(cr.algorithm or "MD5", cr.username, cr.realm, password)
    return cr, digest.check_response(cr, method, ha1, body)


def test_401_answered_once_with_cseq_plus_one():
    p = Proxy(AUTH + "uac_req_send();")
    p.trigger()
    first = p.sent[0]
    p.answer(401, b"Unauthorized", b'WWW-Authenticate: Digest realm="kampy.test", nonce="n1", qop="auth"\r\n')
    assert len(p.sent) == 2
    again = p.sent[1]
    assert again.cseq.number == first.cseq.number + 1 == 11
    assert again.call_id == first.call_id and again.from_tag == first.from_tag
    assert again.branch != first.branch and again.body == b"hi"
    assert again.header("Content-Type") == b"text/plain"
    cr, ok = _check(again.header("Authorization"), "MESSAGE", password="s3cret")
    assert ok and cr.username == "alice" and cr.uri == "sip:bob@127.0.0.1:5077" and cr.qop == "auth"
    assert cr.nc == "00000001" and len(cr.cnonce) >= 16
    # the last header is the new one, as Kamailio appends it after $uac_req(hdrs)
    assert p.raw()[3].split(b"\r\n\r\n")[0].split(b"\r\n")[-1].startswith(b"Authorization: Digest ")
    p.answer(401, b"Unauthorized", b'WWW-Authenticate: Digest realm="kampy.test", nonce="n2"\r\n')
    assert len(p.sent) == 2                      # a second challenge is a final failure


def test_407_auth_int_and_the_strongest_challenge():
    p = Proxy(AUTH + "uac_req_send();")
    p.trigger()
    p.answer(407, b"Proxy Authentication Required",
             b'Proxy-Authenticate: Digest realm="r", nonce="n", qop="auth-int", algorithm=MD5\r\n'
             b'Proxy-Authenticate: Digest realm="r", nonce="n", qop="auth-int", algorithm=SHA-256\r\n')
    again = p.sent[1]
    assert again.header("Authorization") is None
    cr, ok = _check(again.header("Proxy-Authorization"), "MESSAGE", password="s3cret", body=b"hi")
    assert ok and cr.algorithm == "SHA-256" and cr.qop == "auth-int"


def test_flag_1_takes_an_ha1():
    ha1 = digest.ha1("MD5", "alice", "r", "s3cret")
    p = Proxy(AUTH + '$uac_req(flags) = 1;\n$uac_req(apasswd) = "%s";\nuac_req_send();' % ha1)
    p.trigger()
    p.answer(401, b"Unauthorized", b'WWW-Authenticate: Digest realm="r", nonce="n"\r\n')
    _cr, ok = _check(p.sent[1].header("Authorization"), "MESSAGE", ha1=ha1)
    assert ok


def test_unsupported_challenge_is_logged_not_answered(caplog):
    caplog.set_level(logging.ERROR, logger="kampy")
    p = Proxy(AUTH + "uac_req_send();")
    p.trigger()
    p.answer(401, b"Unauthorized", b'WWW-Authenticate: Digest realm="r", nonce="n", algorithm=AKAv1-MD5\r\n')
    assert len(p.sent) == 1
    assert any("no challenge we can answer in the 401 reply (algorithms: AKAv1-MD5)" in m
               for m in caplog.messages)


def test_no_credentials_no_retry():
    p = Proxy(SET_ALL + '$uac_req(auser) = "alice";\nuac_req_send();')
    p.trigger()
    p.answer(401, b"Unauthorized", b'WWW-Authenticate: Digest realm="r", nonce="n"\r\n')
    assert len(p.sent) == 1


# --- event_route[uac:reply] ----------------------------------------------------------------

EVR = ('event_route[uac:reply] {\n    xlog("L_ERR", "EVR code=$uac_req(evcode) type=$uac_req(evtype) '
       'param=$uac_req(evparam) rs=$rs rr=$rr x=$hdr(X-R) method=$uac_req(method) cseq=$hdr(CSeq) '
       'si=$si:$sp\\n");\n}\n')


def test_event_route_twice_when_challenged(caplog):
    caplog.set_level(logging.ERROR, logger="kampy")
    p = Proxy(AUTH + '$uac_req(evroute) = 1;\n$uac_req(evparam) = "p-" + $ci;\nuac_req_send();', EVR)
    p.trigger()
    p.answer(180, b"Ringing")
    assert lines(caplog, "EVR") == []          # provisional replies do not run it
    p.answer(401, b"Unauthorized", b'WWW-Authenticate: Digest realm="r", nonce="n"\r\nX-R: first\r\n')
    p.answer(200, b"OK", b"X-R: second\r\n")
    assert lines(caplog, "EVR") == [
        "code=401 type=1 param=p-in1 rs=401 rr=Unauthorized x=first method=MESSAGE cseq=10 MESSAGE "
        "si=127.0.0.1:5077",
        "code=200 type=1 param=p-in1 rs=200 rr=OK x=second method=MESSAGE cseq=11 MESSAGE si=127.0.0.1:5077",
    ]


def test_event_route_sees_send_time_values_and_the_process_gets_its_own_back(caplog):
    caplog.set_level(logging.ERROR, logger="kampy")
    route = ('if ($var(n) == 0) { ' + SET_ALL + ' $uac_req(evroute) = 1; $uac_req(evparam) = "sent";'
             ' uac_req_send(); $uac_req(evparam) = "changed later"; }\n'
             '$var(n) = $var(n) + 1;\n$var(after) = $uac_req(evparam) + "/" + $uac_req(evcode);')
    p = Proxy(route, EVR)
    p.trigger()
    p.answer(486, b"Busy Here")
    assert lines(caplog, "EVR")[0].startswith("code=486 type=1 param=sent ")
    p.trigger()
    assert p.rt.vars["after"] == "changed later/0"


def test_timeout_runs_the_route_only_with_evroute_2(caplog):
    caplog.set_level(logging.ERROR, logger="kampy")
    route = (SET_ALL + '$uac_req(evroute) = $var(er);\n$uac_req(evparam) = "er" + $var(er);\n'
             '$uac_req(callid) = "t-" + $var(er);\nuac_req_send();')
    for er in (1, 2):
        p = Proxy('$var(er) = %d;\n' % er + route, EVR)
        p.trigger()
        p.expire()
        got = lines(caplog, "EVR")
        if er == 1:
            assert got == []
        else:
            assert got == ["code=408 type=2 param=er2 rs=408 rr=Request Timeout x=<null> method=MESSAGE "
                           "cseq=10 MESSAGE si=127.0.0.1:5077"]


def test_network_408_is_type_1(caplog):
    caplog.set_level(logging.ERROR, logger="kampy")
    p = Proxy(SET_ALL + '$uac_req(evroute) = 1;\nuac_req_send();', EVR)
    p.trigger()
    p.answer(408, b"Request Timeout")
    assert lines(caplog, "EVR")[0].startswith("code=408 type=1 ")


def test_uac_req_send_from_the_event_route(caplog):
    caplog.set_level(logging.ERROR, logger="kampy")
    evr = """event_route[uac:reply] {
    xlog("L_ERR", "EVR $uac_req(evparam) $uac_req(evcode)\\n");
    if ($uac_req(evparam) == "first") {
        $uac_req(evparam) = "second";
        $uac_req(hdrs) = "X-Step: 2\\r\\n";
        uac_req_send();
    }
}
"""
    p = Proxy(SET_ALL + '$uac_req(evroute) = 1;\n$uac_req(evparam) = "first";\nuac_req_send();', evr)
    p.trigger()
    p.answer(200, b"OK")
    assert len(p.sent) == 2 and p.sent[1].header("X-Step") == b"2"
    assert p.sent[1].call_id != p.sent[0].call_id
    p.answer(202, b"Accepted")
    assert lines(caplog, "EVR") == ["first 200", "second 202"]


def test_event_route_in_another_process_needs_only_the_transaction():
    """What the callback needs travels in the transaction's data: a fresh
    process (values reset) runs the route with the send-time values."""
    p = Proxy(SET_ALL + '$uac_req(evroute) = 1;\n$uac_req(evparam) = "x";\n$uac_req(body) = "é";\n'
              'uac_req_send();\n$uac_req(all) = $null;',
              'event_route[uac:reply] { $var(seen) = $uac_req(evparam) + $uac_req(body) + $uac_req(ruri); }\n')
    p.trigger()
    rec = [r for k, r in p.rt.tables["tm"].items() if str(k).startswith("t:")][0]
    import msgpack
    assert msgpack.unpackb(msgpack.packb(rec["data"], use_bin_type=True), raw=False) == rec["data"]
    p.answer(200, b"OK")
    assert p.rt.vars["seen"] == "xésip:bob@127.0.0.1:5077"


def test_timeout_after_the_authenticated_retry(caplog):
    caplog.set_level(logging.ERROR, logger="kampy")
    p = Proxy(AUTH + '$uac_req(evroute) = 2;\n$uac_req(evparam) = "a";\nuac_req_send();', EVR)
    p.trigger()
    p.answer(407, b"Proxy Authentication Required", b'Proxy-Authenticate: Digest realm="r", nonce="n"\r\n')
    p.expire()
    assert [x.split(" x=")[0] for x in lines(caplog, "EVR")] == [
        "code=407 type=1 param=a rs=407 rr=Proxy Authentication Required",
        "code=408 type=2 param=a rs=408 rr=Request Timeout",
    ]
    assert lines(caplog, "EVR")[1].endswith("cseq=11 MESSAGE si=127.0.0.1:5077")
