# SPDX-License-Identifier: GPL-2.0-or-later
"""tm's API for modules: requests a module sends itself, replies to a named
callback (in whichever process), resend with CSeq+1 for authentication."""

from kampy.runtime import Runtime
from kampy.script.compiler import compile_text
from kampy.sip import parse
from kampy.worker import Receiver

CFG = 'listen=udp:127.0.0.1:5060\nloadmodule "tm.so"\nloadmodule "sl.so"\nrequest_route { exit; }\n'
GOT = []


def cb(rt, tid, reply, code, data):
    GOT.append((tid, code, data, reply.cseq.number if reply is not None else None))


def setup():
    GOT.clear()
    rt = Runtime(compile_text(CFG, "t.cfg"))
    rt.init_modules()
    api = rt.api("tm")
    api.register_callback("test.cb", cb)
    return rt, api, Receiver(rt)


def answer(req_bytes, code, reason, extra=b""):
    req = parse(req_bytes)
    return (b"SIP/2.0 %d %s\r\nVia: %s\r\nFrom: %s\r\nTo: %s;tag=r1\r\nCall-ID: %s\r\nCSeq: %s\r\n%s"
            b"Content-Length: 0\r\n\r\n" % (code, reason, req.header("via"), req.header("from"),
                                            req.header("to"), req.call_id, req.header("cseq"), extra))


def test_request_reply_to_callback_and_resend_with_auth():
    rt, api, rx = setup()
    tid = api.send_request("OPTIONS", "sip:bob@127.0.0.1:5077", "sip:alice@example.com",
                           "sip:bob@example.com", callback="test.cb", data={"n": 1})
    sock, ip, port, req = rt.transport.sent[-1]
    assert (ip, port) == ("127.0.0.1", 5077)
    m = parse(req)
    assert m.method == "OPTIONS" and m.cseq.number == 10 and m.from_tag
    rx.handle(answer(req, 401, b"Unauthorized", b'WWW-Authenticate: Digest realm="r", nonce="n"\r\n'),
              ("127.0.0.1", 5077), sock)
    assert GOT == [(tid, 401, {"n": 1}, 10)]
    tid2 = api.resend(tid, [b'Authorization: Digest username="a"'])
    req2 = parse(rt.transport.sent[-1][3])
    assert req2.cseq.number == 11 and req2.call_id == m.call_id and req2.from_tag == m.from_tag
    assert req2.header("Authorization") == b'Digest username="a"' and req2.branch != m.branch
    rx.handle(answer(rt.transport.sent[-1][3], 200, b"OK"), ("127.0.0.1", 5077), sock)
    assert GOT[-1] == (tid2, 200, {"n": 1}, 11)


def test_timeout_reaches_the_callback_as_408():
    rt, api, rx = setup()
    tid = api.send_request("MESSAGE", "sip:bob@127.0.0.1:5077", "sip:a@x", "sip:bob@x",
                           callback="test.cb", data="d", body=b"hi", content_type="text/plain")
    for ms in (500, 1500, 3500, 7500, 15500, 23500, 30000):
        rt.timers.now_ms = ms
        rt.fire_timers()
    assert GOT == [(tid, 408, "d", None)]
    assert len([s for s in rt.transport.sent if s[3].startswith(b"MESSAGE")]) > 4   # Timer E


def test_answered_request_is_not_retransmitted_and_is_forgotten_without_decoding():
    """The final reply marks the record's header (branch final, nothing
    indexes it): the branch timer and the wait timer read only that."""
    rt, api, rx = setup()
    tid = api.send_request("OPTIONS", "sip:bob@127.0.0.1:5077", "sip:a@x", "sip:bob@x",
                           callback="test.cb", data=None)
    assert tid.startswith("l") and len(tid) == 16
    req = rt.transport.sent[-1][3]
    tab = rt.tables["tm"]
    key = "t:" + tid
    assert tab.header(key)[1] == 0
    rx.handle(answer(req, 200, b"OK"), ("127.0.0.1", 5077), rt.default_socket())
    assert GOT and GOT[-1][1] == 200
    flags = tab.header(key)[1]
    assert flags & 1 and flags & (1 << 60)
    sent = len(rt.transport.sent)
    assert rt.counters.get("tm:current") == 1
    for ms in (500, 1500, 3500, 6000):
        rt.timers.now_ms = ms
        rt.fire_timers()
    assert len(rt.transport.sent) == sent           # no retransmission after the final reply
    assert tab.get(key) is None and tab.header(key) is None
    assert rt.counters.get("tm:current") == 0
