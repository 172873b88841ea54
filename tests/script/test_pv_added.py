# SPDX-License-Identifier: GPL-2.0-or-later
"""Pseudo-variables added after the first set: $Rn $TV $timef $utimef $utime
$TS $Tb $version $sel $rcv $nh $hfl $hflc, and {re.subst}."""

import re
import time

import pytest

from kampy.runtime import Runtime
from kampy.script.ast import ConfigErrors
from kampy.script.compiler import compile_text
from kampy.sip import parse

HEAD = """#!KAMAILIO
listen=udp:127.0.0.1:5060 name "main"
listen=udp:127.0.0.1:5070
loadmodule "xlog.so"
"""

MSG = (
    b"INVITE sip:bob@example.com;transport=udp SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKb\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.3:5062;branch=z9hG4bKc\r\n"
    b"Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
    b"Route: <sip:p3.example.com;lr>\r\n"
    b"From: <sip:alice@example.com>;tag=f1\r\n"
    b"To: <sip:bob@example.com>\r\n"
    b"Call-ID: c1@10.0.0.1\r\n"
    b"CSeq: 7 INVITE\r\n"
    b'Contact: "A, B" <sip:a@10.0.0.1>;expires=60, <sip:b@10.0.0.1>\r\n'
    b"X-Multi: one\r\n"
    b"X-Multi: two, three\r\n"
    b"Content-Length: 0\r\n\r\n"
)

REPLY = (
    b"SIP/2.0 200 OK\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa\r\n"
    b"From: <sip:alice@example.com>;tag=f1\r\n"
    b"To: <sip:bob@example.com>;tag=t1\r\n"
    b"Call-ID: c1@10.0.0.1\r\n"
    b"CSeq: 7 INVITE\r\n"
    b"Contact: *\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def run(body, msg=MSG, rcv=0, t0=None):
    rt = Runtime(compile_text(HEAD + "request_route {\n" + body + "\n}\n", "t.cfg"))
    ctx = rt.new_context(parse(msg), "10.9.8.7", 5555, rcv=rt.sockets[rcv])
    ctx.t0 = t0
    rt.run_request(ctx)
    return rt, ctx


def values(body, **kw):
    return run(body, **kw)[0].vars


def error_of(pv):
    with pytest.raises(ConfigErrors) as ei:
        compile_text(HEAD + "request_route {\n  $var(x) = %s;\n}\n" % pv, "t.cfg")
    (e,) = ei.value.errors
    return str(e)


# --- $Rn --------------------------------------------------------------------------------------

def test_Rn_is_the_name_of_the_receiving_socket():
    assert values("$var(n) = $Rn;")["n"] == "main"
    assert values("if ($Rn == $null) { $var(n) = \"none\"; }", rcv=1)["n"] == "none"


# --- time -----------------------------------------------------------------------------------------

T0 = 1796012345.25   # a fixed arrival time; expectations come from the time module


def test_TV_message_time_and_now():
    v = values("$var(s) = $TV(s); $var(u) = $TV(u); $var(sn) = $TV(sn); $var(un) = $TV(un);"
               "$var(Sn) = $TV(Sn); $var(Fn) = $TV(Fn); $var(Sm) = $TV(Sm); $var(Ts) = $Ts;",
               t0=T0)
    assert v["s"] == 1796012345 == v["Ts"] and v["u"] == 250000
    now = time.time()
    assert abs(v["sn"] - now) < 5 and 0 <= v["un"] < 1000000
    assert re.fullmatch(r"\d{10}\.\d{6}", v["Sn"]) and abs(float(v["Sn"]) - now) < 5
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", v["Fn"])
    assert v["Sm"].isdigit()


def test_TS_is_now_and_Tb_the_start():
    rt, _ctx = run("$var(TS) = $TS; $var(Tb) = $Tb; $var(TF) = $TF;")
    assert abs(rt.vars["TS"] - time.time()) < 5 and rt.vars["Tb"] == rt.start_time
    assert len(rt.vars["TF"]) == 24


def test_timef_utimef_utime_read_the_message_time():
    v = values('$var(l) = $timef(%Y-%m-%d %H:%M:%S); $var(u) = $utimef(%H:%M);'
               '$var(y) = $utime(year); $var(h) = $utime(hour); $var(t) = $time(hour);', t0=T0)
    assert v["l"] == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(T0)))
    assert v["u"] == time.strftime("%H:%M", time.gmtime(int(T0)))
    assert v["y"] == time.gmtime(int(T0)).tm_year and v["h"] == time.gmtime(int(T0)).tm_hour
    assert v["t"] == time.localtime(int(T0)).tm_hour


