# SPDX-License-Identifier: GPL-2.0-or-later
"""Core pseudo-variables against real messages, with Kamailio 5.6's semantics."""

import logging
import os
import random
import time
import types

import pytest

from kampy.runtime import Shv
from kampy.script.ast import ConfigError, PVSpec, Pos
from kampy.script.context import Context, Socket
from kampy.script.pv import Registry
from kampy.script.pv_core import CORE_PV_NAMES, define_value, parse_socket, register_core_pvs
from kampy.sip import parse

POS = Pos("t.cfg", 1, 1)


def crlf(text):
    return text.replace("\n", "\r\n").encode()


INVITE = crlf(
    "INVITE sip:bob@biloxi.example.com;transport=TCP SIP/2.0\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\n"
    "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK11\n"
    "Max-Forwards: 70\n"
    'From: "Alice Liddell" <sip:alice@atlanta.example.com>;tag=1928301774\n'
    "To: Bob <sip:bob@biloxi.example.com>\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\n"
    "CSeq: 314159 INVITE\n"
    "Contact: <sip:alice@pc33.atlanta.example.com>;expires=60\n"
    "User-Agent: kampy-test/1.0\n"
    "X-Multi: one\n"
    "X-Multi: two\n"
    "x-multi: three\n"
    "Content-Type: application/sdp\n"
    "Content-Length: 4\n"
    "\n") + b"v=0\n"

REPLY = crlf(
    "SIP/2.0 200 Very OK\n"
    "v: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\n"
    "f: <sip:alice@atlanta.example.com>;tag=1928301774\n"
    "t: Bob <sip:bob@biloxi.example.com:5070>;tag=a6c85cf\n"
    "i: a84b4c76e66710@pc33.atlanta.example.com\n"
    "CSeq: 314159 INVITE\n"
    "m: <sip:bob@192.0.2.4>\n"
    "c: application/sdp\n"
    "l: 0\n"
    "\n")

PAI = crlf(
    "INVITE sips:+15551234@gw.example.net SIP/2.0\n"
    "Via: SIP/2.0/TLS 192.0.2.1;branch=z9hG4bKpai\n"
    "From: Anonymous <sip:anonymous@anonymous.invalid>;tag=x1\n"
    "To: <tel:+15551234>\n"
    "Call-ID: pai-1\n"
    "CSeq: 7 INVITE\n"
    'P-Asserted-Identity: "Cullen Jennings" <sip:fluffy@cisco.com>, <tel:+14085264000>\n'
    "P-Asserted-Identity: <sip:third@example.org>\n"
    "Diversion: <sip:diverter@example.com>;reason=unconditional, <sip:second@example.com>\n"
    "\n")

BROKEN = crlf(
    "OPTIONS sip:[zz::1 SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKbad\n"
    "From: <sip:a@example.com>>;tag=\n"
    "To: <sip:bob@example.com\n"
    "Call-ID: broken-1\n"
    "CSeq: many OPTIONS\n"
    "Contact: <<>>\n"
    "Content-Type: nonsense\n"
    "P-Asserted-Identity: \"unterminated <sip:x@y>\n"
    "Diversion: ,,,\n"
    "\n")

SOCKETS = [
    Socket("udp", "192.0.2.10", 5060),
    Socket("tcp", "192.0.2.10", 5060),
    Socket("udp", "10.1.1.1", 5080, advertise_host="203.0.113.7", advertise_port=5090),
    Socket("udp", "2001:db8::1", 5060),
]


def spec(name, inner=None, index=None):
    text = "$" + name
    if inner is not None:
        text += "(%s)" % inner
    if index is not None:
        text = "$(%s[%s])" % (text[1:], index)
    return PVSpec(name, inner, index, [], POS, text)


@pytest.fixture
def reg():
    r = Registry()
    register_core_pvs(r)
    return r


def make_rt():
    rt = types.SimpleNamespace(
        vars={}, shv=Shv(), start_time=1700000000, sockets=list(SOCKETS),
        random=random.Random(1), logged=[],
        defines={"WITH_AUTH": None, "DBURL": '"mysql://k:pw@db/kam"', "PORT": "5060",
                 "NEG": "-3", "WORD": "plain", "SQ": "'single'"})
    rt.log = lambda level, text: rt.logged.append((level, text))
    return rt


def make_ctx(raw=INVITE, rt=None, src_ip="198.51.100.9", src_port=40000, rcv=SOCKETS[0]):
    return Context(rt or make_rt(), parse(raw), src_ip, src_port, "udp", rcv=rcv)


def get(reg, ctx, name, inner=None, index=None):
    return reg.resolve(spec(name, inner, index)).get(ctx)


def put(reg, ctx, name, value, inner=None, index=None):
    pv = reg.resolve(spec(name, inner, index))
    assert pv.writable
    pv.set(ctx, value)


# --- registration ------------------------------------------------------------------

