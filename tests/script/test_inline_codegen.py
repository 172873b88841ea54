# SPDX-License-Identifier: GPL-2.0-or-later
"""The compiler writes common reads, comparisons, arithmetic and calls
inline; whatever the value, the result must be what the generic operators
(kampy.script.runtime_ops, Kamailio's typing) give."""

import pytest

from kampy.runtime import Runtime
from kampy.script import runtime_ops as ops
from kampy.script.compiler import compile_text
from kampy.sip import parse

HEAD = """#!KAMAILIO
listen=udp:127.0.0.1:5060
loadmodule "xlog.so"
loadmodule "textops.so"
"""

MSG = (
    b"OPTIONS sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n"
    b"From: <sip:alice@example.com>;tag=f1\r\n"
    b"To: <sip:bob@example.com>\r\n"
    b"Call-ID: c1\r\n"
    b"CSeq: 1 OPTIONS\r\n"
    b"Content-Length: 0\r\n\r\n"
)

# values a $var, an $avp or a header may hold (None: $null, for the avp)
VALUES = [0, 1, 5, -3, 12, "5", "12", "abc", "", "0", " 7", True, None]
INT_LITS = [0, 5, 12, -3]
STR_LITS = ["5", "abc", "12"]
CMP = {"==": ops.eq, "!=": ops.ne, "<": ops.lt, ">": ops.gt, "<=": ops.le, ">=": ops.ge}


def lit(v):
    return repr(v).replace("'", '"') if isinstance(v, str) else str(v)


def compile_cases(cases):
    body = []
    for i, (expr, _expected) in enumerate(cases):
        body.append("if (%s) { $var(r%d) = 1; } else { $var(r%d) = 0; }" % (expr, i, i))
    script = compile_text(HEAD + "request_route {\n" + "\n".join(body) + "\n}\n", "t.cfg")
    return script


def run_with(script, value):
    rt = Runtime(script)
    ctx = rt.new_context(parse(MSG), "10.0.0.1", 5060)
    if value is not None:
        ctx.avps.add("a", value)
        rt.vars["v"] = value
    rt.run_request(ctx)
    return rt.vars


@pytest.mark.parametrize("value", VALUES)
def test_comparisons_with_literals(value):
    cases = []
    for op, fn in CMP.items():
        for k in INT_LITS:
            cases.append(("$avp(a) %s %s" % (op, lit(k)), fn(value, k)))
            if value is not None:
                cases.append(("$var(v) %s %s" % (op, lit(k)), fn(value, k)))
        if op in ("==", "!="):
            for s in STR_LITS:
                cases.append(("$avp(a) %s %s" % (op, lit(s)), fn(value, s)))
                if value is not None:
                    cases.append(("$var(v) %s %s" % (op, lit(s)), fn(value, s)))
    got = run_with(compile_cases(cases), value)
    for i, (expr, expected) in enumerate(cases):
        assert got["r%d" % i] == (1 if expected else 0), (expr, value)


@pytest.mark.parametrize("value", VALUES)
def test_arithmetic_and_concatenation(value):
    exprs = {
        "p": ("$avp(a) + 2", ops.add(value, 2)),
        "m": ("$avp(a) - 2", ops.sub(value, 2)),
        "t": ("$avp(a) * 3", ops.mul(value, 3)),
        "s": ('"x" + $avp(a)', "x" + ops.to_str(value)),
        "u": ('$rU + "@" + $avp(a)', "bob@" + ops.to_str(value)),
    }
    body = "\n".join("$var(%s) = %s;" % (k, e) for k, (e, _x) in exprs.items())
    script = compile_text(HEAD + "request_route {\n" + body + "\n}\n", "t.cfg")
    got = run_with(script, value)
    for k, (e, expected) in exprs.items():
        assert got[k] == expected, (e, value)


