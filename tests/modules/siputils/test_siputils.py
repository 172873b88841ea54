# SPDX-License-Identifier: GPL-2.0-or-later
"""siputils through compiled configs run on parsed messages."""

import pytest

from kampy.runtime import Runtime
from kampy.script.ast import ConfigErrors
from kampy.script.compiler import compile_text
from kampy.sip import parse


def crlf(text):
    return text.replace("\n", "\r\n").encode()


INVITE = crlf(
    "INVITE sip:bob@example.com;transport=udp;lr;nat=yes?X-H=1 SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\n"
    "From: <sip:+4930123456@example.org>;tag=1\n"
    "To: <sip:bob@example.com>\n"
    "Call-ID: c1\n"
    "CSeq: 1 INVITE\n"
    "Supported: path, 100rel\n"
    "k: gruu\n"
    'Proxy-Authorization: Digest username="alice@example.org", realm="example.org", '
    'nonce="n", uri="sip:bob@example.com", response="0123456789abcdef0123456789abcdef"\n'
    "Content-Length: 0\n"
    "\n")

IN_DIALOG = crlf(
    "BYE sip:bob@192.0.2.20 SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK2\n"
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK3\n"
    "From: <sip:alice@example.org>;tag=1\n"
    "To: <sip:bob@example.com>;tag=2\n"
    "Call-ID: c1\n"
    "CSeq: 2 BYE\n"
    "Content-Length: 0\n"
    "\n")

OPTIONS = crlf(
    "OPTIONS sip:127.0.0.1 SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKo\n"
    "From: <sip:mon@example.org>;tag=9\n"
    "To: <sip:127.0.0.1>\n"
    "Call-ID: o1\n"
    "CSeq: 1 OPTIONS\n"
    "Content-Length: 0\n"
    "\n")

REPLY = crlf(
    "SIP/2.0 200 OK\n"
    "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\n"
    "Record-Route: <sip:127.0.0.1;lr>\n"
    "From: <sip:alice@example.org>;tag=1\n"
    "To: <sip:bob@example.com>;tag=2\n"
    "Call-ID: c1\n"
    "CSeq: 1 INVITE\n"
    "Content-Length: 0\n"
    "\n")

HEAD = 'listen=udp:127.0.0.1:5060\nloadmodule "sl"\nloadmodule "siputils"\n'


def run(body, raw=INVITE, pre=""):
    cfg = HEAD + pre + "request_route {\n" + body + "\n}\n"
    rt = Runtime(compile_text(cfg, "t.cfg"))
    ctx = rt.new_context(parse(raw), "192.0.2.10", 5060)
    rc = rt.run_request(ctx)
    return rt, ctx, rc


def run_reply(body, raw=REPLY, src=("192.0.2.20", 5060)):
    cfg = HEAD + "reply_route {\n" + body + "\n}\n"
    rt = Runtime(compile_text(cfg, "t.cfg"))
    ctx = rt.new_context(parse(raw), src[0], src[1])
    rc = rt.run_reply(ctx)
    return rt, ctx, rc


def cond(expr):
    return "if (%s) { $var(r) = 1; } else { $var(r) = -1; }\n" % expr


def r_of(expr, **kw):
    rt, _ctx, _rc = run(cond(expr), **kw)
    return rt.vars["r"]


def rc_of(expr, **kw):
    rt, _ctx, _rc = run("$var(rc) = %s;" % expr, **kw)
    return rt.vars["rc"]


def test_request_reply_totag():
    assert r_of("is_request()") == 1
    assert r_of("is_reply()") == -1
    assert r_of("has_totag()") == -1
    assert r_of("has_totag()", raw=IN_DIALOG) == 1
    rt, _ctx, _rc = run_reply(cond("is_reply()"))
    assert rt.vars["r"] == 1


def test_is_first_hop():
    assert r_of("is_first_hop()") == 1
    assert r_of("is_first_hop()", raw=IN_DIALOG) == -1
    rt, _ctx, _rc = run_reply(cond("is_first_hop()"))
    assert rt.vars["r"] == 1
    rt, _ctx, _rc = run_reply(cond("is_first_hop()"), src=("127.0.0.1", 5060))
    assert rt.vars["r"] == -1                       # a loop through ourselves


def test_uri_params():
    assert r_of('uri_param("lr")') == 1
    assert r_of('uri_param("transport")') == -1       # it has a value
    assert r_of('uri_param("transport", "udp")') == 1
    assert r_of('uri_param("transport", "UDP")') == -1
    assert r_of('uri_param_any("transport")') == 1
    rt, _ctx, _rc = run('get_uri_param("nat", "$var(n)");')
    assert rt.vars["n"] == "yes"
    assert r_of('get_uri_param("none", "$var(n)")') == -1
    rt, ctx, _rc = run('add_uri_param("x=1");\n$var(u) = $ru;')
    assert rt.vars["u"] == "sip:bob@example.com;transport=udp;lr;nat=yes;x=1?X-H=1"
    rt, ctx, _rc = run('uri_param_rm("lr");\n$var(u) = $ru;')
    assert rt.vars["u"] == "sip:bob@example.com;transport=udp;nat=yes?X-H=1"


