# SPDX-License-Identifier: GPL-2.0-or-later
"""tm's one timer per branch (retransmissions and the final-response
deadline in one entry) and the CANCELs a 2xx sends, in-process with the
explicit clock of LocalTimers."""

from kampy.runtime import Runtime
from kampy.script.compiler import compile_text
from kampy.sip import parse
from kampy.worker import Receiver

CFG = """
listen=udp:127.0.0.1:5060
loadmodule "tm.so"
loadmodule "sl.so"
request_route {
    if ($rU == "short") { t_set_fr(1000, 300); }
    $du = "sip:127.0.0.1:5071";
    if ($rU == "fork") {
        append_branch("sip:carol@127.0.0.1:5072");
        append_branch("sip:dave@127.0.0.1:5073");
    }
    t_relay();
}
"""

CALLER = ("127.0.0.1", 5099)


def request(method, user="bob", n=1):
    return (b"%s sip:%s@127.0.0.1:5060 SIP/2.0\r\n" % (method, user.encode())
            + b"Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKbt%d;rport\r\n" % n
            + b"From: <sip:a@x>;tag=f1\r\nTo: <sip:bob@y>\r\nCall-ID: bt%d\r\n" % n
            + b"CSeq: 1 %s\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n" % method)


def setup():
    rt = Runtime(compile_text(CFG, "t.cfg"))
    rt.init_modules()
    return rt, Receiver(rt), rt.default_socket()


def reply_to(sent: bytes, code: int, reason: bytes, tag=b"t1") -> bytes:
    req = parse(sent)
    to = req.header("to") + (b";tag=" + tag if code > 100 else b"")
    lines = [b"SIP/2.0 %d %s" % (code, reason)]
    lines += [b"Via: " + v for v in req.headers("via")]
    lines += [b"From: " + req.header("from"), b"To: " + to, b"Call-ID: " + req.call_id,
              b"CSeq: %d %s" % (req.cseq.number, req.cseq.method.encode()), b"Content-Length: 0", b"", b""]
    return b"\r\n".join(lines)


def sent_to(rt, port, start=b""):
    return [d for _s, _ip, p, d in rt.transport.sent if p == port and d.startswith(start)]


def run_clock(rt, until, step=50, port=5071, start=b""):
    """Advance the clock to `until`, firing timers; the times at which a
    new message starting with `start` went to `port`."""
    times = []
    t = rt.timers
    while t.now_ms < until:
        t.now_ms = min(until, t.now_ms + step)
        before = len(sent_to(rt, port, start))
        rt.fire_timers()
        if len(sent_to(rt, port, start)) > before:
            times.append(t.now_ms)
    return times


def statuses(rt, port=5099):
    return [parse(d).status for d in sent_to(rt, port, b"SIP/2.0")]


def test_one_timer_entry_per_branch():
    rt, rx, sock = setup()
    rx.handle(request(b"INVITE", "fork"), CALLER, sock)
    assert [len(sent_to(rt, p)) for p in (5071, 5072, 5073)] == [1, 1, 1]
    assert len(rt.timers) == 3
    rx.handle(reply_to(sent_to(rt, 5072)[0], 180, b"Ringing"), ("127.0.0.1", 5072), sock)
    assert len(rt.timers) == 3        # the 1xx moves the deadline, it arms nothing


def test_non_invite_retransmits_doubling_to_t2_then_408_at_fr_timer():
    rt, rx, sock = setup()
    rx.handle(request(b"MESSAGE"), CALLER, sock)
    times = run_clock(rt, 29950)
    assert times == [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500]
    assert statuses(rt) == []
    assert run_clock(rt, 30000) == []          # the deadline, not a retransmission
    assert statuses(rt) == [408]
    assert run_clock(rt, 40000) == []          # the branch is over: nothing more


def test_non_invite_in_proceeding_retransmits_every_t2():
    rt, rx, sock = setup()
    rx.handle(request(b"MESSAGE"), CALLER, sock)
    out = sent_to(rt, 5071)[0]
    assert run_clock(rt, 600) == [500]
    rx.handle(reply_to(out, 100, b"Trying"), ("127.0.0.1", 5071), sock)
    assert run_clock(rt, 14000) == [1500, 5500, 9500, 13500]
    rx.handle(reply_to(out, 200, b"OK"), ("127.0.0.1", 5071), sock)
    assert statuses(rt) == [200]
    assert run_clock(rt, 40000) == []
    assert statuses(rt) == [200]


