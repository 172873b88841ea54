# SPDX-License-Identifier: GPL-2.0-or-later
"""RFC 4475 torture messages: every valid one parses (and validates) with the
fields the RFC describes; every invalid one is refused with the RFC's status."""

import csv
import pathlib

import pytest

from kampy.sip import ParseError, parse, parse_uri

HERE = pathlib.Path(__file__).parent / "rfc4475"
MANIFEST = {r["file"]: r for r in csv.DictReader(open(HERE / "MANIFEST.tsv"), delimiter="\t")}


def load(name):
    return (HERE / name).read_bytes()


def refused(name):
    """The ParseError raised by parse() or validate(), or None."""
    try:
        m = parse(load(name))
        m.validate()
    except ParseError as e:
        return e
    return None


def test_corpus_is_byte_exact():
    import hashlib
    for name, row in MANIFEST.items():
        data = load(name)
        assert len(data) == int(row["bytes"]), name
        assert hashlib.sha256(data).hexdigest() == row["sha256"], name


VALID = sorted(n for n, r in MANIFEST.items() if r["class"] == "valid")
INVALID = sorted(n for n, r in MANIFEST.items() if r["class"] != "valid")


@pytest.mark.parametrize("name", VALID)
def test_valid_messages_parse_and_validate(name):
    m = parse(load(name))
    m.validate()
    if m.is_request:
        m.ruri_uri
    for key, _raw, _val in m.header_fields():
        m.parsed(key)


@pytest.mark.parametrize("name", INVALID)
def test_invalid_messages_are_refused_with_rfc_status(name):
    err = refused(name)
    assert err is not None, "%s must be refused" % name
    codes = MANIFEST[name]["rfc_codes"]
    allowed = {int(c) for c in codes.split("|") if c.isdigit()} or {400}
    assert err.status in allowed, (name, err.status, err.reason)


def test_wsinv():
    m = parse(load("wsinv.dat"))
    assert m.method == "INVITE"
    assert m.ruri == b"sip:vivekg@chair-dnrc.example.com;unknownparam"
    assert m.to.tag == b"1918181833n"
    assert m.to.uri_raw == b"sip:vivekg@chair-dnrc.example.com"
    assert m.from_.tag == b"98asjd8"
    assert m.from_.display == b'"J Rosenberg \\\\\\""'
    assert m.from_.display_name == 'J Rosenberg \\"'
    assert m.max_forwards == 68
    assert m.cseq.number == 9 and m.cseq.method == "INVITE"
    assert m.call_id == b"wsinv.ndaksdj@192.0.2.1"
    vias = m.vias
    assert [v.transport for v in vias] == ["UDP", "TCP", "UDP"]
    assert vias[0].host == b"192.0.2.2" and vias[0].branch == b"390skdjuw"
    assert vias[1].host == b"spindle.example.com" and vias[1].branch == b"z9hG4bK9ikj8"
    assert vias[2].host == b"192.168.255.111" and vias[2].branch == b"z9hG4bK30239"
    assert m.via.branch == b"390skdjuw"
    assert m.header("Subject") == b""
    assert m.header("NewFangledHeader") == b"newfangled value continued newfangled value"
    assert m.header("UnknownHeaderWithUnusualValue") == b";;,,;;,;"
    c = m.contacts
    assert len(c) == 1
    assert c[0].display_name == 'Quoted string ""'
    assert c[0].param("newparam") == b"newvalue"
    assert c[0].param("secondparam") == b""
    assert c[0].q == 0.33
    assert m.routes[0].uri.param("unknownwith") == b"value"
    assert len(m.body) == 150
    # a proxy passes it on untouched
    assert m.serialize() == load("wsinv.dat")


def test_intmeth():
    m = parse(load("intmeth.dat"))
    assert m.method == "!interesting-Method0123456789_*+`.%indeed'~"
    u = m.ruri_uri
    assert u.user == b"1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert u.password == b"&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert m.to.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert m.from_.display == b"token1~` token2'+_ token3*%!.-"
    assert m.from_.tag == b"_token~1'+`*%!-."
    assert m.max_forwards == 255
    assert m.cseq.method == m.method
    assert m.header("extensionHeader-!.%*+_`'~").startswith(b"\xef\xbb\xbf")


def test_esc01():
    m = parse(load("esc01.dat"))
    assert m.ruri_uri.user_unescaped() == b"sips:user@example.com"
    assert m.to.uri.user_unescaped() == b"user"
    assert m.from_.uri.user_unescaped() == b"I have spaces"
    c = m.contacts[0].uri
    assert c.user_unescaped() == b"caller"
    assert m.content_type.mime == "application/sdp"
    assert m.call_id == b"esc01.239409asdfakjkn23onasd0-3234"