@pytest.mark.parametrize("pv, message", [
    ("$TV(x)", "unknown $TV field 'x' (one of s, u, sn, un, Sn, Fn, Sm)"),
    ("$utime(century)", "unknown $utime field 'century'"),
    ("$timef()", "$timef needs a strftime format in parentheses"),
])
def test_time_startup_errors(pv, message):
    assert message in error_of(pv)


# --- $version, $sel ----------------------------------------------------------------------------------

def test_version():
    from kampy import __version__
    v = values("$var(n) = $version(num); $var(f) = $version(full); $var(h) = $version(hash);")
    assert v["n"] == __version__ and v["f"].startswith("kampy %s (" % __version__) and v["h"]
    assert "unknown $version field 'build'" in error_of("$version(build)")


def test_sel_is_a_clear_startup_error():
    assert error_of("$sel(cfg_get.pstn.gw_ip)") == (
        "t.cfg:6:13: $sel(...) is not supported by kampy: Kamailio's selects "
        "(@from.uri and the like) are not implemented; use the pseudo-variables")


# --- $rcv -----------------------------------------------------------------------------------------------

def test_rcv_gives_the_received_datagram():
    v = values("$var(si) = $rcv(srcip); $var(sp) = $rcv(srcport); $var(ri) = $rcv(rcvip);"
               "$var(rp) = $rcv(rcvport); $var(p) = $rcv(proto); $var(sp2) = $rcv(sproto);"
               "$var(af) = $rcv(af); $var(len) = $rcv(len); $var(buf) = $rcv(buf);", rcv=1)
    assert (v["si"], v["sp"], v["ri"], v["rp"]) == ("10.9.8.7", 5555, "127.0.0.1", 5070)
    assert (v["p"], v["sp2"], v["af"], v["len"]) == (1, "udp", 2, len(MSG))
    assert v["buf"] == MSG.decode()
    assert "unknown $rcv field 'x'" in error_of("$rcv(x)")


# --- $nh ---------------------------------------------------------------------------------------------------

def test_nh_is_the_ruri_without_du():
    v = values("$var(u) = $nh(u); $var(U) = $nh(U); $var(d) = $nh(d); $var(p) = $nh(p); $var(P) = $nh(P);")
    assert v == {"u": "sip:bob@example.com;transport=udp", "U": "bob", "d": "example.com",
                 "p": 5060, "P": "udp"}


def test_nh_follows_du_and_ruri_changes():
    v = values('$du = "sip:192.0.2.9:5080;transport=tcp"; $var(u) = $nh(u); $var(p) = $nh(p);'
               '$var(P) = $nh(P); $var(U) = $nh(U); $du = $null; $rU = "carol"; $var(U2) = $nh(U);')
    assert v["u"] == "sip:192.0.2.9:5080;transport=tcp" and v["p"] == 5080 and v["P"] == "tcp"
    assert v["U"] == 0 and v["U2"] == "carol"       # $null into $var gives 0


def test_nh_is_null_for_a_reply():
    assert values("if ($nh(u) == $null) { $var(n) = 1; }", msg=REPLY)["n"] == 1


# --- $hfl, $hflc ------------------------------------------------------------------------------------------------

