# SPDX-License-Identifier: GPL-2.0-or-later
"""textops through compiled configs run on parsed messages."""

import re

import pytest

from kampy.runtime import Runtime
from kampy.script.ast import ConfigErrors
from kampy.script.compiler import compile_text
from kampy.sip import parse


def crlf(text):
    return text.replace("\n", "\r\n").encode()


SDP = crlf("v=0\no=alice 1 1 IN IP4 192.0.2.10\ns=-\nc=IN IP4 192.0.2.10\nm=audio 4000 RTP/AVP 0\n")

INVITE = crlf(
    "INVITE sip:bob@example.com;transport=udp SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776\n"
    "Max-Forwards: 70\n"
    "f: Alice <sip:alice@example.org>;tag=1928\n"
    "To: Bob <sip:bob@example.com>\n"
    "Call-ID: a84b4c76e66710@pc33\n"
    "CSeq: 314159 INVITE\n"
    "Contact: <sip:alice@192.0.2.10>\n"
    "P-Foo: one\n"
    "P-Keep-Bar: two\n"
    "X-Multi: a\n"
    "X-Multi: b\n"
    "Privacy: id;header\n"
    "User-Agent: test/1.0\n"
    "Content-Type: application/sdp\n"
    "Content-Length: %d\n"
    "\n" % len(SDP)) + SDP

REPLY = crlf(
    "SIP/2.0 200 OK\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776\n"
    "From: <sip:alice@example.org>;tag=1928\n"
    "To: <sip:bob@example.com>;tag=99\n"
    "Call-ID: a84b4c76e66710@pc33\n"
    "CSeq: 314159 INVITE\n"
    "Content-Length: 0\n"
    "\n")

MULTI_BODY = crlf(
    "--xyz\n"
    "Content-Type: application/sdp\n"
    "\n"
    "v=0\n"
    "--xyz\n"
    "Content-Type: application/isup\n"
    "Content-Disposition: signal;handling=optional\n"
    "\n"
    "ISUPDATA\n"
    "--xyz--\n")

MULTI = crlf(
    "INVITE sip:bob@example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKm\n"
    "From: <sip:alice@example.org>;tag=1\n"
    "To: <sip:bob@example.com>\n"
    "Call-ID: m1\n"
    "CSeq: 1 INVITE\n"
    'Content-Type: multipart/mixed;boundary="xyz"\n'
    "Content-Length: %d\n"
    "\n" % len(MULTI_BODY)) + MULTI_BODY


def with_body(raw, body):
    """raw with a new body and the matching Content-Length."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    head = re.sub(rb"Content-Length: \d+", b"Content-Length: %d" % len(body), head)
    return head + b"\r\n\r\n" + body


def run(body, raw=INVITE, mods=("sl", "textops"), pre=""):
    cfg = "".join('loadmodule "%s"\n' % m for m in mods) + pre + "request_route {\n" + body + "\n}\n"
    rt = Runtime(compile_text(cfg, "t.cfg"))
    ctx = rt.new_context(parse(raw), "192.0.2.10", 5060)
    rc = rt.run_request(ctx)
    return rt, ctx, rc


def run_reply(body, raw=REPLY):
    cfg = 'loadmodule "textops"\nreply_route {\n' + body + "\n}\n"
    rt = Runtime(compile_text(cfg, "t.cfg"))
    ctx = rt.new_context(parse(raw), "192.0.2.20", 5060)
    rc = rt.run_reply(ctx)
    return rt, ctx, rc


def cond(expr):
    """A config line that stores expr's truth in $var(r)."""
    return "if (%s) { $var(r) = 1; } else { $var(r) = -1; }\n" % expr


def r_of(body, **kw):
    rt, _ctx, _rc = run(cond(body), **kw)
    return rt.vars["r"]


def out(ctx):
    return ctx.msg.serialize().decode()


def errors(body, mods=("sl", "textops"), pre=""):
    with pytest.raises(ConfigErrors) as ei:
        run(body, mods=mods, pre=pre)
    return str(ei.value)


# --- search ------------------------------------------------------------------------------

def test_search_is_case_insensitive_and_line_based():
    assert r_of('search("^user-agent: test")') == 1
    assert r_of('search("^Agent")') == -1
    assert r_of('search("P-Foo: one.*P-Keep")') == -1      # . does not cross lines


