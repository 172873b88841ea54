# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests for kampy.sip.digest against RFC vectors and hand-computed hashes."""

import hashlib
import pathlib
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kampy.sip import digest as d
from kampy.sip.errors import ParseError

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from toolcheck import IN_CI  # noqa: E402  (a missing hash fails under CI=true)


def _has(name):
    try:
        hashlib.new(name)
        return True
    except ValueError:
        return False


# Skip SHA-512/256 only where OpenSSL lacks it and we are not in CI.
needs_sha512_256 = pytest.mark.skipif(
    not _has("sha512_256") and not IN_CI,
    reason="hashlib has no sha512_256 here",
)


def H(name, s):
    """Independent reference hash: hex of hashlib `name` over UTF-8 `s`."""
    return hashlib.new(name, s.encode() if isinstance(s, str) else s).hexdigest()


# ---------------------------------------------------------------- RFC vectors

R7616 = dict(
    username="Mufasa", password="Circle of Life", realm="http-auth@example.org",
    method="GET", uri="/dir/index.html", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
)
R7616_EXPECTED = {
    "MD5": "8ca523f5e9506fed4657c9700eebdbec",
    "SHA-256": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
}


@pytest.mark.parametrize("alg", ["MD5", "SHA-256"])
def test_rfc7616_response(alg):
    v = R7616
    base = d.ha1(alg, v["username"], v["realm"], v["password"])
    got = d.response(alg, base, v["nonce"], v["method"], v["uri"], "auth", "00000001", v["cnonce"])
    assert got == R7616_EXPECTED[alg]


@pytest.mark.parametrize("alg", ["MD5", "SHA-256"])
def test_rfc7616_make_format_parse_check(alg):
    v = R7616
    ch = d.parse_challenge(
        f'Digest realm="{v["realm"]}", qop="auth, auth-int", algorithm={alg}, '
        f'nonce="{v["nonce"]}", opaque="{v["opaque"]}"'
    )
    assert ch.supported and ch.qop == ["auth", "auth-int"]
    creds = d.make_credentials(ch, v["username"], v["method"], v["uri"],
                               password=v["password"], cnonce=v["cnonce"])
    assert creds.response == R7616_EXPECTED[alg]
    assert (creds.qop, creds.nc, creds.opaque) == ("auth", "00000001", v["opaque"])
    hdr = d.format_credentials(creds)
    assert hdr == (
        f'Digest username="Mufasa", realm="{v["realm"]}", nonce="{v["nonce"]}", '
        f'uri="/dir/index.html", opaque="{v["opaque"]}", qop=auth, nc=00000001, '
        f'cnonce="{v["cnonce"]}", response="{R7616_EXPECTED[alg]}", algorithm={alg}'
    )
    parsed = d.parse_credentials(hdr)
    assert parsed.params == creds.params
    stored = d.ha1(alg, v["username"], v["realm"], v["password"])
    assert d.check_response(parsed, "GET", stored)
    assert not d.check_response(parsed, "POST", stored)
    assert not d.check_response(parsed, "GET", d.ha1(alg, "Mufasa", v["realm"], "wrong"))


def test_rfc2617_example():
    base = d.ha1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life")
    got = d.response("MD5", base, "dcd98b7102dd2f0e8b11d0f600bfb0c093", "GET",
                     "/dir/index.html", "auth", "00000001", "0a4f113b")
    assert got == "6629fae49393a05397450978507c4ef1"
    creds = d.parse_credentials(
        'Digest username="Mufasa",\r\n realm="testrealm@host.com",\r\n'
        ' nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",\r\n uri="/dir/index.html",\r\n'
        ' qop=auth,\r\n nc=00000001,\r\n cnonce="0a4f113b",\r\n'
        ' response="6629fae49393a05397450978507c4ef1",\r\n'
        ' opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    assert creds.algorithm is None and creds.nc == "00000001"
    assert d.check_response(creds, "GET", base)


# ---------------------------------------------------------------- hand-computed

USER, REALM, PW, NONCE, CNONCE = "alice", "atlanta.com", "s3cr\u00e9t", "n0nce/+=", "c0ffee"
METHOD, URI, NC = "INVITE", "sip:bob@biloxi.com", "0000002a"
BODY = b"v=0\r\no=alice 1 1 IN IP4 192.0.2.1\r\n"

HASHES = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}