@pytest.mark.parametrize("value", ["bob", "", None, "alice"])
def test_string_pv_compared_with_literals(value):
    """$rU is a string or $null: compared without a type test."""
    msg = MSG if value is None else MSG.replace(b"sip:bob@example.com SIP", b"sip:%s@example.com SIP"
                                                % value.encode())
    if value is None:
        msg = MSG.replace(b"sip:bob@example.com SIP", b"sip:example.com SIP")
    cases = [('$rU == "bob"', ops.eq(value, "bob")), ('$rU != "bob"', ops.ne(value, "bob")),
             ("$rU == 5", ops.eq(value, 5)), ("$rU != 0", ops.ne(value, 0)),
             ('$rU =~ "^b"', value is not None and value.startswith("b"))]
    script = compile_cases(cases)
    rt = Runtime(script)
    rt.run_request(rt.new_context(parse(msg), "10.0.0.1", 5060))
    for i, (expr, expected) in enumerate(cases):
        assert rt.vars["r%d" % i] == (1 if expected else 0), (expr, value)


def test_var_and_avp_assignment_of_null():
    rt = Runtime(compile_text(HEAD + """request_route {
        $var(x) = 5; $var(x) = $avp(none);
        $avp(y) = 1; $avp(y) = 2; $avp(y) = $avp(none);
        $avp(z) = $rU; $avp(z) = $fU;
    }""", "t.cfg"))
    ctx = rt.new_context(parse(MSG), "10.0.0.1", 5060)
    rt.run_request(ctx)
    assert rt.vars["x"] == 0
    assert ctx.avps.all("y") == [1] and ctx.avps.all("z") == ["alice", "bob"]


@pytest.mark.parametrize("cond, expect, last", [
    ('is_method("OPTIONS")', 1, 1), ('is_method("INVITE")', 0, 1),
    ('!is_method("OPTIONS")', 0, 1), ('!is_method("INVITE")', 1, -1),
])
def test_function_call_conditions_set_rc(cond, expect, last):
    """$rc is the code of the last function called, negated or not."""
    rt = Runtime(compile_text(HEAD + """request_route {
        if (%s) { $var(r) = 1; } else if (is_method("OPTIONS")) { $var(r) = 0; $var(rc) = $rc; }
        $var(last) = $rc;
    }""" % cond, "t.cfg"))
    ctx = rt.new_context(parse(MSG), "10.0.0.1", 5060)
    rt.run_request(ctx)
    assert rt.vars["r"] == expect
    assert rt.vars["last"] == last


def test_call_condition_returning_zero_ends_the_route():
    rt = Runtime(compile_text(HEAD + """
    route[ZERO] { return 0; }
    request_route {
        if (route(ZERO)) { $var(a) = 1; }
        $var(after) = 1;
    }""", "t.cfg"))
    rc = rt.run_request(rt.new_context(parse(MSG), "10.0.0.1", 5060))
    assert rc == 0 and "after" not in rt.vars and "a" not in rt.vars


def test_format_strings_print_null_and_numbers_as_kamailio():
    rt = Runtime(compile_text(HEAD + r"""request_route {
        $var(n) = 7;
        append_hf("X-F: $avp(none) $var(n) $rU $fU\r\n");
    }""", "t.cfg"))
    ctx = rt.new_context(parse(MSG), "10.0.0.1", 5060)
    rt.run_request(ctx)
    assert b"X-F: <null> 7 bob alice\r\n" in ctx.msg.serialize()


def test_memo_of_ruri_values_follows_rewrites():
    rt = Runtime(compile_text(HEAD + """request_route {
        $var(a) = $rU; $rU = "carol"; $var(b) = $rU; $rd = "example.net"; $var(c) = $ru;
        $var(f) = $fU; $var(f2) = $fU;
    }""", "t.cfg"))
    rt.run_request(rt.new_context(parse(MSG), "10.0.0.1", 5060))
    v = rt.vars
    assert (v["a"], v["b"], v["c"]) == ("bob", "carol", "sip:carol@example.net")
    assert v["f"] == v["f2"] == "alice"
