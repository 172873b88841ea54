# SPDX-License-Identifier: GPL-2.0-or-later
"""kex through compiled configs run on parsed messages."""

import pytest

from kampy.runtime import L_DBG, L_WARN, Runtime
from kampy.script.ast import ConfigErrors
from kampy.script.compiler import compile_text
from kampy.sip import parse

INVITE = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\r\n"
    b"From: <sip:alice@127.0.0.1>;tag=1\r\n"
    b"To: <sip:bob@example.com>\r\n"
    b"Call-ID: c1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n")

HEAD = 'listen=udp:127.0.0.1:5060\nalias=proxy.example.net\nloadmodule "kex"\n'


def run(body, pre=""):
    rt = Runtime(compile_text(HEAD + pre + "request_route {\n" + body + "\n}\n", "t.cfg"))
    ctx = rt.new_context(parse(INVITE), "192.0.2.10", 5060)
    rc = rt.run_request(ctx)
    return rt, ctx, rc


def cond(expr):
    return "if (%s) { $var(r) = 1; } else { $var(r) = -1; }\n" % expr


def r_of(expr):
    rt, _ctx, _rc = run(cond(expr))
    return rt.vars["r"]


def test_script_flags():
    rt, _ctx, _rc = run("setsflag(3);\n$var(f) = 5;\nsetsflag($var(f));\n" + cond("issflagset(3)")
                        + "$var(a) = $var(r);\nresetsflag(3);\n" + cond("issflagset(3)")
                        + "$var(b) = $var(r);\n" + cond("issflagset(5)"))
    assert (rt.vars["a"], rt.vars["b"], rt.vars["r"]) == (1, -1, 1)
    assert r_of("setsflag(40)") == -1


def test_dst_uri():
    rt, ctx, _rc = run(cond("isdsturiset()") + '$var(a) = $var(r);\nsetdsturi("sip:10.0.0.1:5070");\n'
                       + cond("isdsturiset()") + "$var(b) = $var(r);\n$var(du) = $du;")
    assert (rt.vars["a"], rt.vars["b"], rt.vars["du"]) == (-1, 1, "sip:10.0.0.1:5070")
    rt, ctx, _rc = run('setdsturi("sip:10.0.0.1");\nresetdsturi();\n' + cond("isdsturiset()"))
    assert rt.vars["r"] == -1 and ctx.du is None


def test_pv_printf():
    rt, _ctx, _rc = run('pv_printf("$var(x)", "From: $fU - To: $tU");\navp_printf("$avp(y)", "$rm");\n'
                        '$var(y) = $avp(y);\npv_printf("$ru", "sip:$rU@other.example");\n$var(ru) = $ru;')
    assert rt.vars["x"] == "From: alice - To: bob"
    assert rt.vars["y"] == "INVITE"
    assert rt.vars["ru"] == "sip:bob@other.example"


def test_is_myself():
    assert r_of('is_myself("sip:127.0.0.1")') == 1
    assert r_of('is_myself("sip:127.0.0.1:5060")') == 1
    assert r_of('is_myself("sip:127.0.0.1:5070")') == -1
    assert r_of('is_myself("sip:x@proxy.example.net")') == 1
    assert r_of('is_myself("$fu")') == 1
    assert r_of('is_myself("$tu")') == -1
    assert r_of('is_myself("127.0.0.1")') == 1


def test_setdebug_and_resetdebug():
    rt, _ctx, _rc = run("setdebug(3);")
    assert rt.debug == L_DBG
    rt, _ctx, _rc = run("setdebug(3);\nresetdebug();", pre="debug=1\n")
    assert rt.debug == 1
    rt, _ctx, _rc = run("$var(l) = 2;\nsetdebug($var(l));\n")
    assert rt.debug == 2
    rt, _ctx, _rc = run("resetdebug();")
    assert rt.debug == L_WARN


def test_km_append_branch():
    rt, ctx, _rc = run('km_append_branch();\nkm_append_branch("sip:carol@example.com");')
    assert [b.uri for b in ctx.branches] == ["sip:bob@example.com", "sip:carol@example.com"]


def test_startup_errors():
    with pytest.raises(ConfigErrors) as ei:
        run('  setdsturi("not a uri");')
    assert "t.cfg:5:13: setdsturi: bad URI 'not a uri'" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        run('setdsturi("sip:a", "b");')
    assert "function 'setdsturi' takes 1 parameter, not 2" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        run('pv_printf("$rm", "x");')
    assert "pv_printf: pseudo-variable $rm is read-only" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        compile_text('loadmodule "kex"\nreply_route { km_append_branch(); }\n', "t.cfg")
    assert "function 'km_append_branch' cannot be used in reply_route" in str(ei.value)
