# SPDX-License-Identifier: GPL-2.0-or-later
"""HTTP-Digest authentication for SIP (RFC 2617, RFC 7616, RFC 8760, RFC 3261 §22).

Shared by the client side (answering 401/407 challenges) and the server side
(challenging and verifying credentials).  Sans-IO: no sockets, no clocks.

Text handling: bytes are decoded as UTF-8 with 'surrogateescape' so any octet
survives; hashing encodes the same way, so values round-trip byte for byte.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field

from kampy.sip.errors import ParseError

ALGORITHMS = ("MD5", "MD5-sess", "SHA-256", "SHA-256-sess", "SHA-512-256", "SHA-512-256-sess")

_CANON = {a.lower(): a for a in ALGORITHMS}
_HASHLIB_NAME = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}
_HEX_LEN = {"MD5": 32, "SHA-256": 64, "SHA-512-256": 64}
# pick_challenge ranking: stronger hash first; a -sess variant ranks just below
# its base because it adds a cnonce round-trip without strengthening the hash,
# and fewer peers implement it correctly.
_RANK = {"SHA-512-256": 6, "SHA-512-256-sess": 5, "SHA-256": 4, "SHA-256-sess": 3, "MD5": 2, "MD5-sess": 1}

_WS = " \t"
_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
# Unquoted values: RFC token chars plus what sloppy peers put in bare nonces/URIs.
_BARE_VALUE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~/:@=?;&\[\]$#]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_QUOTED = re.compile(r'"((?:[^"\\\r\n\x00]|\\[^\r\n\x00])*)"')
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)
_FOLD = re.compile(r"\r?\n[ \t]+")
_HEX = re.compile(r"[0-9a-fA-F]+")


@dataclass(slots=True)
class Challenge:
    """One WWW-Authenticate / Proxy-Authenticate challenge."""

    scheme: str
    realm: str | None = None
    nonce: str | None = None
    opaque: str | None = None
    algorithm: str = "MD5"
    algorithm_raw: str | None = None
    qop: list[str] = field(default_factory=list)
    stale: bool = False
    domain: str | None = None
    userhash: bool = False
    charset: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    token68: str | None = None

    @property
    def supported(self) -> bool:
        """True when make_credentials can answer this challenge."""
        return (
            self.scheme.lower() == "digest"
            and self.algorithm in ALGORITHMS
            and (not self.qop or "auth" in self.qop or "auth-int" in self.qop)
        )


@dataclass(slots=True)
class Credentials:
    """One Authorization / Proxy-Authorization value."""

    scheme: str
    username: str | None = None
    realm: str | None = None
    nonce: str | None = None
    uri: str | None = None
    response: str | None = None
    algorithm: str | None = None
    cnonce: str | None = None
    opaque: str | None = None
    qop: str | None = None
    nc: str | None = None
    userhash: bool = False
    params: dict[str, str] = field(default_factory=dict)
    token68: str | None = None


def _text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "surrogateescape")
    raise TypeError(f"expected str or bytes, got {type(value).__name__}")


def _skip(text: str, pos: int, chars: str = _WS) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _scan_one(text: str, pos: int):
    """Scan one `scheme [token68 | params]`; return it and where the next starts."""
    n = len(text)
    m = _TOKEN.match(text, pos)
    if not m:
        raise ParseError("expected an auth scheme")
    scheme, pos = m.group(), m.end()
    if pos < n and text[pos] not in _WS + ",":
        raise ParseError(f"bad character after auth scheme {scheme!r}")
    after = _skip(text, pos)
    if after > pos:
        m = _TOKEN68.match(text, after)
        if m:
            q = _skip(text, m.end())
            if q == n or text[q] == ",":
                return (scheme, {}, m.group()), q
    params: dict[str, str] = {}
    pos, comma, need_comma = after, False, False
    while True:
        pos = _skip(text, pos)
        if pos == n:
            return (scheme, params, None), pos
        if text[pos] == ",":
            pos, comma, need_comma = pos + 1, True, False
            continue
        if need_comma:
            raise ParseError("expected ',' between auth parameters")
        m = _TOKEN.match(text, pos)
        if not m:
            raise ParseError("garbage where an auth parameter should be")
        q = _skip(text, m.end())
        if q == n or text[q] != "=":
            # A token that is not `name=` starts the next challenge, which
            # is only legal after a comma.
            if not comma:
                raise ParseError(f"expected '=' after {m.group()!r}")
            return (scheme, params, None), m.start()
        name = m.group().lower()
        pos = _skip(text, q + 1)
        if pos < n and text[pos] == '"':
            m = _QUOTED.match(text, pos)
            if not m:
                raise ParseError(f"unterminated or invalid quoted string for {name!r}")
            value = _UNESCAPE.sub(r"\1", m.group(1))
        else:
            m = _BARE_VALUE.match(text, pos)
            if not m:
                raise ParseError(f"missing value for {name!r}")
            value = m.group()
        if name in params:
            # Two values for one directive: whichever we picked, a peer
            # could have meant the other.
            raise ParseError(f"duplicate auth parameter {name!r}")
        params[name] = value
        pos, comma, need_comma = m.end(), False, True


def _scan(value) -> list[tuple[str, dict[str, str], str | None]]:
    text = _FOLD.sub(" ", _text(value))
    pos = _skip(text, 0, _WS + ",")
    items = []
    while pos < len(text):
        item, pos = _scan_one(text, pos)
        items.append(item)
        pos = _skip(text, pos, _WS + ",")
    if not items:
        raise ParseError("empty authentication header")
    return items


def _canon_or_raw(alg: str | None) -> str | None:
    return None if alg is None else _CANON.get(alg.lower(), alg)


def _truthy(v: str | None) -> bool:
    return v is not None and v.lower() == "true"


def _challenge(item) -> Challenge:
    scheme, p, t68 = item
    ch = Challenge(
        scheme=scheme, realm=p.get("realm"), nonce=p.get("nonce"), opaque=p.get("opaque"),
        algorithm=_canon_or_raw(p.get("algorithm")) or "MD5", algorithm_raw=p.get("algorithm"),
        qop=[q.strip().lower() for q in p.get("qop", "").split(",") if q.strip()],
        stale=_truthy(p.get("stale")), domain=p.get("domain"), userhash=_truthy(p.get("userhash")),
        charset=p.get("charset"), params=p, token68=t68,
    )
    if scheme.lower() == "digest":
        for name in ("realm", "nonce"):
            if p.get(name) is None:
                raise ParseError(f"Digest challenge without {name}")
    return ch


def split_challenges(value: bytes | str) -> list[Challenge]:
    """All challenges of one header value (RFC 7235 allows several)."""
    return [_challenge(item) for item in _scan(value)]


def parse_challenge(value: bytes | str) -> Challenge:
    """Exactly one challenge; a value holding several needs split_challenges."""
    items = _scan(value)
    if len(items) != 1:
        raise ParseError("several challenges in one value")
    return _challenge(items[0])


def parse_credentials(value: bytes | str) -> Credentials:
    """One Authorization value; other schemes parse with empty Digest fields."""
    items = _scan(value)
    if len(items) != 1:
        raise ParseError("several credentials in one value")
    scheme, p, t68 = items[0]
    if scheme.lower() != "digest":
        return Credentials(scheme=scheme, params=p, token68=t68)
    if t68 is not None:
        raise ParseError("Digest credentials need name=value parameters")
    cr = Credentials(
        scheme=scheme, username=p.get("username"), realm=p.get("realm"), nonce=p.get("nonce"),
        uri=p.get("uri"), response=p.get("response"), algorithm=_canon_or_raw(p.get("algorithm")),
        cnonce=p.get("cnonce"), opaque=p.get("opaque"), qop=p.get("qop"), nc=p.get("nc"),
        userhash=_truthy(p.get("userhash")), params=p,
    )
    if cr.username is None and "username*" not in p:
        raise ParseError("Digest credentials without username")
    for name in ("realm", "nonce", "uri", "response"):
        if p.get(name) is None:
            raise ParseError(f"Digest credentials without {name}")
    return cr


def pick_challenge(challenges: list[Challenge]) -> Challenge | None:
    """Strongest supported challenge: algorithm first, then qop over RFC 2069."""
    best, best_key = None, None
    for ch in challenges:
        if not ch.supported:
            continue
        key = (_RANK[ch.algorithm], bool(ch.qop))
        if best_key is None or key > best_key:
            best, best_key = ch, key
    return best


def _canon(algorithm: str | None) -> str:
    if algorithm is None:
        return "MD5"
    try:
        return _CANON[algorithm.lower()]
    except KeyError:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}") from None


def _base(alg: str) -> str:
    return alg[:-5] if alg.endswith("-sess") else alg


def _bytes(s: str | bytes) -> bytes:
    if isinstance(s, (bytes, bytearray, memoryview)):
        return bytes(s)
    try:
        return s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogatepass")


def _h(alg: str, *parts: str | bytes) -> str:
    name = _HASHLIB_NAME[_base(alg)]
    try:
        h = hashlib.new(name)
    except ValueError:
        raise ValueError(f"{_base(alg)} needs hashlib {name!r}, not available in this Python/OpenSSL") from None
    h.update(b":".join(_bytes(p) for p in parts))
    return h.hexdigest()


def sess_ha1(algorithm: str, ha1_hex: str, nonce: str, cnonce: str) -> str:
    """Session HA1 of the -sess algorithms, derived from a stored base HA1."""
    if nonce is None or cnonce is None:
        raise ValueError("-sess algorithms need nonce and cnonce")
    return _h(_canon(algorithm), ha1_hex.lower(), nonce, cnonce)


def ha1(algorithm, username, realm, password, nonce=None, cnonce=None) -> str:
    """HA1 as used in response(); for -sess the session value (needs nonce, cnonce)."""
    alg = _canon(algorithm)
    base = _h(alg, username, realm, password)
    return sess_ha1(alg, base, nonce, cnonce) if alg != _base(alg) else base


def response(algorithm, ha1_hex, nonce, method, uri, qop=None, nc=None, cnonce=None, body=b"") -> str:
    """The request-digest; ha1_hex is the base HA1 even for -sess algorithms."""
    alg = _canon(algorithm)
    ha1_hex = ha1_hex.lower()
    if alg != _base(alg):
        ha1_hex = sess_ha1(alg, ha1_hex, nonce, cnonce)
    q = qop.lower() if qop is not None else None
    if q == "auth-int":
        ha2 = _h(alg, method, uri, _h(alg, body if body is not None else b""))
    elif q in (None, "auth"):
        ha2 = _h(alg, method, uri)
    else:
        raise ValueError(f"unsupported qop {qop!r}")
    if q is None:
        return _h(alg, ha1_hex, nonce, ha2)
    if nc is None or cnonce is None:
        raise ValueError("qop needs nc and cnonce")
    # The qop is hashed as the peer spelled it, since that is what it hashed.
    return _h(alg, ha1_hex, nonce, nc, cnonce, qop, ha2)


def check_response(creds: Credentials, method, ha1_hex, body=b"") -> bool:
    """Server side: do the credentials prove knowledge of ha1_hex?"""
    if creds.scheme.lower() != "digest" or None in (creds.nonce, creds.uri, creds.response):
        return False
    alg = creds.algorithm or "MD5"
    if alg not in ALGORITHMS:
        return False
    if creds.qop is not None and (creds.qop.lower() not in ("auth", "auth-int") or creds.nc is None):
        return False
    if (creds.qop is not None or alg != _base(alg)) and creds.cnonce is None:
        return False
    expected = response(alg, ha1_hex, creds.nonce, method, creds.uri, creds.qop, creds.nc, creds.cnonce, body)
    return hmac.compare_digest(expected.encode("ascii"), _bytes(creds.response.lower()))


def make_credentials(challenge: Challenge, username, method, uri, password=None, ha1=None,
                     body=b"", nc=1, cnonce=None) -> Credentials:
    """Answer a challenge.

    qop: "auth" whenever offered (it is valid whatever the body), "auth-int"
    only when it is the sole qop offered, none (RFC 2069) when none offered.
    """
    if (password is None) == (ha1 is None):
        raise ValueError("give exactly one of password and ha1")
    if not challenge.supported:
        raise ValueError(f"cannot answer {challenge.scheme} challenge, algorithm {challenge.algorithm!r}")
    alg, base = challenge.algorithm, _base(challenge.algorithm)
    if ha1 is not None:
        if len(ha1) != _HEX_LEN[base] or not _HEX.fullmatch(ha1):
            raise ValueError(f"HA1 for {alg} must be {_HEX_LEN[base]} hex digits")
        base_ha1 = ha1.lower()
    else:
        base_ha1 = _h(base, username, challenge.realm, password)
    qop = "auth" if "auth" in challenge.qop else ("auth-int" if challenge.qop else None)
    if not 0 < nc <= 0xFFFFFFFF:
        raise ValueError("nc must fit in 8 hex digits and be positive")
    nc_s = f"{nc:08x}" if qop else None
    if not (qop or alg != base):
        cnonce = None  # RFC 2069 answers carry no cnonce
    elif cnonce is None:
        cnonce = os.urandom(16).hex()
    resp = response(alg, base_ha1, challenge.nonce, method, uri, qop, nc_s, cnonce, body)
    if challenge.userhash:
        username = _h(base, username, challenge.realm)
    creds = Credentials(
        scheme="Digest", username=username, realm=challenge.realm, nonce=challenge.nonce,
        uri=uri, response=resp, algorithm=alg, cnonce=cnonce, opaque=challenge.opaque,
        qop=qop, nc=nc_s, userhash=challenge.userhash,
    )
    creds.params = {k: v for k, v, _ in _cred_items(creds)}
    return creds


def _quote(v: str) -> str:
    if any(c in v for c in "\r\n\x00"):
        raise ValueError("CR, LF or NUL in a quoted header value")
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _cred_items(c: Credentials):
    """(name, value, quoted) in Kamailio's order."""
    for name in ("username", "realm", "nonce", "uri"):
        if getattr(c, name) is None:
            raise ValueError(f"credentials without {name}")
        yield name, getattr(c, name), True
    if c.opaque is not None:
        yield "opaque", c.opaque, True
    if c.qop is not None:
        yield "qop", c.qop, False
        yield "nc", c.nc, False
    if c.cnonce is not None:
        yield "cnonce", c.cnonce, True
    if c.response is None:
        raise ValueError("credentials without response")
    yield "response", c.response, True
    if c.algorithm is not None:
        yield "algorithm", c.algorithm, False
    if c.userhash:
        yield "userhash", "true", False


