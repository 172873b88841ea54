# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests for kampy.script.parser: the AST of Kamailio-style configs."""

import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kampy.script.ast import (Assign, BinOp, Break, Call, ConfigErrors, CoreParam,
                              Drop, Exit, ExprStmt, If, IntLit, Keyword, LoadModule,
                              ModParam, Pos, PVRef, Return, StrLit, Switch, UnOp, While)
from kampy.script.parser import parse_config, parse_config_text

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "parse_cfg")
FULL = os.path.join(FIX, "full.cfg")


def parse(text, defines=None):
    return parse_config_text(text, "t.cfg", defines)


def errs(text, defines=None):
    with pytest.raises(ConfigErrors) as ei:
        parse(text, defines)
    assert ei.value.errors
    return [str(e) for e in ei.value.errors]


def body(text):
    """The statements of a request_route holding `text`."""
    return parse("request_route {\n%s\n}" % text).routes[0].body


def show(e):
    """A compact, fully parenthesised rendering of an expression."""
    if isinstance(e, IntLit):
        return str(e.value)
    if isinstance(e, StrLit):
        return ("ip:%s" if e.quote == "ip" else '"%s"') % e.value
    if isinstance(e, PVRef):
        return e.spec.text
    if isinstance(e, Keyword):
        return "K:" + e.name
    if isinstance(e, BinOp):
        return "(%s %s %s)" % (show(e.left), e.op, show(e.right))
    if isinstance(e, UnOp):
        return "(%s %s)" % (e.op, show(e.operand))
    if isinstance(e, Call):
        return "%s(%s)" % (e.name, ", ".join(show(a) for a in e.args))
    raise AssertionError(e)


def ex(text):
    """The expression of `$x = text;`, rendered."""
    (stmt,) = body("$x = %s;" % text)
    assert isinstance(stmt, Assign)
    return show(stmt.value)


# -- the complete config ----------------------------------------------------------

def test_full_config():
    cfg = parse_config(FULL)
    params = {(p.name, str(p.value)): p for p in cfg.params}
    assert ("debug", "2") in params and params[("debug", "2")].value == 2
    assert params[("log_prefix", "{$mt $hdr(CSeq) $ci} ")].pos == Pos(FULL, 18, 1)
    listens = [p for p in cfg.params if p.name == "listen"]
    assert [(p.value, p.extra) for p in listens] == [
        ("udp:127.0.0.1:5060", {"advertise": "203.0.113.7:5060"}),
        ("tcp:127.0.0.1:5060", {}),
        ("udp:[::1]:5060", {"name": "v6"}),
    ]
    assert [m.name for m in cfg.loadmodules][:3] == ["tm.so", "sl.so", "rr.so"]
    assert "nathelper.so" in [m.name for m in cfg.loadmodules]
    mp = {(m.module, m.param): m.value for m in cfg.modparams}
    assert mp[("tm", "fr_timer")] == 30000
    assert mp[("usrloc", "db_url")] == "sqlite:///tmp/kampy.db"
    assert mp[("acc", "log_flag")] == 1 and mp[("x", "neg")] == -1 and mp[("x", "cat")] == "ab"
    kinds = [(r.kind, r.name) for r in cfg.routes]
    assert kinds == [
        ("request", None), ("route", "RELAY"), ("route", "REQINIT"), ("route", "WITHINDLG"),
        ("route", "NATDETECT"), ("route", "NATMANAGE"), ("branch", "MANAGE_BRANCH"),
        ("onreply", "MANAGE_REPLY"), ("failure", "MANAGE_FAILURE"), ("reply", None),
        ("event", "uac:reply"), ("event", "tm:local-request")]
    assert cfg.defines["WITH_NAT"] is None and cfg.defines["FLT_ACC"] == "1"
    assert cfg.defines["KAMPY"] is None
    req = cfg.routes[0]
    assert req.pos == Pos(FULL, 56, 1)
    first = req.body[0]
    assert isinstance(first, ExprStmt) and show(first.expr) == 'route("REQINIT")'
    assert first.pos == Pos(FULL, 58, 2)
    assert show(req.body[1].expr) == 'route("NATDETECT")'
    relay = cfg.routes[1].body
    t_on_failure = relay[2].then[0].then[0]
    assert show(t_on_failure.expr) == 't_on_failure("MANAGE_FAILURE")'
    withindlg = cfg.routes[3].body
    assert show(withindlg[0].cond) == "(! has_totag())"
    assert isinstance(withindlg[0].then[0], Return)
    chain = withindlg[1].then[0]
    assert isinstance(chain.orelse[0], If) and isinstance(chain.orelse[0].orelse[0], If)
    assert isinstance(chain.orelse[0].orelse[0].orelse[0], ExprStmt)
    reqinit = cfg.routes[2].body
    assert show(reqinit[2].cond) == '((is_method("OPTIONS") && (K:uri == K:myself)) && ($rU == $null))'
    assert show(reqinit[4].cond) == "(K:msg:len > 4096)"
    assert isinstance(reqinit[4].then[0], Drop)
    nm = cfg.routes[5].body
    assert show(nm[1].cond) == "(! (isflagset(5) || isbflagset(6)))"
    assert show(nm[2].value) == "1"


