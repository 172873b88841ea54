# SPDX-License-Identifier: GPL-2.0-or-later
"""The compiler: statements, operators, return codes, errors with positions."""

import pytest

from kampy.runtime import Runtime
from kampy.script.ast import ConfigErrors
from kampy.script.compiler import compile_text
from kampy.sip import parse

HEAD = """#!KAMAILIO
listen=udp:127.0.0.1:5060
alias=example.com
loadmodule "sl.so"
loadmodule "xlog.so"
loadmodule "maxfwd.so"
"""

INVITE = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport\r\n"
    b"From: \"Alice\" <sip:alice@atlanta.example.com>;tag=f1\r\n"
    b"To: <sip:bob@example.com>\r\n"
    b"Call-ID: c1@192.0.2.1\r\n"
    b"CSeq: 7 INVITE\r\n"
    b"Max-Forwards: 70\r\n"
    b"Contact: <sip:alice@192.0.2.1>\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def run(body, msg=INVITE, extra="", head=HEAD, src=("192.0.2.1", 5060)):
    script = compile_text(head + extra + "\nrequest_route {\n" + body + "\n}\n", "t.cfg")
    rt = Runtime(script)
    ctx = rt.new_context(parse(msg), *src)
    rc = rt.run_request(ctx)
    return rt, ctx, rc


def errors_of(text):
    with pytest.raises(ConfigErrors) as ei:
        compile_text(text, "bad.cfg")
    return [str(e) for e in ei.value.errors]


def test_assignments_and_arithmetic():
    rt, ctx, rc = run("""
        $var(a) = 7; $var(b) = $var(a) * 3 - 1; $var(c) = $var(b) / 4; $var(d) = $var(b) % 4;
        $var(e) = (1 + 2) * 3; $var(f) = 1 + 2 * 3; $var(g) = -5 / 2; $var(h) = 6 | 1; $var(i) = 6 & 3;
        $var(j) = 6 ^ 3; $var(k) = 1 << 4; $var(l) = 256 >> 2; $var(m) = ~0;
        $var(s) = "x" + 1; $var(t) = 1 + "2"; $var(u) = "a" + "b" + $var(a);
    """)
    v = rt.vars
    assert (v["a"], v["b"], v["c"], v["d"]) == (7, 20, 5, 0)
    assert (v["e"], v["f"], v["g"]) == (9, 7, -2)
    assert (v["h"], v["i"], v["j"], v["k"], v["l"], v["m"]) == (7, 2, 5, 16, 64, -1)
    assert v["s"] == "x1" and v["t"] == 3 and v["u"] == "ab7"


def test_comparisons_follow_left_operand_type():
    rt, ctx, rc = run("""
        $var(r) = "";
        if ($avp(n) == $null && $var(n) == 0) $var(r) = $var(r) + "a";
        $var(n) = 5;
        if ($var(n) == "5") $var(r) = $var(r) + "b";
        if ($var(n) < 10 && $var(n) >= 5) $var(r) = $var(r) + "c";
        $var(s) = "10";
        if ($var(s) < "9") $var(r) = $var(r) + "d";
        if ($rU == "bob") $var(r) = $var(r) + "e";
        if ($rU != "bob") $var(r) = $var(r) + "X";
        if ($rU eq "bob" && 5 ieq "5") $var(r) = $var(r) + "f";
        if (!($rU == "x") || $var(zz) == 1) $var(r) = $var(r) + "g";
        if (defined $hdr(Contact) && !defined $hdr(X-None)) $var(r) = $var(r) + "h";
        if (strlen($rU) == 3 && strempty($hdr(X-None))) $var(r) = $var(r) + "i";
        if ($var(n)) $var(r) = $var(r) + "j";
    """)
    assert rt.vars["r"] == "abcdefghij"


def test_regex_match_is_case_insensitive_posix():
    rt, ctx, rc = run("""
        $var(r) = "";
        if ($rU =~ "^B[[:alpha:]]+$") $var(r) = $var(r) + "a";
        if ($ci !~ "^c[0-9]@") $var(r) = $var(r) + "X";
        if ($fu =~ "alice@atlanta") $var(r) = $var(r) + "b";
        $var(p) = "^bo";
        if ($rU =~ $var(p)) $var(r) = $var(r) + "c";
        if (method =~ "^inv") $var(r) = $var(r) + "d";
        if ($rU =~ "\\d") $var(r) = $var(r) + "Y";
    """)
    assert rt.vars["r"] == "abcd"


