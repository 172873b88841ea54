# SPDX-License-Identifier: GPL-2.0-or-later
"""The fast paths of kampy.sip (the header index of parse(), the readers of
branch, tags, Call-ID and CSeq, the name-addr shortcut) give exactly what the
full grammar gives, for the usual spelling and for every unusual one."""

from hypothesis import given, settings, strategies as st

from kampy.sip import ParseError, parse
from kampy.sip.headers import (
    _NA_RE, _ADDR_RE, parse_cseq, parse_name_addr, parse_via_value, split_list,
)

import pytest

START = b"INVITE sip:bob@example.com SIP/2.0\r\n"
REST = (b"Call-ID: a84b@host\r\n"
        b"CSeq: 314159 INVITE\r\n"
        b"Content-Length: 0\r\n\r\n")


def msg(via=b"SIP/2.0/UDP h;branch=z9hG4bK1", frm=b"<sip:a@b>;tag=x", to=b"<sip:c@d>",
        extra=b""):
    return (START + b"Via: " + via + b"\r\nFrom: " + frm + b"\r\nTo: " + to + b"\r\n"
            + extra + REST)


def reference(m):
    """Branch, tags, Call-ID and CSeq through the full parsers."""
    via = parse_via_value(split_list(m.header("via"), brackets=False)[0])
    return (via.branch or None, parse_name_addr(m.header("from")).tag or None,
            parse_name_addr(m.header("to")).tag or None, m.header("call-id"),
            (lambda c: (c.number, c.method))(parse_cseq(m.header("cseq"))))


def fast(m):
    return m.branch, m.from_tag, m.to_tag, m.call_id, (m.cseq.number, m.cseq.method)


@pytest.mark.parametrize("data", [
    msg(),
    msg(via=b"SIP/2.0/UDP h;BRANCH=z9hG4bK1"),
    msg(via=b"SIP/2.0/UDP h ; branch = z9hG4bK1 ;rport"),
    msg(via=b"SIP/2.0/UDP h;rport;branch=z9hG4bK.Aj5-z3m_x~UG"),
    msg(via=b"SIP/2.0/UDP h;received=1.2.3.4, SIP/2.0/UDP g;branch=z9hG4bK2"),
    msg(via=b"SIP/2.0/UDP h;branch=z9hG4bK1, SIP/2.0/UDP g;branch=z9hG4bK2"),
    msg(via=b"SIP/2.0/UDP h;branch="),
    msg(frm=b'"x;tag=no" <sip:a@b;tag=uri>;tag=hdr'),
    msg(frm=b"sip:a@b;tag=plain", to=b"sip:c@d;user=phone"),
    msg(frm=b"<sip:a@b> ; TAG = spaced", to=b"<sip:c@d>;x=1;Tag=T2;y"),
    msg(to=b"<sip:c@d;tag=inside-uri>"),
    msg(to=b"<sip:c@d>;tag=a-b.c!d%e*f_g+h`i'j~k"),
    msg(extra=b"Record-Route: <sip:p>\r\n").replace(b"Via:", b"v:").replace(b"From:", b"f:"),
    msg().replace(b"CSeq: 314159 INVITE", b"CSeq:   314159   INVITE"),
    msg().replace(b"CSeq: 314159 INVITE", b"CSeq: 7 FOO"),
    msg().replace(b"Call-ID: a84b@host", b"i:   a84b@host   "),
    msg().replace(b"Via: SIP/2.0/UDP h;branch=z9hG4bK1", b"Via: SIP/2.0/UDP h\r\n ;branch=folded"),
])
def test_fast_readers_match_the_grammar(data):
    m = parse(data)
    try:
        ref = reference(m)
    except ParseError:      # the full grammar refuses an empty branch value
        assert m.branch is None
        return
    assert fast(m) == ref
    again = parse(data)            # cached values are the same as the first reads
    fast(again)
    assert fast(again) == fast(m)


_param_name = st.sampled_from([b"branch", b"BRANCH", b"Branch", b"rport", b"received", b"x"])
_ws = st.sampled_from([b"", b" ", b"\t"])
_token = st.text(alphabet="abcXYZ019-.!%*_+`'~", min_size=1, max_size=8).map(str.encode)


@st.composite
def _via(draw):
    params = []
    seen = set()
    for _ in range(draw(st.integers(0, 3))):
        name = draw(_param_name)
        if name.lower() in seen:
            continue        # a repeated parameter: which one counts is the grammar's business
        seen.add(name.lower())
        value = draw(st.one_of(st.just(None), _token))
        params.append(draw(_ws) + b";" + draw(_ws) + name
                      + (b"" if value is None else draw(_ws) + b"=" + draw(_ws) + value))
    second = draw(st.sampled_from([b"", b", SIP/2.0/UDP g;branch=z9hG4bK2"]))
    return b"SIP/2.0/UDP h:5060" + b"".join(params) + second


@st.composite
def _name_addr(draw):
    name = draw(st.sampled_from([b"", b"Alice ", b'"A ; tag=q" ', b"Bob  Smith  "]))
    uri = draw(st.sampled_from([b"sip:a@b", b"sip:a@b;tag=u", b"tel:+1"]))
    params = b""
    seen = set()
    for _ in range(draw(st.integers(0, 2))):
        pname = draw(st.sampled_from([b"tag", b"TAG", b"x", b"expires"]))
        if pname.lower() in seen:
            continue
        seen.add(pname.lower())
        params += draw(_ws) + b";" + draw(_ws) + pname + draw(_ws) + b"=" + draw(_ws) + draw(_token)
    if draw(st.booleans()) or params == b"" and uri.endswith(b"u"):
        return name + b"<" + uri + b">" + params
    return uri + params if not name else name + b"<" + uri + b">" + params


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(_via(), _name_addr(), _name_addr())
def test_fast_readers_match_the_grammar_generated(via, frm, to):
    data = msg(via=via, frm=frm, to=to)
    try:
        m = parse(data)
        ref = reference(m)
    except ParseError:
        return          # a spelling the grammar refuses: nothing to compare
    assert fast(m) == ref


def _na_slow(v):
    """parse_name_addr without its shortcut: the regexes only."""
    m = _NA_RE.fullmatch(v)
    if m is not None:
        quoted, tokens, uri, params = m.groups()
        display = quoted if quoted is not None else (tokens.rstrip(b" \t") if tokens else None)
        return display, uri, params.lstrip(b" \t") if params else b""
    m = _ADDR_RE.fullmatch(v)
    if m is None or b"<" in v or b'"' in v or b">" in v:
        return "error"
    uri, params = m.groups()
    return None, uri, params.lstrip(b" \t") if params else b""


@settings(max_examples=400, derandomize=True, database=None, deadline=None)
@given(st.binary(max_size=40).filter(lambda b: b"\r" not in b and b"\n" not in b)
       | st.builds(lambda a, b, c: a + b + c,
                   st.sampled_from([b"", b" ", b"Al ice", b"A\"", b"<x>"]),
                   st.sampled_from([b"<sip:a@b>", b"<sip:<a>", b"<>", b"<sip:a@b"]),
                   st.sampled_from([b"", b";tag=1", b" ;x", b"x", b"; tag=1 ", b">"])))
def test_name_addr_shortcut_matches_the_regex(v):
    try:
        na = parse_name_addr(v)
        got = (na.display, na.uri_raw, na.params)
    except ParseError:
        got = "error"
    want = _na_slow(v)
    if want != "error" and got == "error":
        return          # the regex shape matched but its params did not check: both refuse
    assert got == want or (want == "error" and got == "error")
