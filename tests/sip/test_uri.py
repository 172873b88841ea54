# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests for kampy.sip.uri: RFC 3261 19.1, RFC 4475 torture URIs, RFC 3966."""

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kampy.sip.errors import ParseError
from kampy.sip.uri import (
    URI,
    escape_user,
    format_uri,
    parse_uri,
    unescape,
    uri_equal,
)

# ---------------------------------------------------------------------------
# Examples that must parse: RFC 3261 19.1.3 / 19.1.4, RFC 4475, tel, absolute.

RFC3261_EXAMPLES = [
    b"sip:alice@atlanta.com",
    b"sip:alice:secretword@atlanta.com;transport=tcp",
    b"sips:alice@atlanta.com?subject=project%20x&priority=urgent",
    b"sip:+1-212-555-1212:1234@gateway.com;user=phone",
    b"sips:1212@gateway.com",
    b"sip:alice@192.0.2.4",
    b"sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com",
    b"sip:alice;day=tuesday@atlanta.com",
]

RFC3261_EQUAL = [
    (b"sip:%61lice@atlanta.com;transport=TCP", b"sip:alice@AtLanTa.CoM;Transport=tcp"),
    (b"SIP:carol@chicago.com", b"sip:carol@chicago.com;newparam=5"),
    (b"SIP:carol@chicago.com", b"sip:carol@chicago.com;security=on"),
    (b"sip:carol@chicago.com;newparam=5", b"sip:carol@chicago.com;security=on"),
    (
        b"sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
        b"sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
    ),
    (
        b"sip:alice@atlanta.com?subject=project%20x&priority=urgent",
        b"sip:alice@atlanta.com?priority=urgent&subject=project%20x",
    ),
]

RFC3261_NOT_EQUAL = [
    (b"SIP:ALICE@AtLanTa.CoM;Transport=udp", b"sip:alice@AtLanTa.CoM;Transport=UDP"),
    (b"sip:bob@biloxi.com", b"sip:bob@biloxi.com:5060"),
    (b"sip:bob@biloxi.com", b"sip:bob@biloxi.com;transport=udp"),
    (b"sip:bob@biloxi.com", b"sip:bob@biloxi.com:6000;transport=tcp"),
    (b"sip:carol@chicago.com", b"sip:carol@chicago.com?Subject=next%20meeting"),
    (b"sip:bob@phone21.boxesbybob.com", b"sip:bob@192.0.2.4"),
    (b"sip:carol@chicago.com;security=on", b"sip:carol@chicago.com;security=off"),
]

UNUSUAL = (
    b"sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    b":&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com"
)

RFC4475_EXAMPLES = [
    UNUSUAL,
    b"sip:sips%3Auser%40example.com@example.net",
    b"sip:null-%00-null@example.com",
    b"sip:user;par=u%40example.net@example.com",
    b"sip:[2001:db8::10]:5070;transport=udp",
    b"sip:user@example.com?Route=%3Csip:sip.example.com%3E",
    b"sip:user@[::1]",
    b"sip:[2001:db8::10]",
    b"sip:[2001:db8::9:1]",
    b"sip:[2001:db8::9:01]",
    b"sip:[::ffff:192.0.2.1]",
    b"sip:vivekg@chair-dnrc.example.com;unknownparam",
    b"sip:vivekg@chair-dnrc.example.com:5060;transport=tcp;maddr=192.0.2.1",
    b"sip:%61lice@atlanta.com",
    b"sip:127.0.0.1:5060;lr",
    b"sip:1host.example.com",
    b"sip:example.com.",
]

OTHER_EXAMPLES = [
    b"tel:+1-201-555-0123",
    b"tel:7042;phone-context=example.com",
    b"tel:+1-201-555-0123;isub=1234;ext=22",
    b"nobodyKnowsThisScheme:totallyopaquecontent",
    b"soap.beep://192.0.2.103:3002",
    b"isbn:2983792873",
    b"http://www.example.com/foo?bar=baz",
    b"urn:service:sos",
    b"mailto:alice@example.com",
]

