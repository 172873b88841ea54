# SPDX-License-Identifier: GPL-2.0-or-later
"""dialog: what a dialog keeps to send requests of its own (contacts, route
sets, CSeqs per direction), dlg_bye(), dlg.end_dlg and send_bye on timeout,
through compiled configs and the Receiver (no sockets)."""

import pytest

from kampy.runtime import Runtime
from kampy.rpc import RpcFault
from kampy.script.compiler import compile_text
from kampy.sip import parse
from kampy.worker import Receiver

import kampy.modules.dialog as D
from kampy.modules.dialog import core as C

CFG = """
listen=udp:127.0.0.1:5060
loadmodule "tm"
loadmodule "rr"
loadmodule "dialog"
loadmodule "sl"
loadmodule "siputils"
loadmodule "textops"
modparam("dialog", "default_timeout", 60)
request_route {
    if (has_totag()) {
        if (loose_route()) {
            if (is_method("INFO")) {
                sl_send_reply("200", "OK");
                dlg_bye("$var(side)");
                exit;
            }
            if (is_method("MESSAGE")) {
                remove_hf("CSeq");
                append_hf("CSeq: 7 MESSAGE\\r\\n");
            }
            t_relay();
        }
        exit;
    }
    if (is_method("INVITE")) {
        record_route();
        dlg_manage();
        $var(h) = "" + $dlg(h_entry) + "." + $dlg(h_id);
    }
    t_relay("127.0.0.1", 5080);
}
"""

CALLER = ("192.0.2.10", 5062)
CALLEE = ("127.0.0.1", 5080)


def crlf(text):
    return text.replace("\n", "\r\n").encode()


INVITE = crlf(
    "INVITE sip:bob@127.0.0.1 SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKinv1\n"
    "Record-Route: <sip:192.0.2.1;lr;up=1>\n"
    "From: <sip:alice@example.org>;tag=a1\n"
    "To: <sip:bob@example.com>\n"
    "Call-ID: call-1\n"
    "CSeq: 4 INVITE\n"
    "Contact: <sip:alice@192.0.2.10:5062>\n"
    "Max-Forwards: 70\n"
    "Content-Length: 0\n"
    "\n")


@pytest.fixture
def rt():
    C.CALLBACKS.update({k: [] for k in C.CALLBACKS})
    r = Runtime(compile_text(CFG.replace("$var(side)", "all"), "t.cfg"))
    r.init_modules()
    return r


def run(rt, raw, src=CALLER):
    ctx = rt.new_context(parse(raw), src[0], src[1])
    rt.run_request(ctx)
    return ctx


def feed(rt, data, src=CALLEE):
    Receiver(rt).handle(data, src, rt.default_socket())