def test_sample_config_of_the_repo_parses():
    cfg = parse_config(os.path.join(HERE, "..", "..", "etc", "kampy.cfg"))
    assert cfg.routes and cfg.routes[0].kind == "request"


# -- top level ----------------------------------------------------------------------

def test_core_param_values():
    cfg = parse("debug=3\nfork = yes\nalias=\"sip.example.com\"\nmhomed=-1\n"
                "alias=example.com\nlisten=127.0.0.1\nlisten=[::1]\nport=5060;\n"
                "listen=udp:*:5060\nlisten=tcp:eth0:5060\n"
                "listen=udp:host-1.example.com:5060\ntm.fr_timer = 1000\n"
                "log_facility=LOG_LOCAL0\nx=$ci\n")
    got = [(p.name, p.value) for p in cfg.params]
    assert got == [
        ("debug", 3), ("fork", "yes"), ("alias", "sip.example.com"), ("mhomed", -1),
        ("alias", "example.com"), ("listen", "127.0.0.1"), ("listen", "[::1]"),
        ("port", 5060), ("listen", "udp:*:5060"), ("listen", "tcp:eth0:5060"),
        ("listen", "udp:host-1.example.com:5060"), ("tm.fr_timer", 1000),
        ("log_facility", "LOG_LOCAL0"), ("x", "$ci")]
    assert all(isinstance(p, CoreParam) for p in cfg.params)
    assert cfg.params[3].pos == Pos("t.cfg", 4, 1)


def test_listen_advertise_and_name():
    cfg = parse('listen=udp:10.0.0.1:5060 advertise 192.0.2.1:5080 name "pub"\n'
                "listen=tcp:[2001:db8::1]:5060 ADVERTISE example.com\n"
                'listen=10.0.0.2 name "n2"\n')
    assert [(p.value, p.extra) for p in cfg.params] == [
        ("udp:10.0.0.1:5060", {"advertise": "192.0.2.1:5080", "name": "pub"}),
        ("tcp:[2001:db8::1]:5060", {"advertise": "example.com"}),
        ("10.0.0.2", {"name": "n2"}),
    ]


def test_core_param_from_define():
    cfg = parse("#!define MYLISTEN udp:127.0.0.1:5070\nlisten=MYLISTEN advertise MYIP:5060\n",
                {"MYIP": "198.51.100.1"})
    assert (cfg.params[0].value, cfg.params[0].extra) == (
        "udp:127.0.0.1:5070", {"advertise": "198.51.100.1:5060"})