WRITABLE = {"ru", "rU", "rd", "rp", "du", "fs", "avp", "var", "shv", "xavp"}
NEEDS_INNER = {"hdr": "From", "hdrc": "Via", "avp": "x", "var": "x", "shv": "x",
               "xavp": "r=>f", "time": "sec", "def": "PORT", "env": "HOME",
               "hfl": "Via", "hflc": "Via", "TV": "s", "utime": "sec", "timef": "%H:%M",
               "utimef": "%H:%M", "version": "num", "snd": "ip", "sndto": "ip",
               "sndfrom": "ip", "rcv": "srcip", "nh": "u"}
STARTUP_ERROR = {"sel"}      # resolving it is the error


def usable_names():
    return [n for n in CORE_PV_NAMES if n not in STARTUP_ERROR]


def test_names_registered_and_writable_set(reg):
    assert set(reg.pvs) == set(CORE_PV_NAMES)
    assert len(CORE_PV_NAMES) == len(set(CORE_PV_NAMES))
    assert set(CORE_PV_NAMES) == set(
        "ru rU rd rp rP rz du fs fu fU fd fn ft tu tU td tn tt ci cs rm rs rr rb rv mb ml ua"
        " ct cT cl bs mi ai di pr proto ou oU od op oP hdr hdrc si sp sP Ri Rp RAi RAp sas"
        " avp var shv xavp null rc retcode Ts TS Tf RANDOM pp time def env"
        " Rn rcv snd sndto sndfrom nh hfl hflc TV TF Tb utime timef utimef version sel".split())
    writable = {n for n in usable_names() if reg.resolve(spec(n, NEEDS_INNER.get(n))).writable}
    assert writable == WRITABLE


def test_read_only_pv_set_raises(reg):
    with pytest.raises(ConfigError):
        reg.resolve(spec("ci")).set(make_ctx(), "x")


# --- Request-URI ----------------------------------------------------------------------------

def test_ruri_parts_of_request(reg):
    ctx = make_ctx()
    assert get(reg, ctx, "ru") == "sip:bob@biloxi.example.com;transport=TCP"
    assert get(reg, ctx, "rU") == "bob"
    assert get(reg, ctx, "rd") == "biloxi.example.com"
    assert get(reg, ctx, "rp") == 5060
    assert get(reg, ctx, "rP") == "TCP"      # as written, like Kamailio
    assert get(reg, ctx, "rz") == "sip"


def test_ruri_defaults(reg):
    ctx = make_ctx(PAI)
    assert get(reg, ctx, "rp") == 5061      # sips
    assert get(reg, ctx, "rP") == "UDP"     # Kamailio's default text
    assert get(reg, ctx, "rz") == "sips"
    assert get(reg, ctx, "rU") == "+15551234"
    ctx.msg.set_ruri(b"sip:[2001:db8::5]:5099;transport=tls")
    assert get(reg, ctx, "rd") == "[2001:db8::5]"
    assert get(reg, ctx, "rp") == 5099
    assert get(reg, ctx, "rU") is None
    ctx.msg.set_ruri(b"sip:h.example;transport=tls")
    assert get(reg, ctx, "rp") == 5061
    ctx.msg.set_ruri(b"tel:+123")
    assert get(reg, ctx, "rz") == "tel"
    assert get(reg, ctx, "rd") is None


def test_ruri_of_reply_is_null(reg):
    ctx = make_ctx(REPLY)
    for name in ("ru", "rU", "rd", "rp", "rP", "rz", "ou", "oU", "od", "op", "oP"):
        assert get(reg, ctx, name) is None, name


def test_set_ru_and_original_uri_kept(reg):
    ctx = make_ctx()
    put(reg, ctx, "ru", "sip:carol@chicago.example.com:5070")
    assert get(reg, ctx, "ru") == "sip:carol@chicago.example.com:5070"
    assert get(reg, ctx, "rU") == "carol"
    assert get(reg, ctx, "rp") == 5070
    assert ctx.msg.serialize().startswith(b"INVITE sip:carol@chicago.example.com:5070 SIP/2.0\r\n")
    assert get(reg, ctx, "ou") == "sip:bob@biloxi.example.com;transport=TCP"
    assert get(reg, ctx, "oU") == "bob"
    assert get(reg, ctx, "od") == "biloxi.example.com"
    assert get(reg, ctx, "op") == 5060
    assert get(reg, ctx, "oP") == "TCP"


def test_set_ru_null_is_logged_and_ignored(reg):
    ctx = make_ctx()
    put(reg, ctx, "ru", None)
    assert get(reg, ctx, "ru") == "sip:bob@biloxi.example.com;transport=TCP"
    assert ctx.rt.logged and ctx.rt.logged[0][0] == -1
    assert not ctx.msg.changed