ALL_VALID = (
    RFC3261_EXAMPLES
    + [u for pair in RFC3261_EQUAL + RFC3261_NOT_EQUAL for u in pair]
    + RFC4475_EXAMPLES
    + OTHER_EXAMPLES
)

INVALID = [
    b"",
    b"sip",
    b"sip:",
    b":foo",
    b"1sip:foo",
    b"sip:exa mple.com",
    b"sip:user@exa mple.com",
    b" sip:user@example.com",
    b"sip:user@example.com ",
    b"sip:user@example.com\r\n",
    b"sip:[2001:db8::10",
    b"sip:[2001:db8::10]]",
    b"sip:[2001:db8:::10]",
    b"sip:[1.2.3.4]",
    b"sip:user@host:99999",
    b"sip:user@host:65536",
    b"sip:user@host:",
    b"sip:user@host:50a",
    b"sip:user@host:0000005060",
    b"sip:@example.com",
    b"sip:user@",
    b"sip:user@;lr",
    b"sip:user@host;;lr",
    b"sip:user@host;",
    b"sip:user@host;=x",
    b"sip:user@host;a=b=c",
    b"sip:user@host?",
    b"sip:user@host?a",
    b"sip:user@host?a=b&",
    b"sip:user@host?a=b@c",
    b"sip:us%zzer@host",
    b"sip:user@host;a=%4",
    b"sip:user@host@host",
    b"sip:user@ho_st",
    b"sip:user@host/path",
    b"sip:us<er@host",
    b"sip:user@example.com\x00",
    b"sips:\xff@host",
    b"tel:",
    b"tel:+",
    b"tel:+1 201",
    b"tel:+1-201;;a",
    b"tel:+1?x=y",
    b"http:",
    b"http://exa mple.com",
    b"urn:foo\x00bar",
    b"mailto:a\r\nb",
]


@pytest.mark.parametrize("raw", ALL_VALID)
def test_valid_examples_parse_and_round_trip(raw):
    u = parse_uri(raw)
    assert isinstance(u, URI)
    assert u.raw == raw
    assert bytes(u) == raw
    assert u == parse_uri(raw)
    assert hash(u) == hash(parse_uri(raw))
    # Rebuilding from the parts gives the input back (scheme is lowercased).
    rebuilt = format_uri(
        u.scheme,
        user=u.user,
        host=u.host,
        port=u.port,
        params=u.params,
        headers=u.headers,
        password=u.password,
        opaque=u.opaque,
    )
    scheme_len = raw.index(b":")
    assert rebuilt == raw[:scheme_len].lower() + raw[scheme_len:]
    assert parse_uri(rebuilt) == u


@pytest.mark.parametrize("raw", INVALID)
def test_invalid_examples_raise_parse_error(raw):
    with pytest.raises(ParseError) as exc:
        parse_uri(raw)
    assert exc.value.status == 400
    assert exc.value.reason


def test_escapes_take_exactly_two_hex_digits():
    assert parse_uri(b"sip:us%2eer@host").user_unescaped() == b"us.er"
    assert parse_uri(b"sip:us%2Eer@host").user_unescaped() == b"us.er"


# ---------------------------------------------------------------------------
# Component extraction


def test_components_common_shape():
    u = parse_uri(b"sip:alice@example.com:5060;transport=udp")
    assert u.scheme == "sip"
    assert u.user == b"alice"
    assert u.password is None
    assert u.host == b"example.com"
    assert u.port == 5060
    assert u.params == b"transport=udp"
    assert u.headers == b""
    assert u.opaque == b""
    assert u.transport == "udp"
    assert u.hostport == b"example.com:5060"
    assert u.host_type == "name"


