# SPDX-License-Identifier: GPL-2.0-or-later
"""uac_replace_from/to and restore, in-process: compiled configs, tm, rr, dialog."""

import pytest

from kampy.runtime import Runtime
from kampy.script.compiler import compile_text
from kampy.sip import parse
from kampy.worker import Receiver

from modules.uac import replace as RP
from modules.dialog import core as DC

CALLER = ("192.0.2.10", 5062)
CALLEE = ("127.0.0.1", 5080)


def crlf(text):
    return text.replace("\n", "\r\n").encode()


HEAD = """
listen=udp:127.0.0.1:5060
loadmodule "tm"
loadmodule "rr"
loadmodule "sl"
loadmodule "xlog"
loadmodule "siputils"
loadmodule "textops"
%(extra_load)s
loadmodule "uac"
modparam("rr", "append_fromtag", 1)
%(params)s
request_route {
    if (has_totag()) {
        if (loose_route()) {
            %(seq)s
            t_relay();
        }
        exit;
    }
    record_route();
    %(initial)s
    t_relay("127.0.0.1", 5080);
}
"""


def make_rt(initial, params="", seq="", extra_load=""):
    DC.CALLBACKS.update({k: [] for k in DC.CALLBACKS})
    rt = Runtime(compile_text(HEAD % {"initial": initial, "params": params, "seq": seq,
                                      "extra_load": extra_load}, "t.cfg"))
    rt.init_modules()
    return rt


INVITE = crlf(
    "INVITE sip:bob@127.0.0.1 SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKinv1\n"
    "From: \"Alice\" <sip:alice@example.org>;tag=a1\n"
    "To: <sip:bob@example.com>\n"
    "Call-ID: call-1\n"
    "CSeq: 1 INVITE\n"
    "Contact: <sip:alice@192.0.2.10:5062>\n"
    "Max-Forwards: 70\n"
    "Content-Length: 0\n"
    "\n")


def run(rt, raw, src=CALLER):
    ctx = rt.new_context(parse(raw), src[0], src[1])
    rt.run_request(ctx)
    return ctx


def sent(rt, i=-1):
    return parse(rt.transport.sent[i][3])


def sent_to(rt, addr):
    return [parse(s[3]) for s in rt.transport.sent if (s[1], s[2]) == addr]


