# SPDX-License-Identifier: GPL-2.0-or-later
"""sanity_check() through compiled configs: the checks, the replies, autodrop."""

import pytest

from kampy.runtime import Runtime
from kampy.script.ast import ConfigErrors
from kampy.script.compiler import compile_text
from kampy.sip import parse


def msg(first="INVITE sip:bob@example.com SIP/2.0", headers=None, body="", cl=None, drop=()):
    hdrs = {
        "Via": "SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1",
        "From": "<sip:alice@example.org>;tag=1",
        "To": "<sip:bob@example.com>",
        "Call-ID": "c1",
        "CSeq": "1 INVITE",
    }
    lines = [first] + ["%s: %s" % (k, v) for k, v in hdrs.items() if k not in drop]
    lines += headers or []
    lines.append("Content-Length: %d" % (len(body) if cl is None else cl))
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


GOOD = msg()


def run(body="sanity_check();", raw=GOOD, pre="", after="$var(after) = 1;"):
    cfg = ('loadmodule "sl"\nloadmodule "sanity"\n' + pre
           + "request_route {\n" + body + "\n" + after + "\n}\n")
    rt = Runtime(compile_text(cfg, "t.cfg"))
    ctx = rt.new_context(parse(raw), "192.0.2.10", 5060)
    rc = rt.run_request(ctx)
    return rt, ctx, rc


def replied(rt):
    """The status line of the one reply sent, or None."""
    if not rt.transport.sent:
        return None
    assert len(rt.transport.sent) == 1
    return rt.transport.sent[0][3].split(b"\r\n", 1)[0].decode()


def check(raw, pre="", body="sanity_check();"):
    rt, _ctx, rc = run(body=body, raw=raw, pre=pre)
    return rc, rt.vars.get("after"), replied(rt)


def test_good_request_passes():
    rt, _ctx, rc = run("if (sanity_check()) { $var(ok) = 1; }")
    assert rt.vars == {"ok": 1, "after": 1} and rc == 1 and not rt.transport.sent
    rt, _ctx, _rc = run("if (sanity_check(\"16383\", \"15\")) { $var(ok) = 1; }",
                        raw=msg(headers=["Contact: <sip:alice@192.0.2.10>", "Expires: 60"]))
    assert rt.vars.get("ok") == 1


def test_ruri_version_505():
    rt = Runtime(compile_text('loadmodule "sl"\nloadmodule "sanity"\nrequest_route { sanity_check("1"); '
                              '$var(after) = 1; }\n', "t.cfg"))
    m = parse(GOOD)
    m.version = b"SIP/2.1"
    ctx = rt.new_context(m, "192.0.2.10", 5060)
    assert rt.run_request(ctx) == 0
    assert replied(rt) == "SIP/2.0 505 Version Not Supported (R-URI)"
    assert "after" not in rt.vars


def test_ruri_scheme():
    assert check(msg("INVITE http://example.com/x SIP/2.0"), body='sanity_check("2");') == (
        0, None, "SIP/2.0 416 Unsupported URI Scheme in Request URI")
    assert check(msg("INVITE tel:+123 SIP/2.0"), body='sanity_check("2");')[0] == 1
    assert check(msg("INVITE sip:[zz SIP/2.0"), body='sanity_check("2");') == (
        0, None, "SIP/2.0 400 Bad Request URI")


def test_required_headers_fail_without_reply():
    assert check(msg(drop=("Call-ID",)), body='sanity_check("4");') == (0, None, None)
    assert check(msg(headers=["To: <sip:x@y>"]), body='sanity_check("4");') == (0, None, None)


def test_cseq_checks():
    assert check(msg(headers=[]).replace(b"CSeq: 1 INVITE", b"CSeq: 1 BYE")) == (
        0, None, "SIP/2.0 400 CSeq method does not match request method")
    assert check(msg().replace(b"CSeq: 1 INVITE", b"CSeq: 99999999999 INVITE")) == (
        0, None, "SIP/2.0 400 CSeq number is illegal")
    assert check(msg().replace(b"CSeq: 1 INVITE", b"CSeq: INVITE"), body='sanity_check("64");') == (
        0, None, None)


def test_content_length_mismatch():
    raw = msg(body="hello", cl=2)
    assert check(raw) == (0, None, "SIP/2.0 400 Content-Length mis-match")
    assert check(msg(body="hello"))[0] == 1


def test_expires():
    assert check(msg(headers=["Expires: abc"])) == (0, None, "SIP/2.0 400 Bad Expires Header")
    assert check(msg(headers=["Expires: 99999999999"])) == (0, None, "SIP/2.0 400 Expires value is illegal")
    assert check(msg(headers=["Expires: 3600"]))[0] == 1


def test_proxy_require():
    rt, _ctx, rc = run(raw=msg(headers=["Proxy-Require: foo, bar"]),
                       pre='modparam("sanity", "proxy_require", "foo")\n')
    assert rc == 0 and replied(rt) == "SIP/2.0 420 Bad Proxy Require Extension"
    assert b"\r\nUnsupported: bar\r\n" in rt.transport.sent[0][3]
    assert check(msg(headers=["Proxy-Require: foo"]), pre='modparam("sanity", "proxy_require", "foo, baz")\n')[0] == 1


