# SPDX-License-Identifier: GPL-2.0-or-later
"""The shortcuts parse() and the transaction readers take for the usual
spelling (start line split once, `Content-Length: N` as the last line, the
cached tags and CSeq) give what the exact way gives, for the usual spelling
and for every unusual one next to it."""

import re

import pytest
from hypothesis import given, settings, strategies as st

from kampy.sip import ParseError, parse
from kampy.sip.headers import parse_content_length, parse_cseq, parse_name_addr

START = b"MESSAGE sip:bob@example.com SIP/2.0\r\n"
HEAD = (b"Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
        b"From: <sip:a@b>;tag=f1\r\nTo: <sip:c@d>\r\n"
        b"Call-ID: q1@h\r\nCSeq: 1 MESSAGE\r\n")

_CL_NAME = re.compile(rb"(?i:content-length|l)[ \t]*")


def framed_body(data):
    """The body by the grammar alone: every Content-Length line, unfolded
    values, equal duplicates allowed, a short body refused (RFC 3261 §18.3)."""
    head, _, rest = data.partition(b"\r\n\r\n")
    values = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if _CL_NAME.fullmatch(name):
            values.append(parse_content_length(value.strip(b" \t")))
    if not values:
        return rest
    if len(set(values)) > 1:
        raise ParseError("conflicting Content-Length values")
    if values[0] > len(rest):
        raise ParseError("body shorter than Content-Length")
    return rest[:values[0]]


def outcome(fn, *args):
    try:
        return fn(*args)
    except ParseError:
        return "ParseError"


CL_LINES = [
    b"Content-Length: 3", b"content-length: 3", b"CONTENT-LENGTH: 3", b"l: 3", b"L: 3",
    b"Content-Length : 3", b"Content-Length\t: 3", b"Content-Length:3", b"Content-Length:  3",
    b"Content-Length: 3 ", b"Content-Length:\t3", b"Content-Length: 0003", b"Content-Length: 0",
    b"Content-Length: 5", b"Content-Length:x: 3", b"Content-Length: 3: 3", b"Content-Length: +3",
    b"Content-Length: -3", b"Content-Length: 3_0", b"Content-Length: 3x", b"Content-Length: ",
    b"Content-Length: 99999999999", b"Content-Length: 4294967296", b"Content-Length: 1 2",
]


@pytest.mark.parametrize("cl", CL_LINES)
@pytest.mark.parametrize("where", ["last", "first", "middle"])
def test_content_length_framing_matches_the_grammar(cl, where):
    lines = HEAD.split(b"\r\n")[:-1]
    pos = {"last": len(lines), "first": 0, "middle": 2}[where]
    lines.insert(pos, cl)
    data = START + b"\r\n".join(lines) + b"\r\n\r\nabcd"
    want = outcome(framed_body, data)
    got = outcome(lambda d: parse(d).body, data)
    assert got == want


@pytest.mark.parametrize("first,second", [
    (b"Content-Length: 3", b"l: 3"), (b"l: 3", b"Content-Length: 3"),
    (b"Content-Length: 3", b"Content-Length: 2"), (b"l: 2", b"Content-Length: 3"),
    (b"Content-Length: 3", b"Content-Length:3"), (b"Content-Length: 3", b"Content-Length: x"),
])
def test_repeated_content_length(first, second):
    data = START + HEAD + first + b"\r\nX-Between: 1\r\n" + second + b"\r\n\r\nabcd"
    assert outcome(lambda d: parse(d).body, data) == outcome(framed_body, data)


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([b"Content-Length", b"l", b"content-length", b"L"]),
                          st.sampled_from([b":", b" :", b": ", b":  ", b":\t"]),
                          st.sampled_from([b"0", b"2", b"3", b"4", b"03", b"x", b"-1", b"7"]),
                          st.sampled_from([b"", b" ", b"\t"])),
                max_size=3),
       st.binary(max_size=6).filter(lambda b: b"\r\n" not in b))
def test_content_length_generated(cls, body):
    data = START + HEAD + b"".join(n + s + v + t + b"\r\n" for n, s, v, t in cls) + b"\r\n" + body
    assert outcome(lambda d: parse(d).body, data) == outcome(framed_body, data)