def test_is_user_reads_the_credentials():
    assert r_of('is_user("alice")') == 1
    assert r_of('is_user("bob")') == -1
    assert r_of('is_user("alice")', raw=IN_DIALOG) == -1


def test_is_supported_and_gruu():
    assert r_of('is_supported("path")') == 1
    assert r_of('is_supported("gruu")') == 1           # in the compact k: header
    assert r_of('is_supported("timer")') == -1
    assert rc_of('is_gruu("sip:a@b;gr=urn:uuid:1")') == 1
    assert rc_of('is_gruu("sip:a@b;gr")') == 2
    assert r_of("is_gruu()") == -1


def test_number_checks():
    assert r_of('is_e164("$fU")') == 1
    assert r_of('is_e164("$tU")') == -1
    assert r_of('is_uri_user_e164("$fu")') == 1
    assert r_of('is_uri_user_e164("$tu")') == -1
    assert r_of('is_tel_number("+4930123")') == 1
    assert r_of('is_tel_number("+0123")') == -1
    assert r_of('is_tel_number("12a")') == -1
    assert r_of('is_numeric("0123")') == 1
    assert r_of('is_numeric("+0123")') == -1
    assert r_of('is_alphanum("abc123")') == 1
    assert r_of('is_alphanum("abc-123")') == -1
    assert r_of('is_alphanumex("abc-123", "-")') == 1
    assert r_of('is_uri("sip:a@b")') == 1
    assert r_of('is_uri("not a uri")') == -1


def test_cmp_uri_aor_hdr_name():
    assert r_of('cmp_uri("sip:bob@EXAMPLE.com;transport=udp", "sip:bob@example.com;transport=UDP")') == 1
    assert r_of('cmp_uri("sip:bob@example.com", "sip:Bob@example.com")') == -1
    assert r_of('cmp_aor("$rU@ExAmPlE.com", "sip:bob@example.com")') == 1
    assert r_of('cmp_aor("sip:bob@example.com:5070", "sip:bob@example.com")') == -1
    assert r_of('cmp_hdr_name("f", "From")') == 1
    assert r_of('cmp_hdr_name("To", "From")') == -1


def test_tel2sip():
    rt, _ctx, _rc = run('$var(rc) = tel2sip("tel:+(34)-999-888-777", "$fd", "$var(res)");')
    assert rt.vars["rc"] == 1 and rt.vars["res"] == "sip:+34999888777@example.org;user=phone"
    rt, _ctx, _rc = run('tel2sip("tel:+12-(34)-56-78;Ext=200;ISUB=+123-456", "foo.com", "$var(res)");')
    assert rt.vars["res"] == "sip:+12345678;ext=200;isub=+123-456@foo.com;user=phone"
    rt, _ctx, _rc = run('$var(rc) = tel2sip("$ru", "foo.com", "$var(res)");')
    assert rt.vars["rc"] == 2


def test_set_uri_user_and_host():
    rt, _ctx, _rc = run('$var(uri) = "sip:user@host;p=1";\nset_uri_user("$var(uri)", "new_user");\n'
                        'set_uri_host("$var(uri)", "new.host");')
    assert rt.vars["uri"] == "sip:new_user@new.host;p=1"
    rt, _ctx, _rc = run('set_uri_user("$ru", "carol");\n$var(u) = $ru;')
    assert rt.vars["u"].startswith("sip:carol@example.com;")


def test_options_reply():
    rt, _ctx, _rc = run("options_reply();", raw=OPTIONS,
                        pre='modparam("siputils", "options_support", "path")\n')
    data = rt.transport.sent[0][3].decode()
    assert data.startswith("SIP/2.0 200 OK\r\n")
    assert "\r\nAllow: INVITE, ACK, CANCEL, OPTIONS, BYE" in data
    assert "\r\nAccept: */*\r\n" in data and "\r\nAccept-Language: en\r\n" in data
    assert "\r\nSupported: path\r\n" in data
    assert r_of("options_reply()") == -1               # an INVITE
    rt, _ctx, _rc = run(cond("options_reply()"), raw=OPTIONS.replace(b"sip:127.0.0.1 SIP", b"sip:u@127.0.0.1 SIP"))
    assert rt.vars["r"] == -1 and not rt.transport.sent


def test_options_reply_needs_sl():
    with pytest.raises(ConfigErrors) as ei:
        compile_text('loadmodule "siputils"\nrequest_route { options_reply(); }\n', "t.cfg")
    assert "t.cfg:1:1: module 'siputils' needs module 'sl': load it first" in str(ei.value)


def test_startup_errors():
    with pytest.raises(ConfigErrors) as ei:
        run('  uri_param("a", "b", "c");')
    assert "t.cfg:5:3: function 'uri_param' takes 1 or 2 parameters, not 3" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        run("encode_contact(\"a\", \"b\");")
    assert "function 'encode_contact' of module siputils is not supported by kampy" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        run('is_e164("$nosuchpv");')
    assert "unknown pseudo-variable $nosuchpv" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        run('set_uri_user("$rm", "x");')
    assert "set_uri_user: pseudo-variable $rm is read-only" in str(ei.value)