def test_parse_uris():
    bad_from = msg().replace(b"From: <sip:alice@example.org>", b"From: <sip:alice@[x>")
    assert check(bad_from, body='sanity_check("1024");') == (0, None, "SIP/2.0 400 Invalid From Header")
    bad_to = msg().replace(b"To: <sip:bob@example.com>", b"To: <sip:bob@[x>")
    assert check(bad_to, body='sanity_check("1024", "4");') == (0, None, "SIP/2.0 400 Ivalid To Header")
    assert check(bad_to, body='sanity_check("1024", "3");')[0] == 1
    bad_contact = msg(headers=["Contact: <sip:a@[x>"])
    assert check(bad_contact, body='sanity_check("1024", "8");') == (0, None, "SIP/2.0 400 Bad Contact URI")
    assert check(bad_contact, body='sanity_check("1024");')[0] == 1          # uri_checks 7


def test_digest_credentials():
    good = ('Authorization: Digest username="alice", realm="r", nonce="n", '
            'uri="sip:bob@example.com", response="abc"')
    assert check(msg(headers=[good]))[0] == 1
    assert check(msg(headers=[good.replace('username="alice"', 'username=""')])) == (
        0, None, "SIP/2.0 400 Auth Empty User")
    assert check(msg(headers=[good.replace('nonce="n"', 'nonce=""')])) == (
        0, None, "SIP/2.0 400 Auth Empty Nonce")
    assert check(msg(headers=[good.replace(', realm="r"', "")])) == (
        0, None, "SIP/2.0 400 Bad Auth Credentials")
    assert check(msg(headers=[good + ", qop=auth"])) == (0, None, "SIP/2.0 400 Bad Auth Credentials")
    basic = "Authorization: Basic YWxpY2U6c2VjcmV0"
    assert check(msg(headers=[basic])) == (0, None, None)                     # 2048: Digest only
    assert check(msg(headers=[basic]), body='sanity_check("8192");')[0] == 1   # 8192: others pass


def test_duplicate_tags():
    raw = msg().replace(b";tag=1", b";tag=1;tag=2")
    assert check(raw, body='sanity_check("4096");') == (0, None, "SIP/2.0 400 Many From Tag Params")
    assert check(raw)[0] == 1                   # not among the default checks


def test_autodrop_off_returns_false_and_still_replies():
    rt, _ctx, rc = run(body="if (!sanity_check()) { $var(failed) = 1; }",
                       raw=msg(headers=["Expires: abc"]), pre='modparam("sanity", "autodrop", 0)\n')
    assert rt.vars == {"failed": 1, "after": 1}
    assert replied(rt) == "SIP/2.0 400 Bad Expires Header"


def test_noreply_and_sanity_reply():
    pre = 'modparam("sanity", "noreply", 1)\nmodparam("sanity", "autodrop", 0)\n'
    rt, _ctx, _rc = run(body="if (!sanity_check()) { $var(failed) = 1; }",
                        raw=msg(headers=["Expires: abc"]), pre=pre)
    assert rt.vars["failed"] == 1 and not rt.transport.sent
    rt, _ctx, _rc = run(body="if (!sanity_check()) { sanity_reply(); exit; }",
                        raw=msg(headers=["Expires: abc"]), pre=pre)
    assert replied(rt) == "SIP/2.0 400 Bad Expires Header"
    rt, _ctx, _rc = run(body="sanity_reply();", pre=pre)
    assert replied(rt) == "SIP/2.0 500 Server Sanity Failure"


def test_ack_gets_no_reply():
    raw = msg("ACK sip:bob@example.com SIP/2.0", headers=["Expires: abc"]).replace(b"1 INVITE", b"1 ACK")
    assert check(raw) == (0, None, None)


def test_replies_are_checked_too():
    cfg = 'loadmodule "sl"\nloadmodule "sanity"\nreply_route { if (!sanity_check("128")) { $var(bad) = 1; } }\n'
    rt = Runtime(compile_text(cfg, "t.cfg"))
    raw = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n" \
          b"To: <sip:c@d>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\nxx"
    ctx = rt.new_context(parse(raw), "192.0.2.20", 5060)
    assert rt.run_reply(ctx) == 0 and not rt.transport.sent


def test_startup_errors():
    with pytest.raises(ConfigErrors) as ei:
        compile_text('loadmodule "sanity"\nrequest_route { sanity_check(); }\n', "t.cfg")
    assert "t.cfg:1:1: module 'sanity' needs module 'sl': load it first" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        run(body='  sanity_check("1", "2", "3");')
    assert "t.cfg:4:3: function 'sanity_check' takes 0 or 1 or 2 parameters, not 3" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        run(pre='modparam("sanity", "autodrop", "yes")\n')
    assert "t.cfg:3:1: modparam sanity.autodrop: parameter autodrop takes an integer" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        run(body='sanity_check("many");')
    assert "sanity_check: parameter must be an integer" in str(ei.value)
