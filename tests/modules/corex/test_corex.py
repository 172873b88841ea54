# SPDX-License-Identifier: GPL-2.0-or-later
"""corex through compiled configs run on parsed messages."""

import pytest

from kampy.runtime import Runtime
from kampy.script.ast import ConfigErrors
from kampy.script.compiler import compile_text
from kampy.sip import parse

INVITE = (
    b"INVITE sip:bob@192.0.2.30:5070 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK0\r\n"
    b"From: <sip:alice@example.org>;tag=1\r\n"
    b"To: <sip:bob@example.com>\r\n"
    b"Call-ID: c1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n")

HEAD = ('listen=udp:127.0.0.1:5060 name "main"\nlisten=udp:127.0.0.2:5080\n'
        'loadmodule "corex"\n')


def run(body, pre=""):
    rt = Runtime(compile_text(HEAD + pre + "request_route {\n" + body + "\n}\n", "t.cfg"))
    ctx = rt.new_context(parse(INVITE), "192.0.2.10", 5060, rcv=rt.sockets[0])
    rc = rt.run_request(ctx)
    return rt, ctx, rc


def cond(expr):
    return "if (%s) { $var(r) = 1; } else { $var(r) = -1; }\n" % expr


def r_of(expr):
    rt, _ctx, _rc = run(cond(expr))
    return rt.vars["r"]


def test_append_branch():
    _rt, ctx, _rc = run('$du = "sip:192.0.2.99";\nappend_branch();\nappend_branch("sip:c@example.com");\n'
                        'append_branch("sip:d@example.com", "0.5");')
    b = ctx.branches
    assert [(x.uri, x.du, x.q) for x in b] == [
        ("sip:bob@192.0.2.30:5070", "sip:192.0.2.99", None),
        ("sip:c@example.com", None, None),
        ("sip:d@example.com", None, 0.5)]


def test_send_udp_sends_the_message_as_received():
    rt, _ctx, _rc = run("send_udp();")
    sock, ip, port, data = rt.transport.sent[0]
    assert (ip, port, data) == ("192.0.2.30", 5070, INVITE)
    rt, _ctx, _rc = run('send_udp("192.0.2.40:5090");\n$du = "sip:192.0.2.41";\nsend_udp();')
    assert [(s[1], s[2]) for s in rt.transport.sent] == [("192.0.2.40", 5090), ("192.0.2.41", 5060)]


def test_send_data_and_sendx():
    rt, _ctx, _rc = run('send_data("sip:192.0.2.50:5062", "ping $rU");')
    sock, ip, port, data = rt.transport.sent[0]
    assert (ip, port, data) == ("192.0.2.50", 5062, b"ping bob")
    assert sock is rt.sockets[0]
    rt, _ctx, _rc = run('sendx("sip:192.0.2.50", "udp:127.0.0.2:5080", "x");')
    assert rt.transport.sent[0][0] is rt.sockets[1]
    assert r_of('sendx("sip:192.0.2.50", "udp:10.9.9.9:5060", "x")') == -1
    assert r_of('send_data("tel:+123", "x")') == -1


def test_forward_uac_keeps_only_our_via():
    rt, _ctx, _rc = run("forward_uac();")
    data = rt.transport.sent[0][3]
    assert data.count(b"Via:") == 1 and b"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=" in data
    assert rt.transport.sent[0][1:3] == ("192.0.2.30", 5070)
    rt, _ctx, _rc = run('forward_uac_uri("sip:192.0.2.60:5099");')
    assert rt.transport.sent[0][1:3] == ("192.0.2.60", 5099)


def test_sockets():
    rt, ctx, _rc = run('set_send_socket("udp:127.0.0.2:5080");')
    assert ctx.send_socket is rt.sockets[1]
    rt, ctx, _rc = run('set_send_socket_name("main");')
    assert ctx.send_socket is rt.sockets[0]
    assert r_of('set_send_socket("udp:10.0.0.1:5060")') == -1
    assert r_of('set_send_socket_name("nope")') == -1
    rt, ctx, _rc = run('set_recv_socket("udp:127.0.0.2:5080");\n$var(rp) = $Rp;')
    assert ctx.rcv is rt.sockets[1] and rt.vars["rp"] == 5080
    rt, ctx, _rc = run('set_recv_socket_name("main");')
    assert ctx.rcv is rt.sockets[0]
    rt, _ctx, _rc = run('set_source_address("udp:198.51.100.9:5099");\n$var(si) = $si; $var(sp) = $sp;')
    assert (rt.vars["si"], rt.vars["sp"]) == ("198.51.100.9", 5099)
    assert r_of('is_socket_name("main")') == 1
    assert r_of('is_socket_name("other")') == -1


def test_is_faked_msg():
    assert r_of("is_faked_msg()") == -1
    rt = Runtime(compile_text(HEAD + "request_route {\n" + cond("is_faked_msg()") + "}\n", "t.cfg"))
    ctx = rt.new_context(parse(INVITE))
    ctx.data["faked_msg"] = True
    rt.run_request(ctx)
    assert rt.vars["r"] == 1


def test_via_controls():
    _rt, ctx, _rc = run("via_add_srvid(1);\nvia_add_xavp_params(1);\nvia_use_xavp_fields(0);\n"
                        "via_reply_add_xavp_params(1);")
    assert ctx.data["via_add_srvid"] and ctx.data["via_add_xavp_params"]
    assert not ctx.data["via_use_xavp_fields"] and ctx.data["via_reply_add_xavp_params"]


def test_iflags_and_xflags():
    rt, _ctx, _rc = run('msg_iflag_set("UAC_AUTH");\n' + cond('msg_iflag_is_set("uac_auth")')
                        + '$var(a) = $var(r);\nmsg_iflag_reset("UAC_AUTH");\n'
                        + cond('msg_iflag_is_set("UAC_AUTH")'))
    assert (rt.vars["a"], rt.vars["r"]) == (1, -1)
    assert r_of('msg_iflag_set("NO_SUCH_FLAG")') == -1
    rt, _ctx, _rc = run("setxflag(40);\n" + cond("isxflagset(40)") + "$var(a) = $var(r);\n"
                        "resetxflag(40);\n" + cond("isxflagset(40)"))
    assert (rt.vars["a"], rt.vars["r"]) == (1, -1)
    assert r_of("setxflag(64)") == -1


def test_files(tmp_path):
    path = tmp_path / "data.txt"
    rt, _ctx, _rc = run('file_write("%s", "user=$rU");\nfile_read("%s", "$var(d)");' % (path, path))
    assert path.read_text() == "user=bob" and rt.vars["d"] == "user=bob"
    assert r_of('file_read("%s", "$var(d)")' % (tmp_path / "missing")) == -1
    assert r_of('file_write("%s", "x")' % (tmp_path / "no" / "dir")) == -1


def test_startup_errors():
    with pytest.raises(ConfigErrors) as ei:
        run('  append_branch("a", "b", "c");')
    assert "t.cfg:5:3: function 'append_branch' takes 0 or 1 or 2 parameters, not 3" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        run("send_tcp();")
    assert "function 'send_tcp' of module corex is not supported by kampy" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        run("$var(x) = 1;", pre='modparam("corex", "nio_intercept", 1)\n')
    assert "t.cfg:4:1: modparam corex.nio_intercept: event_route[network:msg] is not supported" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        run('file_read("/tmp/x", "$rm");')
    assert "file_read: pseudo-variable $rm is read-only" in str(ei.value)
