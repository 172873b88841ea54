# SPDX-License-Identifier: GPL-2.0-or-later
"""max_inv_lifetime / max_noninv_lifetime, and branch-failure routes, driven
in-process with the explicit clock of LocalTimers."""

from kampy.runtime import Runtime
from kampy.script.compiler import compile_text
from kampy.sip import parse
from kampy.worker import Receiver

LIFE = """
listen=udp:127.0.0.1:5060
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "textops.so"
loadmodule "xlog.so"
modparam("tm", "max_inv_lifetime", 10000)
modparam("tm", "max_noninv_lifetime", 5000)
request_route {
    t_on_failure("F");
    t_relay("127.0.0.1", 5071);
}
failure_route[F] {
    $var(fail) = $T_reply_code;
    $var(when) = $var(when) + 1;
}
"""

BF = """
listen=udp:127.0.0.1:5060
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "textops.so"
request_route {
    $var(bf) = "";
    t_on_failure("F");
    t_on_branch_failure("bf");
    if (is_method("MESSAGE")) { $du = "sip:127.0.0.1:5071"; append_branch("sip:bob@127.0.0.1:5072"); t_relay(); exit; }
    t_relay("127.0.0.1", 5071);
}
event_route[tm:branch-failure:bf] {
    $var(bf) = $var(bf) + "|" + $T_reply_code + "/" + $T_reply_reason + "/" + $T_branch_idx + "/" + $ru;
    if (t_check_status("503")) {
        $ru = "sip:bob@127.0.0.1:5073";
        $du = "sip:127.0.0.1:5073";
        t_relay();
    }
}
failure_route[F] {
    $var(fail) = $T_reply_code;
}
"""


def req(method, branch=b"z9hG4bKc1", callid=b"c1"):
    return (b"%s sip:bob@127.0.0.1:5060 SIP/2.0\r\n"
            b"Via: SIP/2.0/UDP 127.0.0.1:5099;branch=%s;rport\r\n"
            b"From: <sip:a@x>;tag=f1\r\nTo: <sip:bob@y>\r\nCall-ID: %s\r\nCSeq: 1 %s\r\n"
            b"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n" % (method, branch, callid, method))


def setup(cfg, **params):
    rt = Runtime(compile_text(cfg, "t.cfg"))
    rt.init_modules()
    return rt, Receiver(rt)


def reply_to(sent: bytes, code: int, reason: bytes, tag=b"t1") -> bytes:
    r = parse(sent)
    lines = [b"SIP/2.0 %d %s" % (code, reason)] + [b"Via: " + v for v in r.headers("via")]
    lines += [b"From: " + r.header("from"), b"To: " + r.header("to") + b";tag=" + tag,
              b"Call-ID: " + r.call_id, b"CSeq: %d %s" % (r.cseq.number, r.cseq.method.encode()),
              b"Content-Length: 0", b"", b""]
    return b"\r\n".join(lines)


def sent_to(rt, port):
    return [d for _s, _ip, p, d in rt.transport.sent if p == port]


def clock(rt, *times):
    for ms in times:
        rt.timers.now_ms = ms
        rt.fire_timers()


def test_invite_ringing_past_max_inv_lifetime_is_canceled_and_fails():
    rt, rx = setup(LIFE)
    sock = rt.default_socket()
    rx.handle(req(b"INVITE"), ("127.0.0.1", 5099), sock)
    out = sent_to(rt, 5071)[0]
    rt.timers.now_ms = 1000
    rx.handle(reply_to(out, 180, b"Ringing"), ("127.0.0.1", 5071), sock)   # fr_inv_timer (120 s) starts
    clock(rt, 5000, 9999)
    assert "fail" not in rt.vars and not sent_to(rt, 5071)[-1].startswith(b"CANCEL")
    clock(rt, 10000)                                   # the end of its life, long before Timer C
    assert sent_to(rt, 5071)[-1].startswith(b"CANCEL sip:bob@127.0.0.1:5060 SIP/2.0")
    assert rt.vars["fail"] == 408 and rt.vars["when"] == 1
    assert parse(sent_to(rt, 5099)[-1]).status == 408
    # the callee's 487 to our CANCEL is absorbed and ACKed, nothing more goes upstream
    n_up = len(sent_to(rt, 5099))
    rx.handle(reply_to(out, 487, b"Request Terminated"), ("127.0.0.1", 5071), sock)
    assert sent_to(rt, 5071)[-1].startswith(b"ACK ") and len(sent_to(rt, 5099)) == n_up