def test_escnull():
    m = parse(load("escnull.dat"))
    assert m.to.uri.user_unescaped() == b"null-\x00-null"
    assert [c.uri.user_unescaped() for c in m.contacts] == [b"\x00", b"\x00\x00"]


def test_esc02_percent_is_not_an_escape():
    m = parse(load("esc02.dat"))
    assert m.method == "RE%47IST%45R"
    assert m.to.display == b'"%Z%45"'
    assert len(m.contacts) == 2
    assert m.header("C%6Fntact") == b"<sip:alias2@host2.example.com>"


def test_lwsdisp():
    m = parse(load("lwsdisp.dat"))
    assert m.from_.display == b"caller"
    assert m.from_.tag == b"323"


def test_longreq():
    m = parse(load("longreq.dat"))
    assert len(m.vias) == 34
    assert m.to.display.startswith(b'"I have a user name of extreme')
    assert len(m.call_id) > 100
    assert m.from_.tag.startswith(b"12982982")


def test_dblreq_trailing_octets_are_ignored():
    data = load("dblreq.dat")
    m = parse(data)
    assert m.method == "REGISTER"
    assert m.body == b""
    out = m.serialize()
    assert b"INVITE" not in out
    assert out.endswith(b"\r\n\r\n")


def test_semiuri():
    m = parse(load("semiuri.dat"))
    u = m.ruri_uri
    assert u.user == b"user;par=u%40example.net"
    assert u.host == b"example.com"
    assert u.user_unescaped() == b"user;par=u@example.net"


def test_transports():
    m = parse(load("transports.dat"))
    assert [v.transport for v in m.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    assert m.call_id == b"transports.kijh4akdnaqjkwendsasfdj"


def test_mpart01_body_framed_by_content_length():
    m = parse(load("mpart01.dat"))
    assert len(m.body) == 553
    assert b"\x00" in m.body
    assert m.content_type.mime == "multipart/mixed"
    assert m.content_type.param("boundary") == b"7a9cbec02ceef655"


def test_unreason_and_noreason():
    m = parse(load("unreason.dat"))
    assert not m.is_request and m.status == 200
    assert m.reason.startswith(b"= 2**3 * 5**2 ")
    m = parse(load("noreason.dat"))
    assert m.status == 100 and m.reason == b""


def test_badbranch_parses():
    m = parse(load("badbranch.dat"))
    assert m.via.branch == b"z9hG4bK"


def test_unknown_schemes():
    m = parse(load("unkscm.dat"))
    assert m.ruri_uri.scheme == "nobodyknowsthisscheme"
    m = parse(load("novelsc.dat"))
    assert m.ruri_uri.scheme == "soap.beep"
    m = parse(load("unksm2.dat"))
    assert m.to.uri.scheme == "isbn"
    assert m.from_.uri.scheme == "http"
    assert m.contacts[0].uri.scheme == "name"


def test_bext01_requires():
    m = parse(load("bext01.dat"))
    assert m.parsed("Require") == ["nothingSupportsThis", "nothingSupportsThisEither"]
    assert m.parsed("Proxy-Require") == ["noProxiesSupportThis", "norDoAnyProxiesSupportThis"]


def test_regaut01_unknown_scheme_kept():
    m = parse(load("regaut01.dat"))
    cred = m.parsed("Authorization")
    assert cred.scheme == "NoOneKnowsThisScheme"
    assert m.header("Authorization") == b"NoOneKnowsThisScheme opaque-data=here"


def test_zeromf_bcast():
    assert parse(load("zeromf.dat")).max_forwards == 0
    m = parse(load("bcast.dat"))
    assert m.vias[1].host == b"255.255.255.255"


def test_cparam01_contact_param_is_header_param():
    c = parse(load("cparam01.dat")).contacts[0]
    assert c.param("unknownparam") == b""
    assert not c.uri.has_param("unknownparam")


def test_cparam02_contact_param_in_uri():
    c = parse(load("cparam02.dat")).contacts[0]
    assert c.param("unknownparam") is None
    assert c.uri.has_param("unknownparam")


def test_regescrt_escaped_header_stays_in_uri():
    m = parse(load("regescrt.dat"))
    u = m.contacts[0].uri
    assert u.headers == b"Route=%3Csip:sip.example.com%3E"
    assert not m.has("Route")


def test_inv2543_legacy():
    m = parse(load("inv2543.dat"))
    assert m.via.branch is None
    assert m.from_.tag is None
    assert m.max_forwards is None
    assert m.content_length is None
    assert m.body.startswith(b"v=0")


def test_invalid_reasons():
    assert "Content-Length" in refused("clerr.dat").reason
    assert refused("badvers.dat").status == 505
    assert "CSeq" in refused("scalar02.dat").reason
    assert refused("insuf.dat").reason.startswith("missing")
    assert refused("multi01.dat").reason.startswith("more than one")
    assert refused("mismatch01.dat").reason.startswith("CSeq method")