def test_search_body_and_hf():
    assert r_of('search_body("^m=audio")') == 1
    assert r_of('search_body("User-Agent")') == -1
    assert r_of('search_hf("X-Multi", "^b$", "a")') == 1
    assert r_of('search_hf("X-Multi", "^b$", "f")') == -1
    assert r_of('search_hf("X-Multi", "^b$", "l")') == 1
    assert r_of('search_hf("From", "alice@", "a")') == 1       # compact f: in the message


def test_search_str_with_variables():
    rt, _ctx, _rc = run('$var(re) = "transport=UDP";\n' + cond('search_str("$ru", "$var(re)")'))
    assert rt.vars["r"] == 1
    assert r_of('search_str("abc", "x")') == -1


def test_search_append_and_body():
    _rt, ctx, _rc = run('search_append("^X-Multi: a", "a");\nsearch_append_body("s=-", "session");')
    text = out(ctx)
    assert "X-Multi: aa\r\nX-Multi: b" in text
    assert "s=-session\r\n" in text


def test_search_append_at_line_boundaries():
    _rt, ctx, _rc = run('search_append("^INVITE [^ ]+ SIP/2.0\\r\\n", "X-Start: 1\\r\\n");\n'
                        'search_append("^Content-Length: [0-9]+\\r\\n", "X-End: 1\\r\\n");\n'
                        'set_body("abc", "text/plain");')
    text = out(ctx)
    assert text.startswith("INVITE sip:bob@example.com;transport=udp SIP/2.0\r\nX-Start: 1\r\nVia: ")
    assert text.endswith("Content-Length: 3\r\nX-End: 1\r\nContent-Type: text/plain\r\n\r\nabc")
    assert text.count("Content-Length") == 1


def test_repeated_insertions_keep_their_order():
    _rt, ctx, _rc = run('search_append("^INVITE [^ ]+ SIP/2.0\\r\\n", "X-1: 1\\r\\n");\n'
                        'replace("sip:bob@", "sip:carol@");\n'
                        'search_append("^INVITE [^ ]+ SIP/2.0\\r\\n", "X-2: 2\\r\\n");\n'
                        'search_append("^P-Foo: one\\r\\n", "X-A: a\\r\\n");\n'
                        'search_append("^P-Foo: one\\r\\n", "X-B: b\\r\\n");')
    text = out(ctx)
    assert text.startswith("INVITE sip:carol@example.com;transport=udp SIP/2.0\r\nX-1: 1\r\nX-2: 2\r\nVia:")
    assert "P-Foo: one\r\nX-A: a\r\nX-B: b\r\nP-Keep-Bar: two\r\n" in text


def test_edit_across_header_and_body_is_refused():
    rt, ctx, _rc = run(cond('search("^Content-Length: [0-9]+\\r\\n\\r\\nv=0")')
                       + "$var(found) = $var(r);\n"
                       + cond('replace("^Content-Length: [0-9]+\\r\\n\\r\\nv=0", "X")'))
    assert rt.vars["found"] == 1 and rt.vars["r"] == -1
    assert ctx.msg.serialize() == INVITE


# --- replace ------------------------------------------------------------------------------

def test_replace_first_and_all():
    _rt, ctx, _rc = run('replace("x-multi: [ab]", "X-Multi: z");')
    assert "X-Multi: z\r\nX-Multi: b\r\n" in out(ctx)
    _rt, ctx, _rc = run('replace_all("x-multi: [ab]", "X-Multi: z");')
    assert "X-Multi: z\r\nX-Multi: z\r\n" in out(ctx)


def test_replace_returns_false_without_match():
    assert r_of('replace("nothing-like-this", "x")') == -1


def test_replace_in_request_line_sets_the_ruri():
    rt, ctx, _rc = run('replace("sip:bob@example.com", "sip:carol@example.net");\n$var(ru) = $ru;')
    assert out(ctx).startswith("INVITE sip:carol@example.net;transport=udp SIP/2.0\r\n")


def test_replace_body_variants_and_content_length():
    _rt, ctx, _rc = run('replace_body("192\\.0\\.2\\.10", "198.51.100.7");')
    text = out(ctx)
    assert text.count("198.51.100.7") == 1
    new_body = text.split("\r\n\r\n", 1)[1]
    assert "Content-Length: %d\r\n" % len(new_body) in text
    for fn in ("replace_body_all", "replace_body_atonce"):
        _rt, ctx, _rc = run('%s("192\\.0\\.2\\.10", "198.51.100.7");' % fn)
        assert out(ctx).count("198.51.100.7") == 2
        assert "Via: SIP/2.0/UDP 192.0.2.10" in out(ctx)