def answer(req_raw, code, reason, extra_rr=()):
    """The callee's reply, with a proxy below us adding its Record-Route."""
    req = parse(req_raw)
    lines = ["SIP/2.0 %d %s" % (code, reason)]
    lines += ["Via: " + v.decode() for v in req.headers("via")]
    lines += ["Record-Route: " + v for v in extra_rr]
    lines += ["Record-Route: " + v.decode() for v in req.headers("record-route")]
    lines += ["From: " + req.header("from").decode(), "To: " + req.header("to").decode() + ";tag=b2",
              "Call-ID: call-1", "CSeq: %d %s" % (req.cseq.number, req.cseq.method),
              "Contact: <sip:bob@127.0.0.1:5085>", "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


def confirmed(rt):
    run(rt, INVITE)
    inv = rt.transport.sent[-1][3]
    feed(rt, answer(inv, 200, "OK", ["<sip:127.0.0.1:5079;lr;down=2>", "<sip:127.0.0.1:5078;lr>"]))
    ours = parse(inv).headers("record-route")[0].decode()
    return ours


def seq(method, ours, cseq, branch, from_caller=True, extra=""):
    uri = ours[ours.index("<") + 1:ours.index(">")]
    ft, tt = ("a1", "b2") if from_caller else ("b2", "a1")
    fu, tu = ("sip:alice@example.org", "sip:bob@example.com")[::1 if from_caller else -1]
    return crlf("%s sip:x@127.0.0.1:5999 SIP/2.0\n"
                "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=%s\n"
                "Route: <%s>\n"
                "From: <%s>;tag=%s\nTo: <%s>;tag=%s\nCall-ID: call-1\nCSeq: %d %s\n%s"
                "Max-Forwards: 70\nContent-Length: 0\n\n"
                % (method, branch, uri, fu, ft, tu, tt, cseq, method, extra))


def the_dialog(rt):
    [(did, rec)] = C.all_dialogs(rt)
    return did, C.public(did, rec)


def sent_bye(rt):
    return [(ip, port, parse(d)) for _s, ip, port, d in rt.transport.sent if d.startswith(b"BYE ")]


def test_dialog_keeps_contacts_route_sets_and_cseqs(rt):
    confirmed(rt)
    did, d = the_dialog(rt)
    assert d["caller_contact"] == "sip:alice@192.0.2.10:5062"
    assert d["callee_contact"] == "sip:bob@127.0.0.1:5085"
    assert d["caller_route_set"] == ["<sip:192.0.2.1;lr;up=1>"]
    # the callee's side: entries above ours in the 2xx, nearest to us first
    assert d["callee_route_set"] == ["<sip:127.0.0.1:5078;lr>", "<sip:127.0.0.1:5079;lr;down=2>"]
    assert (d["caller_cseq"], d["callee_cseq"]) == (4, 4)


def test_dlg_bye_all_from_an_in_dialog_request(rt):
    ours = confirmed(rt)
    ended = []
    rt.api("dialog").register_callback("terminated", lambda ctx, dlg: ended.append(dlg["state"]))
    run(rt, seq("INFO", ours, 5, "z9hG4bKinfo"))
    assert parse(rt.transport.sent[-3][3]).status == 200        # the INFO's reply, then both BYEs
    (ip1, port1, to_callee), (ip2, port2, to_caller) = sent_bye(rt)
    assert (ip1, port1) == ("127.0.0.1", 5078)                 # first route towards the callee
    assert to_callee.ruri == b"sip:bob@127.0.0.1:5085"
    assert to_callee.headers("route") == [b"<sip:127.0.0.1:5078;lr>", b"<sip:127.0.0.1:5079;lr;down=2>"]
    assert (to_callee.from_tag, to_callee.to_tag, to_callee.call_id) == (b"a1", b"b2", b"call-1")
    assert to_callee.cseq.number == 5                          # the INFO was not relayed: 4 + 1
    assert (ip2, port2) == ("192.0.2.1", 5060)
    assert to_caller.ruri == b"sip:alice@192.0.2.10:5062"
    assert to_caller.headers("route") == [b"<sip:192.0.2.1;lr;up=1>"]
    assert (to_caller.from_tag, to_caller.to_tag) == (b"b2", b"a1") and to_caller.cseq.number == 5
    _did, d = the_dialog(rt)
    assert d["state"] == 5 and ended == [5]
    assert rt.counters.get("dialog:active_dialogs") == 0
    # the BYEs' replies go to dialog's callback (logged), nothing is relayed
    n = len(rt.transport.sent)
    feed(rt, answer(rt.transport.sent[-2][3], 200, "OK"))
    assert len(rt.transport.sent) == n


@pytest.mark.parametrize("side,targets", [("caller", [5060]), ("callee", [5078])])
def test_dlg_bye_one_side(side, targets):
    C.CALLBACKS.update({k: [] for k in C.CALLBACKS})
    rt = Runtime(compile_text(CFG.replace("$var(side)", side), "t.cfg"))
    rt.init_modules()
    ours = confirmed(rt)
    run(rt, seq("INFO", ours, 5, "z9hG4bKinfo"))
    assert [port for _ip, port, _m in sent_bye(rt)] == targets
    assert the_dialog(rt)[1]["state"] == 5


def test_bye_cseq_is_what_the_far_end_got_after_edits(rt):
    ours = confirmed(rt)
    run(rt, seq("MESSAGE", ours, 5, "z9hG4bKmsg"))             # the route rewrites its CSeq to 7
    assert parse(rt.transport.sent[-1][3]).cseq.number == 7
    run(rt, seq("OPTIONS", ours, 3, "z9hG4bKopt", from_caller=False))
    d = the_dialog(rt)[1]
    assert (d["caller_cseq"], d["callee_cseq"]) == (7, 4)     # a lower CSeq never goes back
    run(rt, seq("OPTIONS", ours, 9, "z9hG4bKopt2", from_caller=False))
    he, hi = rt.vars["h"].split(".")
    D.rpc_end_dlg(rt, int(he), int(hi))
    [(_i, _p, to_callee), (_i2, _p2, to_caller)] = sent_bye(rt)
    assert to_callee.cseq.number == 8 and to_caller.cseq.number == 10
    with pytest.raises(RpcFault) as e:
        D.rpc_end_dlg(rt, int(he), int(hi))
    assert e.value.code == 404


def test_re_invite_refreshes_the_remote_target(rt):
    ours = confirmed(rt)
    run(rt, seq("INVITE", ours, 5, "z9hG4bKre", extra="Contact: <sip:alice@192.0.2.11:5070>\n"))
    reinv = rt.transport.sent[-1][3]
    feed(rt, answer(reinv, 200, "OK").replace(b"sip:bob@127.0.0.1:5085", b"sip:bob@127.0.0.1:5086"))
    d = the_dialog(rt)[1]
    assert d["caller_contact"] == "sip:alice@192.0.2.11:5070"
    assert d["callee_contact"] == "sip:bob@127.0.0.1:5086" and d["state"] == 3


def test_timeout_with_send_bye(rt):
    C.P.send_bye = 1
    try:
        confirmed(rt)
        rt.fire_timers(60001)
    finally:
        C.P.send_bye = 0
    assert sorted(port for _ip, port, _m in sent_bye(rt)) == [5060, 5078]
    assert the_dialog(rt)[1]["state"] == 5


def test_dlg_bye_side_is_checked_at_startup():
    from kampy.script.ast import ConfigError, ConfigErrors
    with pytest.raises((ConfigError, ConfigErrors)):
        Runtime(compile_text(CFG.replace("$var(side)", "both"), "t.cfg"))


def test_dlg_bye_without_a_confirmed_dialog_fails(rt):
    run(rt, INVITE)
    ctx = rt.new_context(parse(INVITE), *CALLER)
    assert D.dlg_bye(ctx, "all") == -1 and not sent_bye(rt)


SERIAL = """
listen=udp:127.0.0.1:5060
loadmodule "tm"
loadmodule "rr"
loadmodule "dialog"
loadmodule "sl"
request_route {
    record_route();
    dlg_manage();
    t_on_failure("NEXT");
    t_relay("127.0.0.1", 5080);
}
failure_route[NEXT] {
    if (t_check_status("486")) { t_relay("127.0.0.1", 5081); }
}
"""


def test_a_failed_branch_retried_by_failure_route_keeps_the_dialog():
    C.CALLBACKS.update({k: [] for k in C.CALLBACKS})
    rt = Runtime(compile_text(SERIAL, "t.cfg"))
    rt.init_modules()
    run(rt, INVITE.replace(b"Record-Route: <sip:192.0.2.1;lr;up=1>\r\n", b""))
    first = rt.transport.sent[-1][3]
    feed(rt, answer(first, 180, "Ringing"))
    feed(rt, answer(first, 486, "Busy Here"))
    assert rt.transport.sent[-1][2] == 5081                 # failure_route tried the second callee
    assert the_dialog(rt)[1]["state"] == 2                  # the call goes on: still early
    second = rt.transport.sent[-1][3]
    feed(rt, answer(second, 480, "Temporarily Unavailable"), ("127.0.0.1", 5081))
    assert parse(rt.transport.sent[-1][3]).status == 480   # the caller got the final answer...
    assert the_dialog(rt)[1]["state"] == 5                  # ...and only then the dialog ended
    assert rt.counters.get("dialog:early_dialogs") == 0


def test_an_unanswered_invite_ends_its_dialog_on_the_timeout():
    C.CALLBACKS.update({k: [] for k in C.CALLBACKS})
    rt = Runtime(compile_text(SERIAL.replace("486", "999"), "t.cfg"))
    rt.init_modules()
    run(rt, INVITE)
    rt.timers.now_ms = 30000
    rt.fire_timers()
    assert parse(rt.transport.sent[-1][3]).status == 408
    assert the_dialog(rt)[1]["state"] == 5