def test_rfc3261_password_and_params():
    u = parse_uri(b"sip:alice:secretword@atlanta.com;transport=tcp")
    assert (u.user, u.password, u.host, u.port) == (b"alice", b"secretword", b"atlanta.com", None)
    assert u.transport == "tcp"


def test_rfc3261_telephone_subscriber_user():
    u = parse_uri(b"sip:+1-212-555-1212:1234@gateway.com;user=phone")
    assert u.user == b"+1-212-555-1212"
    assert u.password == b"1234"
    assert u.param("user") == b"phone"


def test_rfc3261_semicolon_in_user():
    u = parse_uri(b"sip:alice;day=tuesday@atlanta.com")
    assert u.user == b"alice;day=tuesday"
    assert u.host == b"atlanta.com"
    assert u.params == b""


def test_sips_headers():
    u = parse_uri(b"sips:alice@atlanta.com?subject=project%20x&priority=urgent")
    assert u.scheme == "sips"
    assert u.headers == b"subject=project%20x&priority=urgent"


def test_no_user_with_method_param_and_header():
    u = parse_uri(b"sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com")
    assert u.user is None
    assert u.host == b"atlanta.com"
    assert u.param(b"method") == b"REGISTER"
    assert u.headers == b"to=alice%40atlanta.com"


def test_scheme_is_case_insensitive():
    for raw in (b"SIP:a@b", b"Sip:a@b", b"sIpS:a@b", b"TEL:+1", b"HTTP://x"):
        u = parse_uri(raw)
        assert u.scheme == raw.split(b":")[0].lower().decode()


def test_rfc4475_unusual_user_and_password():
    u = parse_uri(UNUSUAL)
    assert u.user == b"1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert u.password == b"&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert u.host == b"example.com"
    assert u.port is None
    assert u.params == b""
    assert u.headers == b""


def test_rfc4475_escaped_colon_and_at_in_user():
    u = parse_uri(b"sip:sips%3Auser%40example.com@example.net")
    assert u.user == b"sips%3Auser%40example.com"
    assert u.user_unescaped() == b"sips:user@example.com"
    assert u.host == b"example.net"


def test_rfc4475_escaped_nul_is_not_truncated():
    u = parse_uri(b"sip:null-%00-null@example.com")
    assert u.user_unescaped() == b"null-\x00-null"
    assert len(u.user_unescaped()) == 11


def test_rfc4475_user_with_param_like_text():
    u = parse_uri(b"sip:user;par=u%40example.net@example.com")
    assert u.user == b"user;par=u%40example.net"
    assert u.user_unescaped() == b"user;par=u@example.net"
    assert u.host == b"example.com"
    assert u.params == b""


def test_ipv6_reference_with_port():
    u = parse_uri(b"sip:[2001:db8::10]:5070;transport=udp")
    assert u.host == b"[2001:db8::10]"
    assert u.port == 5070
    assert u.host_type == "ipv6"
    assert u.hostport == b"[2001:db8::10]:5070"
    assert u.transport == "udp"


def test_ipv6_loopback():
    u = parse_uri(b"sip:user@[::1]")
    assert (u.user, u.host, u.port, u.host_type) == (b"user", b"[::1]", None, "ipv6")


def test_headers_kept_raw():
    u = parse_uri(b"sip:user@example.com?Route=%3Csip:sip.example.com%3E")
    assert u.headers == b"Route=%3Csip:sip.example.com%3E"
    assert u.params == b""


def test_port_bounds():
    assert parse_uri(b"sip:h:0").port == 0
    assert parse_uri(b"sip:h:65535").port == 65535
    assert parse_uri(b"sip:h:05060").port == 5060
    assert parse_uri(b"sip:h:05060").hostport == b"h:05060"


def test_empty_password_allowed():
    u = parse_uri(b"sip:alice:@example.com")
    assert u.user == b"alice"
    assert u.password == b""


def test_param_with_empty_value_is_tolerated():
    u = parse_uri(b"sip:h;foo=")
    assert u.param("foo") == b""
    assert u.param_list() == [(b"foo", b"")]