def test_non_invite_past_max_noninv_lifetime_times_out_without_cancel():
    rt, rx = setup(LIFE)
    sock = rt.default_socket()
    rx.handle(req(b"MESSAGE"), ("127.0.0.1", 5099), sock)
    clock(rt, 500, 1500, 3500, 4999)
    assert "fail" not in rt.vars
    clock(rt, 5000)                                    # before fr_timer (30 s)
    assert rt.vars["fail"] == 408
    assert parse(sent_to(rt, 5099)[-1]).status == 408
    assert not any(d.startswith(b"CANCEL") for d in sent_to(rt, 5071))


def test_unanswered_invite_branch_is_not_canceled():
    rt, rx = setup(LIFE.replace("10000", "180000"))
    sock = rt.default_socket()
    rx.handle(req(b"INVITE"), ("127.0.0.1", 5099), sock)
    clock(rt, 500, 1500, 3500, 7500, 15500, 30000)
    assert rt.vars["fail"] == 408
    assert not any(d.startswith(b"CANCEL") for d in sent_to(rt, 5071))   # RFC 3261 §9.1


def test_branch_failure_route_runs_per_failed_branch_and_can_add_one():
    rt, rx = setup(BF)
    sock = rt.default_socket()
    rx.handle(req(b"MESSAGE"), ("127.0.0.1", 5099), sock)
    first, second = sent_to(rt, 5071)[0], sent_to(rt, 5072)[0]
    rx.handle(reply_to(first, 503, b"Unavailable"), ("127.0.0.1", 5071), sock)
    assert rt.vars["bf"] == "|503/Unavailable/0/sip:bob@127.0.0.1:5060"
    third = sent_to(rt, 5073)                          # t_relay() in the branch-failure route
    assert len(third) == 1 and parse(third[0]).via.branch.endswith(b".2")
    assert parse(third[0]).ruri == b"sip:bob@127.0.0.1:5073"
    rx.handle(reply_to(second, 486, b"Busy Here", b"t2"), ("127.0.0.1", 5072), sock)
    assert rt.vars["bf"].endswith("|486/Busy Here/1/sip:bob@127.0.0.1:5072")
    assert "fail" not in rt.vars                       # branch 2 is still pending
    assert not [d for d in sent_to(rt, 5099) if d.startswith(b"SIP/2.0 4")]
    rx.handle(reply_to(third[0], 404, b"Not Found", b"t3"), ("127.0.0.1", 5073), sock)
    assert rt.vars["bf"].count("|") == 3 and rt.vars["fail"] == 404
    assert parse(sent_to(rt, 5099)[-1]).status == 404


def test_branch_failure_route_sees_a_timeout():
    rt, rx = setup(BF)
    sock = rt.default_socket()
    rx.handle(req(b"OPTIONS"), ("127.0.0.1", 5099), sock)
    clock(rt, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 30000)
    assert rt.vars["bf"] == "|408/Request Timeout/0/sip:bob@127.0.0.1:5060"
    assert rt.vars["fail"] == 408 and parse(sent_to(rt, 5099)[-1]).status == 408


def test_t_on_branch_failure_without_its_event_route_fails():
    cfg = BF.replace('t_on_branch_failure("bf");', 't_on_branch_failure("$var(nope)");')
    rt, rx = setup(cfg)
    rt.vars["nope"] = "missing"
    rx.handle(req(b"OPTIONS"), ("127.0.0.1", 5099), rt.default_socket())
    rx.handle(reply_to(sent_to(rt, 5071)[0], 500, b"Oops"), ("127.0.0.1", 5071), rt.default_socket())
    assert rt.vars["bf"] == "" and rt.vars["fail"] == 500