def test_replace_hdrs_and_str_variants():
    _rt, ctx, _rc = run('replace_hdrs("192\\.0\\.2\\.10", "h");')
    assert "Via: SIP/2.0/UDP h:5060" in out(ctx) and "IN IP4 192.0.2.10" in out(ctx)
    _rt, ctx, _rc = run('replace_str("192.0.2.10", "h", "a");')
    assert "192.0.2.10" not in out(ctx)
    _rt, ctx, _rc = run('replace_body_str("192.0.2.10", "h", "f");')
    assert out(ctx).count("IN IP4 h") == 1
    _rt, ctx, _rc = run('replace_hdrs_str("X-Multi", "X-M", "a");')
    assert "X-M: a\r\nX-M: b" in out(ctx)


def test_edits_show_only_after_apply_changes():
    rt, ctx, _rc = run('replace("P-Foo: one", "P-Foo: two");\n'
                       + cond('search("P-Foo: two")')
                       + '$var(before) = $var(r);\nmsg_apply_changes();\n'
                       + cond('search("P-Foo: two")'),
                       mods=("textops", "textopsx"))
    assert rt.vars["before"] == -1 and rt.vars["r"] == 1


def test_two_edits_of_one_line_combine():
    _rt, ctx, _rc = run('replace("one", "1");\nreplace("P-Foo", "P-Bar");')
    assert "P-Bar: 1\r\n" in out(ctx)


def test_overlapping_edit_is_skipped():
    _rt, ctx, _rc = run('replace("P-Foo: one", "A: 1");\n' + cond('replace("Foo", "Baz")'))
    assert "A: 1\r\n" in out(ctx)


def test_replace_can_remove_a_whole_line():
    _rt, ctx, _rc = run('replace("P-Foo: one\\r\\n", "");')
    assert "P-Foo" not in out(ctx)
    assert "Contact: <sip:alice@192.0.2.10>\r\nP-Keep-Bar: two" in out(ctx)


def test_replace_can_add_lines():
    _rt, ctx, _rc = run('replace("P-Foo: one", "P-Foo: one\\r\\nP-New: x");')
    assert "P-Foo: one\r\nP-New: x\r\nP-Keep-Bar: two" in out(ctx)


def test_replace_leaving_a_line_without_name_fails():
    rt, ctx, _rc = run(cond('replace("^P-Foo:", "")'))
    assert rt.vars["r"] == -1
    assert ctx.msg.serialize() == INVITE


def test_replace_empty_match_is_an_error():
    assert r_of('replace_all("x*", "y")') == -1


# --- subst ----------------------------------------------------------------------------------

def test_subst_backrefs_flags_and_uri():
    _rt, ctx, _rc = run("subst('/^To:(.*)sip:[^@]*@[a-z.]+(.*)$/t:\\1\\u\\2/ig');")
    assert "t: Bob <sip:bob@example.com;transport=udp>\r\n" in out(ctx)


def test_subst_is_case_sensitive_by_default():
    assert r_of("subst('/^to:/t:/')") == -1
    assert r_of("subst('/^to:/t:/i')") == 1


def test_subst_with_variables_and_global():
    _rt, ctx, _rc = run('$var(n) = "N";\n' + "subst('/X-Multi: [ab]/X-Multi: $var(n)/g');")
    assert "X-Multi: N\r\nX-Multi: N\r\n" in out(ctx)


def test_subst_s_flag_crosses_lines():
    _rt, ctx, _rc = run("subst('/(P-Foo: one)(..)P-Keep-Bar: two/\\1\\2X-Joined: yes/s');")
    assert "P-Foo: one\r\nX-Joined: yes\r\n" in out(ctx)
    assert r_of("subst('/^(P-Foo: one)(..)P-Keep-Bar: two/x/')") == -1


def test_subst_uri_and_user():
    rt, ctx, _rc = run("subst_uri('/^sip:([a-z]+)@(.*)$/sip:+49\\1@\\2;orig=\\1/');\n$var(u) = $ru;")
    assert rt.vars["u"] == "sip:+49bob@example.com;transport=udp;orig=bob"
    rt, ctx, _rc = run("subst_user('/^(bo)b$/\\1bby/');\n$var(u) = $rU;")
    assert rt.vars["u"] == "bobby"
    assert r_of("subst_user('/^x$/y/')") == -1