def test_keywords():
    rt, ctx, rc = run("""
        $var(r) = "";
        if (method == "invite") $var(r) = $var(r) + "a";
        if (uri == myself) $var(r) = $var(r) + "b";
        if (from_uri == myself) $var(r) = $var(r) + "X";
        if (src_ip == 192.0.2.0/24) $var(r) = $var(r) + "c";
        if (src_ip == 192.0.2.1 && src_port == 5060) $var(r) = $var(r) + "d";
        if (src_ip != 10.0.0.0/8) $var(r) = $var(r) + "e";
        if (proto == UDP && af == INET) $var(r) = $var(r) + "f";
        if (msg:len > 100) $var(r) = $var(r) + "g";
        if (dst_port == 5060 && dst_ip == 127.0.0.1) $var(r) = $var(r) + "h";
        if (uri =~ "^sip:bob@") $var(r) = $var(r) + "i";
        if ($fd == myself) $var(r) = $var(r) + "Y";
    """)
    assert rt.vars["r"] == "abcdefghi"


def test_if_else_chain_and_switch_fallthrough():
    rt, ctx, rc = run("""
        $var(r) = "";
        if ($rU == "x") { $var(r) = "x"; } else if ($rU == "bob") { $var(r) = "bob"; } else { $var(r) = "other"; }
        switch ($cs) {
            case 1: $var(s) = "one"; break;
            case 7: $var(s) = "seven";
            case 8: $var(s) = $var(s) + "+eight"; break;
            default: $var(s) = "default";
        }
        switch ($rU) {
            case "alice": $var(t) = "A"; break;
            default: $var(t) = "D";
        }
        switch ($rU) { case "none": $var(u) = 1; }
    """)
    assert rt.vars["r"] == "bob"
    assert rt.vars["s"] == "seven+eight"
    assert rt.vars["t"] == "D"
    assert "u" not in rt.vars


def test_while_and_break():
    rt, ctx, rc = run("""
        $var(i) = 0; $var(n) = 0;
        while ($var(i) < 10) {
            $var(i) = $var(i) + 1;
            if ($var(i) == 4) break;
            $var(n) = $var(n) + $var(i);
        }
        $var(k) = 0;
        while (1) { $var(k) = $var(k) + 1; }
    """)
    assert rt.vars["i"] == 4 and rt.vars["n"] == 6
    assert rt.vars["k"] == 100   # stopped by max_while_loops


def test_return_codes_routes_and_rc():
    extra = """
route[R1] { return 5; }
route[R2] { return -3; }
route[R3] { $var(x) = 1; }
route[STOP] { return 0; }
route[EXIT] { exit; }
"""
    rt, ctx, rc = run("""
        route(R1); $var(a) = $rc;
        route(R2); $var(b) = $retcode;
        if (route(R1)) $var(c) = "t";
        if (!route(R2)) $var(d) = "f";
        route(R3); $var(e) = $rc;
        route(STOP);
        $var(never) = 1;
    """, extra=extra)
    v = rt.vars
    assert (v["a"], v["b"], v["c"], v["d"], v["e"]) == (5, -3, "t", "f", 1)
    assert "never" not in v
    assert rc == 0


def test_exit_and_drop_stop_the_script():
    rt, ctx, rc = run('$var(a) = 1; exit; $var(b) = 1;')
    assert "b" not in rt.vars and not ctx.dropped
    rt, ctx, rc = run('drop; $var(b) = 1;')
    assert ctx.dropped and "b" not in rt.vars


def test_function_returning_zero_stops_and_failure_is_minus_one():
    extra = 'loadmodule "' + __file__.replace("test_compiler.py", "helper_mod.py") + '"\n'
    rt, ctx, rc = run("""
        $var(a) = boom();
        if (!boom()) $var(b) = "false";
        always_zero();
        $var(never) = 1;
    """, extra=extra)
    assert rt.vars["a"] == -1 and rt.vars["b"] == "false"
    assert "never" not in rt.vars