def _expected(alg, qop, body=b""):
    base = alg.replace("-sess", "")
    h = HASHES[base]
    a1 = H(h, f"{USER}:{REALM}:{PW}")
    if alg.endswith("-sess"):
        a1 = H(h, f"{a1}:{NONCE}:{CNONCE}")
    if qop == "auth-int":
        a2 = H(h, f"{METHOD}:{URI}:{H(h, body)}")
    else:
        a2 = H(h, f"{METHOD}:{URI}")
    if qop is None:
        return H(h, f"{a1}:{NONCE}:{a2}")
    return H(h, f"{a1}:{NONCE}:{NC}:{CNONCE}:{qop}:{a2}")


CASES = [
    pytest.param(alg, qop, marks=[needs_sha512_256] if "512" in alg else [])
    for alg in d.ALGORITHMS
    for qop in (None, "auth", "auth-int")
]


@pytest.mark.parametrize("alg,qop", CASES)
def test_hand_computed(alg, qop):
    base_ha1 = d.ha1(alg.replace("-sess", ""), USER, REALM, PW)
    kw = dict(qop=qop, nc=NC if qop else None, cnonce=CNONCE if qop or "sess" in alg else None)
    got = d.response(alg, base_ha1, NONCE, METHOD, URI, body=BODY, **kw)
    assert got == _expected(alg, qop, BODY)
    # ha1() of a -sess algorithm is the session value; sess_ha1 derives the same.
    if alg.endswith("-sess"):
        sess = d.ha1(alg, USER, REALM, PW, NONCE, CNONCE)
        assert sess == d.sess_ha1(alg, base_ha1, NONCE, CNONCE)
        assert sess == H(HASHES[alg[:-5]], f"{base_ha1}:{NONCE}:{CNONCE}")


def test_auth_int_body_matters():
    base_ha1 = d.ha1("MD5", USER, REALM, PW)
    a = d.response("MD5", base_ha1, NONCE, METHOD, URI, "auth-int", NC, CNONCE, BODY)
    b = d.response("MD5", base_ha1, NONCE, METHOD, URI, "auth-int", NC, CNONCE, b"")
    assert a != b and b == _expected("MD5", "auth-int", b"")


@pytest.mark.parametrize("alg", [a for a in d.ALGORITHMS])
def test_make_and_check_every_algorithm(alg):
    if "512" in alg and not _has("sha512_256") and not IN_CI:
        pytest.skip("no sha512_256")
    ch = d.parse_challenge(d.format_challenge(REALM, NONCE, alg.lower(), "auth-int", opaque="op"))
    assert ch.algorithm == alg and ch.algorithm_raw == alg  # output is canonical
    creds = d.make_credentials(ch, USER, METHOD, URI, password=PW, body=BODY, nc=42, cnonce=CNONCE)
    assert creds.qop == "auth-int" and creds.nc == NC
    assert creds.response == _expected(alg, "auth-int", BODY)
    parsed = d.parse_credentials(d.format_credentials(creds))
    stored = d.ha1(alg.replace("-sess", ""), USER, REALM, PW)
    assert d.check_response(parsed, METHOD, stored, BODY)
    assert not d.check_response(parsed, METHOD, stored, BODY + b"x")
    # Same answer when the client holds the HA1 rather than the password.
    again = d.make_credentials(ch, USER, METHOD, URI, ha1=stored.upper(), body=BODY, nc=42, cnonce=CNONCE)
    assert again.response == creds.response


def test_make_credentials_qop_choice_and_rfc2069():
    both = d.parse_challenge('Digest realm="r", nonce="n", qop="auth-int,auth"')
    assert d.make_credentials(both, "u", "REGISTER", "sip:r", password="p").qop == "auth"
    none = d.parse_challenge('Digest realm="r", nonce="n"')
    c = d.make_credentials(none, "u", "REGISTER", "sip:r", password="p")
    assert c.qop is None and c.nc is None and c.cnonce is None
    h = hashlib.md5
    a1 = h(b"u:r:p").hexdigest()
    assert c.response == h(f"{a1}:n:{h(b'REGISTER:sip:r').hexdigest()}".encode()).hexdigest()
    hdr = d.format_credentials(c)
    assert "qop" not in hdr and "nc=" not in hdr and "cnonce" not in hdr
    assert d.check_response(d.parse_credentials(hdr), "REGISTER", a1)


