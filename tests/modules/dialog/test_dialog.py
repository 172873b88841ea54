# SPDX-License-Identifier: GPL-2.0-or-later
"""dialog through compiled configs: INVITE via tm, replies via the Receiver."""

import pytest

from kampy.runtime import Runtime
from kampy.script.compiler import compile_text
from kampy.sip import parse
from kampy.worker import Receiver

import modules.dialog as D
from modules.dialog import core as C

CFG = """
listen=udp:127.0.0.1:5060
loadmodule "tm"
loadmodule "rr"
loadmodule "dialog"
loadmodule "xlog"
loadmodule "sl"
loadmodule "siputils"
loadmodule "textops"
modparam("dialog", "default_timeout", 60)
request_route {
    if (has_totag()) {
        $var(known) = 0;
        if (is_known_dlg()) { $var(known) = 1; }
        if (loose_route()) {
            $var(dir) = $dlg(dir);
            $var(seen) = $dlg_var(caller);
            $var(state) = $dlg(state);
            if (dlg_isflagset(3)) { $var(flag) = 1; } else { $var(flag) = 0; }
            t_relay();
        }
        exit;
    }
    if (is_method("INVITE")) {
        record_route();
        dlg_manage();
        $dlg_var(caller) = "alice-" + $fU;
        dlg_setflag(3);
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
    "From: <sip:alice@example.org>;tag=a1\n"
    "To: <sip:bob@example.com>\n"
    "Call-ID: call-1\n"
    "CSeq: 1 INVITE\n"
    "Contact: <sip:alice@192.0.2.10:5062>\n"
    "Max-Forwards: 70\n"
    "Content-Length: 0\n"
    "\n")


def compile_cfg(cfg=CFG):
    return Runtime(compile_text(cfg, "t.cfg"))


@pytest.fixture
def rt():
    C.CALLBACKS.update({k: [] for k in C.CALLBACKS})
    return compile_cfg()


def run(rt, raw, src=CALLER):
    ctx = rt.new_context(parse(raw), src[0], src[1])
    rt.run_request(ctx)
    return ctx


def last_sent(rt):
    return parse(rt.transport.sent[-1][3])


def reply_to(req_raw, code, reason, to_tag="b2"):
    """A reply as the callee would send it to the relayed request."""
    req = parse(req_raw)
    lines = ["SIP/2.0 %d %s" % (code, reason)]
    for v in req.headers("via"):
        lines.append("Via: " + v.decode())
    for v in req.headers("record-route"):
        lines.append("Record-Route: " + v.decode())
    to = req.header("to").decode()
    if to_tag and code > 100:
        to += ";tag=" + to_tag
    lines += ["From: " + req.header("from").decode(), "To: " + to,
              "Call-ID: " + req.call_id.decode(), "CSeq: %d %s" % (req.cseq.number, req.cseq.method),
              "Contact: <sip:bob@127.0.0.1:5080>", "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


def feed(rt, data, src=CALLEE):
    Receiver(rt).handle(data, src, rt.default_socket())


def rr_value(rt):
    """Our Record-Route header from the relayed INVITE."""
    inv = last_sent(rt)
    return inv.headers("record-route")[0].decode()


def seq(method, rr, from_tag, to_tag, from_uri, to_uri, cseq, branch):
    uri = rr[rr.index("<") + 1:rr.index(">")]
    return crlf(
        "%s sip:x@127.0.0.1:5999 SIP/2.0\n"
        "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=%s\n"
        "Route: <%s>\n"
        "From: <%s>;tag=%s\n"
        "To: <%s>;tag=%s\n"
        "Call-ID: call-1\n"
        "CSeq: %d %s\n"
        "Max-Forwards: 70\n"
        "Content-Length: 0\n"
        "\n" % (method, branch, uri, from_uri, from_tag, to_uri, to_tag, cseq, method))


def counters(rt):
    return {n: rt.counters.get("dialog:" + n) for n in ("active_dialogs", "early_dialogs",
                                                       "processed_dialogs")}


def establish(rt):
    ctx = run(rt, INVITE)
    inv_raw = rt.transport.sent[-1][3]
    return ctx, inv_raw


def dialogs(rt):
    return D.rpc_list(rt)


def test_invite_creates_an_unconfirmed_dialog_with_did_in_record_route(rt):
    ctx, _inv = establish(rt)
    h = rt.vars["h"]
    assert ";did=%s" % h in rr_value(rt)
    [d] = dialogs(rt)
    assert d["state"] == 1 and d["call-id"] == "call-1" and d["from_tag"] == "a1"
    assert d["from_uri"] == "sip:alice@example.org" and d["to_uri"] == "sip:bob@example.com"
    assert "%d.%d" % (d["h_entry"], d["h_id"]) == h
    assert d["variables"] == {"caller": "alice-alice"} and d["sflags"] == 1 << 3
    assert counters(rt) == {"active_dialogs": 0, "early_dialogs": 0, "processed_dialogs": 1}
    assert ctx.data["dialog"][1] == 1


def test_replies_move_the_states_and_counters(rt):
    _ctx, inv = establish(rt)
    feed(rt, reply_to(inv, 180, "Ringing"))
    assert dialogs(rt)[0]["state"] == 2
    assert counters(rt)["early_dialogs"] == 1
    feed(rt, reply_to(inv, 200, "OK"))
    [d] = dialogs(rt)
    assert d["state"] == 3 and d["to_tag"] == "b2" and d["start_ts"] > 0 and d["timeout"] == 60
    assert counters(rt) == {"active_dialogs": 1, "early_dialogs": 0, "processed_dialogs": 1}


def test_negative_reply_deletes_the_dialog_and_timer_removes_it(rt):
    _ctx, inv = establish(rt)
    feed(rt, reply_to(inv, 180, "Ringing"))
    feed(rt, reply_to(inv, 486, "Busy Here"))
    assert dialogs(rt)[0]["state"] == 5
    assert counters(rt) == {"active_dialogs": 0, "early_dialogs": 0, "processed_dialogs": 1}
    rt.fire_timers(C.DELETE_DELAY_MS + 1)
    assert dialogs(rt) == []
    assert not [k for k, _ in rt.tables["dialog"].items() if k.startswith("x:")]


def test_ack_then_bye_from_callee_sees_dlg_var_and_ends_dialog(rt):
    _ctx, inv = establish(rt)
    rr = rr_value(rt)
    feed(rt, reply_to(inv, 200, "OK"))
    ack = run(rt, seq("ACK", rr, "a1", "b2", "sip:alice@example.org", "sip:bob@example.com", 1,
                      "z9hG4bKack1"))
    assert rt.vars["known"] == 1 and rt.vars["dir"] == 1
    assert dialogs(rt)[0]["state"] == 4
    assert ack.data["dialog"][1] == 1
    # BYE from the callee: upstream, tags swapped
    run(rt, seq("BYE", rr, "b2", "a1", "sip:bob@example.com", "sip:alice@example.org", 1, "z9hG4bKbye1"),
        src=CALLEE)
    assert rt.vars["known"] == 1 and rt.vars["dir"] == 2
    assert rt.vars["seen"] == "alice-alice" and rt.vars["state"] == 5 and rt.vars["flag"] == 1
    assert dialogs(rt)[0]["state"] == 5
    assert counters(rt)["active_dialogs"] == 0
    rt.fire_timers(C.DELETE_DELAY_MS + 1)
    assert dialogs(rt) == []


def test_in_dialog_request_from_caller_is_downstream_and_matched_without_route(rt):
    _ctx, inv = establish(rt)
    feed(rt, reply_to(inv, 200, "OK"))
    raw = seq("INFO", rr_value(rt), "a1", "b2", "sip:alice@example.org", "sip:bob@example.com", 2,
              "z9hG4bKinfo")
    raw = b"".join(ln + b"\r\n" for ln in raw.split(b"\r\n")[:-2] if not ln.startswith(b"Route:")) + b"\r\n"
    ctx = rt.new_context(parse(raw), *CALLER)
    assert D.is_known_dlg(ctx) == 1 and ctx.data["dialog"][1] == 1
    assert D.get_var(ctx, "caller") == "alice-alice"


def test_unknown_in_dialog_request_is_not_known(rt):
    raw = seq("BYE", "<sip:127.0.0.1;lr;did=1.1>", "zz", "yy", "sip:a@x", "sip:b@y", 2, "z9hG4bKu")
    run(rt, raw)
    assert rt.vars["known"] == 0


def test_default_timeout_ends_a_confirmed_dialog(rt):
    _ctx, inv = establish(rt)
    feed(rt, reply_to(inv, 200, "OK"))
    ended = []
    rt.api("dialog").register_callback("terminated", lambda ctx, d: ended.append(d["state"]))
    rt.fire_timers(59000)
    assert dialogs(rt)[0]["state"] == 3
    rt.fire_timers(60001)
    assert dialogs(rt)[0]["state"] == 5 and ended == [5]
    assert counters(rt)["active_dialogs"] == 0


def test_api_and_callbacks(rt):
    ev = []
    api = rt.api("dialog")
    api.register_callback("created", lambda ctx, d: ev.append(("created", d["state"])))
    api.register_callback("confirmed", lambda ctx, d: ev.append(("confirmed", d["to_tag"])))
    api.register_callback("in_dialog", lambda ctx, d, direction: ev.append(("in", ctx.msg.method, direction)))
    api.register_callback("terminated", lambda ctx, d: ev.append(("terminated", d["state"], d["vars"])))
    with pytest.raises(ValueError):
        api.register_callback("nope", print)
    ctx, inv = establish(rt)
    assert api.get_dialog(ctx)["callid"] == "call-1"
    assert api.set_var(ctx, "k", 5) and api.get_var(ctx, "k") == "5"
    rr = rr_value(rt)
    feed(rt, reply_to(inv, 200, "OK"))
    run(rt, seq("BYE", rr, "a1", "b2", "sip:alice@example.org", "sip:bob@example.com", 2, "z9hG4bKb"))
    assert ev == [("created", 1), ("confirmed", "b2"), ("in", "BYE", 1),
                  ("terminated", 5, {"caller": "alice-alice", "k": "5"})]


def test_flags_reset_and_end_dlg_rpc_fault(rt):
    ctx, _inv = establish(rt)
    assert D.dlg_isflagset(ctx, 3) == 1
    assert D.dlg_resetflag(ctx, 3) == 1 and D.dlg_isflagset(ctx, 3) == -1
    assert D.dlg_setflag(ctx, 40) == -1
    from kampy.rpc import RpcFault
    with pytest.raises(RpcFault) as e:
        D.rpc_end_dlg(rt, 1, 1)
    assert (e.value.code, e.value.message) == (404, "Dialog not found")
    he, hi = rt.vars["h"].split(".")
    with pytest.raises(RpcFault) as e:
        D.rpc_end_dlg(rt, int(he), int(hi))
    assert (e.value.code, e.value.message) == (500, "Dialog not confirmed")
    with pytest.raises(RpcFault) as e:
        D.rpc_end_dlg(rt, "x", None)
    assert (e.value.code, e.value.message) == (500, "Invalid parameters")


def test_bad_pv_names_fail_at_startup():
    from kampy.script.ast import ConfigError, ConfigErrors
    with pytest.raises((ConfigError, ConfigErrors)):
        compile_cfg(CFG.replace("$dlg(h_id)", "$dlg(nope)"))


def test_dlg_without_dialog_is_null(rt):
    raw = INVITE.replace(b"INVITE sip", b"OPTIONS sip").replace(b"1 INVITE", b"1 OPTIONS")
    ctx = rt.new_context(parse(raw), *CALLER)
    assert D.DlgPV(None, "h_id").get(ctx) is None and D.get_var(ctx, "x") is None
    assert D.is_known_dlg(ctx) == -1 and D.dlg_manage(ctx) == -1