def test_format_strings_and_null():
    rt, ctx, rc = run("""
        $var(x) = $null;
        xlog("L_INFO", "user=$rU tag=$ft missing=$avp(nope)\\n");
        sl_send_reply("404", "No $rU here <$avp(nope)>");
    """)
    data = rt.transport.sent[0][3]
    assert data.startswith(b"SIP/2.0 404 No bob here <<null>>\r\n")


def test_avp_and_flags_and_defines():
    rt, ctx, rc = run("""
        $avp(x) = 1; $avp(x) = 2; $avp(s:y) = "a";
        $var(n) = $avp(x); $var(m) = $(avp(x)[1]);
        setflag(FLT); if (isflagset(FLT)) $var(f) = 1;
        resetflag(FLT); if (!isflagset(FLT)) $var(g) = 1;
        setbflag(2); if (isbflagset(2)) $var(h) = 1;
        $var(d) = $def(NAME);
    """, extra='#!define FLT 5\n#!define NAME "dval"\n')
    v = rt.vars
    assert (v["n"], v["m"], v["f"], v["g"], v["h"], v["d"]) == (2, 1, 1, 1, 1, "dval")
    assert ctx.avps.all("y") == ["a"]


def test_forward_stateless_adds_via_and_received():
    rt, ctx, rc = run('$du = "sip:198.51.100.7:5080"; forward();')
    sock, ip, port, data = rt.transport.sent[0]
    assert (ip, port) == ("198.51.100.7", 5080)
    m = parse(data)
    assert m.vias[0].host == b"127.0.0.1" and m.vias[0].port == 5060
    assert m.vias[0].branch.startswith(b"z9hG4bK")
    assert m.vias[1].params.endswith(b";rport=5060;received=192.0.2.1") or m.vias[1].received is None
    assert m.ruri == b"sip:bob@example.com"


def test_ruri_rewrites():
    rt, ctx, rc = run("""
        $rU = "carol"; $rd = "chicago.example.com"; $rp = 5070;
        prefix("00"); strip(1);
    """)
    assert ctx.msg.ruri == b"sip:0carol@chicago.example.com:5070"
    assert ctx.msg.serialize().startswith(b"INVITE sip:0carol@chicago.example.com:5070 SIP/2.0\r\n")


# --- errors -------------------------------------------------------------------------------

def test_every_error_is_reported_with_position():
    errs = errors_of(HEAD + """
foo_param = 1
loadmodule "nosuchmodule.so"
modparam("sl", "nosuchparam", 1)
modparam("maxfwd", "max_limit", "abc")
request_route {
    nosuchfunction();
    sl_send_reply("1");
    $nosuchpv = 1;
    $ci = "x";
    route(MISSING);
    if ($rU =~ "([a-z") { exit; }
    $var(x) = $(rU{no.such});
    mf_process_maxfwd_header("abc");
}
""")
    text = "\n".join(errs)
    assert "bad.cfg:8:1: unknown core parameter 'foo_param'" in text
    assert "bad.cfg:9:1: module 'nosuchmodule' not found" in text
    assert "bad.cfg:10:1: module 'sl' has no parameter 'nosuchparam'" in text
    assert "bad.cfg:11:1: modparam maxfwd.max_limit:" in text
    assert "bad.cfg:13:5: unknown function 'nosuchfunction'" in text
    assert "bad.cfg:14:5: function 'sl_send_reply' takes 2 parameters, not 1" in text
    assert "bad.cfg:15:5: unknown pseudo-variable $nosuchpv" in text
    assert "bad.cfg:16:5: cannot assign to read-only pseudo-variable $ci" in text
    assert "bad.cfg:17:11: route 'MISSING' is not defined" in text
    assert "bad.cfg:18:" in text and "bad regular expression" in text
    assert "unknown transformation {no.such}" in text
    assert "bad.cfg:20:30: mf_process_maxfwd_header: parameter must be an integer" in text
    assert len(errs) == 12


