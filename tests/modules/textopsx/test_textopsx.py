# SPDX-License-Identifier: GPL-2.0-or-later
"""textopsx through compiled configs run on parsed messages."""

import pytest

from kampy.runtime import Runtime
from kampy.script.ast import ConfigErrors
from kampy.script.compiler import compile_text
from kampy.sip import parse


def crlf(text):
    return text.replace("\n", "\r\n").encode()


INVITE = crlf(
    "INVITE sip:bob@example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\n"
    "From: <sip:alice@example.org>;tag=1\n"
    "To: <sip:bob@example.com>\n"
    "Call-ID: c1\n"
    "CSeq: 1 INVITE\n"
    "Max-Forwards: 70\n"
    "Supported: path, 100rel\n"
    "X-L: a;p=1, b\n"
    "X-L: c\n"
    "User-Agent: test\n"
    "Subject: hi\n"
    "Content-Type: text/plain\n"
    "Content-Length: 5\n"
    "\n"
    "hello")

REPLY = crlf(
    "SIP/2.0 603 Decline\n"
    "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\n"
    "From: <sip:alice@example.org>;tag=1\n"
    "To: <sip:bob@example.com>;tag=2\n"
    "Call-ID: c1\n"
    "CSeq: 1 INVITE\n"
    "Content-Length: 0\n"
    "\n")

MODS = ("textops", "textopsx")


def run(body, raw=INVITE):
    cfg = "".join('loadmodule "%s"\n' % m for m in MODS) + "request_route {\n" + body + "\n}\n"
    rt = Runtime(compile_text(cfg, "t.cfg"))
    ctx = rt.new_context(parse(raw), "192.0.2.10", 5060)
    rc = rt.run_request(ctx)
    return rt, ctx, rc


def run_reply(body, raw=REPLY):
    cfg = "".join('loadmodule "%s"\n' % m for m in MODS) + "reply_route {\n" + body + "\n}\n"
    rt = Runtime(compile_text(cfg, "t.cfg"))
    ctx = rt.new_context(parse(raw), "192.0.2.20", 5060)
    rc = rt.run_reply(ctx)
    return rt, ctx, rc


def cond(expr):
    return "if (%s) { $var(r) = 1; } else { $var(r) = -1; }\n" % expr


def out(ctx):
    return ctx.msg.serialize().decode()


def test_msg_apply_changes_makes_edits_visible():
    rt, ctx, _rc = run('append_hf("X-New: 1\\r\\n");\n'
                       + cond('is_present_hf("X-New")') + "$var(before) = $var(r);\n"
                       + cond("msg_apply_changes()") + "$var(applied) = $var(r);\n"
                       + cond('is_present_hf("X-New")') + "$var(hdr) = $hdr(X-New);")
    assert rt.vars["before"] == -1 and rt.vars["applied"] == 1 and rt.vars["r"] == 1
    assert rt.vars["hdr"] == "1"
    assert not ctx.msg.changed


def test_msg_apply_changes_then_regex_edits_use_the_new_text():
    _rt, ctx, _rc = run('replace("Subject: hi", "Subject: one");\nmsg_apply_changes();\n'
                        'replace("one", "two");')
    assert "Subject: two\r\n" in out(ctx)


def test_msg_set_buffer():
    other = INVITE.replace(b"sip:bob@example.com SIP", b"sip:carol@example.com SIP")
    rt, ctx, _rc = run('msg_set_buffer("%s");\n$var(u) = $rU;' % other.decode().replace("\r\n", "\\r\\n"))
    assert rt.vars["u"] == "carol"
    rt, ctx, _rc = run(cond('msg_set_buffer("%s")' % REPLY.decode().replace("\r\n", "\\r\\n")))
    assert rt.vars["r"] == -1


def test_change_reply_status():
    rt, ctx, _rc = run_reply('if (status == "603") { change_reply_status(404, "Not Found"); }')
    assert out(ctx).startswith("SIP/2.0 404 Not Found\r\n")
    rt, ctx, _rc = run_reply("change_reply_status_code(486);")
    assert out(ctx).startswith("SIP/2.0 486 Decline\r\n")
    rt, ctx, _rc = run_reply(cond('change_reply_status(200, "OK")'))
    assert rt.vars["r"] == -1                       # a failure cannot become a 2xx
    assert out(ctx).startswith("SIP/2.0 603 Decline")


def test_change_reply_status_only_in_reply_routes():
    with pytest.raises(ConfigErrors) as ei:
        run('change_reply_status(404, "Not Found");')
    assert "t.cfg:4:1: function 'change_reply_status' cannot be used in request_route" in str(ei.value)


def test_remove_body():
    _rt, ctx, _rc = run("remove_body();")
    text = out(ctx)
    assert text.endswith("Content-Length: 0\r\n\r\n")
    assert "Content-Type: text/plain" in text