def _check_bare(name: str, v: str | None) -> str:
    if v is None or not _TOKEN.fullmatch(v):
        raise ValueError(f"{name} must be a token, got {v!r}")
    return v


def format_credentials(creds: Credentials) -> str:
    """Authorization / Proxy-Authorization value for Digest credentials."""
    if creds.scheme.lower() != "digest":
        raise ValueError("only Digest credentials can be formatted")
    parts = [f"{n}={_quote(v) if q else _check_bare(n, v)}" for n, v, q in _cred_items(creds)]
    return "Digest " + ", ".join(parts)


def format_challenge(realm, nonce, algorithm="MD5", qop="auth", opaque=None, stale=False) -> str:
    """WWW-Authenticate / Proxy-Authenticate value; algorithm or qop None omits it."""
    parts = [f"realm={_quote(realm)}", f"nonce={_quote(nonce)}"]
    if opaque is not None:
        parts.append(f"opaque={_quote(opaque)}")
    if stale:
        parts.append("stale=true")
    if qop is not None:
        tokens = [t.strip().lower() for t in qop.split(",")]
        if any(t not in ("auth", "auth-int") for t in tokens):
            raise ValueError(f"unsupported qop {qop!r}")
        parts.append(f'qop="{",".join(tokens)}"')
    if algorithm is not None:
        parts.append(f"algorithm={_canon(algorithm)}")
    return "Digest " + ", ".join(parts)