def test_make_credentials_random_cnonce_and_userhash():
    ch = d.parse_challenge('Digest realm="r", nonce="n", qop="auth", algorithm=SHA-256, userhash=true')
    a = d.make_credentials(ch, "u", "INVITE", "sip:x", password="p")
    b = d.make_credentials(ch, "u", "INVITE", "sip:x", password="p")
    assert len(a.cnonce) == 32 and a.cnonce != b.cnonce
    assert a.userhash and a.username == H("sha256", "u:r")
    assert "userhash=true" in d.format_credentials(a)
    assert d.check_response(d.parse_credentials(d.format_credentials(a)), "INVITE",
                            d.ha1("SHA-256", "u", "r", "p"))


def test_make_credentials_argument_errors():
    ch = d.parse_challenge('Digest realm="r", nonce="n", qop="auth"')
    with pytest.raises(ValueError):
        d.make_credentials(ch, "u", "INVITE", "sip:x")
    with pytest.raises(ValueError):
        d.make_credentials(ch, "u", "INVITE", "sip:x", password="p", ha1="0" * 32)
    for bad in ("0" * 31, "0" * 64, "g" * 32):
        with pytest.raises(ValueError):
            d.make_credentials(ch, "u", "INVITE", "sip:x", ha1=bad)
    sha = d.parse_challenge('Digest realm="r", nonce="n", algorithm=SHA-256')
    with pytest.raises(ValueError):
        d.make_credentials(sha, "u", "INVITE", "sip:x", ha1="0" * 32)
    assert d.make_credentials(sha, "u", "INVITE", "sip:x", ha1="0" * 64).algorithm == "SHA-256"
    unsupported = d.parse_challenge('Digest realm="r", nonce="n", algorithm=SHA-1')
    with pytest.raises(ValueError):
        d.make_credentials(unsupported, "u", "INVITE", "sip:x", password="p")
    with pytest.raises(ValueError):
        d.response("SHA-1", "0" * 32, "n", "INVITE", "sip:x")
    with pytest.raises(ValueError):
        d.ha1("MD5-sess", "u", "r", "p")  # no nonce/cnonce


# ---------------------------------------------------------------- parsing

REAL_WORLD = [
    # Asterisk
    ('Digest algorithm=MD5, realm="asterisk", nonce="1b3e4a2f"', "asterisk", "1b3e4a2f", [], False),
    ('Digest realm="asterisk",nonce="1b3e4a2f"', "asterisk", "1b3e4a2f", [], False),
    # FreeSWITCH
    ('Digest realm="192.0.2.10", nonce="8f6c8a96-1d4b-11e4-9f0e-b3f8c9a5e8f4", algorithm=MD5, qop="auth"',
     "192.0.2.10", "8f6c8a96-1d4b-11e4-9f0e-b3f8c9a5e8f4", ["auth"], False),
    # Kamailio
    ('Digest realm="sip.example.org", nonce="ZP1g4mT9X2bT+Jq0Zy4NqYs2l1Ds3V0W", qop="auth"',
     "sip.example.org", "ZP1g4mT9X2bT+Jq0Zy4NqYs2l1Ds3V0W", ["auth"], False),
    ('Digest realm="sip.example.org", nonce="abc", stale=true, qop="auth", algorithm=MD5',
     "sip.example.org", "abc", ["auth"], True),
    # sipp-style sloppy spacing
    ('Digest  realm = "x" , nonce="y",qop="auth",algorithm=MD5,stale=TRUE', "x", "y", ["auth"], True),
    # folded lines, tabs, duplicate commas
    ('Digest realm="x",\r\n\tnonce="y",,\r\n  qop="AUTH-INT , auth",, stale=FALSE', "x", "y",
     ["auth-int", "auth"], False),
    # escapes inside a quoted string
    (r'Digest realm="a \"b\" \\c", nonce="n"', 'a "b" \\c', "n", [], False),
]


@pytest.mark.parametrize("value,realm,nonce,qop,stale", REAL_WORLD)
def test_real_world_challenges(value, realm, nonce, qop, stale):
    for v in (value, value.encode()):
        ch = d.parse_challenge(v)
        assert (ch.scheme, ch.realm, ch.nonce, ch.qop, ch.stale) == ("Digest", realm, nonce, qop, stale)
        assert ch.algorithm == "MD5" and ch.supported


