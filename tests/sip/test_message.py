# SPDX-License-Identifier: GPL-2.0-or-later
"""kampy.sip.Message: lazy reads, compact forms, edits and serialization."""

import pytest

from kampy.sip import KEEP, ParseError, parse

INVITE = (
    b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKold, SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bKv6;received=192.0.2.9\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b"From: \"Alice A.\" <sip:alice@atlanta.example.com>;tag=1928301774;x=y\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@pc33.atlanta.example.com>;expires=60;q=0.5, sip:a2@h2\r\n"
    b"Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
    b"X-Custom: one\r\n"
    b"x-custom: two\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 4\r\n"
    b"\r\n"
    b"v=0\n"
)

REPLY = (
    b"SIP/2.0 180 Ringing\r\n"
    b"v: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
    b"t: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
    b"f: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    b"i: a84b4c76e66710\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"m: <sip:bob@192.0.2.4>\r\n"
    b"l: 0\r\n"
    b"\r\n"
)


def test_request_basics():
    m = parse(INVITE)
    assert m.is_request and m.method == "INVITE"
    assert m.ruri == b"sip:bob@biloxi.example.com"
    assert m.ruri_uri.user == b"bob"
    assert m.version == b"SIP/2.0"
    assert m.via.branch == b"z9hG4bK776asdhds"
    assert m.via.rport == b""
    assert m.via.port == 5060 and m.via.transport == "UDP"
    assert m.from_.tag == b"1928301774"
    assert m.from_.param("X") == b"y"
    assert m.from_.display_name == "Alice A."
    assert m.to.tag is None
    assert m.call_id == b"a84b4c76e66710@pc33.atlanta.example.com"
    assert (m.cseq.number, m.cseq.method) == (314159, "INVITE")
    assert m.max_forwards == 70
    assert m.body == b"v=0\n"
    assert m.content_length == 4
    assert m.content_type.mime == "application/sdp"
    assert m.transaction_method == "INVITE"
    assert len(m) == len(INVITE)


def test_header_lists_and_repeats():
    m = parse(INVITE)
    vias = m.vias
    assert len(vias) == 3
    assert vias[2].host == b"[2001:db8::1]" and vias[2].port == 5070
    assert vias[2].received == b"192.0.2.9" and vias[2].transport == "TCP"
    assert vias[1].rport is None
    c = m.contacts
    assert [x.uri_raw for x in c] == [b"sip:alice@pc33.atlanta.example.com", b"sip:a2@h2"]
    assert c[0].expires == 60 and c[0].q == 0.5 and c[1].expires is None
    assert [r.uri.host for r in m.record_routes] == [b"p1.example.com", b"p2.example.com"]
    assert m.headers("X-CUSTOM") == [b"one", b"two"]
    assert m.count("x-custom") == 2
    assert m.header("x-custom") == b"one"
    assert m.header("X-Missing") is None and m.headers("X-Missing") == []
    assert not m.has("route") and m.routes == []


def test_compact_forms_and_reply():
    m = parse(REPLY)
    assert not m.is_request and m.status == 180 and m.reason == b"Ringing"
    assert m.method is None
    assert m.via.branch == b"z9hG4bK776asdhds"
    assert m.to.tag == b"a6c85cf"
    assert m.from_.tag == b"1928301774"
    assert m.call_id == b"a84b4c76e66710"
    assert m.has("Contact") and m.header("contact") == b"<sip:bob@192.0.2.4>"
    assert m.header("Content-Length") == b"0"
    assert m.transaction_method == "INVITE"


@pytest.mark.parametrize("compact,full", [
    ("i", "Call-ID"), ("m", "Contact"), ("e", "Content-Encoding"), ("l", "Content-Length"),
    ("c", "Content-Type"), ("f", "From"), ("s", "Subject"), ("k", "Supported"), ("t", "To"),
    ("v", "Via"), ("o", "Event"), ("u", "Allow-Events"), ("r", "Refer-To"),
    ("b", "Referred-By"), ("x", "Session-Expires"), ("y", "Identity"),
])
def test_every_compact_form(compact, full):
    data = (b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
            b"%s: value-x\r\nContent-Length: 0\r\n\r\n" % compact.encode())
    if compact in ("l", "v"):
        data = data.replace(b"value-x", b"0" if compact == "l" else b"SIP/2.0/UDP x")
        data = data.replace(b"Content-Length: 0\r\n", b"") if compact == "l" else data
    m = parse(data)
    assert m.has(full) and m.has(full.upper()) and m.has(compact.upper())