def test_hfl_indexes_via_route_contact_bodies():
    v = values("$var(v0) = $hfl(Via); $var(v1) = $(hfl(Via)[1]); $var(v2) = $(hfl(v)[2]);"
               "$var(vl) = $(hfl(Via)[-1]); $var(r2) = $(hfl(Route)[2]); $var(c1) = $(hfl(m)[1]);"
               "$var(c0) = $(hfl(Contact)[0]); $var(nv) = $hflc(Via); $var(nr) = $hflc(Route);"
               "$var(nc) = $hflc(Contact); $var(out) = $(hfl(Via)[3]);")
    assert v["v0"] == "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa"
    assert v["v1"] == "SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKb"
    assert v["v2"] == v["vl"] == "SIP/2.0/UDP 10.0.0.3:5062;branch=z9hG4bKc"
    assert v["r2"] == "<sip:p3.example.com;lr>"
    assert v["c0"] == '"A, B" <sip:a@10.0.0.1>;expires=60' and v["c1"] == "<sip:b@10.0.0.1>"
    assert (v["nv"], v["nr"], v["nc"]) == (3, 3, 2)
    assert v["out"] == 0          # no fourth Via body: $null


def test_hfl_is_hdr_for_other_headers_and_all_bodies_with_star():
    v = values("$var(m0) = $hfl(X-Multi); $var(m1) = $(hfl(X-Multi)[1]); $var(n) = $hflc(X-Multi);"
               "$var(all) = $(hfl(Via)[*]); $var(h) = $(hdr(Via)[*]);")
    assert v["m0"] == "one" and v["m1"] == "two, three" and v["n"] == 2
    assert v["all"] == v["h"]


def test_hfl_contact_star_has_no_bodies():
    v = values("$var(c) = $hfl(Contact); $var(n) = $hflc(Contact);", msg=REPLY)
    assert v["c"] == 0 and v["n"] == 0


# --- {re.subst} ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("expr, expect", [
    (r"/^sip:([a-z]+)@.*$/\1/", "alice"),
    (r"/ALICE/bob/", "sip:alice@example.com"),          # no match: unchanged (case matters)
    (r"/ALICE/bob/i", "sip:bob@example.com"),
    (r"/[aeiou]/_/", "s_p:alice@example.com"),
    (r"/[aeiou]/_/g", "s_p:_l_c_@_x_mpl_.c_m"),
    (r"#@.*#@example.net#", "sip:alice@example.net"),
    (r"/^(sip):(.*)$/\2;\1/", "alice@example.com;sip"),
])
def test_re_subst(expr, expect):
    assert values("$var(r) = $(fu{re.subst,%s});" % expr)["r"] == expect


def test_re_subst_reads_pvs_in_the_replacement_and_the_expression():
    v = values(r'$var(dom) = "example.org"; $var(e) = "/example\.com/x/";'
               r'$var(a) = $(fu{re.subst,/@.*$/@$var(dom)/}); $var(b) = $(fu{re.subst,$var(e)});'
               r'$var(e) = "/[/x/"; $var(c) = $(fu{re.subst,$var(e)});')
    assert v["a"] == "sip:alice@example.org" and v["b"] == "sip:alice@x"
    assert v["c"] == 0      # a bad expression read at run time gives $null


def test_re_subst_null_and_chains():
    v = values(r"$var(n) = $(avp(none){re.subst,/a/b/}); $var(l) = $(fu{re.subst,/sip://}{s.len});")
    assert v["n"] == 0 and v["l"] == len("alice@example.com")


@pytest.mark.parametrize("expr, message", [
    ("/[/x/", "transformation {re.subst}: bad expression"),
    ("/a/b/z", "unknown flag 'z'"),
    (r"/a/\2/", "refers to a group the expression does not have"),
    ("/a/b/,x", "takes 1 argument"),
    ("/a/$nope/", "unknown pseudo-variable $nope"),
])
def test_re_subst_startup_errors(expr, message):
    assert message in error_of("$(fu{re.subst,%s})" % expr)