def test_core_param_errors():
    assert errs("debug=\nchildren=2") == ["t.cfg:1:6: missing value for 'debug'"]
    assert errs("debug={}") == ["t.cfg:1:6: missing value for 'debug'"]
    assert errs("listen=udp:1.2.3.4:5060 advertise\n") == [
        "t.cfg:1:25: missing address after 'advertise'"]
    assert errs("listen=1.2.3.4 name 5\n") == ["t.cfg:1:16: 'name' needs a quoted string"]
    assert errs("x = -\n") == ["t.cfg:1:5: bad value for 'x': '-'"]


def test_loadmodule_and_modparam():
    cfg = parse('loadmodule "sl.so"\nloadmodulex "/p/x.py";\n'
                'modparam("tm", "fr_timer", 1000)\nmodparam("m", "p", -5);\n'
                "modparam(\"m\", \"s\", 'a' \"b\")\n")
    assert [(m.name, m.pos.line) for m in cfg.loadmodules] == [("sl.so", 1), ("/p/x.py", 2)]
    assert all(isinstance(m, LoadModule) for m in cfg.loadmodules)
    assert [(m.module, m.param, m.value) for m in cfg.modparams] == [
        ("tm", "fr_timer", 1000), ("m", "p", -5), ("m", "s", "ab")]
    assert all(isinstance(m, ModParam) for m in cfg.modparams)
    assert cfg.modparams[1].pos == Pos("t.cfg", 4, 1)


def test_loadmodule_modparam_errors():
    assert errs("loadmodule sl") == ["t.cfg:1:12: loadmodule needs a quoted module name"]
    assert errs('modparam("a", b, 1)') == [
        "t.cfg:1:15: modparam needs a quoted parameter name, found 'b'"]
    assert errs('modparam("a", "b", x)') == [
        "t.cfg:1:20: modparam value must be an integer or a string, found 'x'"]
    assert errs('modparam("a", "b", 1') == [
        "t.cfg:1:21: expected ')' to close modparam, found end of file"]


def test_route_kinds_and_names():
    cfg = parse("""
request_route { }
route[A] { }
route[1] { }
route["my-route"] { }
failure_route[F] { }
branch_route[B] { }
onreply_route[R] { }
onreply_route { }
onsend_route { }
event_route[xhttp:request] { }
event_route[tm:local-request] { }
event_route[htable:mod-init.x] { }
""")
    assert [(r.kind, r.name) for r in cfg.routes] == [
        ("request", None), ("route", "A"), ("route", "1"), ("route", "my-route"),
        ("failure", "F"), ("branch", "B"), ("onreply", "R"), ("reply", None),
        ("onsend", None), ("event", "xhttp:request"), ("event", "tm:local-request"),
        ("event", "htable:mod-init.x")]
    assert cfg.routes[1].pos == Pos("t.cfg", 3, 1)
    assert [(r.kind, r.name) for r in parse("route { }\nreply_route { }").routes] == [
        ("request", None), ("reply", None)]


def test_route_errors():
    assert errs("route[A] { }\n\nroute[A] { }") == [
        "t.cfg:3:1: duplicate route[A], first defined at t.cfg:1:1"]
    assert errs("request_route { }\nroute { }") == [
        "t.cfg:2:1: duplicate route, first defined at t.cfg:1:1"]
    assert errs("route[1] { }\nroute[\"1\"] { }")[0].startswith("t.cfg:2:1: duplicate route[1]")
    assert errs("failure_route { }") == [
        "t.cfg:1:1: failure_route needs a name: failure_route[NAME]"]
    assert errs("request_route[X] { }") == ["t.cfg:1:1: request_route takes no name"]
    assert errs("route[] { }") == ["t.cfg:1:6: empty route name"]
    assert errs("route[A { }") == ["t.cfg:1:9: expected ']' to close the route name, found '{'"]
    assert errs("route[A] x") == ["t.cfg:1:10: expected '{' after route, found 'x'"]