def test_subst_body_and_hf():
    _rt, ctx, _rc = run("subst_body('/^o=alice /o=$fU /');")
    assert "o=alice 1 1 IN IP4" in out(ctx)
    _rt, ctx, _rc = run("subst_body('/^s=-(\\r)$/s=kampy\\1/');")
    assert "\r\ns=kampy\r\n" in out(ctx)
    assert r_of("subst_body('/^s=-$/s=kampy/')") == -1      # REG_NEWLINE: $ is before \n, not \r
    _rt, ctx, _rc = run('subst_hf("X-Multi", "/^([ab])$/\\1\\1/", "l");')
    assert "X-Multi: a\r\nX-Multi: bb\r\n" in out(ctx)
    _rt, ctx, _rc = run('subst_hf("X-Multi", "/^([ab])$/\\1\\1/", "a");')
    assert "X-Multi: aa\r\nX-Multi: bb\r\n" in out(ctx)


def test_subst_v_and_regex_substring():
    rt, _ctx, _rc = run('$var(x) = "a:test@b";\nsubst_v("$var(x)", "/:test@/:best@/", "$var(o)");')
    assert rt.vars["o"] == "a:best@b"
    rt, _ctx, _rc = run('regex_substring("___ abc123def ___ ghi456 ___", '
                        '"([a-z]*)([0-9]+)([a-z]*)", 1, 3, "$var(s)");')
    assert rt.vars["s"] == "abc"
    assert r_of('regex_substring("xyz", "([0-9]+)", 1, 2, "$var(s)")') == -1


# --- headers --------------------------------------------------------------------------------

def test_is_present_hf_forms():
    assert r_of('is_present_hf("From")') == 1          # written as "f:"
    assert r_of('is_present_hf("Route")') == -1
    rt, _ctx, _rc = run('$var(h) = "x-multi";\n' + cond('is_present_hf_pv("$var(h)")'))
    assert rt.vars["r"] == 1
    assert r_of('is_present_hf_re("^P-K")') == 1
    assert r_of('is_present_hf_re("^Q-")') == -1
    rt, _ctx, _rc = run('$var(p) = "^user";\n' + cond('is_present_hf_re_pv("$var(p)")'))
    assert rt.vars["r"] == 1


def test_remove_hf_counts():
    rt, ctx, _rc = run('$var(n) = remove_hf("X-Multi");\n$var(m) = remove_hf("Route");')
    assert rt.vars["n"] == 2 and rt.vars["m"] == -1
    assert "X-Multi" not in out(ctx)
    _rt, ctx, _rc = run('remove_hf("f");')
    assert "Alice" not in out(ctx)
    _rt, ctx, _rc = run('$var(h) = "User-Agent";\nremove_hf_pv("$var(h)");')
    assert "User-Agent" not in out(ctx)


def test_remove_hf_re_exp_idx_match():
    _rt, ctx, _rc = run('remove_hf_re("^P-");')
    assert "P-Foo" not in out(ctx) and "P-Keep" not in out(ctx)
    _rt, ctx, _rc = run('remove_hf_exp("^P-", "^P-Keep-");')
    assert "P-Foo" not in out(ctx) and "P-Keep-Bar" in out(ctx)
    _rt, ctx, _rc = run('$var(a) = "^p-"; $var(b) = "keep";\nremove_hf_exp_pv("$var(a)", "$var(b)");')
    assert "P-Foo" not in out(ctx) and "P-Keep-Bar" in out(ctx)
    _rt, ctx, _rc = run('$var(a) = "^X-";\nremove_hf_re_pv("$var(a)");')
    assert "X-Multi" not in out(ctx)
    _rt, ctx, _rc = run('remove_hf_idx("X-Multi", -1);')
    assert "X-Multi: a\r\n" in out(ctx) and "X-Multi: b" not in out(ctx)
    _rt, ctx, _rc = run('remove_hf_match("X-Multi", "eq", "a");')
    assert "X-Multi: a\r\n" not in out(ctx) and "X-Multi: b" in out(ctx)
    _rt, ctx, _rc = run('remove_hf_match("X-Multi", "re", "^[ab]$");')
    assert "X-Multi" not in out(ctx)
    assert r_of('remove_hf_idx("X-Multi", 5)') == -1


def test_removed_line_stays_removed_after_a_regex_edit():
    _rt, ctx, _rc = run('remove_hf("P-Foo");\nreplace("one", "1");')
    assert "P-Foo" not in out(ctx)