def test_challenge_fields_and_unknown_params():
    ch = d.parse_challenge(
        'digest realm="r", nonce="n", opaque="o", domain="sip:a sip:b", charset=UTF-8, '
        'userhash=TRUE, algorithm=sha-512-256-SESS, x-foo=bar, x-q="v,w"'
    )
    assert ch.scheme == "digest" and ch.supported
    assert (ch.opaque, ch.domain, ch.charset, ch.userhash) == ("o", "sip:a sip:b", "UTF-8", True)
    assert ch.algorithm == "SHA-512-256-sess" and ch.algorithm_raw == "sha-512-256-SESS"
    assert ch.params["x-foo"] == "bar" and ch.params["x-q"] == "v,w"
    assert d.parse_challenge('Digest realm="r", nonce="n"').opaque is None


def test_supported():
    assert not d.parse_challenge('Digest realm="r", nonce="n", algorithm=AKAv1-MD5').supported
    assert not d.parse_challenge('Digest realm="r", nonce="n", qop="auth-conf"').supported
    assert d.parse_challenge('Digest realm="r", nonce="n", qop="auth-conf,auth"').supported
    assert not d.parse_challenge('Basic realm="r"').supported


def test_format_challenge_round_trip():
    s = d.format_challenge("x", "y")
    assert s == 'Digest realm="x", nonce="y", qop="auth", algorithm=MD5'
    s = d.format_challenge('we"ird\\', "y", "sha-256", "auth,auth-int", opaque="o", stale=True)
    assert s == ('Digest realm="we\\"ird\\\\", nonce="y", opaque="o", stale=true, '
                 'qop="auth,auth-int", algorithm=SHA-256')
    ch = d.parse_challenge(s)
    assert (ch.realm, ch.nonce, ch.opaque, ch.stale, ch.qop, ch.algorithm) == (
        'we"ird\\', "y", "o", True, ["auth", "auth-int"], "SHA-256")
    assert d.parse_challenge(d.format_challenge("x", "y", None, None)).qop == []
    for bad in (dict(algorithm="SHA-1"), dict(qop="auth-conf")):
        with pytest.raises(ValueError):
            d.format_challenge("x", "y", **bad)
    with pytest.raises(ValueError):
        d.format_challenge("x\r\nVia: evil", "y")


def test_non_utf8_round_trip():
    raw = b'Digest realm="r\xff\xfe", nonce="n"'
    ch = d.parse_challenge(raw)
    assert d.format_challenge(ch.realm, ch.nonce).encode("utf-8", "surrogateescape").startswith(
        b'Digest realm="r\xff\xfe"')
    creds = d.make_credentials(ch, "u", "INVITE", "sip:x", password="p")
    a1 = hashlib.md5(b"u:r\xff\xfe:p").hexdigest()
    assert d.check_response(d.parse_credentials(d.format_credentials(creds).encode("utf-8", "surrogateescape")),
                            "INVITE", a1)


def test_split_challenges():
    chs = d.split_challenges('Digest realm="a",nonce="1", Digest realm="b", nonce="2"')
    assert [(c.realm, c.nonce) for c in chs] == [("a", "1"), ("b", "2")]
    chs = d.split_challenges(
        b'Negotiate, Basic realm="x", Digest realm="c", nonce="3", algorithm=SHA-256,\r\n'
        b' Digest realm="c", nonce="4", qop="auth", Bearer abc=='
    )
    assert [c.scheme for c in chs] == ["Negotiate", "Basic", "Digest", "Digest", "Bearer"]
    assert chs[-1].token68 == "abc==" and chs[2].algorithm == "SHA-256"
    with pytest.raises(ParseError):
        d.parse_challenge('Digest realm="a",nonce="1", Digest realm="b", nonce="2"')


def _ch(alg, qop=""):
    q = f', qop="{qop}"' if qop else ""
    return d.parse_challenge(f'Digest realm="{alg}/{qop}", nonce="n", algorithm={alg}{q}')