def test_unknown_top_level_token():
    assert errs("debug=1\nfoo bar\nchildren=2\n42") == [
        "t.cfg:2:1: unexpected 'foo' at top level", "t.cfg:4:1: unexpected '42' at top level"]
    assert errs("}") == ["t.cfg:1:1: unexpected '}' at top level"]


def test_lexer_and_parser_errors_together():
    assert errs('#!bogus\nroute { x() }') == [
        "t.cfg:1:1: unknown preprocessor directive '#!bogus'",
        "t.cfg:2:13: missing ';' before '}'"]


# -- statements -------------------------------------------------------------------

def test_calls():
    b = body('t_relay;\nforce_rport();\nsl_send_reply("404", "Not here");\n'
             "setflag(-1);\nt_on_failure(MANAGE);\nf($var(x), 0x10, 'q');")
    assert [show(s.expr) for s in b] == [
        "t_relay()", "force_rport()", 'sl_send_reply("404", "Not here")', "setflag(-1)",
        't_on_failure("MANAGE")', "f($var(x), 16, \"q\")"]
    assert all(isinstance(s, ExprStmt) for s in b)
    assert b[2].pos == Pos("t.cfg", 4, 1)


def test_route_call_forms():
    b = body('route(A);\nroute(2);\nroute("x-y");\nroute(TLS);')
    assert [show(s.expr) for s in b] == ['route("A")', 'route("2")', 'route("x-y")', 'route("TLS")']
    assert all(isinstance(s.expr.args[0], StrLit) for s in b)
    assert errs("route { route(); }") == ["t.cfg:1:9: route() needs exactly one route name"]


def test_if_else_chains():
    b = body("if ($a) x(); else if ($b) { y(); z(); } else if ($c) w; else { v(); }\n"
             "if (1) { }")
    top = b[0]
    assert isinstance(top, If) and show(top.cond) == "$a" and show(top.then[0].expr) == "x()"
    e1 = top.orelse[0]
    assert len(top.orelse) == 1 and isinstance(e1, If) and len(e1.then) == 2
    e2 = e1.orelse[0]
    assert show(e2.cond) == "$c" and show(e2.orelse[0].expr) == "v()"
    assert b[1].then == [] and b[1].orelse is None
    assert top.pos == Pos("t.cfg", 2, 1) and e1.pos == Pos("t.cfg", 2, 19)


def test_if_single_statement_bodies():
    (s,) = body("if (a) $x = 1; else return;")
    assert isinstance(s.then[0], Assign) and isinstance(s.orelse[0], Return)
    (s,) = body("if (a) ;")
    assert s.then == []


def test_switch_with_fallthrough_and_default():
    (sw,) = body("""switch ($rU) {
    case "alice":
        x();
    case "bob":
        y();
        break;
    case 3:
    case -4:
        break;
    default:
        z();
}""")
    assert isinstance(sw, Switch) and show(sw.expr) == "$rU"
    vals = [None if c.value is None else c.value.value for c in sw.cases]
    assert vals == ["alice", "bob", 3, -4, None]
    assert [len(c.body) for c in sw.cases] == [1, 2, 0, 1, 1]
    assert isinstance(sw.cases[1].body[1], Break)
    assert sw.cases[0].pos == Pos("t.cfg", 3, 5)
    assert isinstance(sw.cases[0].value, StrLit) and isinstance(sw.cases[2].value, IntLit)


def test_switch_errors():
    assert errs("route { switch ($x) { case x: f(); default: g(); } }") == [
        "t.cfg:1:28: case needs an integer or a string, found 'x'"]
    assert errs("route { switch ($x) { f(); } }") == [
        "t.cfg:1:23: expected 'case' or 'default', found 'f'"]
    assert errs("route { switch ($x) { default: f(); default: g(); } }") == [
        "t.cfg:1:37: second 'default' in switch"]