def test_lws_around_colon_and_folding():
    data = (b"OPTIONS sip:a@b SIP/2.0\r\nVia   :   SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
            b"To\t:\r\n <sip:a@b>\r\n\t;tag=x\r\nContent-Length: 0\r\n\r\n")
    m = parse(data)
    assert m.via.host == b"h"
    assert m.to.tag == b"x"
    assert m.header("to") == b"<sip:a@b> ;tag=x"
    assert m.serialize() == data


def test_bare_lf_line_ends_accepted():
    data = b"OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nContent-Length: 2\n\nhi"
    m = parse(data)
    assert m.via.branch == b"z9hG4bK1" and m.body == b"hi"
    m.add_header("X-A", "1")
    assert m.serialize() == data.replace(b"\n\nhi", b"\nX-A: 1\n\nhi")


def test_leading_crlf_ignored():
    m = parse(b"\r\n\r\n" + REPLY)
    assert m.status == 180


@pytest.mark.parametrize("data,status", [
    (b"", 400),
    (b"\r\n\r\n", 400),
    (b"garbage", 400),
    (b"INVITE sip:a@b SIP/2.0\r\nVia: x\r\n", 400),          # no blank line
    (b"INVITE sip:a@b SIP/3.0\r\n\r\n", 505),
    (b"SIP/3.0 200 OK\r\n\r\n", 505),
    (b"SIP/2.0 2000 OK\r\n\r\n", 400),
    (b"SIP/2.0 099 OK\r\n\r\n", 400),
    (b"SIP/2.0 abc OK\r\n\r\n", 400),
    (b"INVITE  sip:a@b SIP/2.0\r\n\r\n", 400),
    (b"INV(TE sip:a@b SIP/2.0\r\n\r\n", 400),
    (b"INVITE <sip:a@b> SIP/2.0\r\n\r\n", 400),
    (b"INVITE sip:a@b SIP/2.0\r\nNoColon\r\n\r\n", 400),
    (b"INVITE sip:a@b SIP/2.0\r\n: value\r\n\r\n", 400),
    (b"INVITE sip:a@b SIP/2.0\r\nBad Name: v\r\n\r\n", 400),
    (b"INVITE sip:a@b SIP/2.0\r\n folded-first: v\r\n\r\n", 400),
    (b"INVITE sip:a@b SIP/2.0\r\nContent-Length: 10\r\n\r\nshort", 400),
    (b"INVITE sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n", 400),
    (b"INVITE sip:a@b SIP/2.0\r\nContent-Length: x\r\n\r\n", 400),
    (b"INVITE sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab", 400),
])
def test_parse_errors(data, status):
    with pytest.raises(ParseError) as ei:
        parse(data)
    assert ei.value.status == status