def test_tel_uri():
    u = parse_uri(b"tel:+1-201-555-0123")
    assert u.scheme == "tel"
    assert u.user == b"+1-201-555-0123"
    assert u.host == b""
    assert u.port is None
    assert u.params == b""
    assert u.host_type is None


def test_tel_uri_local_with_context():
    u = parse_uri(b"tel:7042;phone-context=example.com")
    assert u.user == b"7042"
    assert u.param("phone-context") == b"example.com"


@pytest.mark.parametrize(
    "raw, opaque",
    [
        (b"nobodyKnowsThisScheme:totallyopaquecontent", b"totallyopaquecontent"),
        (b"soap.beep://192.0.2.103:3002", b"//192.0.2.103:3002"),
        (b"isbn:2983792873", b"2983792873"),
        (b"urn:service:sos", b"service:sos"),
    ],
)
def test_other_schemes_are_opaque(raw, opaque):
    u = parse_uri(raw)
    assert u.scheme == raw.split(b":")[0].lower().decode()
    assert u.opaque == opaque
    assert u.user is None
    assert u.host == b""
    assert u.params == b""


def test_bytearray_input_is_accepted_and_copied():
    buf = bytearray(b"sip:alice@example.com")
    u = parse_uri(buf)
    assert type(u.raw) is bytes
    buf[4:9] = b"bobby"
    assert u.user == b"alice"


def test_str_input_is_a_type_error():
    with pytest.raises(TypeError):
        parse_uri("sip:alice@example.com")


def test_parse_error_reasons_are_specific():
    def reason(raw):
        with pytest.raises(ParseError) as exc:
            parse_uri(raw)
        return exc.value.reason

    assert "illegal character" in reason(b"sip:exa mple.com")
    assert "port" in reason(b"sip:user@host:99999")
    assert "IPv6" in reason(b"sip:[2001:db8::10")
    assert "IPv6" in reason(b"sip:[1.2.3.4]")
    assert "empty URI parameter" in reason(b"sip:h;;lr")
    assert "empty host" in reason(b"sip:user@")
    assert "escape" in reason(b"sip:a%zz@h")


# ---------------------------------------------------------------------------
# Accessors


def test_param_lookup_is_case_insensitive():
    u = parse_uri(b"sip:h;Transport=TCP;LR;maddr=10.0.0.1;x=1;x=2")
    assert u.param("transport") == b"TCP"
    assert u.param(b"TRANSPORT") == b"TCP"
    assert u.param("lr") == b""
    assert u.param("missing") is None
    assert u.param("x") == b"1"  # the first one wins
    assert u.has_param("Maddr")
    assert not u.has_param("ttl")
    assert u.transport == "tcp"
    assert u.lr is True
    assert u.param_list() == [
        (b"Transport", b"TCP"),
        (b"LR", None),
        (b"maddr", b"10.0.0.1"),
        (b"x", b"1"),
        (b"x", b"2"),
    ]
    assert u.param_list() is u.param_list()


def test_no_params():
    u = parse_uri(b"sip:h")
    assert u.param("lr") is None
    assert u.transport is None
    assert u.lr is False
    assert u.param_list() == []


@pytest.mark.parametrize(
    "raw, kind",
    [
        (b"sip:192.0.2.4", "ipv4"),
        (b"sip:a@10.0.0.1:5060", "ipv4"),
        (b"sip:[::1]", "ipv6"),
        (b"sip:example.com", "name"),
        (b"sip:1host", "name"),
        (b"sip:999.1.1.1", "name"),
        (b"sip:1.2.3.4.example", "name"),
        (b"tel:+1", None),
    ],
)
def test_host_type(raw, kind):
    assert parse_uri(raw).host_type == kind


def test_user_unescaped_is_not_recursive():
    u = parse_uri(b"sip:value%2541@h")
    assert u.user_unescaped() == b"value%41"
    assert parse_uri(b"sip:h").user_unescaped() == b""


