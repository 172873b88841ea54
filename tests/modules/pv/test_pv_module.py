# SPDX-License-Identifier: GPL-2.0-or-later
"""The pv module's functions and parameters through compiled configs."""

import pytest

from kampy.runtime import Runtime
from kampy.script.ast import ConfigErrors
from kampy.script.compiler import compile_text
from kampy.sip import parse

INVITE = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\r\n"
    b"From: <sip:alice@example.org>;tag=1\r\n"
    b"To: <sip:bob@example.com>\r\n"
    b"Call-ID: c1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n")


def start(cfg):
    """Compile and run every mod_init, as the daemon does before forking."""
    rt = Runtime(compile_text(cfg, "t.cfg"))
    rt.init_modules()
    return rt


def run(body, pre=""):
    rt = start('loadmodule "pv"\n' + pre + "request_route {\n" + body + "\n}\n")
    ctx = rt.new_context(parse(INVITE), "192.0.2.10", 5060)
    rc = rt.run_request(ctx)
    return rt, ctx, rc


def cond(expr):
    return "if (%s) { $var(r) = 1; } else { $var(r) = -1; }\n" % expr


def r_of(expr, pre=""):
    rt, _ctx, _rc = run(cond(expr), pre=pre)
    return rt.vars["r"]


def test_pv_isset_and_unset():
    assert r_of('pv_isset("$avp(x)")') == -1
    rt, _ctx, _rc = run('$avp(x) = 1;\n' + cond('pv_isset("$avp(x)")') + '$var(a) = $var(r);\n'
                        'pv_unset("$avp(x)");\n' + cond('pv_isset("$avp(x)")'))
    assert rt.vars["a"] == 1 and rt.vars["r"] == -1
    assert r_of('pv_isset("$hdr(X-None)")') == -1
    assert r_of('pv_isset("$rU")') == 1


def test_is_int_typeof_not_empty():
    rt, _ctx, _rc = run('$var(i) = 5; $var(s) = "abc"; $var(n) = "42";\n'
                        + cond('is_int("$var(i)")') + '$var(a) = $var(r);\n'
                        + cond('is_int("$var(s)")') + '$var(b) = $var(r);\n'
                        + cond('is_int("$var(n)")') + '$var(c) = $var(r);\n')
    assert (rt.vars["a"], rt.vars["b"], rt.vars["c"]) == (1, -1, 1)
    assert r_of('typeof("$rU", "str")') == 1
    assert r_of('typeof("$rU", "int")') == -1
    assert r_of('typeof("$avp(none)", "null")') == 1
    rt, _ctx, _rc = run('$var(i) = 5;\n' + cond('typeof("$var(i)", "int")'))
    assert rt.vars["r"] == 1
    assert r_of('not_empty("$rU")') == 1
    rt, _ctx, _rc = run('$var(e) = "";\n' + cond('not_empty("$var(e)")'))
    assert rt.vars["r"] == -1


def test_xavp_helpers():
    rt, ctx, _rc = run('xavp_params_explode("a=1;b=x y;c", "p");\n'
                       '$var(a) = $xavp(p=>a); $var(b) = $xavp(p=>b);\n'
                       'xavp_params_implode("p", "$var(all)");\n'
                       'xavp_child_seti("p", "n", 7);\nxavp_child_sets("p", "a", "2");\n'
                       '$var(n) = $xavp(p=>n); $var(a2) = $xavp(p=>a);\n'
                       'xavp_rm_child("p", "b");\n' + cond('pv_isset("$xavp(p=>b)")')
                       + '$var(hasb) = $var(r);\nxavp_rm("p");\n' + cond('pv_isset("$xavp(p=>a)")'))
    assert rt.vars["a"] == "1" and rt.vars["b"] == "x y"
    assert rt.vars["all"] == "a=1;b=x y;c="
    assert rt.vars["n"] == 7 and rt.vars["a2"] == "2"
    assert rt.vars["hasb"] == -1 and rt.vars["r"] == -1


def test_shvset_and_varset():
    rt, _ctx, _rc = run("$var(a) = $shv(limit) + 1;\n$var(b) = $shv(name);\n$var(c) = $var(start);",
                        pre='modparam("pv", "shvset", "limit=i:10")\n'
                            'modparam("pv", "shvset", "name=s:kampy proxy")\n'
                            'modparam("pv", "varset", "start=i:0x10")\n')
    assert rt.vars["a"] == 11 and rt.vars["b"] == "kampy proxy" and rt.vars["c"] == 16
    rt, _ctx, _rc = run("$var(x) = 1;", pre='modparam("pv", "avp_aliases", "uuid=I:660")\n')
    assert rt.vars["x"] == 1


def test_bad_parameters_and_arguments():
    with pytest.raises(ConfigErrors) as ei:
        run("$var(x) = 1;", pre='modparam("pv", "shvset", "limit=10")\n')
    assert "t.cfg:2:1: modparam pv.shvset: expected name=i:number or name=s:text" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        run("$var(x) = 1;", pre='modparam("pv", "varset", "n=i:ten")\n')
    assert "is not an integer" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        run('  typeof("$rU", "float");')
    assert "t.cfg:3:17: typeof: unknown type 'float'" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        run('pv_unset("$rm");')
    assert "pv_unset: pseudo-variable $rm is read-only" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        run('pv_isset();')
    assert "function 'pv_isset' takes 1 parameter, not 0" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        run('sbranch_set_ruri();')
    assert "function 'sbranch_set_ruri' of module pv is not supported by kampy" in str(ei.value)