def test_invite_1xx_stops_timer_a_and_starts_fr_inv_timer():
    rt, rx, sock = setup()
    rx.handle(request(b"INVITE"), CALLER, sock)
    out = sent_to(rt, 5071)[0]
    rt.timers.now_ms = 200
    rx.handle(reply_to(out, 180, b"Ringing"), ("127.0.0.1", 5071), sock)
    assert statuses(rt) == [100, 180]
    # no retransmission after the 180, no timeout at fr_timer (30 s)
    assert run_clock(rt, 120150, step=1000) == []
    assert statuses(rt) == [100, 180]
    assert run_clock(rt, 120199, step=49) == []
    assert statuses(rt) == [100, 180]
    # fr_inv_timer (120 s) from the 180: CANCEL down, 408 up
    assert run_clock(rt, 120200, step=1, start=b"CANCEL") == [120200]
    assert statuses(rt) == [100, 180, 408]


def test_invite_without_reply_retransmits_then_times_out_without_cancel():
    rt, rx, sock = setup()
    rx.handle(request(b"INVITE"), CALLER, sock)
    times = run_clock(rt, 30000)
    assert times == [500, 1500, 3500, 7500, 15500]     # Timer A doubles past T2
    assert statuses(rt) == [100, 408]
    assert sent_to(rt, 5071, b"CANCEL") == []          # never rang: abandoned (RFC 3261 §9.1)


def test_t_set_fr_deadline_before_first_retransmission():
    rt, rx, sock = setup()
    rx.handle(request(b"MESSAGE", "short"), CALLER, sock)
    assert run_clock(rt, 299, step=1) == []
    assert statuses(rt) == []
    run_clock(rt, 300, step=1)
    assert statuses(rt) == [408]
    assert len(sent_to(rt, 5071)) == 1                 # the deadline came before T1


def test_t_set_fr_inv_after_ringing():
    rt, rx, sock = setup()
    rx.handle(request(b"INVITE", "short", 2), CALLER, sock)
    out = sent_to(rt, 5071)[0]
    rt.timers.now_ms = 100
    rx.handle(reply_to(out, 180, b"Ringing"), ("127.0.0.1", 5071), sock)
    assert run_clock(rt, 1099, step=1) == []           # fr 300 ms no longer applies
    assert statuses(rt) == [100, 180]
    assert run_clock(rt, 1100, step=1, start=b"CANCEL") == [1100]   # fr_inv 1000 ms from the 180
    assert statuses(rt) == [100, 180, 408]


def test_2xx_cancels_ringing_branches_at_once_and_silent_ones_when_they_ring():
    rt, rx, sock = setup()
    rx.handle(request(b"INVITE", "fork"), CALLER, sock)
    b0, b1, b2 = (sent_to(rt, p)[0] for p in (5071, 5072, 5073))
    rx.handle(reply_to(b1, 180, b"Ringing", b"t2"), ("127.0.0.1", 5072), sock)
    rx.handle(reply_to(b0, 200, b"OK"), ("127.0.0.1", 5071), sock)
    assert statuses(rt) == [100, 180, 200]
    ok = parse(sent_to(rt, 5099, b"SIP/2.0 200")[0])
    assert [v.branch for v in ok.vias] == [b"z9hG4bKbt1"]
    cancel = sent_to(rt, 5072, b"CANCEL")
    assert len(cancel) == 1 and parse(cancel[0]).via.branch == parse(b1).via.branch
    assert sent_to(rt, 5073, b"CANCEL") == [] and sent_to(rt, 5071, b"CANCEL") == []
    rx.handle(reply_to(b2, 180, b"Ringing", b"t3"), ("127.0.0.1", 5073), sock)
    cancel = sent_to(rt, 5073, b"CANCEL")
    assert len(cancel) == 1 and parse(cancel[0]).via.branch == parse(b2).via.branch
    assert statuses(rt) == [100, 180, 200]             # a 1xx after the 2xx is not relayed
    # the canceled branches answer 487: absorbed and ACKed, nothing more upstream
    rx.handle(reply_to(b1, 487, b"Request Terminated", b"t2"), ("127.0.0.1", 5072), sock)
    rx.handle(reply_to(b2, 487, b"Request Terminated", b"t3"), ("127.0.0.1", 5073), sock)
    assert len(sent_to(rt, 5072, b"ACK")) == 1 and len(sent_to(rt, 5073, b"ACK")) == 1
    run_clock(rt, 200000, step=1000)
    assert statuses(rt) == [100, 180, 200]
    assert len(rt.tables["tm"]) == 0                   # forgotten after wt_timer