def test_while_return_exit_drop_break():
    b = body("while ($i < 3) $i = $i + 1;\nwhile (1) { break; }\n"
             "return;\nreturn 1;\nreturn(-1);\nreturn $x + 1;\n"
             "exit;\nexit();\ndrop;\ndrop();\n;;\n{ a(); { b(); } }")
    assert isinstance(b[0], While) and isinstance(b[0].body[0], Assign)
    assert isinstance(b[1].body[0], Break)
    assert [show(s.value) if s.value else None for s in b[2:6]] == [None, "1", "-1", "($x + 1)"]
    assert [type(s) for s in b[6:10]] == [Exit, Exit, Drop, Drop]
    assert [show(s.expr) for s in b[10:]] == ["a()", "b()"]


def test_assignments():
    b = body('$var(x) = 1;\n$avp(s:y) := "a";\n$(avp(z)[*]) = $null;\n$du = $fu;')
    assert [(s.target.text, s.op, show(s.value)) for s in b] == [
        ("$var(x)", "=", "1"), ("$avp(s:y)", ":=", '"a"'), ("$(avp(z)[*])", "=", "$null"),
        ("$du", "=", "$fu")]
    assert b[1].pos == Pos("t.cfg", 3, 1)


def test_statement_errors():
    assert errs("route {\n  $x;\n}") == ["t.cfg:2:5: expected '=' or ':=' after '$x', found ';'"]
    assert errs("route { else x(); }") == ["t.cfg:1:9: unexpected 'else'"]
    assert errs("route { 5; }") == ["t.cfg:1:9: unexpected '5'"]
    assert errs("route { exit(1); }") == ["t.cfg:1:14: expected ')' after exit(, found '1'"]


# -- expressions --------------------------------------------------------------------

@pytest.mark.parametrize("src,tree", [
    ("1 + 2 * 3", "(1 + (2 * 3))"),
    ("1 * 2 + 3", "((1 * 2) + 3)"),
    ("1 - 2 - 3", "((1 - 2) - 3)"),
    ("8 / 4 % 3", "((8 / 4) % 3)"),
    ("$a == 1 || $b == 2 && !$c", "(($a == 1) || (($b == 2) && (! $c)))"),
    ("1 | 2 == 3", "(1 | (2 == 3))"),
    ("1 & 2 | 3 ^ 4", "((1 & 2) | (3 ^ 4))"),
    ("1 ^ 2 & 3", "((1 ^ 2) & 3)"),
    ("1 << 2 + 3", "(1 << (2 + 3))"),
    ("1 << 2 == 4", "(1 << (2 == 4))"),     # Kamailio's table, not C's
    ("1 < 2 == 3 > 4", "((1 < 2) == (3 > 4))"),
    ("$a =~ \"x\" && $b !~ 'y'", '(($a =~ "x") && ($b !~ "y"))'),
    ("$a eq \"x\" || $b ne 1", '(($a eq "x") || ($b ne 1))'),
    ("$a ieq \"X\" && $b ine \"y\"", '(($a ieq "X") && ($b ine "y"))'),
    ("$a and $b or $c", "(($a && $b) || $c)"),
    ("not $a", "(! $a)"),
    ("(1 + 2) * 3", "((1 + 2) * 3)"),
    ("-1", "-1"),
    ("- $x", "(- $x)"),
    ("-2 * 3", "(-2 * 3)"),
    ("1 - -2", "(1 - -2)"),
    ("~5 & 3", "((~ 5) & 3)"),
    ("!!$x", "(! (! $x))"),
    ("defined $avp(x) && $y", "((defined $avp(x)) && $y)"),
    ("(int)$var(s) + 1", "(((int) $var(s)) + 1)"),
    ("(str)5", "((str) 5)"),
    ("strlen($rU) > 3", "(strlen($rU) > 3)"),
    ("strempty($x)", "strempty($x)"),
    ("has_totag", "has_totag()"),
    ("is_method(\"INVITE\") && t_check_trans()", '(is_method("INVITE") && t_check_trans())'),
    ("src_ip == 10.0.0.0/8", "(K:src_ip == ip:10.0.0.0/8)"),
    ("dst_ip == [::1]", "(K:dst_ip == ip:[::1])"),
    ("proto == UDP || proto == tls", "((K:proto == K:UDP) || (K:proto == K:TLS))"),
    ("af == INET6", "(K:af == K:INET6)"),
    ("msg:len > 1500", "(K:msg:len > 1500)"),
    ("method == \"INVITE\" && status == \"200\"", '((K:method == "INVITE") && (K:status == "200"))'),
    ("uri == myself || from_uri == myself", "((K:uri == K:myself) || (K:from_uri == K:myself))"),
    ("src_port + dst_port + snd_port + to_port", "(((K:src_port + K:dst_port) + K:snd_port) + K:to_port)"),
    ("$(ru{uri.user}) + \"x\"", '($(ru{uri.user}) + "x")'),
    ("f(a, uri, 1 + 2)", 'f("a", K:uri, (1 + 2))'),
    ("0x10 + 1", "(16 + 1)"),
])
def test_expressions(src, tree):
    assert ex(src) == tree