def test_pick_challenge():
    assert d.pick_challenge([]) is None
    assert d.pick_challenge([_ch("SHA-1"), d.parse_challenge("Basic realm=x")]) is None
    order = [_ch("MD5"), _ch("MD5-sess"), _ch("SHA-256-sess"), _ch("SHA-256"), _ch("SHA-512-256-sess"),
             _ch("SHA-512-256"), _ch("SHA-1")]
    assert d.pick_challenge(order).algorithm == "SHA-512-256"
    assert d.pick_challenge(order[:5]).algorithm == "SHA-512-256-sess"
    assert d.pick_challenge(order[:4]).algorithm == "SHA-256"
    assert d.pick_challenge(order[:3]).algorithm == "SHA-256-sess"
    assert d.pick_challenge(order[:2]).algorithm == "MD5"
    # Among equal algorithms, qop beats none; ties keep the first.
    picked = d.pick_challenge([_ch("MD5"), _ch("MD5", "auth-int"), _ch("MD5", "auth")])
    assert picked.realm == "MD5/auth-int"
    assert d.pick_challenge([_ch("MD5", "auth-conf"), _ch("MD5")]).realm == "MD5/"


def test_parse_credentials_non_digest():
    c = d.parse_credentials("NoOneKnowsThisScheme opaque-data=here")
    assert c.scheme == "NoOneKnowsThisScheme" and c.params == {"opaque-data": "here"}
    assert c.username is None and c.response is None and c.algorithm is None
    assert not d.check_response(c, "INVITE", "0" * 32)
    assert d.parse_credentials("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==").token68 == "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="


def test_check_response_rejects_incomplete():
    base = 'Digest username="u", realm="r", nonce="n", uri="sip:x", response="{}"'
    a1 = d.ha1("MD5", "u", "r", "p")
    ok = d.response("MD5", a1, "n", "INVITE", "sip:x")
    assert d.check_response(d.parse_credentials(base.format(ok)), "INVITE", a1)
    assert d.check_response(d.parse_credentials(base.format(ok.upper())), "INVITE", a1)
    for extra in (", qop=auth", ", qop=auth-conf, nc=00000001, cnonce=\"c\"", ", algorithm=SHA-1",
                  ", algorithm=MD5-sess"):
        assert not d.check_response(d.parse_credentials(base.format(ok) + extra), "INVITE", a1)
    assert not d.check_response(d.parse_credentials(base.format("\u00e9" * 32)), "INVITE", a1)


BAD = [
    "", "   ", ",,", '"Digest" realm="a"', "=x", 'Digest realm="a', 'Digest realm="a", nonce="n\\',
    'Digest realm="a" nonce="n"', 'Digest realm=, nonce="n"', 'Digest realm="a", nonce="n", ;x',
    'Digest realm="a", nonce="n", foo', 'Digest nonce="n"', 'Digest realm="a"', "Digest",
    'Digest realm="a", realm="b", nonce="n"', 'Digest realm="a"x, nonce="n"',
    'Digest realm="a",\r\nnonce="n"', 'Digest realm="a\r\nb", nonce="n"', 'Digest foo bar=1',
    'Digest= realm="a"', 'Digest realm="\u00e9", nonce="n" \u00e9',
]


@pytest.mark.parametrize("value", BAD)
def test_malformed_challenges(value):
    with pytest.raises(ParseError) as e:
        d.parse_challenge(value)
    assert e.value.status == 400 and e.value.reason


@pytest.mark.parametrize("value", [
    'Digest realm="r", nonce="n", uri="u", response="x"',
    'Digest username="u", nonce="n", uri="u", response="x"',
    'Digest username="u", realm="r", uri="u", response="x"',
    'Digest username="u", realm="r", nonce="n", response="x"',
    'Digest username="u", realm="r", nonce="n", uri="u"',
    'Digest abcdef==', 'Digest username="u", realm="r", nonce="n", uri="u", response="x", Basic a',
    'Digest username="u" realm="r"', "",
])
def test_malformed_credentials(value):
    with pytest.raises(ParseError) as e:
        d.parse_credentials(value)
    assert e.value.status == 400


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_fuzz_only_parse_errors(value):
    for fn in (d.parse_challenge, d.parse_credentials, d.split_challenges):
        try:
            fn(value)
        except ParseError as e:
            assert e.status == 400


_PIECES = st.sampled_from(['Digest', ' ', '\t', ',', '=', '"', '\\', 'realm', 'nonce', 'uri', 'response',
                           'username', 'qop', '="a"', '=b', '\r\n ', '\r\n', 'Basic', 'abc==', '\xff'])


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=30).map("".join))
def test_fuzz_structured(value):
    for fn in (d.parse_challenge, d.parse_credentials, d.split_challenges):
        try:
            fn(value)
        except ParseError:
            pass
