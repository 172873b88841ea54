# SPDX-License-Identifier: GPL-2.0-or-later
"""tm in-process: a worker's receive path with a recording transport and
the explicit clock of LocalTimers (no sockets, no sleeps)."""

from kampy.runtime import Runtime
from kampy.script.compiler import compile_text
from kampy.sip import parse
from kampy.worker import Receiver

CFG = """
listen=udp:127.0.0.1:5060
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "textops.so"
request_route {
    if (is_method("INVITE")) { t_on_failure("F"); t_on_reply("R"); }
    t_relay("127.0.0.1", 5071);
}
onreply_route[R] {
    if (status == "180") append_hf("X-Seen: yes\\r\\n");
}
failure_route[F] {
    if (t_check_status("486")) { $avp(tried) = 1; t_relay("127.0.0.1", 5072); }
}
"""

INVITE = (b"INVITE sip:bob@127.0.0.1:5060 SIP/2.0\r\n"
          b"Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKinv1;rport\r\n"
          b"From: <sip:a@x>;tag=f1\r\nTo: <sip:bob@y>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n"
          b"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")


def setup():
    rt = Runtime(compile_text(CFG, "t.cfg"))
    rt.init_modules()
    return rt, Receiver(rt)


def reply_to(sent: bytes, code: int, reason: bytes, tag=b"t1") -> bytes:
    req = parse(sent)
    lines = [b"SIP/2.0 %d %s" % (code, reason)]
    lines += [b"Via: " + v for v in req.headers("via")]
    lines += [b"From: " + req.header("from"), b"To: " + req.header("to") + b";tag=" + tag,
              b"Call-ID: " + req.call_id, b"CSeq: %d %s" % (req.cseq.number, req.cseq.method.encode()),
              b"Content-Length: 0", b"", b""]
    return b"\r\n".join(lines)


def sent_to(rt, port):
    return [d for _s, _ip, p, d in rt.transport.sent if p == port]


def test_relay_provisional_through_onreply_route_then_2xx():
    rt, rx = setup()
    sock = rt.default_socket()
    rx.handle(INVITE, ("127.0.0.1", 5099), sock)
    up = sent_to(rt, 5099)
    assert up[0].startswith(b"SIP/2.0 100 Trying")
    out = sent_to(rt, 5071)[0]
    assert parse(out).via.branch.startswith(b"z9hG4bK")
    rx.handle(reply_to(out, 180, b"Ringing"), ("127.0.0.1", 5071), sock)
    ring = parse(sent_to(rt, 5099)[-1])
    assert ring.status == 180 and ring.header("X-Seen") == b"yes"
    assert [v.branch for v in ring.vias] == [b"z9hG4bKinv1"]
    rx.handle(reply_to(out, 200, b"OK"), ("127.0.0.1", 5071), sock)
    ok = parse(sent_to(rt, 5099)[-1])
    assert ok.status == 200 and len(ok.vias) == 1


def test_retransmitted_invite_gets_last_reply():
    rt, rx = setup()
    sock = rt.default_socket()
    rx.handle(INVITE, ("127.0.0.1", 5099), sock)
    rx.handle(INVITE, ("127.0.0.1", 5099), sock)
    assert len(sent_to(rt, 5071)) == 1                 # not relayed twice
    assert sum(1 for d in sent_to(rt, 5099) if d.startswith(b"SIP/2.0 100")) == 2


def test_busy_then_failure_route_and_ack():
    rt, rx = setup()
    sock = rt.default_socket()
    rx.handle(INVITE, ("127.0.0.1", 5099), sock)
    out = sent_to(rt, 5071)[0]
    rx.handle(reply_to(out, 486, b"Busy Here"), ("127.0.0.1", 5071), sock)
    to_first = sent_to(rt, 5071)
    assert to_first[-1].startswith(b"ACK sip:bob@127.0.0.1:5060 SIP/2.0")
    second = sent_to(rt, 5072)
    assert len(second) == 1 and parse(second[0]).via.branch.endswith(b".1")
    rx.handle(reply_to(second[0], 404, b"Not Found", b"t2"), ("127.0.0.1", 5072), sock)
    final = parse(sent_to(rt, 5099)[-1])
    assert final.status == 404                           # the best of 486 and 404 is 404 (4xx: lowest)


def test_no_reply_retransmits_then_times_out():
    rt, rx = setup()
    sock = rt.default_socket()
    rx.handle(INVITE, ("127.0.0.1", 5099), sock)
    t = rt.timers
    for ms in (500, 1500, 3500):
        t.now_ms = ms
        rt.fire_timers()
    assert len(sent_to(rt, 5071)) == 4                  # INVITE + Timer A at 0.5, 1.5, 3.5 s
    t.now_ms = 30000
    rt.fire_timers()
    # fr_timer: a local 408, then failure_route (not 486: nothing relayed) and the 408 upstream
    assert parse(sent_to(rt, 5099)[-1]).status == 408


def test_cancel_after_ringing():
    rt, rx = setup()
    sock = rt.default_socket()
    rx.handle(INVITE, ("127.0.0.1", 5099), sock)
    out = sent_to(rt, 5071)[0]
    rx.handle(reply_to(out, 180, b"Ringing"), ("127.0.0.1", 5071), sock)
    cancel = INVITE.replace(b"INVITE sip", b"CANCEL sip").replace(b"CSeq: 1 INVITE", b"CSeq: 1 CANCEL")
    rx.handle(cancel, ("127.0.0.1", 5099), sock)
    assert parse(sent_to(rt, 5099)[-1]).status == 200
    assert sent_to(rt, 5071)[-1].startswith(b"CANCEL sip:bob@127.0.0.1:5060 SIP/2.0")
    rx.handle(reply_to(out, 487, b"Request Terminated"), ("127.0.0.1", 5071), sock)
    assert parse(sent_to(rt, 5099)[-1]).status == 487