def test_binop_pos_is_first_token():
    (s,) = body("$x = 1 +\n 2;")
    assert s.value.pos == Pos("t.cfg", 2, 6)
    (s,) = body("if (!$a) exit;")
    assert s.cond.pos == Pos("t.cfg", 2, 5)


def test_expression_errors():
    assert errs("route { $x = 1 +; }") == ["t.cfg:1:17: expected a value, found ';'"]
    assert errs("route { $x = (1 + 2; }") == [
        "t.cfg:1:20: expected ')' to close '(' at t.cfg:1:14, found ';'"]
    assert errs("route { if ($a == if) x(); }") == [
        "t.cfg:1:19: unexpected 'if' in an expression"]
    assert errs("route { f(1, ); }") == ["t.cfg:1:14: expected a value, found ')'"]


def test_deep_nesting_is_an_error_not_a_crash():
    e = errs("route { $x = " + "(" * 3000 + "1" + ")" * 3000 + "; }")
    assert "nested too deeply" in e[0]
    e = errs("route {" + " if (1) {" * 500 + " }" * 501)
    assert any("nested too deeply" in x for x in e)
    e = errs("route { $x = 1" + " + 1" * 1000 + "; }")
    assert "expression too long" in e[0]


# -- errors and recovery ------------------------------------------------------------

def test_missing_semicolon_points_at_next_token():
    assert errs("route {\n  x() y();\n}") == ["t.cfg:2:7: missing ';' before 'y'"]
    assert errs("route {\n  $x = 1\n  y();\n}") == ["t.cfg:3:3: missing ';' before 'y'"]
    assert errs("route { exit }") == ["t.cfg:1:14: missing ';' before '}'"]
    assert errs("route { return 1 }") == ["t.cfg:1:18: missing ';' before '}'"]


def test_missing_semicolon_on_a_line_keeps_parsing():
    e = errs("route {\n  a()\n  b()\n  c(;\n}")
    assert e == ["t.cfg:3:3: missing ';' before 'b'", "t.cfg:4:3: missing ';' before 'c'",
                 "t.cfg:4:5: expected a value, found ';'"]


def test_unbalanced_braces():
    assert errs("route {\n  if (a) {\n    x();\n") == [
        "t.cfg:4:1: missing '}' before end of file (block opened at t.cfg:2:10)",
        "t.cfg:4:1: missing '}' before end of file (block opened at t.cfg:1:7)"]
    assert errs("route {\n  x();\n}\n}\n") == ["t.cfg:4:1: unexpected '}' at top level"]


def test_missing_brace_before_next_route_recovers():
    e = errs("route[A] {\n  x();\n\nroute[B] {\n  y() z();\n}\n")
    assert e == ["t.cfg:4:1: missing '}' before 'route' (block opened at t.cfg:1:10)",
                 "t.cfg:5:7: missing ';' before 'z'"]