def test_append_and_insert_hf():
    _rt, ctx, _rc = run('append_hf("X-A: $rU\\r\\nX-B: 2\\r\\n");')
    assert out(ctx).split("\r\n\r\n")[0].endswith("X-A: bob\r\nX-B: 2")
    _rt, ctx, _rc = run('append_hf("X-After: 1\\r\\n", "X-Multi");')
    assert "X-Multi: b\r\nX-After: 1\r\n" in out(ctx)
    _rt, ctx, _rc = run('insert_hf("X-Top: 1\\r\\nX-Top2: 2\\r\\n");')
    assert out(ctx).startswith("INVITE sip:bob@example.com;transport=udp SIP/2.0\r\nX-Top: 1\r\nX-Top2: 2\r\nVia:")
    _rt, ctx, _rc = run('insert_hf("X-Before: 1\\r\\n", "Call-ID");')
    assert "X-Before: 1\r\nCall-ID:" in out(ctx)
    assert r_of('append_hf("no colon here\\r\\n")') == -1
    assert r_of('append_hf("X: y\\r\\n", "Route")') == -1


def test_append_urihf_and_time():
    _rt, ctx, _rc = run('$ru = "sip:x@y";\nappend_urihf("CC-Diversion: ", "\\r\\n");\nappend_time_to_request();')
    text = out(ctx)
    assert "CC-Diversion: sip:bob@example.com;transport=udp\r\n" in text
    assert re.search(r"\r\nDate: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n", text)


def test_append_to_reply_and_append_time_go_into_the_next_reply():
    rt, _ctx, _rc = run('append_to_reply("Retry-After: 120\\r\\n");\nappend_time();\n'
                        'sl_send_reply("503", "Try later");')
    data = rt.transport.sent[0][3].decode()
    assert data.startswith("SIP/2.0 503 Try later\r\n")
    assert "\r\nRetry-After: 120\r\n" in data and "\r\nDate: " in data


def test_is_method():
    assert r_of('is_method("INVITE")') == 1
    assert r_of('is_method("invite")') == 1
    assert r_of('is_method("BYE|REGISTER")') == -1
    assert r_of('is_method("OPTIONS|INVITE")') == 1
    rt, _ctx, _rc = run_reply(cond('is_method("INVITE")'))
    assert rt.vars["r"] == 1


# --- body ----------------------------------------------------------------------------------

def test_has_body():
    assert r_of("has_body()") == 1
    assert r_of('has_body("application/sdp")') == 1
    assert r_of('has_body("text/plain")') == -1
    rt, _ctx, _rc = run_reply(cond("has_body()"))
    assert rt.vars["r"] == -1
    assert r_of('has_body("application/isup")', raw=MULTI) == 1
    assert r_of('has_body("multipart/mixed")', raw=MULTI) == 1


def test_is_privacy_and_hold():
    assert r_of('is_privacy("id")') == 1
    assert r_of('is_privacy("user")') == -1
    rt, _ctx, _rc = run("$var(h) = is_audio_on_hold();")
    assert rt.vars["h"] == -1
    held = with_body(INVITE, SDP.replace(b"c=IN IP4 192.0.2.10", b"c=IN IP4 0.0.0.0"))
    rt, _ctx, _rc = run("$var(h) = is_audio_on_hold();", raw=held)
    assert rt.vars["h"] == 1
    raw2 = with_body(INVITE, SDP + b"a=sendonly\r\n")
    rt, _ctx, _rc = run("$var(h) = is_audio_on_hold();", raw=raw2)
    assert rt.vars["h"] == 2


def test_set_body_and_reply_body():
    _rt, ctx, _rc = run('set_body("hello $rU", "text/plain");')
    text = out(ctx)
    assert text.endswith("\r\n\r\nhello bob")
    assert "Content-Type: text/plain\r\n" in text and "Content-Length: 9\r\n" in text
    assert "application/sdp" not in text
    _rt, ctx, _rc = run('set_reply_body("busy", "text/plain");')
    assert ctx.data["reply_body"] == (b"busy", "text/plain")