def test_set_ruri_parts(reg):
    ctx = make_ctx()
    put(reg, ctx, "rU", "carol")
    put(reg, ctx, "rd", "chicago.example.com")
    put(reg, ctx, "rp", "5080")
    assert get(reg, ctx, "ru") == "sip:carol@chicago.example.com:5080;transport=TCP"
    assert ctx.msg.serialize().startswith(
        b"INVITE sip:carol@chicago.example.com:5080;transport=TCP SIP/2.0\r\n")
    put(reg, ctx, "rp", None)
    assert get(reg, ctx, "ru") == "sip:carol@chicago.example.com;transport=TCP"
    put(reg, ctx, "rp", 5099)
    assert get(reg, ctx, "rp") == 5099
    put(reg, ctx, "rU", None)
    assert get(reg, ctx, "ru") == "sip:chicago.example.com:5099;transport=TCP"
    put(reg, ctx, "rU", 1234)
    assert get(reg, ctx, "rU") == "1234"
    put(reg, ctx, "rU", "")
    assert get(reg, ctx, "rU") is None
    msg = parse(ctx.msg.serialize())
    assert msg.ruri == b"sip:chicago.example.com:5099;transport=TCP"


def test_set_ruri_part_errors_leave_uri(reg):
    ctx = make_ctx()
    before = get(reg, ctx, "ru")
    put(reg, ctx, "rp", "70000")
    put(reg, ctx, "rd", None)
    put(reg, ctx, "rU", "bad user<>")
    put(reg, ctx, "rd", "bad host!")
    assert get(reg, ctx, "ru") == before
    assert len(ctx.rt.logged) == 4
    reply = make_ctx(REPLY)
    put(reg, reply, "rU", "x")
    put(reg, reply, "ru", "sip:x@y")
    assert get(reg, reply, "ru") is None and reply.msg.serialize() == REPLY


def test_ruri_that_does_not_parse(reg):
    ctx = make_ctx(BROKEN)
    for name in ("ru", "rU", "rd", "rp", "rP", "rz", "ou", "oU", "op"):
        assert get(reg, ctx, name) is None, name
    put(reg, ctx, "rU", "x")        # cannot rebuild: logged, unchanged
    assert ctx.msg.ruri == b"sip:[zz::1"
    put(reg, ctx, "ru", "sip:fixed@example.com")
    assert get(reg, ctx, "rd") == "example.com"
    assert get(reg, ctx, "ou") is None


# --- $du, $fs ------------------------------------------------------------------------------------

def test_du(reg):
    ctx = make_ctx()
    assert get(reg, ctx, "du") is None
    put(reg, ctx, "du", "sip:192.0.2.50:5060;transport=tcp")
    assert ctx.du == "sip:192.0.2.50:5060;transport=tcp"
    assert get(reg, ctx, "du") == ctx.du
    put(reg, ctx, "du", None)
    assert ctx.du is None


def test_fs(reg):
    ctx = make_ctx()
    assert get(reg, ctx, "fs") is None
    put(reg, ctx, "fs", "tcp:192.0.2.10:5060")
    assert ctx.send_socket is SOCKETS[1]
    assert get(reg, ctx, "fs") == "tcp:192.0.2.10:5060"
    put(reg, ctx, "fs", "udp:[2001:DB8::1]:5060")
    assert ctx.send_socket is SOCKETS[3]
    assert get(reg, ctx, "fs") == "udp:[2001:db8::1]:5060"
    put(reg, ctx, "fs", "10.1.1.1:5080")
    assert ctx.send_socket is SOCKETS[2]
    put(reg, ctx, "fs", "udp:192.0.2.99:5060")       # not ours: unchanged
    assert ctx.send_socket is SOCKETS[2] and ctx.rt.logged
    put(reg, ctx, "fs", "garbage:::")
    assert ctx.send_socket is SOCKETS[2]
    put(reg, ctx, "fs", None)
    assert ctx.send_socket is None


def test_parse_socket():
    assert parse_socket("udp:1.2.3.4:5060") == ("udp", "1.2.3.4", 5060)
    assert parse_socket("TLS:[::1]:5061") == ("tls", "::1", 5061)
    assert parse_socket("1.2.3.4") == (None, "1.2.3.4", None)
    assert parse_socket("::1") == (None, "::1", None)
    assert parse_socket("udp:1.2.3.4:http") is None
    assert parse_socket("[::1") is None


# --- From / To ---------------------------------------------------------------------------------

def test_from_to_request(reg):
    ctx = make_ctx()
    assert get(reg, ctx, "fu") == "sip:alice@atlanta.example.com"
    assert get(reg, ctx, "fU") == "alice"
    assert get(reg, ctx, "fd") == "atlanta.example.com"
    assert get(reg, ctx, "fn") == '"Alice Liddell"'
    assert get(reg, ctx, "ft") == "1928301774"
    assert get(reg, ctx, "tu") == "sip:bob@biloxi.example.com"
    assert get(reg, ctx, "tn") == "Bob"
    assert get(reg, ctx, "tt") is None


