# SPDX-License-Identifier: GPL-2.0-or-later
"""cfgutils through compiled configs run on parsed messages."""

import hashlib
import logging
import time

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


def start(body, pre="", routes=""):
    rt = Runtime(compile_text('loadmodule "cfgutils"\n' + pre + routes
                              + "request_route {\n" + body + "\n}\n", "t.cfg"))
    rt.init_modules()
    return rt


def once(rt):
    ctx = rt.new_context(parse(INVITE), "192.0.2.10", 5060)
    return rt.run_request(ctx)


def run(body, pre="", routes=""):
    rt = start(body, pre, routes)
    rc = once(rt)
    return rt, rc


def cond(expr):
    return "if (%s) { $var(r) = 1; } else { $var(r) = -1; }\n" % expr


def test_rand_event_follows_the_probability():
    rt = start("if (rand_event()) { $var(n) = $var(n) + 1; }", pre='modparam("cfgutils", "initial_probability", 30)\n')
    rt.random.seed(7)
    for _ in range(2000):
        once(rt)
    assert 480 < rt.vars["n"] < 720
    rt, _rc = run('rand_set_prob(0);\n' + cond("rand_event()"))
    assert rt.vars["r"] == -1
    rt, _rc = run('rand_set_prob(100);\n' + cond("rand_event()"))
    assert rt.vars["r"] == 1


def test_probability_get_set_reset():
    rt, _rc = run("$var(a) = rand_get_prob();\nrand_set_prob(42);\n$var(b) = rand_get_prob();\n"
                  "rand_reset_prob();\n$var(c) = rand_get_prob();",
                  pre='modparam("cfgutils", "initial_probability", 15)\n')
    assert (rt.vars["a"], rt.vars["b"], rt.vars["c"]) == (15, 42, 15)
    rt, _rc = run('$var(p) = 101;\n' + cond("rand_set_prob($var(p))"))
    assert rt.vars["r"] == -1


def test_sleep_and_usleep_block():
    t0 = time.monotonic()
    rt, _rc = run("usleep(20000);\nsleep(0);\n$var(done) = 1;")
    assert time.monotonic() - t0 >= 0.02 and rt.vars["done"] == 1


def test_memory_status_lines(caplog):
    caplog.set_level(logging.DEBUG, logger="kampy")
    rt, rc = run("pkg_status(); pkg_summary(); shm_status(); shm_summary();", pre="debug=3\n")
    assert rc == 1
    assert "pkg status: pid" in caplog.text


def test_gflags():
    rt = start("set_gflag(4);\n" + cond("is_gflag(4)") + "$var(a) = $var(r);\nreset_gflag(4);\n"
               + cond("is_gflag(4)") + "$var(b) = $var(r);\n" + cond("is_gflag(1)"),
               pre='modparam("cfgutils", "initial_gflags", 2)\n')
    once(rt)
    assert (rt.vars["a"], rt.vars["b"], rt.vars["r"]) == (1, -1, 1)
    rt, _rc = run(cond("set_gflag(32)"))
    assert rt.vars["r"] == -1


def test_gflags_persist_across_messages():
    rt = start("if (is_gflag(3)) { $var(seen) = 1; }\nset_gflag(3);")
    once(rt)
    assert "seen" not in rt.vars
    once(rt)
    assert rt.vars["seen"] == 1


def test_locks():
    rt, _rc = run('lock("$rU");\n' + cond('trylock("$rU")') + '$var(a) = $var(r);\nunlock("$rU");\n'
                  + cond('trylock("$rU")') + '$var(b) = $var(r);\nunlock("$rU");\n' + cond('unlock("$rU")'),
                  pre='modparam("cfgutils", "lock_set_size", 4)\n')
    assert (rt.vars["a"], rt.vars["b"], rt.vars["r"]) == (-1, 1, -1)
    rt, _rc = run(cond('lock("x")'))
    assert rt.vars["r"] == -1                   # no lock set without lock_set_size


def test_core_hash():
    rt, _rc = run('$var(h) = core_hash("$ci", "", 4);\n$var(h2) = core_hash("$ci", "", 4);\n'
                  '$var(big) = core_hash("abcdefgh", "xyz", 10);\n$var(one) = core_hash("x", "", 0);')
    assert 1 <= rt.vars["h"] <= 16 and rt.vars["h"] == rt.vars["h2"]
    assert 1 <= rt.vars["big"] <= 1024
    assert rt.vars["one"] == 1
    from kampy.loader import modules_package
    modules_package()
    from kampy.modules.cfgutils.funcs import core_hash_value
    assert core_hash_value(b"c1", None, 16) + 1 == rt.vars["h"]
    # the hash mixes four bytes at a time, then the rest
    h = 0
    v = (ord("a") << 24) + (ord("b") << 16) + (ord("c") << 8) + ord("d")
    h = (h + (v ^ (v >> 3))) & 0xFFFFFFFF
    v = ord("e")
    h = (h + (v ^ (v >> 3))) & 0xFFFFFFFF
    h = ((h + (h >> 11)) + ((h >> 13) + (h >> 23))) & 0xFFFFFFFF
    assert core_hash_value(b"abcde", None, 0) == h


def test_routes():
    routes = "route[JUMP] { $var(jumped) = 1; return 2; }\n"
    rt, _rc = run('$var(a) = route_if_exists("JUMP");\n' + cond('route_if_exists("NOPE")')
                  + '$var(b) = $var(r);\n' + cond('check_route_exists("JUMP")') + '$var(c) = $var(r);\n'
                  + cond('check_route_exists("NOPE")'), routes=routes)
    assert (rt.vars["jumped"], rt.vars["a"], rt.vars["b"], rt.vars["c"], rt.vars["r"]) == (1, 2, -1, 1, -1)
    routes = "route[STOP] { exit; }\n"
    rt, rc = run('route_if_exists("STOP");\n$var(after) = 1;', routes=routes)
    assert rc == 0 and "after" not in rt.vars


def test_hash_file_and_assignments(tmp_path):
    cfg = tmp_path / "k.cfg"
    cfg.write_text("x")
    rt, _rc = run("$var(a) = $shv(s) + $var(v);",
                  pre='modparam("cfgutils", "hash_file", "%s")\nmodparam("cfgutils", "shvset", "s=i:2")\n'
                      'modparam("cfgutils", "varset", "v=i:3")\n' % cfg)
    assert rt.vars["a"] == 5
    from kampy.modules.cfgutils.funcs import state
    assert state(rt).config_hash == hashlib.md5(b"x").hexdigest()
    with pytest.raises(RuntimeError):
        start("$var(a) = 1;", pre='modparam("cfgutils", "hash_file", "%s")\n' % (tmp_path / "none"))


def test_startup_errors():
    with pytest.raises(ConfigErrors) as ei:
        start("  rand_set_prob(200);")
    assert "t.cfg:3:17: rand_set_prob: probability 200 out of range 0..100" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        start("abort();")
    assert "function 'abort' of module cfgutils is not supported by kampy" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        start("core_hash(\"a\", \"b\");")
    assert "function 'core_hash' takes 3 parameters, not 2" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        start("$var(x) = 1;", pre='modparam("cfgutils", "lock_set_size", 20)\n')
    assert "t.cfg:2:1: modparam cfgutils.lock_set_size: lock_set_size must be 0..10" in str(ei.value)
    with pytest.raises(ConfigErrors) as ei:
        start("$var(x) = 1;", pre='modparam("cfgutils", "initial_probability", 120)\n')
    assert "initial_probability must be 0..100" in str(ei.value)