def reply_to(req, code, reason, to_tag="b2"):
    lines = ["SIP/2.0 %d %s" % (code, reason)]
    for v in req.headers("via"):
        lines.append("Via: " + v.decode())
    for v in req.headers("record-route"):
        lines.append("Record-Route: " + v.decode())
    to = req.header("to").decode()
    if to_tag and code > 100 and ";tag=" not in to:
        to += ";tag=" + to_tag
    lines += ["From: " + req.header("from").decode(), "To: " + to,
              "Call-ID: " + req.call_id.decode(), "CSeq: %d %s" % (req.cseq.number, req.cseq.method),
              "Contact: <sip:bob@127.0.0.1:5080>", "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


def feed(rt, data, src=CALLEE):
    Receiver(rt).handle(data, src, rt.default_socket())


def seq(method, route, frm, to, cseq, branch, via="192.0.2.10:5062"):
    return crlf(
        "%s %s SIP/2.0\n"
        "Via: SIP/2.0/UDP %s;branch=%s\n"
        "Route: %s\n"
        "From: %s\n"
        "To: %s\n"
        "Call-ID: call-1\n"
        "CSeq: %d %s\n"
        "Max-Forwards: 70\n"
        "Content-Length: 0\n"
        "\n" % (method, "sip:alice@192.0.2.10:5062" if via.startswith("127.") else "sip:bob@127.0.0.1:5080",
                 via, branch, route, frm, to, cseq, method))


# --- the encoder, against values computed by hand -----------------------------------------

def test_encode_matches_hand_computed_value():
    # "sip:bb@y" XOR "sip:a@x" on 7 bytes = 00 00 00 00 03 22 38, then 79 ('y')
    assert RP.encode_rr(b"sip:a@x", b"sip:bb@y") == "AAAAAAMiOHk-"
    assert RP.encode_rr(b"sip:bb@y", b"sip:a@x") == "AAAAAAMiOHk-"


def test_encode_with_password_matches_hand_computed_value():
    # every byte of the above XOR 0x6b ('k')
    assert RP.encode_rr(b"sip:a@x", b"sip:bb@y", b"k") == "a2tra2hJUxI-"


@pytest.mark.parametrize("old,new,pw", [
    (b"sip:alice@example.org", b"sip:anonymous@anonymous.invalid", b""),
    (b"sip:anonymous@anonymous.invalid", b"sip:alice@example.org", b"secret"),
    (b"sip:a@b", b"sip:a@b", b""),
    (b"sip:12345@10.0.0.1:5060;user=phone", b"sip:x@y", b"pw"),
])
def test_decode_gives_the_other_uri_from_either(old, new, pw):
    v = RP.encode_rr(old, new, pw)
    assert RP.decode_rr(v, old, pw) == new
    assert RP.decode_rr(v, new, pw) == old


def test_decode_refuses_a_third_uri_and_garbage():
    v = RP.encode_rr(b"sip:alice@example.org", b"sip:bob@example.net")
    assert RP.decode_rr(v, b"sip:mallory@evil.example.com") is None
    assert RP.decode_rr("!!notbase64", b"sip:alice@example.org") is None
    assert RP.decode_rr(v, b"sip:alice@example.org", b"wrongpw") is None


def test_displays_round_trip():
    for old, new in ((b'"Alice"', None), (None, b"batman"), (b"A", b"B")):
        assert RP.decode_displays(RP.encode_displays(old, new, b"pw"), b"pw") == (old, new, None)
        assert RP.decode_displays(RP.encode_displays(old, new, b"", "0a0b0c0d"), b"") == (old, new, "0a0b0c0d")
    assert RP.encode_displays(b"A", b"A", b"", "0a0b0c0d") == "0a0b0c0d"
    assert RP.decode_displays("0a0b0c0d", b"") == (RP.SAME, RP.SAME, "0a0b0c0d")


# --- the manual's examples ------------------------------------------------------------------

@pytest.mark.parametrize("call,expect", [
    ('uac_replace_from("batman", "");', 'batman <sip:alice@example.org>;tag=a1'),
    ('uac_replace_from("\\"batman\\"", "");', '"batman" <sip:alice@example.org>;tag=a1'),
    ('uac_replace_from("", "sip:robin@gotham.org");', '<sip:robin@gotham.org>;tag=a1'),
    ('uac_replace_from("", "");', '<sip:alice@example.org>;tag=a1'),
    ('uac_replace_from("sip:batman@gotham.org");', '"Alice" <sip:batman@gotham.org>;tag=a1'),
    ('$avp(d) = "Bruce"; $avp(u) = "sip:bruce@" + "wayne.com"; uac_replace_from("$avp(d)", "$avp(u)");',
     'Bruce <sip:bruce@wayne.com>;tag=a1'),
])
def test_manual_examples_from(call, expect):
    rt = make_rt(call)
    run(rt, INVITE)
    inv = sent_to(rt, CALLEE)[-1]
    assert inv.header("from").decode() == expect


@pytest.mark.parametrize("call,expect", [
    ('uac_replace_to("batman", "");', 'batman <sip:bob@example.com>'),
    ('uac_replace_to("", "sip:robin@gotham.org");', '<sip:robin@gotham.org>'),
    ('uac_replace_to("sip:batman@gotham.org");', '<sip:batman@gotham.org>'),
])
def test_manual_examples_to(call, expect):
    rt = make_rt(call)
    run(rt, INVITE)
    assert sent_to(rt, CALLEE)[-1].header("to").decode() == expect


def test_second_replace_wins_and_only_one_vsf():
    rt = make_rt('uac_replace_from("sip:first@x.org"); uac_replace_from("sip:second@y.org");')
    run(rt, INVITE)
    inv = sent_to(rt, CALLEE)[-1]
    assert inv.header("from").decode() == '"Alice" <sip:second@y.org>;tag=a1'
    rr = inv.headers("record-route")[0].decode()
    assert rr.count(";vsf=") == 1
    vsf = rr.split(";vsf=")[1].split(";")[0].rstrip(">")
    assert RP.decode_rr(vsf, b"sip:alice@example.org") == b"sip:second@y.org"


def test_bad_uri_is_refused():
    rt = make_rt('if (!uac_replace_from("not a uri")) { $var(bad) = 1; }')
    run(rt, INVITE)
    assert rt.vars["bad"] == 1
    assert sent_to(rt, CALLEE)[-1].header("from").decode() == '"Alice" <sip:alice@example.org>;tag=a1'


# --- a call in RR mode -------------------------------------------------------------------------

def _call(rt):
    run(rt, INVITE)
    inv = sent_to(rt, CALLEE)[-1]
    rr = inv.headers("record-route")[0].decode()
    route = rr
    return inv, route


def caller_got(rt):
    return sent_to(rt, CALLER)


def test_rr_mode_full_call_every_header_each_side_sees():
    rt = make_rt('uac_replace_from("Anon", "sip:anonymous@anonymous.invalid");'
                 ' uac_replace_to("sip:bob@internal.example");')
    inv, route = _call(rt)
    assert inv.header("from").decode() == "Anon <sip:anonymous@anonymous.invalid>;tag=a1"
    assert inv.header("to").decode() == "<sip:bob@internal.example>"
    assert ";vsf=" in route and ";vst=" in route and ";vsfd=" in route
    # replies reach the caller restored, our own 100 Trying included
    feed(rt, reply_to(inv, 180, "Ringing"))
    feed(rt, reply_to(inv, 200, "OK"))
    got = caller_got(rt)
    assert [m.status for m in got] == [100, 180, 200]
    for m in got:
        assert m.header("from").decode() == '"Alice" <sip:alice@example.org>;tag=a1'
        assert m.header("to").decode() == ("<sip:bob@example.com>;tag=b2" if m.status > 100
                                           else "<sip:bob@example.com>")
    # the caller's ACK and BYE: the callee sees the replaced values
    frm = '"Alice" <sip:alice@example.org>;tag=a1'
    to = "<sip:bob@example.com>;tag=b2"
    run(rt, seq("ACK", route, frm, to, 1, "z9hG4bKack"))
    ack = sent_to(rt, CALLEE)[-1]
    assert ack.method == "ACK"
    assert ack.header("from").decode() == "Anon <sip:anonymous@anonymous.invalid>;tag=a1"
    assert ack.header("to").decode() == "<sip:bob@internal.example>;tag=b2"
    run(rt, seq("BYE", route, frm, to, 2, "z9hG4bKbye"))
    bye = sent_to(rt, CALLEE)[-1]
    assert bye.method == "BYE"
    assert bye.header("from").decode() == "Anon <sip:anonymous@anonymous.invalid>;tag=a1"
    assert bye.header("to").decode() == "<sip:bob@internal.example>;tag=b2"
    feed(rt, reply_to(bye, 200, "OK"))
    ok = caller_got(rt)[-1]
    assert ok.status == 200 and ok.cseq.method == "BYE"
    assert ok.header("from").decode() == frm and ok.header("to").decode() == to


def test_rr_mode_callee_bye_is_mapped_back():
    rt = make_rt('uac_replace_from("Anon", "sip:anonymous@anonymous.invalid");')
    inv, route = _call(rt)
    feed(rt, reply_to(inv, 200, "OK"))
    # the callee's BYE: tags swapped, it knows the caller as Anon <anonymous>
    bye_in = seq("BYE", route, "<sip:bob@example.com>;tag=b2",
                 "Anon <sip:anonymous@anonymous.invalid>;tag=a1", 7, "z9hG4bKcb", via="127.0.0.1:5080")
    run(rt, bye_in, src=CALLEE)
    bye = sent(rt)
    assert bye.method == "BYE" and (rt.transport.sent[-1][1], rt.transport.sent[-1][2]) == CALLER
    assert bye.header("to").decode() == '"Alice" <sip:alice@example.org>;tag=a1'
    assert bye.header("from").decode() == "<sip:bob@example.com>;tag=b2"
    # the caller answers with what it got; the callee gets its own view back
    feed(rt, reply_to(bye, 200, "OK"), src=CALLER)
    ok = sent_to(rt, CALLEE)[-1]
    assert ok.status == 200
    assert ok.header("to").decode() == "Anon <sip:anonymous@anonymous.invalid>;tag=a1"


def test_rr_mode_with_password_and_a_changed_uri_is_left_alone():
    rt = make_rt('uac_replace_from("sip:anonymous@anonymous.invalid");',
                 params='modparam("uac", "restore_passwd", "s3cret")')
    inv, route = _call(rt)
    assert RP.decode_rr(route.split(";vsf=")[1].split(";")[0].rstrip(">"),
                        b"sip:alice@example.org", b"s3cret") == b"sip:anonymous@anonymous.invalid"
    feed(rt, reply_to(inv, 200, "OK"))
    # the caller changed its From URI mid-dialog: no garbage, left as it came
    run(rt, seq("BYE", route, "<sip:other@example.org>;tag=a1", "<sip:bob@example.com>;tag=b2", 2,
                "z9hG4bKbye2"))
    bye = sent_to(rt, CALLEE)[-1]
    assert bye.header("from").decode() == "<sip:other@example.org>;tag=a1"


def test_negative_reply_and_local_408_restored():
    rt = make_rt('uac_replace_from("sip:anonymous@anonymous.invalid");')
    inv, _route = _call(rt)
    feed(rt, reply_to(inv, 486, "Busy Here"))
    busy = [m for m in caller_got(rt) if m.status == 486][0]
    assert busy.header("from").decode() == '"Alice" <sip:alice@example.org>;tag=a1'


def test_restore_mode_none_leaves_replies():
    rt = make_rt('uac_replace_from("sip:anonymous@anonymous.invalid");',
                 params='modparam("uac", "restore_mode", "none")')
    inv, route = _call(rt)
    assert ";vsf=" not in route
    feed(rt, reply_to(inv, 200, "OK"))
    ok = [m for m in caller_got(rt) if m.status == 200][0]
    assert ok.header("from").decode() == '"Alice" <sip:anonymous@anonymous.invalid>;tag=a1'


def test_manual_mode_restores_replies_and_uac_restore_from_sequential():
    rt = make_rt('uac_replace_from("sip:anonymous@anonymous.invalid");',
                 params='modparam("uac", "restore_mode", "manual")',
                 seq='if (is_method("BYE")) { uac_restore_from(); }')
    inv, route = _call(rt)
    feed(rt, reply_to(inv, 200, "OK"))
    ok = [m for m in caller_got(rt) if m.status == 200][0]
    assert ok.header("from").decode() == '"Alice" <sip:alice@example.org>;tag=a1'
    frm = '"Alice" <sip:alice@example.org>;tag=a1'
    run(rt, seq("ACK", route, frm, "<sip:bob@example.com>;tag=b2", 1, "z9hG4bKa"))
    assert sent_to(rt, CALLEE)[-1].header("from").decode() == frm   # manual: not touched
    run(rt, seq("BYE", route, frm, "<sip:bob@example.com>;tag=b2", 2, "z9hG4bKb"))
    bye = sent_to(rt, CALLEE)[-1]
    assert bye.header("from").decode() == '"Alice" <sip:anonymous@anonymous.invalid>;tag=a1'
    feed(rt, reply_to(bye, 200, "OK"))
    assert caller_got(rt)[-1].header("from").decode() == frm


def test_restore_from_avp_holds_the_original():
    rt = make_rt('uac_replace_from("sip:anonymous@anonymous.invalid"); $var(o) = $avp(orig);',
                 params='modparam("uac", "restore_from_avp", "$avp(orig)")')
    run(rt, INVITE)
    assert rt.vars["o"] == "sip:alice@example.org"


def test_msg_apply_changes_in_between():
    rt = make_rt('uac_replace_from("sip:first@x.org"); msg_apply_changes();'
                 ' uac_replace_from("Z", "sip:second@y.org");',
                 extra_load='loadmodule "textopsx"')
    inv, route = _call(rt)
    assert inv.header("from").decode() == "Z <sip:second@y.org>;tag=a1"
    vsf = route.split(";vsf=")[1].split(";")[0].rstrip(">")
    assert RP.decode_rr(vsf, b"sip:alice@example.org") == b"sip:second@y.org"
    feed(rt, reply_to(inv, 200, "OK"))
    ok = [m for m in caller_got(rt) if m.status == 200][0]
    assert ok.header("from").decode() == '"Alice" <sip:alice@example.org>;tag=a1'


# --- dialog mode --------------------------------------------------------------------------------

def test_dialog_mode_stores_variables_and_maps_both_directions():
    rt = make_rt('dlg_manage(); uac_replace_from("", "sip:anonymous@anonymous.invalid");',
                 extra_load='loadmodule "dialog"')
    inv, route = _call(rt)
    assert ";vsf=" not in route and ";did=" in route
    from modules.dialog import rpc_list
    [d] = rpc_list(rt)
    v = d["variables"]
    assert v["_uac_fu"] == "sip:alice@example.org" and v["_uac_funew"] == "sip:anonymous@anonymous.invalid"
    assert v["_uac_fdp"] == '"Alice"' and v["_uac_fdpnew"] == RP.NO_DISPLAY
    assert inv.header("from").decode() == "<sip:anonymous@anonymous.invalid>;tag=a1"
    feed(rt, reply_to(inv, 200, "OK"))
    ok = [m for m in caller_got(rt) if m.status == 200][0]
    assert ok.header("from").decode() == '"Alice" <sip:alice@example.org>;tag=a1'
    frm = '"Alice" <sip:alice@example.org>;tag=a1'
    run(rt, seq("ACK", route, frm, "<sip:bob@example.com>;tag=b2", 1, "z9hG4bKa"))
    assert sent_to(rt, CALLEE)[-1].header("from").decode() == "<sip:anonymous@anonymous.invalid>;tag=a1"
    bye_in = seq("BYE", route, "<sip:bob@example.com>;tag=b2", "<sip:anonymous@anonymous.invalid>;tag=a1",
                 5, "z9hG4bKcb", via="127.0.0.1:5080")
    run(rt, bye_in, src=CALLEE)
    bye = sent(rt)
    assert bye.header("to").decode() == '"Alice" <sip:alice@example.org>;tag=a1'
    feed(rt, reply_to(bye, 200, "OK"), src=CALLER)
    ok = sent_to(rt, CALLEE)[-1]
    assert ok.status == 200 and ok.header("to").decode() == "<sip:anonymous@anonymous.invalid>;tag=a1"


def test_auto_mode_without_rr_is_a_startup_error():
    from kampy.script.ast import ConfigError
    cfg = ('listen=udp:127.0.0.1:5060\nloadmodule "tm"\nloadmodule "uac"\n'
           'request_route { uac_replace_from("sip:a@b"); t_relay(); }\n')
    rt = Runtime(compile_text(cfg, "t.cfg"))
    with pytest.raises(ConfigError, match="rr module"):
        rt.init_modules()


def test_call_set_up_by_kamailio_continues_through_kampy():
    """A Route carrying only Kamailio's vsf (no vsfd of ours) is honoured."""
    rt = make_rt("")
    vsf = RP.encode_rr(b"sip:alice@example.org", b"sip:anonymous@anonymous.invalid")
    route = "<sip:127.0.0.1;lr;ftag=a1;vsf=%s>" % vsf
    run(rt, seq("BYE", route, "<sip:alice@example.org>;tag=a1", "<sip:bob@example.com>;tag=b2", 3,
                "z9hG4bKk1"))
    bye = sent_to(rt, CALLEE)[-1]
    assert bye.header("from").decode() == "<sip:anonymous@anonymous.invalid>;tag=a1"
    run(rt, seq("BYE", route, "<sip:bob@example.com>;tag=b2", "<sip:anonymous@anonymous.invalid>;tag=a1",
                9, "z9hG4bKk2", via="127.0.0.1:5080"), src=CALLEE)
    assert sent(rt).header("to").decode() == "<sip:alice@example.org>;tag=a1"


def test_branch_route_replaces_per_branch():
    cfg = HEAD.replace('t_relay("127.0.0.1", 5080);', '''
    append_branch("sip:carol@127.0.0.1:5090");
    t_on_branch("PER");
    t_relay();
}
branch_route[PER] {
    if ($rU == "carol") { uac_replace_from("sip:for-carol@example.net"); }
    else { uac_replace_from("Bob's", "sip:for-bob@example.net"); }
''')
    DC.CALLBACKS.update({k: [] for k in DC.CALLBACKS})
    rt = Runtime(compile_text(cfg % {"initial": "", "params": "", "seq": "", "extra_load": ""}, "t.cfg"))
    rt.init_modules()
    run(rt, INVITE.replace(b"INVITE sip:bob@127.0.0.1 ", b"INVITE sip:bob@127.0.0.1:5080 "))
    [bob] = sent_to(rt, CALLEE)
    [carol] = sent_to(rt, ("127.0.0.1", 5090))
    assert bob.header("from").decode() == "Bob's <sip:for-bob@example.net>;tag=a1"
    assert carol.header("from").decode() == '"Alice" <sip:for-carol@example.net>;tag=a1'
    feed(rt, reply_to(carol, 486, "Busy Here"), src=("127.0.0.1", 5090))
    feed(rt, reply_to(bob, 200, "OK"))
    ok = [m for m in caller_got(rt) if m.status == 200][0]
    assert ok.header("from").decode() == '"Alice" <sip:alice@example.org>;tag=a1'


def test_auto_mode_needs_append_fromtag():
    from kampy.script.ast import ConfigError
    cfg = ('listen=udp:127.0.0.1:5060\nloadmodule "tm"\nloadmodule "rr"\nloadmodule "uac"\n'
           'request_route { uac_replace_from("sip:a@b"); t_relay(); }\n')
    rt = Runtime(compile_text(cfg, "t.cfg"))
    with pytest.raises(ConfigError, match="append_fromtag"):
        rt.init_modules()