def test_from_to_compact_reply(reg):
    ctx = make_ctx(REPLY)
    assert get(reg, ctx, "fn") is None
    assert get(reg, ctx, "fU") == "alice"
    assert get(reg, ctx, "tu") == "sip:bob@biloxi.example.com:5070"
    assert get(reg, ctx, "td") == "biloxi.example.com"
    assert get(reg, ctx, "tU") == "bob"
    assert get(reg, ctx, "tt") == "a6c85cf"


def test_tel_to(reg):
    ctx = make_ctx(PAI)
    assert get(reg, ctx, "tu") == "tel:+15551234"
    assert get(reg, ctx, "tU") == "+15551234"
    assert get(reg, ctx, "td") is None
    assert get(reg, ctx, "fn") == "Anonymous"


def test_unparsable_to_and_from_are_null(reg):
    ctx = make_ctx(BROKEN)
    for name in ("tu", "tU", "td", "tn", "tt", "fu", "fU", "fd", "fn", "ft"):
        assert get(reg, ctx, name) is None, name


# --- other message PVs ----------------------------------------------------------------------

def test_request_fields(reg):
    ctx = make_ctx()
    assert get(reg, ctx, "ci") == "a84b4c76e66710@pc33.atlanta.example.com"
    assert get(reg, ctx, "cs") == 314159
    assert get(reg, ctx, "rm") == "INVITE"
    assert get(reg, ctx, "rs") is None
    assert get(reg, ctx, "rr") is None
    assert get(reg, ctx, "rb") == "v=0\n"
    assert get(reg, ctx, "rv") == "SIP/2.0"
    assert get(reg, ctx, "mb") == INVITE.decode()
    assert get(reg, ctx, "ml") == len(INVITE)
    assert get(reg, ctx, "ua") == "kampy-test/1.0"
    assert get(reg, ctx, "ct") == "<sip:alice@pc33.atlanta.example.com>;expires=60"
    assert get(reg, ctx, "cT") == "application/sdp"
    assert get(reg, ctx, "cl") == 4
    assert get(reg, ctx, "bs") == 4
    assert get(reg, ctx, "ai") is None
    assert get(reg, ctx, "di") is None


def test_reply_fields_compact(reg):
    ctx = make_ctx(REPLY)
    assert get(reg, ctx, "rs") == 200
    assert get(reg, ctx, "rr") == "Very OK"
    assert get(reg, ctx, "rm") == "INVITE"      # from CSeq
    assert get(reg, ctx, "ci") == "a84b4c76e66710@pc33.atlanta.example.com"
    assert get(reg, ctx, "ct") == "<sip:bob@192.0.2.4>"
    assert get(reg, ctx, "cT") == "application/sdp"
    assert get(reg, ctx, "cl") == 0
    assert get(reg, ctx, "rb") == ""
    assert get(reg, ctx, "bs") == 0
    assert get(reg, ctx, "ua") is None
    assert get(reg, ctx, "rv") == "SIP/2.0"


def test_mb_stops_at_content_length(reg):
    ctx = make_ctx(INVITE + b"trailing junk")
    assert get(reg, ctx, "mb") == INVITE.decode()
    assert get(reg, ctx, "ml") == len(INVITE)


def test_pai_and_diversion(reg):
    ctx = make_ctx(PAI)
    assert get(reg, ctx, "ai") == "sip:fluffy@cisco.com"
    assert get(reg, ctx, "ai", index=1) == "tel:+14085264000"
    assert get(reg, ctx, "ai", index=2) == "sip:third@example.org"
    assert get(reg, ctx, "ai", index=3) is None
    assert get(reg, ctx, "di") == "sip:diverter@example.com"
    assert get(reg, ctx, "cl") is None and get(reg, ctx, "bs") == 0


def test_broken_headers_read_null(reg):
    ctx = make_ctx(BROKEN)
    assert get(reg, ctx, "cs") is None
    assert get(reg, ctx, "rm") == "OPTIONS"
    assert get(reg, ctx, "ai") is None
    assert get(reg, ctx, "di") is None
    assert get(reg, ctx, "ct") == "<<>>"        # raw header text needs no parsing
    assert get(reg, ctx, "cT") == "nonsense"


def test_reply_with_broken_cseq_method(reg):
    ctx = make_ctx(REPLY.replace(b"CSeq: 314159 INVITE", b"CSeq: x"))
    assert get(reg, ctx, "rm") is None
    assert get(reg, ctx, "cs") is None


def test_get_never_raises(reg):
    """Every core PV, with and without an index, on every kind of message."""
    for raw in (INVITE, REPLY, PAI, BROKEN):
        ctx = make_ctx(raw)
        for name in usable_names():
            pv = reg.resolve(spec(name, NEEDS_INNER.get(name)))
            pv.get(ctx)
            pv.get_all(ctx)
        for name, inner in (("hdr", "To"), ("hdr", "P-Asserted-Identity"), ("hdr", "CSeq"),
                            ("hfl", "Via"), ("hfl", "Contact"), ("hfl", "Route"), ("hfl", "To")):
            for index in (0, 1, -1, -9, "*"):
                get(reg, ctx, name, inner, index)
        ctx.msg = None          # event routes may run without a message
        for name in usable_names():
            reg.resolve(spec(name, NEEDS_INNER.get(name))).get(ctx)