@pytest.mark.parametrize("line", [
    b"CSeq: 1 MESSAGE", b"cseq: 1 MESSAGE", b"CSEQ: 1 MESSAGE", b"CSeq: 4294967295 MESSAGE",
    b"CSeq: 4294967296 MESSAGE", b"CSeq: 0001 MESSAGE", b"CSeq: 7 FOO", b"CSeq:  1 MESSAGE",
    b"CSeq:1 MESSAGE", b"CSeq : 1 MESSAGE", b"CSeq:x: 1 MESSAGE", b"CSeq: 1: MESSAGE",
    b"CSeq: x MESSAGE", b"CSeq: +1 MESSAGE", b"CSeq: 1 MESSAGE ", b"CSeq: 1_0 MESSAGE",
])
def test_cseq_reader_matches_the_grammar(line):
    data = (START + HEAD.replace(b"CSeq: 1 MESSAGE", line) + b"Content-Length: 0\r\n\r\n")
    m = parse(data)
    want = outcome(lambda v: (lambda c: (c.number, c.method))(parse_cseq(v)), m.header("cseq"))
    got = outcome(lambda: (m.cseq.number, m.cseq.method))
    assert got == want


@pytest.mark.parametrize("value,tag", [
    (b"<sip:c@d>", None),
    (b"<sip:c@d>;tag=t1", b"t1"),
    (b"<sip:c@d>;tag=t1;x=2", b"t1"),
    (b"<sip:c@d>;x=2;tag=t1", b"t1"),
    (b"<sip:c@d>;x=2", None),
    (b"<sip:c@d;tag=inside>", None),
    (b"<sip:c@d;tag=inside>;tag=out", b"out"),
    (b"<sip:c@d>;tag=one;tag=two", b"one"),
    (b"sip:c@d;tag=plain", b"plain"),
    (b"sip:c@d", None),
    (b'"a>;tag=q" <sip:c@d>', None),
    (b'"a>;tag=q" <sip:c@d>;tag=r', b"r"),
    (b"<sip:c@d> ;tag=sp", b"sp"),
    (b"<sip:c@d>;TAG=up", b"up"),
    (b"<sip:c@d>;tag=", None),
    (b"<sip:c@d>;tag=t1 ", b"t1"),
    (b"<sip:c@d>\r\n ;tag=folded", b"folded"),
])
def test_tag_readers_match_the_grammar(value, tag):
    for name in (b"From", b"To"):
        data = (START + b"Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n" + name + b": " + value
                + b"\r\n" + (b"To: <sip:x@y>" if name == b"From" else b"From: <sip:x@y>;tag=f")
                + b"\r\nCall-ID: q1@h\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n")
        m = parse(data)
        got = m.from_tag if name == b"From" else m.to_tag
        assert got == tag
        ref = outcome(lambda v: parse_name_addr(v).tag or None, m.header(name.decode()))
        assert ref in (tag, "ParseError")
        assert (m.from_tag if name == b"From" else m.to_tag) is got     # cached


@pytest.mark.parametrize("first,expect", [
    (b"SIP/2.0 200 OK", (False, 200, b"OK")),
    (b"SIP/2.0 404 Not Found Here", (False, 404, b"Not Found Here")),
    (b"SIP/2.0 180", (False, 180, b"")),
    (b"INVITE sip:a@b SIP/2.0", (True, "INVITE", b"sip:a@b")),
    (b"FOO sip:a@b SIP/2.0", (True, "FOO", b"sip:a@b")),
    (b"INVITE sip:a@b SIP/2.0 extra", 400),
    (b"INVITE sip:a@b", 400),
    (b"INVITE  sip:a@b SIP/2.0", 400),
    (b"INVITE <sip:a@b> SIP/2.0", 400),
    (b"INVITE sip:a@b SIP/3.0", 505),
    (b"INVITE sip:a@b sip/2.0", (True, "INVITE", b"sip:a@b")),
])
def test_start_line(first, expect):
    data = first + b"\r\n" + HEAD + b"Content-Length: 0\r\n\r\n"
    if isinstance(expect, int):
        with pytest.raises(ParseError) as ei:
            parse(data)
        assert ei.value.status == expect
        return
    m = parse(data)
    if m.is_request:
        assert (True, m.method, m.ruri) == expect
    else:
        assert (False, m.status, m.reason) == expect


def test_cached_reads_follow_apply_changes():
    m = parse(START + HEAD + b"Content-Length: 0\r\n\r\n")
    assert (m.branch, m.from_tag, m.to_tag, m.cseq.number) == (b"z9hG4bK1", b"f1", None, 1)
    m.set_header_value(m.positions("to")[0], b"<sip:c@d>;tag=t9")
    m.set_header_value(m.positions("cseq")[0], b"2 MESSAGE")
    assert m.to_tag is None and m.cseq.number == 1         # reads see the message as received
    m.apply_changes()
    assert (m.branch, m.from_tag, m.to_tag, m.cseq.number) == (b"z9hG4bK1", b"f1", b"t9", 2)