def test_filter_body_and_parts():
    _rt, ctx, _rc = run('filter_body("application/sdp");', raw=MULTI)
    assert out(ctx).endswith("\r\n\r\nv=0")
    rt, _ctx, _rc = run('get_body_part("application/isup", "$var(p)");\n'
                        'get_body_part_raw("application/isup", "$var(raw)");', raw=MULTI)
    assert rt.vars["p"] == "ISUPDATA"
    assert rt.vars["raw"].startswith("--xyz\r\nContent-Type: application/isup\r\n")
    _rt, ctx, _rc = run('remove_body_part("application/isup");', raw=MULTI)
    assert "ISUPDATA" not in out(ctx) and "--xyz--" in out(ctx)
    assert r_of('filter_body("text/plain")', raw=MULTI) == -1


def test_append_body_part_converts_to_multipart():
    _rt, ctx, _rc = run('append_body_part("7e 0d", "application/vnd.x", "signal;handling=required");')
    text = out(ctx)
    assert 'Content-Type: multipart/mixed;boundary="unique-boundary-1"' in text
    body = text.split("\r\n\r\n", 1)[1]
    assert body.startswith("--unique-boundary-1\r\nContent-Type: application/sdp\r\n\r\nv=0")
    assert "Content-Type: application/vnd.x\r\nContent-Disposition: signal;handling=required\r\n\r\n7e 0d" in body
    assert body.endswith("--unique-boundary-1--\r\n")
    _rt, ctx, _rc = run('append_body_part_hex("6b 61 6d", "text/plain");', raw=MULTI)
    body = out(ctx).split("\r\n\r\n", 1)[1]
    assert "--xyz\r\nContent-Type: text/plain\r\n\r\nkam\r\n--xyz--" in body


# --- strings --------------------------------------------------------------------------------

def test_string_functions():
    rt, _ctx, _rc = run('$var(a) = cmp_str("$rU", "bob");\n$var(b) = cmp_str("a", "b");\n'
                        '$var(c) = cmp_istr("BOB", "$rU");\n')
    assert (rt.vars["a"], rt.vars["b"], rt.vars["c"]) == (1, -2, 1)
    assert r_of('starts_with("+358123", "+358")') == 1
    assert r_of('starts_with("123", "+358")') == -1
    assert r_of('ends_with("$rU", "ob")') == 1
    rt, _ctx, _rc = run('$var(p) = str_find("abcdef", "cd");\n$var(q) = str_ifind("ABCDEF", "cd");')
    assert (rt.vars["p"], rt.vars["q"]) == (3, 3)
    assert r_of('str_find("abc", "x")') == -1
    assert r_of('str_any_in("a;b", ";,")') == 1
    assert r_of('str_all_in("a;b", ";,")') == -1
    assert r_of('in_list("fi", "dk,fi,no", ",")') == 1
    assert r_of('in_list("f", "dk,fi,no", ",")') == -1
    assert r_of('in_list_prefix("final", "dk,fi,no", ",")') == 1


# --- startup errors ---------------------------------------------------------------------------

def test_bad_regex_is_a_startup_error_with_position():
    msg = errors('    search("a(");')
    assert msg.startswith("t.cfg:4:12: search: bad regular expression 'a('")


def test_wrong_argument_count():
    assert "t.cfg:4:5: function 'search' takes 1 parameter, not 2" in errors('    search("a", "b");')
    assert "function 'append_hf' takes 1 or 2 parameters, not 3" in errors('append_hf("a", "b", "c");')


def test_bad_subst_expression():
    assert "t.cfg:4:11: subst: bad substitution expression '/a/b'" in errors('    subst("/a/b");')
    assert "unknown flag 'x'" in errors("subst('/a/b/x');")
    assert "\\2 refers to a group the expression does not have" in errors("subst('/(a)/\\2/');")
    assert "subst_uri: bad substitution expression '/a(/b/'" in errors("subst_uri('/a(/b/');")


def test_other_startup_errors():
    assert "is_method: unknown method 'FOO'" in errors('is_method("INVITE|FOO");')
    assert "remove_hf: bad header name 'bad name'" in errors('remove_hf("bad name");')
    assert "in_list: the separator must be one character" in errors('in_list("a", "b", "xx");')
    assert ("function 'set_body_multipart' of module textops is not supported by kampy"
            in errors("set_body_multipart();"))


def test_route_type_is_checked():
    with pytest.raises(ConfigErrors) as ei:
        compile_text('loadmodule "textops"\nreply_route {\n  append_to_reply("X: 1\\r\\n");\n}\n', "t.cfg")
    assert "t.cfg:3:3: function 'append_to_reply' cannot be used in reply_route" in str(ei.value)