# --- $hdr, $hdrc ----------------------------------------------------------------------------------

def test_hdr_any_name_form(reg):
    ctx = make_ctx(REPLY)
    for name in ("To", "to", "t", "T"):
        assert get(reg, ctx, "hdr", name) == "Bob <sip:bob@biloxi.example.com:5070>;tag=a6c85cf"
    assert get(reg, ctx, "hdr", "Content-Length") == "0"
    assert get(reg, ctx, "hdr", "X-None") is None
    ctx = make_ctx()
    assert get(reg, ctx, "hdr", "i") == "a84b4c76e66710@pc33.atlanta.example.com"
    assert get(reg, ctx, "hdr", "Call-ID") == get(reg, ctx, "ci")


def test_hdr_index(reg):
    ctx = make_ctx()
    assert get(reg, ctx, "hdr", "X-Multi") == "one"
    assert get(reg, ctx, "hdr", "X-Multi", 0) == "one"
    assert get(reg, ctx, "hdr", "x-multi", 2) == "three"
    assert get(reg, ctx, "hdr", "X-Multi", -1) == "three"
    assert get(reg, ctx, "hdr", "X-Multi", -3) == "one"
    assert get(reg, ctx, "hdr", "X-Multi", -4) is None
    assert get(reg, ctx, "hdr", "X-Multi", 3) is None
    assert get(reg, ctx, "hdr", "X-Multi", "*") == "one,two,three"
    assert get(reg, ctx, "hdr", "Via", "*") == (
        "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds,"
        "SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK11")
    assert get(reg, ctx, "hdr", "X-None", "*") is None
    pv = reg.resolve(spec("hdr", "X-Multi", "*"))
    assert pv.get_all(ctx) == ["one", "two", "three"]
    assert reg.resolve(spec("hdr", "X-Multi")).get_all(ctx) == ["one"]


def test_hdr_pv_index_and_name(reg):
    ctx = make_ctx()
    pv = reg.resolve(spec("hdr", "X-Multi", spec("var", "i")))
    assert pv.get(ctx) == "one"              # unset $var reads 0
    ctx.rt.vars["i"] = 1
    assert pv.get(ctx) == "two"
    ctx.rt.vars["i"] = "-1"
    assert pv.get(ctx) == "three"
    named = reg.resolve(spec("hdr", "$var(h)"))
    ctx.rt.vars["h"] = "user-agent"
    assert named.get(ctx) == "kampy-test/1.0"
    ctx.rt.vars["h"] = "bad name:"
    assert named.get(ctx) is None
    count = reg.resolve(spec("hdrc", "$var(h)"))
    ctx.rt.vars["h"] = "x-multi"
    assert count.get(ctx) == 3


def test_hdrc(reg):
    ctx = make_ctx()
    assert get(reg, ctx, "hdrc", "Via") == 2
    assert get(reg, ctx, "hdrc", "v") == 2
    assert get(reg, ctx, "hdrc", "X-MULTI") == 3
    assert get(reg, ctx, "hdrc", "Route") == 0
    assert get(reg, make_ctx(REPLY), "hdrc", "Contact") == 1


# --- network ---------------------------------------------------------------------------------------

def test_network(reg):
    ctx = make_ctx()
    assert get(reg, ctx, "si") == "198.51.100.9"
    assert get(reg, ctx, "sp") == 40000
    assert get(reg, ctx, "sP") == "udp"
    assert get(reg, ctx, "pr") == "udp"
    assert get(reg, ctx, "proto") == "udp"
    assert get(reg, ctx, "Ri") == "192.0.2.10"
    assert get(reg, ctx, "Rp") == 5060
    assert get(reg, ctx, "RAi") == "192.0.2.10"
    assert get(reg, ctx, "RAp") == 5060
    assert get(reg, ctx, "sas") == "udp:198.51.100.9:40000"
    ctx = make_ctx(src_ip="2001:db8::9", src_port=5062, rcv=SOCKETS[2])
    ctx.proto = "TCP"
    assert get(reg, ctx, "sas") == "tcp:[2001:db8::9]:5062"
    assert get(reg, ctx, "pr") == "tcp"
    assert get(reg, ctx, "Ri") == "10.1.1.1"
    assert get(reg, ctx, "Rp") == 5080
    assert get(reg, ctx, "RAi") == "203.0.113.7"
    assert get(reg, ctx, "RAp") == 5090
    ctx.rcv = None
    assert get(reg, ctx, "Ri") is None and get(reg, ctx, "RAp") is None