def test_keep_hf():
    _rt, ctx, _rc = run('keep_hf("^User-Agent$");')
    text = out(ctx)
    assert "User-Agent: test" in text
    for gone in ("Supported", "X-L", "Subject"):
        assert gone not in text
    for kept in ("Via", "From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Type", "Content-Length"):
        assert kept + ":" in text
    _rt, ctx, _rc = run("keep_hf();")
    assert "User-Agent" not in out(ctx)


def test_fnmatch():
    rt, _ctx, _rc = run(cond('fnmatch("$rU", "b?b*")'))
    assert rt.vars["r"] == 1
    rt, _ctx, _rc = run(cond('fnmatch("$rU", "B*")'))
    assert rt.vars["r"] == -1
    rt, _ctx, _rc = run(cond('fnmatch("$rU", "B*", "i")'))
    assert rt.vars["r"] == 1


def test_append_and_insert_hf_value():
    _rt, ctx, _rc = run('append_hf_value("X-L[1]", "z");')
    assert "X-L: a;p=1, z, b\r\nX-L: c\r\n" in out(ctx)
    _rt, ctx, _rc = run('insert_hf_value("X-L[3]", "y");')
    assert "X-L: a;p=1, b\r\nX-L: y, c\r\n" in out(ctx)
    # a second call counts the values the first one left
    _rt, ctx, _rc = run('append_hf_value("X-L[1]", "z");\ninsert_hf_value("X-L[3]", "y");')
    assert "X-L: a;p=1, z, y, b\r\nX-L: c\r\n" in out(ctx)
    _rt, ctx, _rc = run('append_hf_value("X-N", "new");\ninsert_hf_value("X-L", "top");')
    text = out(ctx)
    assert text.split("\r\n\r\n")[0].endswith("X-N: new")
    assert "X-L: top\r\nX-L: a;p=1, b" in text
    _rt, ctx, _rc = run('append_hf_value("X-L[-1]", "last");')
    assert "X-L: c, last\r\n" in out(ctx)


def test_remove_hf_value():
    _rt, ctx, _rc = run('remove_hf_value("X-L");')
    assert "X-L: b\r\nX-L: c\r\n" in out(ctx)
    _rt, ctx, _rc = run('remove_hf_value("X-L[-1]");')
    assert "X-L: a;p=1, b\r\n" in out(ctx) and "X-L: c" not in out(ctx)
    _rt, ctx, _rc = run('remove_hf_value("X-L[*]");')
    assert "X-L" not in out(ctx)
    _rt, ctx, _rc = run('remove_hf_value("X-L[1].p");')
    assert "X-L: a, b\r\n" in out(ctx)
    rt, _ctx, _rc = run(cond('remove_hf_value("X-L[9]")'))
    assert rt.vars["r"] == -1


def test_assign_hf_value_and_value2():
    _rt, ctx, _rc = run('assign_hf_value("X-L[2]", "B");\nassign_hf_value("X-L[1].p", "2");')
    assert "X-L: a;p=2, B\r\n" in out(ctx)
    _rt, ctx, _rc = run('assign_hf_value("X-L[*].lr", "");')
    assert "X-L: a;p=1;lr, b;lr\r\nX-L: c;lr\r\n" in out(ctx)
    _rt, ctx, _rc = run('assign_hf_value2("Supported", "x");')
    assert "Supported: x\r\n" in out(ctx)
    _rt, ctx, _rc = run('remove_hf_value2("Supported");')
    assert "Supported" not in out(ctx)


def test_include_exclude_exists():
    rt, ctx, _rc = run('include_hf_value("Supported", "gruu");\ninclude_hf_value("Supported", "PATH");\n'
                       'exclude_hf_value("Supported", "100rel");\n'
                       + cond('hf_value_exists("Supported", "100rel")'))
    assert "Supported: path, gruu\r\n" in out(ctx)
    assert rt.vars["r"] == 1                        # reads see the message as received
    rt, _ctx, _rc = run(cond('hf_value_exists("supported", "timer")'))
    assert rt.vars["r"] == -1
    _rt, ctx, _rc = run('include_hf_value("Require", "100rel");')
    assert "Require: 100rel\r\n" in out(ctx)


def test_bad_header_field_spec_is_a_startup_error():
    with pytest.raises(ConfigErrors) as ei:
        run('  append_hf_value("X-L[0]", "x");')
    assert "t.cfg:4:19: append_hf_value: bad header field 'X-L[0]': the index counts from 1" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        run('append_hf_value("X-L.p", "x");')
    assert "a parameter is not allowed here" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        run('keep_hf("(");')
    assert "keep_hf: bad regular expression" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        run('hf_iterator_start("i");')
    assert "function 'hf_iterator_start' of module textopsx is not supported by kampy" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        run('fnmatch("a");')
    assert "function 'fnmatch' takes 2 or 3 parameters, not 1" in str(ei.value)