def test_function_not_allowed_in_route_type():
    errs = errors_of(HEAD + """
request_route { route(R); }
route[R] { xlog("x"); mf_process_maxfwd_header("10"); }
onreply_route[REPLY] { route(R); }
""")
    assert any("bad.cfg:9:23: function 'mf_process_maxfwd_header' cannot be used in onreply_route" in e
               for e in errs), errs


def test_kamailio_module_folder_on_mpath_is_fine(tmp_path):
    (tmp_path / "sl.so").write_bytes(b"\x7fELF")
    script = compile_text('mpath="%s"\nloadmodule "sl.so"\nrequest_route { sl_send_reply("200","OK"); }\n'
                          % tmp_path, "t.cfg")
    assert "sl" in script.modules


def test_user_module_on_mpath(tmp_path):
    (tmp_path / "mymod.py").write_text(
        "from kampy.module import Module, Func, Fmt\n"
        "def hello(ctx, who: Fmt) -> int:\n"
        "    ctx.rt.vars['hello'] = who\n"
        "    return 1\n"
        "exports = Module(name='mymod', functions=[Func('hello', hello)])\n")
    script = compile_text('mpath="%s"\nloadmodule "mymod.so"\nrequest_route { hello("$rU"); }\n' % tmp_path, "t.cfg")
    rt = Runtime(script)
    rt.run_request(rt.new_context(parse(INVITE)))
    assert rt.vars["hello"] == "bob"


def test_dump_compiled_source_has_config_lines():
    script = compile_text(HEAD + 'request_route {\n  xlog("hi");\n}\n', "t.cfg")
    assert "# t.cfg:8" in script.source
    assert "def _route_request_main(ctx):" in script.source


def test_branch_flags_take_flag_then_branch():
    rt, ctx, rc = run("""
        append_branch("sip:x@example.com");
        setbflag(3, 1); if (isbflagset(3, 1)) $var(a) = 1;
        if (!isbflagset(3, 0)) $var(b) = 1;
        resetbflag(3, 1); if (!isbflagset(3, 1)) $var(c) = 1;
    """)
    assert (rt.vars.get("a"), rt.vars.get("b"), rt.vars.get("c")) == (1, 1, 1)


def test_reply_body_from_set_reply_body():
    rt, ctx, rc = run('set_reply_body("busy now", "text/plain"); sl_send_reply("486", "Busy");',
                      extra='loadmodule "textops.so"\n')
    m = parse(rt.transport.sent[0][3])
    assert m.status == 486 and m.body == b"busy now" and m.content_type.mime == "text/plain"


def test_colon_assign_and_casts():
    rt, ctx, rc = run("""
        $var(a) := "12"; $var(b) = (int)$var(a) + 1; $var(c) = (str)5 + "x";
        $var(d) = (int)"abc";
    """)
    assert (rt.vars["a"], rt.vars["b"], rt.vars["c"], rt.vars["d"]) == ("12", 13, "5x", 0)


def test_status_keyword_in_reply_route():
    reply = (b"SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\r\n"
             b"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: r1\r\nCSeq: 1 INVITE\r\n"
             b"Content-Length: 0\r\n\r\n")
    script = compile_text(HEAD + """
request_route { exit; }
reply_route {
    if (status == "486") $var(a) = 1;
    if (status =~ "^4") $var(b) = 1;
    if (status >= 400 && status < 500) $var(c) = 1;
    if ($rs == 486 && $rr == "Busy Here") $var(d) = 1;
    drop;
}
""", "t.cfg")
    rt = Runtime(script)
    ctx = rt.new_context(parse(reply))
    rt.run_reply(ctx)
    assert all(rt.vars.get(k) == 1 for k in "abcd") and ctx.dropped


def test_module_dependencies_and_api(tmp_path):
    (tmp_path / "provider.py").write_text(
        "from kampy.module import Module\n"
        "class Api:\n"
        "    def __init__(self, rt): self.rt = rt\n"
        "    def hello(self): return 'hi'\n"
        "exports = Module(name='provider', api=Api)\n")
    (tmp_path / "consumer.py").write_text(
        "from kampy.module import Module, Func\n"
        "def use(ctx) -> int:\n"
        "    ctx.rt.vars['got'] = ctx.rt.api('provider').hello()\n"
        "    return 1\n"
        "exports = Module(name='consumer', depends=['provider'], functions=[Func('use', use)])\n")
    errs = errors_of('mpath="%s"\nloadmodule "consumer"\nrequest_route { use(); }\n' % tmp_path)
    assert errs == ["bad.cfg:2:1: module 'consumer' needs module 'provider': load it first"]
    script = compile_text('mpath="%s"\nloadmodule "provider"\nloadmodule "consumer"\n'
                          'request_route { use(); }\n' % tmp_path, "t.cfg")
    rt = Runtime(script)
    rt.run_request(rt.new_context(parse(INVITE)))
    assert rt.vars["got"] == "hi"