def test_misc_context_values(reg):
    ctx = make_ctx()
    ctx.msg_id = 17
    ctx.rc = -2
    assert get(reg, ctx, "mi") == 17
    assert get(reg, ctx, "rc") == -2
    assert get(reg, ctx, "retcode") == -2
    assert get(reg, ctx, "null") is None
    assert get(reg, ctx, "pp") == os.getpid()
    assert get(reg, ctx, "Tb") == 1700000000        # startup time; $TS is now
    expect = random.Random(1)
    assert get(reg, ctx, "RANDOM") == expect.getrandbits(31)
    values = [get(reg, ctx, "RANDOM") for _ in range(50)]
    assert all(isinstance(v, int) and 0 <= v < 2 ** 31 for v in values)


# --- $avp -------------------------------------------------------------------------------------------

def test_avp_add_and_index(reg):
    ctx = make_ctx()
    assert get(reg, ctx, "avp", "x") is None
    put(reg, ctx, "avp", "a", "x")
    put(reg, ctx, "avp", 2, "x")                 # ints stay ints
    put(reg, ctx, "avp", "c", "s:x")         # s:x is x
    assert get(reg, ctx, "avp", "x") == "c"
    assert get(reg, ctx, "avp", "x", 0) == "c"
    assert get(reg, ctx, "avp", "x", 1) == 2
    assert get(reg, ctx, "avp", "x", 2) == "a"
    assert get(reg, ctx, "avp", "x", 3) is None
    assert get(reg, ctx, "avp", "x", -1) == "a"
    assert get(reg, ctx, "avp", "x", -4) is None
    all_pv = reg.resolve(spec("avp", "x", "*"))
    assert all_pv.get_all(ctx) == ["c", 2, "a"]
    assert all_pv.get(ctx) == "c, 2, a"      # Kamailio joins with ", "
    assert reg.resolve(spec("avp", "x")).get_all(ctx) == ["c"]


def test_avp_integer_names(reg):
    ctx = make_ctx()
    put(reg, ctx, "avp", "int", "i:5")
    put(reg, ctx, "avp", "str", "5")
    assert get(reg, ctx, "avp", "i:5") == "int"
    assert get(reg, ctx, "avp", "i:05") == "int"
    assert get(reg, ctx, "avp", "s:5") == "str"
    assert ctx.avps.d == {"i:5": ["int"], "5": ["str"]}


def test_avp_assign_null_pops_most_recent(reg):
    ctx = make_ctx()
    for v in ("a", "b", "c"):
        put(reg, ctx, "avp", v, "x")
    put(reg, ctx, "avp", None, "x")
    assert ctx.avps.all("x") == ["b", "a"]
    put(reg, ctx, "avp", None, "x", 1)       # Kamailio ignores the index: pops again
    assert ctx.avps.all("x") == ["a"]
    put(reg, ctx, "avp", None, "x")
    assert ctx.avps.all("x") == [] and "x" not in ctx.avps.d
    put(reg, ctx, "avp", None, "x")          # nothing left: no error
    assert not ctx.rt.logged


def test_avp_star_assign(reg):
    ctx = make_ctx()
    for v in ("a", "b", "c"):
        put(reg, ctx, "avp", v, "x")
    put(reg, ctx, "avp", "only", "x", "*")
    assert ctx.avps.all("x") == ["only"]
    put(reg, ctx, "avp", "more", "x")
    put(reg, ctx, "avp", None, "x", "*")
    assert ctx.avps.all("x") == []


def test_avp_index_on_assignment_adds(reg):
    ctx = make_ctx()
    put(reg, ctx, "avp", "a", "x")
    put(reg, ctx, "avp", "b", "x", 0)
    assert ctx.avps.all("x") == ["b", "a"]


def test_avp_dynamic_name_and_index(reg):
    ctx = make_ctx()
    name_pv = reg.resolve(spec("avp", "$var(n)"))
    ctx.rt.vars["n"] = "dyn"
    name_pv.set(ctx, "v1")
    name_pv.set(ctx, "v2")
    assert ctx.avps.all("dyn") == ["v2", "v1"]
    assert name_pv.get(ctx) == "v2"
    ctx.rt.vars["n"] = 7
    name_pv.set(ctx, "seven")
    assert get(reg, ctx, "avp", "i:7") == "seven"
    idx_pv = reg.resolve(spec("avp", "dyn", spec("var", "k")))
    ctx.rt.vars["k"] = 1
    assert idx_pv.get(ctx) == "v1"


# --- $var, $shv ----------------------------------------------------------------------------------------

def test_var_persists_across_messages(reg):
    rt = make_rt()
    first = make_ctx(INVITE, rt)
    assert get(reg, first, "var", "x") == 0             # Kamailio: 0 until set
    put(reg, first, "var", 5, "x")
    put(reg, first, "var", "text", "s")
    second = make_ctx(REPLY, rt)
    assert get(reg, second, "var", "x") == 5
    assert get(reg, second, "var", "s") == "text"
    put(reg, second, "var", None, "x")
    assert get(reg, first, "var", "x") == 0
    assert rt.vars == {"x": 0, "s": "text"}
    assert get(reg, make_ctx(), "var", "s") == 0          # another process