def test_hostport_without_port():
    assert parse_uri(b"sip:alice:pw@Example.COM;lr?a=b").hostport == b"Example.COM"


def test_replace_parts():
    u = parse_uri(b"sip:alice@example.com:5060;transport=udp")
    assert bytes(u.replace(user=b"bob")) == b"sip:bob@example.com:5060;transport=udp"
    assert bytes(u.replace(host=b"10.0.0.1")) == b"sip:alice@10.0.0.1:5060;transport=udp"
    assert bytes(u.replace(port=5070)) == b"sip:alice@example.com:5070;transport=udp"
    assert bytes(u.replace(port=None)) == b"sip:alice@example.com;transport=udp"
    assert bytes(u.replace(params=b"lr")) == b"sip:alice@example.com:5060;lr"
    assert bytes(u.replace(params=b"")) == b"sip:alice@example.com:5060"
    assert bytes(u.replace(user=None)) == b"sip:example.com:5060;transport=udp"
    assert bytes(u.replace(scheme="sips")) == b"sips:alice@example.com:5060;transport=udp"
    assert bytes(u.replace(headers=b"a=b")) == b"sip:alice@example.com:5060;transport=udp?a=b"
    r = u.replace(host=b"::1")
    assert r.host == b"[::1]" and r.host_type == "ipv6"
    # The original is untouched; the new one is fully parsed.
    assert u.user == b"alice"
    r = u.replace(user=b"bob", port=None)
    assert (r.user, r.port, r.transport) == (b"bob", None, "udp")


def test_replace_drops_password_with_user():
    u = parse_uri(b"sip:alice:pw@example.com")
    assert bytes(u.replace(user=None)) == b"sip:example.com"
    assert bytes(u.replace(password=None)) == b"sip:alice@example.com"
    with pytest.raises(ValueError):
        u.replace(user=None, password=b"x")


def test_replace_validates():
    u = parse_uri(b"sip:alice@example.com")
    with pytest.raises(ParseError):
        u.replace(host=b"bad host")
    with pytest.raises(ParseError):
        u.replace(port=70000)
    with pytest.raises(TypeError):
        u.replace(nonsense=1)


def test_replace_tel_and_opaque():
    assert bytes(parse_uri(b"tel:+1-201").replace(params=b"ext=1")) == b"tel:+1-201;ext=1"
    assert bytes(parse_uri(b"urn:a").replace(opaque=b"service:sos")) == b"urn:service:sos"


def test_repr_and_str():
    u = parse_uri(b"sip:alice@example.com")
    assert "sip:alice@example.com" in repr(u)
    assert str(u) == "sip:alice@example.com"


# ---------------------------------------------------------------------------
# Comparison


@pytest.mark.parametrize("a, b", RFC3261_EQUAL)
def test_rfc3261_equal(a, b):
    ua, ub = parse_uri(a), parse_uri(b)
    assert uri_equal(ua, ub)
    assert uri_equal(ub, ua)
    assert ua == ub
    assert hash(ua) == hash(ub)


@pytest.mark.parametrize("a, b", RFC3261_NOT_EQUAL)
def test_rfc3261_not_equal(a, b):
    ua, ub = parse_uri(a), parse_uri(b)
    assert not uri_equal(ua, ub)
    assert not uri_equal(ub, ua)
    assert ua != ub