def test_body_longer_than_content_length_is_truncated():
    m = parse(b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2\r\n\r\nhello")
    assert m.body == b"he"
    assert m.serialize().endswith(b"\r\n\r\nhe")


def test_equal_duplicate_content_length_accepted():
    m = parse(b"MESSAGE sip:a@b SIP/2.0\r\nl: 2\r\nContent-Length: 2\r\n\r\nhi")
    assert m.body == b"hi"


@pytest.mark.parametrize("header,value", [
    ("Via", b"SIP/2.0/UDP"),
    ("Via", b"SIP/2.0/UDP h;;branch=1"),
    ("Via", b"SIP/2.0/UDP h:99999"),
    ("Via", b"SIP/2.0/UDP h,"),
    ("From", b"\"unterminated <sip:a@b>"),
    ("From", b"Bell, Alexander <sip:a@b>"),
    ("From", b"<sip:a@b>;;tag=1"),
    ("From", b"<sip:a@b> trailing"),
    ("CSeq", b"1"),
    ("CSeq", b"4294967296 INVITE"),
    ("CSeq", b"x INVITE"),
    ("Max-Forwards", b"256"),
    ("Max-Forwards", b"-1"),
    ("Expires", b"4294967296"),
    ("Content-Type", b"application"),
    ("Retry-After", b"soon"),
    ("Call-ID", b"has space"),
])
def test_value_errors_are_parse_errors(header, value):
    data = b"OPTIONS sip:a@b SIP/2.0\r\n%s: %s\r\nl: 0\r\n\r\n" % (header.encode(), value)
    m = parse(data)  # lazy: the bad value is only read on demand
    with pytest.raises(ParseError):
        m.parsed(header)
        if header == "From":
            m.from_.uri


def test_retry_after_min_expires_date():
    m = parse(b"SIP/2.0 503 Busy\r\nRetry-After: 120 (maintenance);duration=60\r\n"
              b"Min-Expires: 3600\r\nDate: Sat, 13 Nov 2010 23:29:00 GMT\r\nl: 0\r\n\r\n")
    ra = m.parsed("Retry-After")
    assert ra.seconds == 120 and ra.comment == b"(maintenance)" and ra.duration == 60
    assert m.parsed("Min-Expires") == 3600
    assert m.parsed("Date") == b"Sat, 13 Nov 2010 23:29:00 GMT"


def test_contact_star():
    m = parse(b"REGISTER sip:r SIP/2.0\r\nContact: *\r\nExpires: 0\r\nl: 0\r\n\r\n")
    assert m.contacts == "*" and m.expires == 0
    m = parse(b"REGISTER sip:r SIP/2.0\r\nContact: *\r\nContact: <sip:a@b>\r\nl: 0\r\n\r\n")
    with pytest.raises(ParseError):
        m.contacts


def test_auth_headers_parsed():
    m = parse(b"SIP/2.0 401 Unauthorized\r\n"
              b"WWW-Authenticate: Digest realm=\"a.com\", nonce=\"n1\", algorithm=MD5\r\n"
              b"WWW-Authenticate: Digest realm=\"a.com\", nonce=\"n2\", algorithm=SHA-256, qop=\"auth\"\r\n"
              b"Proxy-Authenticate: Digest realm=\"p\", nonce=\"n3\"\r\nl: 0\r\n\r\n")
    ch = m.parsed("WWW-Authenticate")
    assert [c.nonce for c in ch] == ["n1", "n2"]
    assert ch[1].algorithm == "SHA-256" and ch[1].qop == ["auth"]
    assert m.parsed("Proxy-Authenticate")[0].realm == "p"
    m = parse(b"REGISTER sip:r SIP/2.0\r\nAuthorization: Digest username=\"u\", realm=\"r\", "
              b"nonce=\"n\", uri=\"sip:r\", response=\"abc\"\r\nl: 0\r\n\r\n")
    assert m.parsed("Authorization").username == "u"


def test_serialize_unchanged_is_identical():
    for data in (INVITE, REPLY):
        m = parse(data)
        assert m.serialize() is data or m.serialize() == data
        assert not m.changed


def test_edits_keep_other_bytes():
    m = parse(INVITE)
    m.add_header("X-Added", "yes")
    m.insert_header(b"X-First: 1\r\n")
    n = m.remove_header("x-custom")
    assert n == 2
    out = m.serialize()
    assert out.startswith(b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\nX-First: 1\r\nVia: SIP/2.0/UDP pc33")
    assert b"X-Custom" not in out and b"x-custom" not in out
    assert b"Content-Length: 4\r\nX-Added: yes\r\n\r\nv=0\n" in out
    # reads still see the message as received (Kamailio semantics)
    assert m.headers("X-Custom") == [b"one", b"two"]
    assert not m.has("X-Added")
    # every untouched line is byte-identical
    for line in INVITE.split(b"\r\n")[1:]:
        if line and b"ustom" not in line and not line.startswith(b"v=0"):
            assert line in out


def test_set_ruri_is_visible_at_once():
    m = parse(INVITE)
    m.set_ruri("sip:carol@chicago.example.com;transport=udp")
    assert m.ruri_uri.user == b"carol" and m.ruri_uri.transport == "udp"
    assert m.serialize().startswith(b"INVITE sip:carol@chicago.example.com;transport=udp SIP/2.0\r\n")


def test_set_from_keeps_tag_params_and_last_call_wins():
    m = parse(INVITE)
    m.set_name_addr("From", display=b"\"Anon\"", uri=b"sip:anon@anon.invalid")
    m.set_name_addr("from", uri=b"sip:other@example.org")   # replaces the first edit
    out = parse(m.serialize())
    assert out.from_.display == b"\"Alice A.\""
    assert out.from_.uri_raw == b"sip:other@example.org"
    assert out.from_.tag == b"1928301774" and out.from_.param("x") == b"y"
    assert m.from_.uri_raw == b"sip:alice@atlanta.example.com"   # reads as received


def test_set_display_only_and_remove_display():
    m = parse(INVITE)
    m.set_name_addr("To", display=b"\"Robert\"")
    assert parse(m.serialize()).header("To") == b"\"Robert\" <sip:bob@biloxi.example.com>"
    m.set_name_addr("To", display=None, uri=KEEP)
    assert parse(m.serialize()).header("To") == b"<sip:bob@biloxi.example.com>"
    m2 = parse(REPLY)
    m2.set_name_addr("t", uri="sip:x@y")
    assert parse(m2.serialize()).header("to") == b"Bob <sip:x@y>;tag=a6c85cf"
    assert b"t: Bob <sip:x@y>;tag=a6c85cf\r\n" in m2.serialize()


def test_set_body_updates_content_length():
    m = parse(INVITE)
    m.set_body(b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n")
    out = parse(m.serialize())
    assert out.body == b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n"
    assert out.content_length == len(out.body)
    m.set_body(b"", content_type="application/sdp")
    out = parse(m.serialize())
    assert out.body == b"" and out.content_length == 0 and not out.has("Content-Type")
    m = parse(b"MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n")
    m.set_body("hello", content_type="text/plain")
    out = parse(m.serialize())
    assert out.body == b"hello" and out.content_length == 5 and out.content_type.mime == "text/plain"


def test_push_and_pop_via():
    m = parse(INVITE)
    m.push_via(b"SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKnew")
    out = parse(m.serialize())
    assert [v.branch for v in out.vias] == [b"z9hG4bKnew", b"z9hG4bK776asdhds", b"z9hG4bKold", b"z9hG4bKv6"]
    m = parse(INVITE)
    m.pop_via()
    assert [v.branch for v in parse(m.serialize()).vias] == [b"z9hG4bKold", b"z9hG4bKv6"]
    m = parse(m.serialize())
    m.pop_via()
    assert [v.branch for v in parse(m.serialize()).vias] == [b"z9hG4bKv6"]


def test_set_status_and_apply_changes():
    m = parse(REPLY)
    m.set_status(183, "Session Progress")
    m.add_header("X-B", "1")
    m.apply_changes()
    assert m.status == 183 and m.reason == b"Session Progress"
    assert m.header("X-B") == b"1"
    assert not m.changed


def test_remove_and_replace_by_position():
    m = parse(INVITE)
    p = m.positions("X-Custom")
    assert p == [9, 10]
    m.replace_header_at(p[0], "X-Custom: replaced")
    m.remove_header_at(p[1])
    m.set_header_value(m.positions("Max-Forwards")[0], "69")
    out = parse(m.serialize())
    assert out.headers("X-Custom") == [b"replaced"]
    assert out.max_forwards == 69


def test_header_fields_lists_names_as_written():
    m = parse(REPLY)
    names = [(k, n) for k, n, _ in m.header_fields()]
    assert names[0] == ("via", b"v") and names[1] == ("to", b"t")


def test_bad_edit_arguments():
    m = parse(INVITE)
    with pytest.raises(ValueError):
        m.append_header(b"no colon here")
    with pytest.raises(ValueError):
        m.append_header(b"X-A: 1\r\nX-B: 2")
    with pytest.raises(ValueError):
        parse(REPLY.replace(b"f: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n", b"")).set_name_addr("From", uri="sip:a@b")


@pytest.mark.parametrize("data", [INVITE, REPLY])
def test_fast_tag_and_branch_reads_agree_with_parsed(data):
    m = parse(data)
    assert m.branch == m.via.branch
    assert m.from_tag == m.from_.tag
    assert m.to_tag == m.to.tag


@pytest.mark.parametrize("value,tag", [
    (b"<sip:a@b;tag=inuri>", None),
    (b"<sip:a@b;tag=inuri>;TAG = x1", b"x1"),
    (b"sip:a@b;tag=t2", b"t2"),
    (b"\"A;tag=q\" <sip:a@b>;foo=1;tag=t3", b"t3"),
    (b"<sip:a@b>", None),
])
def test_fast_to_tag_edge_cases(value, tag):
    m = parse(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;rport;BRANCH=z9hG4bKx, SIP/2.0/UDP h2;branch=z9hG4bKy\r\n"
              b"To: " + value + b"\r\nl: 0\r\n\r\n")
    assert m.to_tag == tag
    assert m.branch == b"z9hG4bKx"