def test_shv(reg):
    rt = make_rt()
    ctx = make_ctx(rt=rt)
    assert get(reg, ctx, "shv", "limit") == 0
    put(reg, ctx, "shv", 100, "limit")
    assert rt.shv.get("limit") == 100
    assert get(reg, make_ctx(REPLY, rt), "shv", "limit") == 100
    put(reg, ctx, "shv", None, "limit")
    assert rt.shv.get("limit") is None
    assert get(reg, ctx, "shv", "limit") == 0


# --- $xavp ------------------------------------------------------------------------------------------------

def test_xavp_build_items_like_kamailio(reg):
    ctx = make_ctx()
    put(reg, ctx, "xavp", "sip:a@x", "dst=>uri")        # a new item
    put(reg, ctx, "xavp", 1, "dst[0]=>q")               # into that item
    put(reg, ctx, "xavp", "sip:b@x", "dst=>uri")        # another new item, at the head
    put(reg, ctx, "xavp", 2, "dst[0]=>q")
    assert ctx.xavps == {"dst": [{"uri": ["sip:b@x"], "q": [2]},
                                 {"uri": ["sip:a@x"], "q": [1]}]}
    assert get(reg, ctx, "xavp", "dst=>uri") == "sip:b@x"
    assert get(reg, ctx, "xavp", "dst[1]=>uri") == "sip:a@x"
    assert get(reg, ctx, "xavp", "dst[-1]=>q") == 1
    assert get(reg, ctx, "xavp", "dst[2]=>uri") is None
    assert get(reg, ctx, "xavp", "dst=>none") is None
    assert get(reg, ctx, "xavp", "nothere=>uri") is None


def test_xavp_field_values(reg):
    ctx = make_ctx()
    put(reg, ctx, "xavp", "v1", "r=>f")
    put(reg, ctx, "xavp", "v2", "r[0]=>f")
    put(reg, ctx, "xavp", "v3", " r [ 0 ] => f ")
    assert ctx.xavps["r"] == [{"f": ["v3", "v2", "v1"]}]
    assert get(reg, ctx, "xavp", "r=>f") == "v3"
    assert get(reg, ctx, "xavp", "r[0]=>f[2]") == "v1"
    assert get(reg, ctx, "xavp", "r=>f[-1]") == "v1"
    assert get(reg, ctx, "xavp", "r=>f[*]") == "v3, v2, v1"
    assert reg.resolve(spec("xavp", "r=>f[*]")).get_all(ctx) == ["v3", "v2", "v1"]
    put(reg, ctx, "xavp", "V2", "r[0]=>f[1]")            # replace at an index
    assert ctx.xavps["r"] == [{"f": ["v3", "V2", "v1"]}]
    put(reg, ctx, "xavp", "lost", "r[5]=>f")             # no such item: nothing
    put(reg, ctx, "xavp", "lost", "r[*]=>f")
    assert ctx.xavps["r"] == [{"f": ["v3", "V2", "v1"]}]


def test_xavp_root_read(reg):
    ctx = make_ctx()
    assert get(reg, ctx, "xavp", "r") is None
    put(reg, ctx, "xavp", "x", "r=>f")
    v = get(reg, ctx, "xavp", "r")
    assert isinstance(v, str) and v.startswith("<<xavp:")
    assert get(reg, ctx, "xavp", "r[1]") is None


def test_xavp_delete(reg):
    ctx = make_ctx()
    put(reg, ctx, "xavp", "a1", "r=>a")
    put(reg, ctx, "xavp", "b1", "r=>b")
    put(reg, ctx, "xavp", "b2", "r[0]=>b")
    put(reg, ctx, "xavp", "c", "r[0]=>c")
    put(reg, ctx, "xavp", None, "r=>b")                  # first value of b in item 0
    assert ctx.xavps["r"][0] == {"b": ["b1"], "c": ["c"]}
    put(reg, ctx, "xavp", None, "r=>b")
    assert ctx.xavps["r"][0] == {"c": ["c"]}
    put(reg, ctx, "xavp", None, "r[1]=>a")
    assert ctx.xavps["r"][1] == {}
    put(reg, ctx, "xavp", None, "r")                      # removes item 0
    assert ctx.xavps["r"] == [{}]
    put(reg, ctx, "xavp", None, "r")
    assert "r" not in ctx.xavps
    put(reg, ctx, "xavp", None, "r")                      # nothing there: fine


def test_xavp_delete_all(reg):
    ctx = make_ctx()
    for v in ("1", "2"):
        put(reg, ctx, "xavp", v, "r=>f")
        put(reg, ctx, "xavp", v + "b", "r[0]=>f")
        put(reg, ctx, "xavp", v, "r[0]=>g")
    put(reg, ctx, "xavp", None, "r[*]=>f")               # first f of every item
    assert ctx.xavps["r"] == [{"f": ["2"], "g": ["2"]}, {"f": ["1"], "g": ["1"]}]
    put(reg, ctx, "xavp", None, "r[0]=>g[*]")
    assert ctx.xavps["r"][0] == {"f": ["2"]}
    put(reg, ctx, "xavp", None, "r[*]")
    assert ctx.xavps == {}


