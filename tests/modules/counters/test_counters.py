# SPDX-License-Identifier: GPL-2.0-or-later
"""counters through compiled configs."""

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

DECL = ('modparam("counters", "script_counter", "foo")\n'
        'modparam("counters", "script_counter", "bar: number of bars")\n'
        'modparam("counters", "script_counter", "grp.baz counted by group")\n')


def script_counters(rt):
    return {k: v for k, v in rt.counters.get_all().items() if not k.startswith("core:")}


def start(body, pre=DECL):
    rt = Runtime(compile_text('loadmodule "counters"\n' + pre + "request_route {\n" + body + "\n}\n", "t.cfg"))
    rt.init_modules()
    return rt


def once(rt):
    return rt.run_request(rt.new_context(parse(INVITE), "192.0.2.10", 5060))


def test_declared_counters_start_at_zero():
    rt = start("$var(x) = 1;")
    assert script_counters(rt) == {"script:foo": 0, "script:bar": 0, "grp:baz": 0}


def test_inc_add_reset():
    rt = start('cnt_inc("foo");\ncnt_add("bar", 5);\n$var(n) = 3;\ncnt_add("script.bar", $var(n));\n'
               'cnt_inc("grp.baz");')
    once(rt)
    once(rt)
    assert script_counters(rt) == {"script:foo": 2, "script:bar": 16, "grp:baz": 2}
    rt2 = start('cnt_inc("foo");\ncnt_reset("foo");\ncnt_inc("sl.sent_replies");')
    once(rt2)
    assert rt2.counters.get("script:foo") == 0 and rt2.counters.get("sl:sent_replies") == 1


def test_script_group_name():
    rt = start('cnt_inc("foo");', pre='modparam("counters", "script_cnt_grp_name", "mine")\n'
                                      'modparam("counters", "script_counter", "foo")\n')
    once(rt)
    assert script_counters(rt) == {"mine:foo": 1}


def test_startup_errors():
    with pytest.raises(ConfigErrors) as ei:
        start('  cnt_inc("undeclared");')
    assert ("t.cfg:6:11: cnt_inc: counter 'undeclared' is not declared (modparam script_counter)"
            in str(ei.value))
    with pytest.raises(ConfigErrors) as ei:
        start('cnt_add("foo");')
    assert "function 'cnt_add' takes 2 parameters, not 1" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        start('cnt_reset("a b");')
    assert "cnt_reset: bad counter name 'a b'" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        start("$var(x) = 1;", pre='modparam("counters", "script_counter", "a.b.c")\n')
    assert "t.cfg:2:1: modparam counters.script_counter: bad counter" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        start('cnt_inc("$var(x)");')
    assert "cnt_inc: bad counter name" in str(ei.value)
