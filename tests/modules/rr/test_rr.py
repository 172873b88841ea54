# SPDX-License-Identifier: GPL-2.0-or-later
"""rr through compiled configs run on parsed messages."""

import pytest

from kampy.runtime import Runtime
from kampy.script.ast import ConfigErrors
from kampy.script.compiler import compile_text
from kampy.sip import parse


def crlf(text):
    return text.replace("\n", "\r\n").encode()


INVITE = crlf(
    "INVITE sip:bob@example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKp1\n"
    "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\n"
    "Record-Route: <sip:192.0.2.1;lr>\n"
    "From: \"Alice\" <sip:alice@example.org>;tag=a1\n"
    "To: <sip:bob@example.com>\n"
    "Call-ID: c1\n"
    "CSeq: 1 INVITE\n"
    "Contact: <sip:alice@192.0.2.10>\n"
    "Max-Forwards: 70\n"
    "Content-Length: 0\n"
    "\n")

INVITE_NO_RR = INVITE.replace(b"Record-Route: <sip:192.0.2.1;lr>\r\n", b"")


def bye(ruri, routes, from_tag="a1", to_tag="b2", extra=""):
    """An in-dialog BYE; routes: list of Route header values (one line each)."""
    lines = ["BYE %s SIP/2.0" % ruri, "Via: SIP/2.0/UDP 192.0.2.20;branch=z9hG4bKb1"]
    lines += ["Route: %s" % r for r in routes]
    lines += [
        "From: <sip:x@example.org>;tag=%s" % from_tag,
        "To: <sip:y@example.com>" + (";tag=%s" % to_tag if to_tag else ""),
        "Call-ID: c1", "CSeq: 2 BYE", "Max-Forwards: 70",
    ]
    if extra:
        lines.append(extra)
    lines += ["Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


HEAD = 'listen=udp:127.0.0.1:5060\nloadmodule "rr"\n'
PRE_FT = 'modparam("rr", "append_fromtag", 1)\n'


def runtime(body, pre="", head=HEAD, extra_routes=""):
    cfg = head + pre + "request_route {\n" + body + "\n}\n" + extra_routes
    return Runtime(compile_text(cfg, "t.cfg"))


def run(body, raw=INVITE, pre="", head=HEAD, rt=None):
    rt = rt or runtime(body, pre, head)
    ctx = rt.new_context(parse(raw), "192.0.2.1", 5060)
    rc = rt.run_request(ctx)
    return rt, ctx, rc


def lines(ctx):
    return ctx.msg.serialize().decode().split("\r\n")


def hdrs(ctx, name):
    return [ln.split(": ", 1)[1] for ln in lines(ctx) if ln.split(":", 1)[0].lower() == name.lower()]


def cond(expr):
    return "if (%s) { $var(r) = 1; } else { $var(r) = -1; }\n" % expr


# --- record_route ------------------------------------------------------------------------

def test_record_route_goes_first_among_record_routes():
    _rt, ctx, _rc = run("record_route();")
    ls = lines(ctx)
    assert ls[3] == "Record-Route: <sip:127.0.0.1;lr>"
    assert ls[4] == "Record-Route: <sip:192.0.2.1;lr>"
    assert hdrs(ctx, "Record-Route") == ["<sip:127.0.0.1;lr>", "<sip:192.0.2.1;lr>"]


def test_record_route_without_record_route_goes_after_the_last_via():
    _rt, ctx, _rc = run("record_route();", raw=INVITE_NO_RR)
    ls = lines(ctx)
    assert ls[1].startswith("Via: SIP/2.0/UDP 192.0.2.1;")
    assert ls[2].startswith("Via: SIP/2.0/UDP 192.0.2.10;")
    assert ls[3] == "Record-Route: <sip:127.0.0.1;lr>"
    assert ls[4].startswith("From:")


def test_ftag_full_lr_and_params():
    pre = 'modparam("rr", "append_fromtag", 1)\n'
    _rt, ctx, _rc = run("record_route();", pre=pre)
    assert hdrs(ctx, "Record-Route")[0] == "<sip:127.0.0.1;lr;ftag=a1>"
    pre += 'modparam("rr", "enable_full_lr", 1)\n'
    _rt, ctx, _rc = run('add_rr_param(";a=1");\nrecord_route(";p=$ci");\nadd_rr_param("b=2");', pre=pre)
    assert hdrs(ctx, "Record-Route")[0] == "<sip:127.0.0.1;lr=on;ftag=a1;a=1;b=2;p=c1>"
    assert len(hdrs(ctx, "Record-Route")) == 2


def test_record_route_twice_fails():
    rt, ctx, _rc = run("record_route();\n" + cond("record_route()"))
    assert rt.vars["r"] == -1
    assert len(hdrs(ctx, "Record-Route")) == 2


def test_socket_port_and_advertised_address():
    _rt, ctx, _rc = run("record_route();", head=HEAD.replace("5060", "5070"))
    assert hdrs(ctx, "Record-Route")[0] == "<sip:127.0.0.1:5070;lr>"
    head = 'listen=udp:127.0.0.1:5060 advertise 203.0.113.5:5080\nloadmodule "rr"\n'
    _rt, ctx, _rc = run("record_route();", head=head)
    assert hdrs(ctx, "Record-Route")[0] == "<sip:203.0.113.5:5080;lr>"
    # an advertised address shows its port, 5060 too (as Kamailio writes it)
    head = 'listen=udp:127.0.0.1:5060 advertise 203.0.113.5\nloadmodule "rr"\n'
    _rt, ctx, _rc = run("record_route();", head=head)
    assert hdrs(ctx, "Record-Route")[0] == "<sip:203.0.113.5:5060;lr>"


def test_set_advertised_address_is_for_the_sending_side():
    # one socket: Kamailio's Record-Route names the receiving socket
    _rt, ctx, _rc = run('set_advertised_address("198.51.100.7");\nrecord_route();')
    assert hdrs(ctx, "Record-Route")[0] == "<sip:127.0.0.1;lr>"


def test_preset_and_advertised():
    pre = 'modparam("rr", "append_fromtag", 1)\n'
    _rt, ctx, _rc = run('record_route_preset("10.0.0.1:5090");', pre=pre)
    assert hdrs(ctx, "Record-Route")[0] == "<sip:10.0.0.1:5090;ftag=a1;lr>"
    _rt, ctx, _rc = run('record_route_preset("sip:10.0.0.1;transport=udp");')
    assert hdrs(ctx, "Record-Route")[0] == "<sip:10.0.0.1;transport=udp;lr>"
    _rt, ctx, _rc = run('record_route_preset("10.0.0.1", "10.0.0.2:5070");')
    assert hdrs(ctx, "Record-Route") == [
        "<sip:10.0.0.1;r2=on;lr>", "<sip:10.0.0.2:5070;r2=on;lr>", "<sip:192.0.2.1;lr>"]
    rt, ctx, _rc = run(cond('record_route_preset("10.0.0.1", "10.0.0.2")'),
                       pre='modparam("rr", "enable_double_rr", 0)\n')
    assert rt.vars["r"] == -1
    assert len(hdrs(ctx, "Record-Route")) == 1
    _rt, ctx, _rc = run('record_route_advertised_address("203.0.113.9:5099");', pre=pre)
    assert hdrs(ctx, "Record-Route")[0] == "<sip:203.0.113.9:5099;lr;ftag=a1>"


def test_add_username_and_custom_user_avp():
    pre = 'modparam("rr", "add_username", 1)\n'
    _rt, ctx, _rc = run("record_route();", pre=pre)
    assert hdrs(ctx, "Record-Route")[0] == "<sip:bob@127.0.0.1;lr>"
    pre += 'modparam("rr", "custom_user_avp", "$avp(rru)")\n'
    _rt, ctx, _rc = run('$avp(rru) = "carol";\nrecord_route();', pre=pre)
    assert hdrs(ctx, "Record-Route")[0] == "<sip:carol@127.0.0.1;lr>"
    with pytest.raises(ConfigErrors):
        runtime("record_route();", pre='modparam("rr", "custom_user_avp", "rru")\n')


def test_sips_request_uri_gives_sips_record_route():
    raw = INVITE.replace(b"INVITE sip:bob", b"INVITE sips:bob")
    _rt, ctx, _rc = run("record_route();", raw=raw)
    assert hdrs(ctx, "Record-Route")[0] == "<sips:127.0.0.1;lr>"
    _rt, ctx, _rc = run("record_route();", raw=raw, pre='modparam("rr", "ignore_sips", 1)\n')
    assert hdrs(ctx, "Record-Route")[0] == "<sip:127.0.0.1;lr>"


def test_remove_record_route():
    _rt, ctx, _rc = run('add_rr_param(";x=1");\nrecord_route();\nremove_record_route();')
    assert hdrs(ctx, "Record-Route") == ["<sip:192.0.2.1;lr>"]
    _rt, ctx, _rc = run('record_route();\nremove_record_route();\nrecord_route(";again=1");')
    assert hdrs(ctx, "Record-Route")[0] == "<sip:127.0.0.1;lr;again=1>"


def test_sockname_mode():
    head = 'listen=udp:127.0.0.1:5060 name "pub"\nloadmodule "rr"\n'
    _rt, ctx, _rc = run("record_route();", head=head, pre='modparam("rr", "sockname_mode", 1)\n')
    assert hdrs(ctx, "Record-Route")[0] == "<sip:127.0.0.1;sn=pub;lr>"


# --- double Record-Route ---------------------------------------------------------------------

HEAD2 = 'listen=udp:127.0.0.1:5060\nlisten=udp:[::1]:5060\nloadmodule "rr"\n'


def test_finalize_writes_double_record_route_for_another_socket():
    rt, ctx, _rc = run("record_route();", head=HEAD2, pre=PRE_FT)
    v4, v6 = rt.sockets
    api = rt.api("rr")
    assert hdrs(ctx, "Record-Route")[0] == "<sip:127.0.0.1;lr;ftag=a1>"
    assert api.finalize(ctx, v6) == 1
    assert hdrs(ctx, "Record-Route") == [
        "<sip:[::1];r2=on;lr;ftag=a1>", "<sip:127.0.0.1;r2=on;lr;ftag=a1>", "<sip:192.0.2.1;lr>"]
    # once more for the same socket: the same lines, not two more
    api.finalize(ctx, v6)
    assert len(hdrs(ctx, "Record-Route")) == 3
    # a parameter added afterwards goes into both
    api.add_rr_param(ctx, ";did=7")
    assert hdrs(ctx, "Record-Route")[:2] == [
        "<sip:[::1];r2=on;lr;ftag=a1;did=7>", "<sip:127.0.0.1;r2=on;lr;ftag=a1;did=7>"]
    # back to the incoming socket: one line again
    api.finalize(ctx, v4)
    assert hdrs(ctx, "Record-Route") == ["<sip:127.0.0.1;lr;ftag=a1;did=7>", "<sip:192.0.2.1;lr>"]
    # a copy re-parsed from the serialised request (a tm branch)
    copy = parse(ctx.msg.serialize())
    api.finalize(ctx, v6, copy)
    api.finalize(ctx, v6, copy)
    assert [v.decode() for v in parse(copy.serialize()).headers("record-route")] == [
        "<sip:[::1];r2=on;lr;ftag=a1;did=7>", "<sip:127.0.0.1;r2=on;lr;ftag=a1;did=7>",
        "<sip:192.0.2.1;lr>"]
    assert hdrs(ctx, "Record-Route")[0] == "<sip:127.0.0.1;lr;ftag=a1;did=7>"


def test_forced_send_socket_gives_double_record_route_at_once():
    _rt, ctx, _rc = run('force_send_socket("udp:[::1]:5060");\nrecord_route();', head=HEAD2)
    assert hdrs(ctx, "Record-Route")[:2] == ["<sip:[::1];r2=on;lr>", "<sip:127.0.0.1;r2=on;lr>"]
    _rt, ctx, _rc = run('force_send_socket("udp:[::1]:5060");\nrecord_route();', head=HEAD2,
                        pre='modparam("rr", "enable_double_rr", 0)\n')
    assert hdrs(ctx, "Record-Route")[0] == "<sip:127.0.0.1;lr>"


def test_double_rr_2_always_and_uses_set_advertised_address():
    _rt, ctx, _rc = run('set_advertised_address("198.51.100.7");\nrecord_route();',
                        pre='modparam("rr", "enable_double_rr", 2)\n')
    assert hdrs(ctx, "Record-Route")[:2] == ["<sip:198.51.100.7;r2=on;lr>", "<sip:127.0.0.1;r2=on;lr>"]


def test_finalize_without_record_route():
    rt, ctx, _rc = run("$var(x) = 1;", head=HEAD2)
    assert rt.api("rr").finalize(ctx, rt.sockets[1]) == -1
    assert hdrs(ctx, "Record-Route") == ["<sip:192.0.2.1;lr>"]


def test_finalize_after_msg_apply_changes():
    rt, ctx, _rc = run("record_route();", head=HEAD2)
    ctx.msg.apply_changes()
    rt.api("rr").finalize(ctx, rt.sockets[1])
    assert hdrs(ctx, "Record-Route") == [
        "<sip:[::1];r2=on;lr>", "<sip:127.0.0.1;r2=on;lr>", "<sip:192.0.2.1;lr>"]


# --- loose_route ------------------------------------------------------------------------------

LR = "$var(rc) = loose_route();\n$var(ru) = $ru;\n"


def test_our_route_then_a_loose_one():
    raw = bye("sip:bob@192.0.2.20", ["<sip:127.0.0.1;lr;ftag=a1>, <sip:192.0.2.1;lr>"])
    rt, ctx, _rc = run(LR, raw=raw)
    assert rt.vars["rc"] == 1
    assert ctx.du == "sip:192.0.2.1;lr"
    assert rt.vars["ru"] == "sip:bob@192.0.2.20"
    assert hdrs(ctx, "Route") == ["<sip:192.0.2.1;lr>"]
    # the same with one Route per line
    raw = bye("sip:bob@192.0.2.20", ["<sip:127.0.0.1;lr>", "<sip:192.0.2.1;lr>", "<sip:192.0.2.2;lr>"])
    rt, ctx, _rc = run(LR, raw=raw)
    assert ctx.du == "sip:192.0.2.1;lr"
    assert hdrs(ctx, "Route") == ["<sip:192.0.2.1;lr>", "<sip:192.0.2.2;lr>"]


def test_double_route_both_removed_and_socket_forced():
    raw = bye("sip:bob@192.0.2.20",
              ["<sip:[::1];r2=on;lr>, <sip:127.0.0.1;r2=on;lr>", "<sip:192.0.2.1;lr>"])
    rt, ctx, _rc = run(LR, raw=raw, head=HEAD2)
    assert rt.vars["rc"] == 1
    assert ctx.du == "sip:192.0.2.1;lr"
    assert hdrs(ctx, "Route") == ["<sip:192.0.2.1;lr>"]
    assert ctx.send_socket is rt.sockets[0]
    # without ;r2 a second Route of ours is the next hop (a spiral)
    raw = bye("sip:bob@192.0.2.20", ["<sip:[::1];lr>, <sip:127.0.0.1;lr>"])
    rt, ctx, _rc = run(LR, raw=raw, head=HEAD2)
    assert ctx.du == "sip:127.0.0.1;lr"
    assert hdrs(ctx, "Route") == ["<sip:127.0.0.1;lr>"]
    # ;r2 but the second Route is not ours: an error
    raw = bye("sip:bob@192.0.2.20", ["<sip:127.0.0.1;r2=on;lr>, <sip:192.0.2.1;r2=on;lr>"])
    rt, ctx, _rc = run(LR, raw=raw)
    assert rt.vars["rc"] == -1


def test_only_our_route_left():
    raw = bye("sip:bob@192.0.2.20", ["<sip:127.0.0.1;lr>"])
    rt, ctx, _rc = run(LR, raw=raw)
    assert rt.vars["rc"] == 1                 # in a dialog: routed by the R-URI
    assert ctx.du is None
    assert rt.vars["ru"] == "sip:bob@192.0.2.20"
    assert hdrs(ctx, "Route") == []
    # a preloaded Route of ours only: removed, but not "routed by Route"
    raw = bye("sip:bob@192.0.2.20", ["<sip:127.0.0.1;lr>"], to_tag=None)
    rt, ctx, _rc = run(LR, raw=raw)
    assert rt.vars["rc"] == -1
    assert hdrs(ctx, "Route") == []


def test_ours_is_last_of_the_route_set():
    raw = bye("sip:bob@192.0.2.20", ["<sip:192.0.2.1;lr>, <sip:127.0.0.1;lr>"])
    rt, ctx, _rc = run(LR, raw=raw)
    assert rt.vars["rc"] == 1
    assert ctx.du == "sip:192.0.2.1;lr"
    assert hdrs(ctx, "Route") == ["<sip:192.0.2.1;lr>, <sip:127.0.0.1;lr>"]


def test_strict_router_next_hop():
    raw = bye("sip:bob@192.0.2.20", ["<sip:127.0.0.1;lr>, <sip:192.0.2.1>", "<sip:192.0.2.2;lr>"])
    rt, ctx, _rc = run(LR, raw=raw)
    assert rt.vars["rc"] == 1
    assert ctx.du is None
    assert rt.vars["ru"] == "sip:192.0.2.1"
    ls = lines(ctx)
    assert ls[0] == "BYE sip:192.0.2.1 SIP/2.0"
    assert hdrs(ctx, "Route") == ["<sip:192.0.2.2;lr>", "<sip:bob@192.0.2.20>"]
    assert ls[-3] == "Route: <sip:bob@192.0.2.20>"    # the last header line


def test_strict_previous_hop_request_uri_is_ours():
    pre = 'modparam("rr", "append_fromtag", 1)\n'
    body = LR + "$var(p) = 0;\n" + 'if (check_route_param("ftag=a1")) { $var(p) = 1; }\n'
    raw = bye("sip:127.0.0.1;lr;ftag=a1", ["<sip:192.0.2.1;lr>", "<sip:bob@192.0.2.20>"])
    rt, ctx, _rc = run(body, raw=raw, pre=pre)
    assert rt.vars["rc"] == 1
    assert ctx.du == "sip:192.0.2.1;lr"
    assert rt.vars["ru"] == "sip:bob@192.0.2.20"
    assert rt.vars["p"] == 1                        # our params were in the R-URI
    assert hdrs(ctx, "Route") == ["<sip:192.0.2.1;lr>"]
    # the next hop is strict too: we route like one
    raw = bye("sip:127.0.0.1;lr", ["<sip:192.0.2.1>, <sip:bob@192.0.2.20>"])
    rt, ctx, _rc = run(LR, raw=raw)
    assert rt.vars["ru"] == "sip:192.0.2.1"
    assert ctx.du is None
    assert hdrs(ctx, "Route") == ["<sip:bob@192.0.2.20>"]
    # loose_route_mode(1) does not take this case
    raw = bye("sip:127.0.0.1;lr", ["<sip:192.0.2.1;lr>", "<sip:bob@192.0.2.20>"])
    rt, ctx, _rc = run("$var(rc) = loose_route_mode(1);\n$var(ru) = $ru;", raw=raw)
    assert ctx.du == "sip:192.0.2.1;lr"
    assert rt.vars["ru"] == "sip:127.0.0.1;lr"


def test_no_route_header():
    rt, ctx, _rc = run(LR, raw=bye("sip:bob@192.0.2.20", []))
    assert rt.vars["rc"] == -1
    assert ctx.du is None
    assert not ctx.msg.changed


def test_preloaded_route_not_ours():
    raw = INVITE_NO_RR.replace(b"Max-Forwards", b"Route: <sip:192.0.2.99;lr;x=1>\r\nMax-Forwards")
    body = LR + "$var(ro) = $route_uri;\n"
    rt, ctx, _rc = run(body, raw=raw)
    assert rt.vars["rc"] == 1
    assert ctx.du == "sip:192.0.2.99;lr;x=1"
    assert rt.vars["ru"] == "sip:bob@example.com"
    assert rt.vars["ro"] == "sip:192.0.2.99;lr;x=1"
    assert hdrs(ctx, "Route") == ["<sip:192.0.2.99;lr;x=1>"]
    # a preloaded Route of ours followed by another one
    raw = INVITE_NO_RR.replace(b"Max-Forwards",
                               b"Route: <sip:127.0.0.1;lr>, <sip:192.0.2.99;lr>\r\nMax-Forwards")
    rt, ctx, _rc = run(LR + cond("loose_route_preloaded()"), raw=raw)
    assert rt.vars["rc"] == 1
    assert ctx.du == "sip:192.0.2.99;lr"
    rt, ctx, _rc = run(cond("loose_route_preloaded()"),
                       raw=bye("sip:bob@192.0.2.20", ["<sip:192.0.2.99;lr>"]))
    assert rt.vars["r"] == -1
    assert not ctx.msg.changed


def test_maddr_and_other_ports():
    raw = bye("sip:bob@192.0.2.20", ["<sip:127.0.0.1;lr>, <sip:proxy.example.net;maddr=192.0.2.7;lr>"])
    rt, ctx, _rc = run(LR, raw=raw)
    assert ctx.du == "sip:192.0.2.7"
    # our address on another port is not ours
    raw = bye("sip:bob@192.0.2.20", ["<sip:127.0.0.1:5099;lr>, <sip:192.0.2.1;lr>"])
    rt, ctx, _rc = run(LR, raw=raw)
    assert ctx.du == "sip:127.0.0.1:5099;lr"
    assert len(hdrs(ctx, "Route")) == 1 and "5099" in hdrs(ctx, "Route")[0]


def test_ignore_user():
    raw = bye("sip:bob@192.0.2.20", ["<sip:skip@127.0.0.1;lr>, <sip:192.0.2.1;lr>"])
    rt, ctx, _rc = run(LR, raw=raw, pre='modparam("rr", "ignore_user", "skip")\n')
    assert ctx.du == "sip:skip@127.0.0.1;lr"
    rt, ctx, _rc = run(LR, raw=raw)
    assert ctx.du == "sip:192.0.2.1;lr"


def test_sockname_mode_picks_the_socket_by_name():
    head = 'listen=udp:127.0.0.1:5060 name "v4"\nlisten=udp:[::1]:5060 name "v6"\nloadmodule "rr"\n'
    pre = 'modparam("rr", "sockname_mode", 1)\n'
    raw = bye("sip:bob@192.0.2.20",
              ["<sip:[::1];sn=v6;r2=on;lr>, <sip:127.0.0.1;sn=v4;r2=on;lr>, <sip:192.0.2.1;lr>"])
    rt, ctx, _rc = run(LR, raw=raw, head=head, pre=pre)
    assert ctx.du == "sip:192.0.2.1;lr"
    assert ctx.send_socket.name == "v4"


# --- direction and Route params ----------------------------------------------------------------

DIR = ("loose_route();\n" + "$var(d) = 0; $var(u) = 0;\n"
       'if (is_direction("downstream")) { $var(d) = 1; }\n'
       'if (is_direction("upstream")) { $var(u) = 1; }\n')


def test_is_direction():
    # the caller sends it: From tag = ftag
    rt, _ctx, _rc = run(DIR, raw=bye("sip:bob@192.0.2.20", ["<sip:127.0.0.1;lr;ftag=a1>"],
                                     from_tag="a1", to_tag="b2"), pre=PRE_FT)
    assert (rt.vars["d"], rt.vars["u"]) == (1, 0)
    # the callee sends it: its From tag is the dialog's To tag
    rt, _ctx, _rc = run(DIR, raw=bye("sip:alice@192.0.2.10", ["<sip:127.0.0.1;lr;ftag=a1>"],
                                     from_tag="b2", to_tag="a1"), pre=PRE_FT)
    assert (rt.vars["d"], rt.vars["u"]) == (0, 1)
    # no ftag: downstream, as in Kamailio
    rt, _ctx, _rc = run(DIR, raw=bye("sip:alice@192.0.2.10", ["<sip:127.0.0.1;lr>"],
                                     from_tag="b2", to_tag="a1"), pre=PRE_FT)
    assert (rt.vars["d"], rt.vars["u"]) == (1, 0)
    # a Route not ours gives no params: downstream
    rt, _ctx, _rc = run(DIR, raw=bye("sip:alice@192.0.2.10", ["<sip:192.0.2.1;lr;ftag=a1>"],
                                     from_tag="b2", to_tag="a1"), pre=PRE_FT)
    assert (rt.vars["d"], rt.vars["u"]) == (1, 0)


def test_is_direction_needs_append_fromtag_and_a_direction():
    with pytest.raises(ConfigErrors) as ei:
        runtime('is_direction("downstream");')
    assert "append_fromtag" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        runtime('is_direction("sideways");', pre=PRE_FT)
    assert "sideways" in str(ei.value)


def test_check_route_param():
    raw = bye("sip:bob@192.0.2.20", ["<sip:127.0.0.1;lr;ftag=a1;vsf=AbC>, <sip:192.0.2.1;lr>"])
    body = "loose_route();\n" + "".join(
        '$var(c%d) = 0; if (check_route_param("%s")) { $var(c%d) = 1; }\n' % (i, rx, i)
        for i, rx in enumerate(["ftag=a1", "^;lr;ftag=", "vsf=abc", "did=", "ftag=a1;vsf=[A-Z][a-z]C$"]))
    rt, _ctx, _rc = run(body, raw=raw)
    assert [rt.vars["c%d" % i] for i in range(5)] == [1, 1, 1, 0, 1]
    # without loose_route(), or when the top Route is not ours: false
    rt, _ctx, _rc = run(cond('check_route_param("ftag")'), raw=raw)
    assert rt.vars["r"] == -1
    raw = bye("sip:bob@192.0.2.20", ["<sip:192.0.2.1;lr;ftag=a1>"])
    rt, _ctx, _rc = run("loose_route();\n" + cond('check_route_param("ftag")'), raw=raw)
    assert rt.vars["r"] == -1


def test_route_types_are_checked():
    with pytest.raises(ConfigErrors):
        runtime("route(R);", extra_routes="failure_route[R] { loose_route(); }\n")
    with pytest.raises(ConfigErrors):
        runtime("exit;", extra_routes="onreply_route { record_route(); }\n")
    runtime("exit;", extra_routes="branch_route[B] { record_route(); add_rr_param(\"x=1\"); }\n"
            "failure_route[F] { record_route(); check_route_param(\"x\"); }\n")


# --- the API -------------------------------------------------------------------------------------

def test_api_callbacks_and_route_params():
    rt = runtime("loose_route();", pre=PRE_FT)
    api = rt.api("rr")
    seen = []
    api.register_callback(lambda ctx, params: seen.append(("late", params)), priority=5)
    api.register_callback(lambda ctx, params: seen.append(("early", params,
                                                          api.get_route_param(ctx, "vsf"))))
    raw = bye("sip:bob@192.0.2.20", ["<sip:127.0.0.1;lr;ftag=a1;vsf=xyz;flag>", "<sip:192.0.2.1;lr>"])
    _rt, ctx, _rc = run("", raw=raw, rt=rt)
    assert seen == [("early", "lr;ftag=a1;vsf=xyz;flag", "xyz"), ("late", "lr;ftag=a1;vsf=xyz;flag")]
    assert api.get_route_param(ctx, "ftag") == "a1"
    assert api.get_route_param(ctx, "flag") == ""
    assert api.get_route_param(ctx, "FTAG") is None          # case-sensitive, as Kamailio
    assert api.get_route_param(ctx, "nope") is None
    assert api.get_route_params(ctx) == "lr;ftag=a1;vsf=xyz;flag"
    assert api.check_route_param(ctx, "vsf=x.z")
    assert api.is_direction(ctx, "downstream")               # the From tag is the ftag
    assert not api.is_direction(ctx, "upstream")
    with pytest.raises(ValueError):
        api.is_direction(ctx, "left")
    # a Route that is not ours: no callback
    seen.clear()
    run("", raw=bye("sip:bob@192.0.2.20", ["<sip:192.0.2.1;lr;ftag=a1>"]), rt=rt)
    assert seen == []
    assert api.append_fromtag


def test_api_record_route_and_add_rr_param():
    rt = runtime("$var(x) = 1;")
    api = rt.api("rr")
    ctx = rt.new_context(parse(INVITE), "192.0.2.1", 5060)
    api.add_rr_param(ctx, "did=1.2")
    assert api.record_route(ctx, ";m=1") == 1
    assert api.record_route(ctx) == -1
    assert hdrs(ctx, "Record-Route")[0] == "<sip:127.0.0.1;lr;did=1.2;m=1>"
    assert api.add_rr_param(ctx, ";bad\r\nX: y") == -1
    assert hdrs(ctx, "Record-Route")[0] == "<sip:127.0.0.1;lr;did=1.2;m=1>"


# --- end to end --------------------------------------------------------------------------------

PROXY = PRE_FT + """request_route {
    if (has_totag()) {
        if (loose_route()) {
            if (is_direction("upstream")) { $var(dir) = "up"; } else { $var(dir) = "down"; }
            $var(ru) = $ru;
            exit;
        }
        $var(dir) = "none";
        exit;
    }
    record_route();
}
"""


def _invite_then_bye(head):
    rt = Runtime(compile_text(head + 'loadmodule "sl"\nloadmodule "siputils"\n' + PROXY, "t.cfg"))
    ctx = rt.new_context(parse(INVITE), "192.0.2.1", 5060)
    rt.run_request(ctx)
    return rt, ctx


def _bye_from(rrs, callee: bool):
    """The BYE a UA builds from the Record-Route of the INVITE (RFC 3261 §12.1)."""
    if callee:   # the UAS keeps the order, targets the caller's Contact
        return bye("sip:alice@192.0.2.10", ["<%s>" % r for r in rrs], from_tag="b2", to_tag="a1")
    return bye("sip:bob@192.0.2.20", ["<%s>" % r for r in reversed(rrs)], from_tag="a1", to_tag="b2")


def test_invite_and_bye_round_trip():
    rt, ctx = _invite_then_bye(HEAD)
    sent = parse(ctx.msg.serialize())
    rrs = [na.uri_raw.decode() for na in sent.record_routes]
    assert rrs == ["sip:127.0.0.1;lr;ftag=a1", "sip:192.0.2.1;lr"]
    # the callee hangs up: ours is its first Route, the next hop is the caller's proxy
    c = rt.new_context(parse(_bye_from(rrs, callee=True)), "192.0.2.20", 5060)
    rt.run_request(c)
    assert (rt.vars["dir"], c.du, rt.vars["ru"]) == ("up", "sip:192.0.2.1;lr", "sip:alice@192.0.2.10")
    assert [na.uri_raw for na in parse(c.msg.serialize()).routes] == [b"sip:192.0.2.1;lr"]
    # the caller hangs up: its proxy took its own Route, ours is the last one
    raw = _bye_from(rrs, callee=False).replace(b"Route: <sip:192.0.2.1;lr>\r\n", b"")
    c = rt.new_context(parse(raw), "192.0.2.1", 5060)
    rt.run_request(c)
    assert (rt.vars["dir"], c.du, rt.vars["ru"]) == ("down", None, "sip:bob@192.0.2.20")
    assert parse(c.msg.serialize()).routes == []


def test_invite_and_bye_round_trip_with_double_record_route():
    rt, ctx = _invite_then_bye(HEAD2)
    rt.api("rr").finalize(ctx, rt.sockets[1])          # the INVITE leaves over IPv6
    rrs = [na.uri_raw.decode() for na in parse(ctx.msg.serialize()).record_routes]
    assert rrs == ["sip:[::1];r2=on;lr;ftag=a1", "sip:127.0.0.1;r2=on;lr;ftag=a1", "sip:192.0.2.1;lr"]
    c = rt.new_context(parse(_bye_from(rrs, callee=True)), "::1", 5060, rcv=rt.sockets[1])
    rt.run_request(c)
    assert (rt.vars["dir"], c.du) == ("up", "sip:192.0.2.1;lr")
    assert c.send_socket is rt.sockets[0]                  # back out over IPv4
    assert [na.uri_raw for na in parse(c.msg.serialize()).routes] == [b"sip:192.0.2.1;lr"]
    raw = _bye_from(rrs, callee=False).replace(b"Route: <sip:192.0.2.1;lr>\r\n", b"")
    c = rt.new_context(parse(raw), "192.0.2.1", 5060)
    rt.run_request(c)
    assert (rt.vars["dir"], c.du) == ("down", None)
    assert c.send_socket is rt.sockets[1]
    assert parse(c.msg.serialize()).routes == []