def test_xavp_root_assignment(reg):
    ctx = make_ctx()
    pv = reg.resolve(spec("xavp", "r"))
    assert pv.null_only
    assert not reg.resolve(spec("xavp", "r=>f")).null_only
    pv.set(ctx, "value")
    assert ctx.xavps == {} and ctx.rt.logged


def test_xavp_pv_index(reg):
    ctx = make_ctx()
    put(reg, ctx, "xavp", "a", "r=>f")
    put(reg, ctx, "xavp", "b", "r=>f")
    pv = reg.resolve(spec("xavp", "r[$var(i)]=>f"))
    assert pv.get(ctx) == "b"
    ctx.rt.vars["i"] = 1
    assert pv.get(ctx) == "a"


# --- time, defines, environment -------------------------------------------------------------------------

def test_time_cached_per_message(reg, monkeypatch):
    clock = iter([1800000000.7, 1800000100.2])
    monkeypatch.setattr(time, "time", lambda: next(clock))
    ctx = make_ctx()
    ts = reg.resolve(spec("Ts"))
    assert ts.get(ctx) == 1800000000
    assert ts.get(ctx) == 1800000000
    tf = get(reg, ctx, "Tf")
    assert tf == time.ctime(1800000000) and len(tf) == 24 and tf.endswith(
        time.strftime("%Y", time.localtime(1800000000)))
    other = make_ctx()
    assert ts.get(other) == 1800000100


def test_time_fields(reg, monkeypatch):
    t = 1796012345        # a fixed instant; expectations come from strftime
    monkeypatch.setattr(time, "time", lambda: float(t))
    ctx = make_ctx()
    tm = time.localtime(t)
    f = lambda fmt: int(time.strftime(fmt, tm))
    assert get(reg, ctx, "time", "sec") == f("%S")
    assert get(reg, ctx, "time", "min") == f("%M")
    assert get(reg, ctx, "time", "hour") == f("%H")
    assert get(reg, ctx, "time", "mday") == f("%d")
    assert get(reg, ctx, "time", "mon") == f("%m")
    assert get(reg, ctx, "time", "year") == f("%Y")
    assert get(reg, ctx, "time", "wday") == f("%w") + 1       # Sunday is 1
    assert get(reg, ctx, "time", "yday") == f("%j")
    assert get(reg, ctx, "time", "isdst") == tm.tm_isdst


def test_def(reg):
    ctx = make_ctx()
    assert get(reg, ctx, "def", "DBURL") == "mysql://k:pw@db/kam"
    assert get(reg, ctx, "def", "PORT") == 5060
    assert get(reg, ctx, "def", "NEG") == -3
    assert get(reg, ctx, "def", "WORD") == "plain"
    assert get(reg, ctx, "def", "SQ") == "single"
    assert get(reg, ctx, "def", "WITH_AUTH") == ""
    assert get(reg, ctx, "def", "NOPE") is None
    ctx.rt.defines["NOPE"] = "1"              # read at run time, nothing cached
    assert get(reg, ctx, "def", "NOPE") == 1
    assert define_value('"x"') == "x" and define_value("12a") == "12a"


def test_env(reg, monkeypatch):
    monkeypatch.setenv("KAMPY_PV_TEST", "hello")
    monkeypatch.delenv("KAMPY_PV_UNSET", raising=False)
    ctx = make_ctx()
    assert get(reg, ctx, "env", "KAMPY_PV_TEST") == "hello"
    assert get(reg, ctx, "env", "KAMPY_PV_UNSET") is None


# --- startup errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, inner, index", [
    ("time", "foo", None), ("time", None, None), ("hdr", None, None), ("hdr", "", None),
    ("hdr", "Bad Name", None), ("hdr", "$", None), ("hdrc", None, None), ("hdrc", "Via", 1),
    ("avp", None, None), ("avp", "i:abc", None), ("avp", "s:", None), ("avp", "x", "1x"),
    ("var", None, None), ("var", "x", 0), ("shv", "x", "*"), ("xavp", None, None),
    ("xavp", "r[]=>f", None), ("xavp", "r=>", None), ("xavp", "r=>f", 1), ("def", None, None),
    ("env", None, None), ("ru", None, 1), ("ci", None, "*"), ("ru", "x", None),
    ("null", "x", None), ("ai", None, "*"),
])
def test_startup_errors(reg, name, inner, index):
    with pytest.raises(ConfigError) as e:
        reg.resolve(spec(name, inner, index))
    assert e.value.pos == POS


def test_log_falls_back_to_python_logging(reg, caplog):
    rt = make_rt()
    del rt.log
    ctx = make_ctx(rt=rt)
    with caplog.at_level(logging.ERROR, logger="kampy"):
        put(reg, ctx, "fs", "udp:192.0.2.99:5060")
    assert "no listening socket" in caplog.text