@pytest.mark.parametrize(
    "a, b, equal",
    [
        (b"sip:alice@example.com", b"sips:alice@example.com", False),
        (b"sip:alice:pw@h", b"sip:alice:pw@h", True),
        (b"sip:alice:pw@h", b"sip:alice:PW@h", False),
        (b"sip:alice:pw@h", b"sip:alice@h", False),
        (b"sip:alice:p%77@h", b"sip:alice:pw@h", True),
        (b"sip:h", b"sip:alice@h", False),
        (b"sip:[2001:db8::10]", b"sip:[2001:DB8:0:0::10]", True),
        (b"sip:[2001:db8::10]:5060", b"sip:[2001:db8::10]", False),
        (b"sip:h;maddr=10.0.0.1", b"sip:h", False),
        (b"sip:h;ttl=1", b"sip:h", False),
        (b"sip:h;user=phone", b"sip:h", False),
        (b"sip:h;method=INVITE", b"sip:h;method=invite", True),
        (b"sip:h;lr", b"sip:h", True),
        (b"sip:h;%74ransport=udp", b"sip:h;transport=UDP", True),
        (b"sip:h;foo=%41", b"sip:h;foo=a", True),
        (b"sip:h?Subject=A", b"sip:h?subject=A", True),
        (b"sip:h?subject=A", b"sip:h?subject=a", False),
        (b"sip:h?a=%62", b"sip:h?a=b", True),
        (b"sip:h?a=b", b"sip:h?a=b&c=d", False),
        (b"tel:+1-201-555-0123", b"tel:+12015550123", True),
        (b"tel:+1(201)555.0123", b"tel:+12015550123", True),
        (b"tel:+12015550123", b"tel:+12015550124", False),
        (b"tel:7042;phone-context=example.com", b"tel:7042;PHONE-CONTEXT=Example.com", True),
        (b"tel:7042;phone-context=example.com", b"tel:7042", False),
        (b"tel:7042;a=1;b=2", b"tel:7042;b=2;a=1", True),
        (b"tel:+1", b"sip:+1@h", False),
        (b"urn:service:sos", b"URN:service:sos", True),
        (b"urn:service:sos", b"urn:Service:sos", False),
        (b"http://x/", b"https://x/", False),
    ],
)
def test_more_comparisons(a, b, equal):
    ua, ub = parse_uri(a), parse_uri(b)
    assert uri_equal(ua, ub) is equal
    assert uri_equal(ub, ua) is equal
    assert (ua == ub) is equal
    if equal:
        assert hash(ua) == hash(ub)


def test_uri_usable_as_dict_key_and_not_equal_to_bytes():
    d = {parse_uri(b"sip:alice@ATLANTA.com"): 1}
    assert d[parse_uri(b"sip:%61lice@atlanta.com")] == 1
    assert parse_uri(b"sip:a@b") != b"sip:a@b"


# ---------------------------------------------------------------------------
# Helpers


def test_unescape_once():
    assert unescape(b"a%2541") == b"a%41"
    assert unescape(b"%61%62c") == b"abc"
    assert unescape(b"plain") == b"plain"
    assert unescape(b"%zz%4") == b"%zz%4"


def test_escape_user():
    assert escape_user(b"alice") == b"alice"
    assert escape_user(b"a@b:c d%") == b"a%40b%3Ac%20d%25"
    assert escape_user(b"\x00\xff") == b"%00%FF"
    assert escape_user(b"+1;x=y?&$,/") == b"+1;x=y?&$,/"
    user = escape_user(bytes(range(256)))
    u = parse_uri(b"sip:" + user + b"@h")
    assert u.user_unescaped() == bytes(range(256))


def test_format_uri():
    assert format_uri("sip", b"alice", b"example.com", 5060, b"lr", b"a=b") == (
        b"sip:alice@example.com:5060;lr?a=b"
    )
    assert format_uri(b"SIPS", host=b"h") == b"sips:h"
    assert format_uri("sip", b"a", b"h", password=b"pw") == b"sip:a:pw@h"
    assert format_uri("sip", host=b"2001:db8::1", port=5060) == b"sip:[2001:db8::1]:5060"
    assert format_uri("tel", b"+1-201", params=b"ext=2") == b"tel:+1-201;ext=2"
    assert format_uri("urn", opaque=b"service:sos") == b"urn:service:sos"


# ---------------------------------------------------------------------------
# Property tests