def test_two_errors_in_two_routes():
    text = """
route[ONE] {
    if ($x == ) { a(); }
    b();
}
route[TWO] {
    $y = 1 2;
    c();
}
onreply_route { d() e(); }
"""
    assert errs(text) == [
        "t.cfg:3:15: expected a value, found ')'",
        "t.cfg:7:12: missing ';' before '2'",
        "t.cfg:10:21: missing ';' before 'e'",
    ]


def test_recovery_keeps_later_top_level_items():
    with pytest.raises(ConfigErrors):
        parse("route[A] { x( }\nroute[A] { }")
    e = errs("route[A] { @ }\nmodparam(\"a\", \"b\", 1)\nroute[A] { }\n")
    assert e == ["t.cfg:1:12: unexpected character '@'",
                 "t.cfg:3:1: duplicate route[A], first defined at t.cfg:1:1"]


def test_parse_config_defines_argument(tmp_path):
    p = tmp_path / "k.cfg"
    p.write_text("#!ifdef WITH_DB\nmodparam(\"usrloc\", \"db_url\", DBURL)\n#!endif\n")
    cfg = parse_config(str(p), {"WITH_DB": None, "DBURL": '"sqlite:///tmp/x.db"'})
    assert cfg.modparams[0].value == "sqlite:///tmp/x.db"
    assert cfg.defines["DBURL"] == '"sqlite:///tmp/x.db"' and "WITH_DB" in cfg.defines
    assert parse_config(str(p)).modparams == []


def test_includes_through_the_parser():
    cfg = parse_config(os.path.join(FIX, "inc_main.cfg"))
    assert [(p.name, p.value) for p in cfg.params] == [("debug", 3), ("children", 1)]
    assert [(r.kind, r.name) for r in cfg.routes] == [("route", "FROM_INC"), ("request", None)]
    assert cfg.routes[0].pos.file == os.path.join(FIX, "inc", "routes.cfg")


# -- robustness -------------------------------------------------------------------

with open(FULL) as _f:
    _FULL_TEXT = _f.read()
_FULL_TOKENS = re.findall(r'"[^"\n]*"|[A-Za-z_0-9.$]+(?:\([^()\s]*\))?|\S|\n', _FULL_TEXT)


def _only_config_errors(text):
    try:
        parse_config_text(text, "fuzz.cfg")
    except ConfigErrors as e:
        assert e.errors
        for x in e.errors:
            assert x.pos is None or (x.pos.line >= 1 and x.pos.col >= 1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list('#!$(){}[];,:="\'\\/*-+<>|&^~.09ax_ \n\t@'))
               | st.characters(), max_size=300))
def test_random_text_raises_only_config_errors(text):
    _only_config_errors(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(_FULL_TOKENS) - 1),
                          st.integers(0, len(_FULL_TOKENS) - 1)), max_size=8),
       st.sets(st.integers(0, len(_FULL_TOKENS) - 1), max_size=5))
def test_shuffled_tokens_raise_only_config_errors(swaps, drops):
    t = list(_FULL_TOKENS)
    for a, b in swaps:
        t[a], t[b] = t[b], t[a]
    t = [x for k, x in enumerate(t) if k not in drops]
    _only_config_errors(" ".join(t))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(_FULL_TEXT)), st.sampled_from(
    ["", "{", "}", "(", ")", ";", '"', "/*", "#!else", "#!ifdef X", "$", "[", "=", "if"])),
    min_size=1, max_size=6))
def test_mutated_config_raises_only_config_errors(edits):
    text = _FULL_TEXT
    for at, ins in sorted(edits, reverse=True):
        text = text[:at] + ins + text[at + (1 if not ins else 0):]
    _only_config_errors(text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_FULL_TOKENS), max_size=80))
def test_random_token_sequences_raise_only_config_errors(tokens):
    _only_config_errors(" ".join(tokens))