def test_log_call_above_debug_is_not_run_but_rc_is_one():
    rt, ctx, rc = run('xdbg("$var(x)"); $var(r) = $rc; xlog("L_DBG", "x"); $var(s) = $rc;',
                      head=HEAD.replace("#!KAMAILIO\n", "#!KAMAILIO\ndebug=0\n"))
    assert rt.vars["r"] == 1 and rt.vars["s"] == 1


def test_core_param_forms():
    from kampy.script.compiler import compile_text as ct
    s = ct('listen=udp:127.0.0.1:5070 advertise 203.0.113.5:5080 name "pub"\n'
           'listen=udp:[::1]:5071\nlisten=127.0.0.2\nalias=example.com:5060\nalias="b.example.com"\n'
           'debug=L_INFO\nlog_stderror=yes\nchildren=4\nrequest_route { exit; }\n', "t.cfg")
    socks = [(x.ip, x.port, x.advertise_host, x.advertise_port, x.name) for x in s.sockets]
    assert socks == [("127.0.0.1", 5070, "203.0.113.5", 5080, "pub"), ("::1", 5071, None, None, None),
                     ("127.0.0.2", 5060, None, None, None)]
    assert s.aliases == [("example.com", 5060), ("b.example.com", None)]
    assert s.core_params["debug"] == 2 and s.core_params["log_stderror"] is True
    assert s.core_params["children"] == 4
    errs = errors_of('children=many\nlog_stderror=perhaps\nlisten=tcp:1.2.3.4:5060\nrequest_route { exit; }\n')
    assert errs[0] == "bad.cfg:1:1: core parameter 'children' expects a number, not 'many'"
    assert errs[1].startswith("bad.cfg:2:1: core parameter 'log_stderror' expects yes/no")
    assert errs[2] == "bad.cfg:3:1: listen: kampy serves UDP only, not tcp"


def test_word_operators_and_forward_host_port():
    rt, ctx, rc = run("""
        if ($rU == "bob" and not ($rU == "x")) $var(a) = 1;
        if (not ($rU == "x") or $rU == "y") $var(b) = 1;
        forward("198.51.100.9", 5090);
    """)
    assert rt.vars.get("a") == 1 and rt.vars.get("b") == 1
    assert rt.transport.sent[0][1:3] == ("198.51.100.9", 5090)


def test_computed_counters(tmp_path):
    (tmp_path / "cmod.py").write_text(
        "from kampy.module import Module, Counter\n"
        "exports = Module(name='cmod', counters=[Counter('cmod', 'answer', fn=lambda rt: 42),\n"
        "                                       Counter('cmod', 'plain')])\n")
    script = compile_text('mpath="%s"\nloadmodule "cmod"\nrequest_route { exit; }\n' % tmp_path, "t.cfg")
    rt = Runtime(script)
    rt.count("cmod:plain", 3)
    assert rt.counters.get("cmod:answer") == 42 and rt.counters.get("cmod:plain") == 3
    assert rt.counters.get_all()["cmod:answer"] == 42
    assert "cmod:answer" in rt.counters.names()


def test_force_send_socket_takes_a_bare_socket():
    script = compile_text('listen=udp:127.0.0.1:5060\nlisten=udp:127.0.0.2:5062\n'
                          'request_route { force_send_socket(udp:127.0.0.2:5062); $var(s) = $fs; }\n', "t.cfg")
    rt = Runtime(script)
    ctx = rt.new_context(parse(INVITE))
    rt.run_request(ctx)
    assert rt.vars["s"] == "udp:127.0.0.2:5062" and ctx.send_socket.ip == "127.0.0.2"