_TOKENS = [
    b"sip:", b"sips:", b"SIP:", b"tel:", b"x:", b"@", b":", b";", b"=", b"?", b"&",
    b"%", b"%4", b"%41", b"%zz", b"[", b"]", b"::1", b"2001:db8::", b"a", b"Z", b"1",
    b".", b"-", b"+", b" ", b"\t", b"\r\n", b"\x00", b"\xff", b"5060", b"99999",
    b"lr", b"transport=udp", b"user", b"example.com", b"192.0.2.1", b"(", b")", b"#",
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=80), st.lists(st.sampled_from(_TOKENS), max_size=20).map(b"".join)))
@example(b"sip:a:1@[::1]:0;a?b=")
@example(b"sip:" + b"9" * 5000)
@example(b"sip:h:" + b"9" * 5000)
def test_arbitrary_bytes_only_raise_parse_error(data):
    try:
        u = parse_uri(data)
    except ParseError as exc:
        assert exc.status == 400
        return
    # Whatever parses is self-consistent.
    assert bytes(u) == data
    assert u == u
    assert hash(u) == hash(parse_uri(data))
    u.param_list(), u.host_type, u.hostport, u.transport, u.user_unescaped()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS + [b"sip:", b"a", b"@", b"h"]), max_size=20).map(b"".join))
def test_fast_and_full_regexes_agree(data):
    """The no-escape/no-IPv6 shortcut must never accept what the full grammar would not."""
    from kampy.sip.uri import _SIP_FAST_RE, _SIP_RE

    fast = _SIP_FAST_RE.fullmatch(data)
    if fast is not None:
        full = _SIP_RE.fullmatch(data)
        assert full is not None and full.groups() == fast.groups()


_UNRESERVED = "abcXYZ019-_.!~*'()"
_ESCAPE = st.sampled_from([b"%41", b"%2f", b"%00", b"%FF", b"%40", b"%3a"])


def _chars(extra: str, min_size: int):
    piece = st.one_of(st.sampled_from(_UNRESERVED + extra).map(str.encode), _ESCAPE)
    return st.lists(piece, min_size=min_size, max_size=12).map(b"".join)


_label = st.text("abcxyz019-", min_size=1, max_size=8).map(str.encode)
_hosts = st.one_of(
    st.lists(_label, min_size=1, max_size=4).map(b".".join),
    st.ip_addresses(v=4).map(lambda a: str(a).encode()),
    st.ip_addresses(v=6).map(lambda a: b"[" + str(a).encode() + b"]"),
)
_param = st.tuples(_chars("[]/:&+$", 1), st.one_of(st.none(), _chars("[]/:&+$", 1)))
_header = st.tuples(_chars("[]/?:+$", 1), _chars("[]/?:+$", 0))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scheme=st.sampled_from(["sip", "sips"]),
    user=st.one_of(st.none(), _chars("&=+$,;?/", 1)),
    password=st.one_of(st.none(), _chars("&=+$,", 0)),
    host=_hosts,
    port=st.one_of(st.none(), st.integers(0, 65535)),
    params=st.lists(_param, max_size=4),
    headers=st.lists(_header, max_size=3),
)
def test_format_then_parse_gives_the_parts_back(scheme, user, password, host, port, params, headers):
    if user is None:
        password = None
    params_b = b";".join(n if v is None else n + b"=" + v for n, v in params)
    headers_b = b"&".join(n + b"=" + v for n, v in headers)
    raw = format_uri(scheme, user, host, port, params_b, headers_b, password)
    u = parse_uri(raw)
    assert (u.scheme, u.user, u.password, u.host, u.port, u.params, u.headers) == (
        scheme, user, password, host, port, params_b, headers_b,
    )
    assert bytes(u) == raw
    assert u.param_list() == params
    # Equivalent spellings compare equal and hash alike.
    variant = u.replace(host=host.upper())
    if user is not None:
        variant = variant.replace(user=escape_user(unescape(user)))
    assert variant == u
    assert hash(variant) == hash(u)
