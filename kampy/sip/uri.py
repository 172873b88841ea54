# SPDX-License-Identifier: GPL-2.0-or-later
"""SIP, SIPS, TEL and absolute URIs: parsing, rebuilding and comparison.

Grammar: RFC 3261 section 19.1 and 25.1, RFC 3966 for tel.  The parser
works on bytes and keeps every component as the raw bytes that were on the
wire (escapes included), because a proxy mostly forwards URIs untouched and
only decodes the few pieces it actually needs to compare.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote_to_bytes

from kampy.sip.errors import ParseError

__all__ = [
    "URI",
    "parse_uri",
    "uri_equal",
    "format_uri",
    "escape_user",
    "unescape",
]

# ---------------------------------------------------------------------------
# Character sets (RFC 3261 section 25.1), '%'-escapes not included.

_ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_MARK = b"-_.!~*'()"
_UNRESERVED = _ALNUM + _MARK
_USER_CHARS = _UNRESERVED + b"&=+$,;?/"
_PASSWORD_CHARS = _UNRESERVED + b"&=+$,"
_PARAM_CHARS = _UNRESERVED + b"[]/:&+$"
_HEADER_CHARS = _UNRESERVED + b"[]/?:+$"


def _sip_grammar(escapes: bool) -> dict[str, bytes]:
    """Regex pieces for sip/sips URIs, with or without %HH escapes.

    Two variants because the hot path (no '%', no IPv6) then needs no
    check after the match; the full variant validates escapes itself.
    Unnamed groups only: fewer groups are measurably faster to extract.
    """

    def run(chars: bytes, quant: bytes) -> bytes:
        # Possessive: each run ends at a delimiter, so backtracking is waste.
        # A repeated group is made possessive with an atomic group, not `*+`:
        # CPython 3.11.2 (Debian 12's) mis-matches possessive repeats of
        # groups (`?a=b&` was accepted as URI headers).
        cls = b"[" + re.escape(chars) + b"]"
        if escapes:
            return b"(?>(?:" + cls + rb"|%[0-9A-Fa-f]{2})" + quant + b")"
        return cls + quant + b"+"

    g = {}
    g["userinfo"] = (
        b"(" + run(_USER_CHARS, b"+") + b")(?::(" + run(_PASSWORD_CHARS, b"*") + b"))?@"
    )
    # Lenient hostname: alphanumeric/'-' labels, as real gear sends "1host".
    hostname = rb"[A-Za-z0-9\-]++(?>(?:\.[A-Za-z0-9\-]++)*)\.?"
    ipv6ref = rb"\[[0-9A-Fa-f:.]++\]"
    g["host"] = b"(" + hostname + (b"|" + ipv6ref if escapes else b"") + b")"
    g["param"] = run(_PARAM_CHARS, b"+") + b"(?:=" + run(_PARAM_CHARS, b"*") + b")?"
    header = run(_HEADER_CHARS, b"+") + b"=" + run(_HEADER_CHARS, b"*")
    g["headers"] = header + b"(?>(?:&" + header + b")*)"
    # groups: scheme, user, password, host, port, params (no ';'), headers
    g["uri"] = (
        b"([sS][iI][pP][sS]?):(?:" + g["userinfo"] + b")?" + g["host"]
        + rb"(?::([0-9]{1,5}))?(?:;(" + g["param"] + b"(?>(?:;" + g["param"] + b")*)))?"
        + rb"(?:\?(" + g["headers"] + b"))?"
    )
    return g


_FAST = _sip_grammar(escapes=False)
_FULL = _sip_grammar(escapes=True)
_SIP_FAST_RE = re.compile(_FAST["uri"])
_SIP_RE = re.compile(_FULL["uri"])
# The full grammar piece by piece, for _sip_error() to say what went wrong.
_USERINFO_RE = re.compile(_FULL["userinfo"])
_HOST_RE = re.compile(_FULL["host"])
_PORT_RE = re.compile(rb"[0-9]++")
_PARAM_RE = re.compile(b";" + _FULL["param"])
_HEADERS_RE = re.compile(rb"\?" + _FULL["headers"])

_SCHEME_RE = re.compile(rb"[A-Za-z][A-Za-z0-9+.\-]*+:")
_BAD_ESCAPE_RE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_IPV4_RE = re.compile(rb"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})")
# Any byte that can never occur in a sip/sips URI (controls, space, '<', ...).
_SIP_ILLEGAL_RE = re.compile(
    rb"[^" + re.escape(_USER_CHARS + _PASSWORD_CHARS + _PARAM_CHARS + _HEADER_CHARS + b"%@:") + rb"]"
)
_OPAQUE_ILLEGAL_RE = re.compile(rb"[\x00-\x20\x7f]")

# RFC 3966: global numbers start with '+' and need one digit, local ones
# are hex digits, '*' and '#'; both may carry visual separators.
_TEL_PCHAR = rb"(?:[" + re.escape(_PARAM_CHARS) + rb"]|%[0-9A-Fa-f]{2})"
_TEL_RE = re.compile(
    rb"(?P<number>\+(?=[0-9().\-]*[0-9])[0-9().\-]++"
    rb"|(?=[0-9A-Fa-f*#().\-]*[0-9A-Fa-f*#])[0-9A-Fa-f*#().\-]++)"
    rb"(?P<params>(?>(?:;[A-Za-z0-9\-]++(?:=(?>" + _TEL_PCHAR + rb"*))?)*))"
)
_TEL_VISUAL = b"-.()"

# Every spelling of the two SIP schemes, so the hot path skips lower()+decode().
_SIP_SCHEMES = {}
for _s in ("sip", "sips"):
    for _i in range(1 << len(_s)):
        _spelled = "".join(c.upper() if _i >> k & 1 else c for k, c in enumerate(_s))
        _SIP_SCHEMES[_spelled.encode()] = _s
del _s, _i, _spelled

# int() costs more than a dict hit; these cover nearly all real traffic.
_COMMON_PORTS = {b"%d" % p: p for p in (*range(5060, 5071), 5080, 5090, 80, 443, 8080)}

# Params that, when present in only one URI, make the URIs differ (19.1.4).
_MUST_MATCH_PARAMS = (b"user", b"ttl", b"method", b"maddr", b"transport")

_USER_SAFE = _USER_CHARS
_ESCAPE_TABLE = [
    bytes((b,)) if b in _USER_SAFE else b"%%%02X" % b for b in range(256)
]

_REPLACEABLE = frozenset(
    ("scheme", "user", "password", "host", "port", "params", "headers", "opaque")
)


# ---------------------------------------------------------------------------
# Helpers


def unescape(s: bytes) -> bytes:
    """Decode %HH once; a decoded '%' never starts another escape."""
    if b"%" not in s:
        return s
    return unquote_to_bytes(s)


def escape_user(s: bytes) -> bytes:
    """Make arbitrary bytes safe for the user part of a sip URI."""
    s = bytes(s)
    if not s.translate(None, _USER_SAFE):
        return s
    table = _ESCAPE_TABLE
    return b"".join([table[b] for b in s])


def _to_bytes(v) -> bytes:
    if isinstance(v, str):
        return v.encode("utf-8")
    return bytes(v)


def format_uri(
    scheme,
    user: bytes | None = None,
    host: bytes = b"",
    port: int | None = None,
    params: bytes = b"",
    headers: bytes = b"",
    password: bytes | None = None,
    opaque: bytes | None = None,
) -> bytes:
    """Assemble a URI from already-escaped parts.

    No escaping happens here (use escape_user for user text) so a part
    taken from a parsed URI goes back exactly as it came.  For tel, `user`
    is the number; for other schemes `opaque` is everything after the ':'.
    A bare IPv6 address as host gets its brackets added.
    """
    sch = _to_bytes(scheme).lower()
    out = [sch, b":"]
    if sch == b"tel":
        out.append(_to_bytes(user or b""))
        if params:
            out += (b";", _to_bytes(params))
        return b"".join(out)
    if sch not in (b"sip", b"sips"):
        return b"".join((sch, b":", _to_bytes(opaque or b"")))
    if user is not None:
        out.append(_to_bytes(user))
        if password is not None:
            out += (b":", _to_bytes(password))
        out.append(b"@")
    host = _to_bytes(host)
    if b":" in host and not host.startswith(b"["):
        host = b"[" + host + b"]"
    out.append(host)
    if port is not None:
        out.append(b":%d" % port)
    if params:
        out += (b";", _to_bytes(params))
    if headers:
        out += (b"?", _to_bytes(headers))
    return b"".join(out)


def _split_params(params: bytes) -> list[tuple[bytes, bytes | None]]:
    out = []
    if not params:
        return out
    for item in params.split(b";"):
        name, eq, value = item.partition(b"=")
        out.append((name, value if eq else None))
    return out


def _ipv6_key(host: bytes) -> bytes:
    try:
        return ipaddress.IPv6Address(host[1:-1].decode("ascii")).compressed.encode()
    except ValueError:  # cannot happen for parsed URIs, but stay total
        return host.lower()


def _host_key(host: bytes) -> bytes:
    if host[:1] == b"[":
        return _ipv6_key(host)
    return host.lower()


# ---------------------------------------------------------------------------
# The URI object


class URI:
    """A parsed URI; treat as immutable (use replace() to derive new ones).

    Components are raw bytes as written, so forwarding never re-encodes.
    `__bytes__` gives `raw`, which replace() rebuilds from the parts.
    """

    __slots__ = (
        "raw",
        "scheme",
        "user",
        "password",
        "host",
        "port",
        "params",
        "headers",
        "opaque",
        "_plist",
    )

    def __init__(
        self,
        raw: bytes,
        scheme: str,
        user: bytes | None = None,
        password: bytes | None = None,
        host: bytes = b"",
        port: int | None = None,
        params: bytes = b"",
        headers: bytes = b"",
        opaque: bytes = b"",
    ):
        # Not validated: use parse_uri() for anything from the outside.
        self.raw = raw
        self.scheme = scheme
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.params = params
        self.headers = headers
        self.opaque = opaque
        self._plist = None

    # -- parameters --------------------------------------------------------

    def param_list(self) -> list[tuple[bytes, bytes | None]]:
        """Params as (name, value-or-None), raw; parsed once, on demand."""
        pl = self._plist
        if pl is None:
            pl = self._plist = _split_params(self.params)
        return pl

    def param(self, name) -> bytes | None:
        if not self.params:
            return None
        key = name.lower().encode() if isinstance(name, str) else bytes(name).lower()
        for n, v in self.param_list():
            if n.lower() == key:
                return b"" if v is None else v
        return None

    def has_param(self, name) -> bool:
        return self.param(name) is not None

    @property
    def transport(self) -> str | None:
        v = self.param(b"transport")
        if v is None:
            return None
        return unescape(v).decode("latin-1").lower()

    @property
    def lr(self) -> bool:
        return self.param(b"lr") is not None

    # -- host --------------------------------------------------------------

    @property
    def host_type(self) -> str | None:
        """'ipv4', 'ipv6' or 'name'; None when the scheme has no host."""
        host = self.host
        if not host:
            return None
        if host[:1] == b"[":
            return "ipv6"
        m = _IPV4_RE.fullmatch(host)
        if m and all(int(g) <= 255 for g in m.groups()):
            return "ipv4"
        return "name"

    @property
    def hostport(self) -> bytes:
        """host[:port] sliced from raw, so the port reads as it was written."""
        if not self.host:
            return b""
        start = len(self.scheme) + 1
        if self.user is not None:
            start += len(self.user) + 1
            if self.password is not None:
                start += len(self.password) + 1
        hp = self.raw[start:]
        # Neither host nor port may contain ';' or '?': the first one ends it.
        return hp.partition(b";")[0].partition(b"?")[0]

    def user_unescaped(self) -> bytes:
        """The user part with %HH decoded once (b'' when there is none)."""
        user = self.user
        if user is None:
            return b""
        return unescape(user)

    # -- rebuilding --------------------------------------------------------

    def __bytes__(self) -> bytes:
        return self.raw

    def replace(self, **parts) -> URI:
        """A new, validated URI with some parts swapped.

        user=None drops the whole userinfo, port=None drops the port.
        """
        unknown = parts.keys() - _REPLACEABLE
        if unknown:
            raise TypeError("replace() got unexpected part(s): %s" % ", ".join(sorted(unknown)))
        get = parts.get
        user = get("user", self.user)
        password = get("password", self.password)
        if user is None:
            if parts.get("password") is not None:
                raise ValueError("a password needs a user")
            password = None
        raw = format_uri(
            get("scheme", self.scheme),
            user=user,
            host=get("host", self.host),
            port=get("port", self.port),
            params=get("params", self.params),
            headers=get("headers", self.headers),
            password=password,
            opaque=get("opaque", self.opaque),
        )
        return parse_uri(raw)

    # -- comparison --------------------------------------------------------

    def __eq__(self, other):
        if not isinstance(other, URI):
            return NotImplemented
        return uri_equal(self, other)

    def __hash__(self):
        scheme = self.scheme
        if scheme in ("sip", "sips"):
            return hash((scheme, self.user_unescaped(), _host_key(self.host), self.port))
        if scheme == "tel":
            return hash((scheme, _tel_number_key(self.user or b"")))
        return hash((scheme, self.opaque))

    def __repr__(self):
        return "<URI %r>" % (self.raw,)

    def __str__(self):
        return self.raw.decode("utf-8", "replace")


_new_uri = URI.__new__


# ---------------------------------------------------------------------------
# Parsing


def parse_uri(data: bytes) -> URI:
    """Parse one URI; ParseError(reason, 400) for anything malformed."""
    if not isinstance(data, bytes):
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        else:
            raise TypeError("parse_uri() wants bytes, not %s" % type(data).__name__)
    m = _SIP_FAST_RE.fullmatch(data)
    if m is None:
        m = _SIP_RE.fullmatch(data)
        if m is None:
            return _parse_slow(data)
        host = m.group(4)
        if host[0] == 0x5B:  # '['
            _check_ipv6(host)
    scheme, user, password, host, port, params, headers = m.groups()
    if port is not None:
        p = _COMMON_PORTS.get(port)
        if p is None:
            p = int(port)  # the regex allows at most 5 digits
            if p > 65535:
                raise ParseError("port out of range in URI")
        port = p
    u = _new_uri(URI)
    u.raw = data
    u.scheme = _SIP_SCHEMES[scheme]
    u.user = user
    u.password = password
    u.host = host
    u.port = port
    u.params = params or b""
    u.headers = headers or b""
    u.opaque = b""
    u._plist = None
    return u


def _check_ipv6(host: bytes) -> None:
    try:
        ipaddress.IPv6Address(host[1:-1].decode("ascii"))
    except ValueError:
        raise ParseError("invalid IPv6 reference in URI") from None


def _parse_slow(data: bytes) -> URI:
    """Everything the fast sip regex did not take: tel, other schemes, errors."""
    m = _SCHEME_RE.match(data)
    if m is None:
        raise ParseError("URI has no valid scheme")
    start = m.end()
    scheme = data[: start - 1].lower().decode("ascii")
    if scheme in ("sip", "sips"):
        raise ParseError(_sip_error(data, start))
    rest = data[start:]
    if scheme == "tel":
        t = _TEL_RE.fullmatch(rest)
        if t is None:
            raise ParseError("malformed tel URI")
        return URI(data, "tel", user=t.group("number"), params=t.group("params")[1:])
    if not rest:
        raise ParseError("empty absolute URI after scheme")
    bad = _OPAQUE_ILLEGAL_RE.search(rest)
    if bad is not None:
        raise ParseError("illegal character at offset %d in URI" % (start + bad.start()))
    return URI(data, scheme, opaque=rest)


def _sip_error(data: bytes, pos: int) -> str:
    """Say why a sip/sips URI failed the full regex (which stays authoritative)."""
    bad = _SIP_ILLEGAL_RE.search(data, pos)
    if bad is not None:
        return "illegal character %r at offset %d in SIP URI" % (bad.group(), bad.start())
    bad = _BAD_ESCAPE_RE.search(data, pos)
    if bad is not None:
        return "invalid %%-escape at offset %d in SIP URI" % bad.start()
    end = len(data)
    if data[pos : pos + 1] == b"@":
        return "empty user part in SIP URI"
    ui = _USERINFO_RE.match(data, pos)
    if ui is not None:
        pos = ui.end()
    if pos == end or data[pos] in b";?:@":
        return "empty host in SIP URI"
    h = _HOST_RE.match(data, pos)
    if h is None:
        if data[pos] == 0x5B:
            return "malformed IPv6 reference in SIP URI"
        return "invalid host at offset %d in SIP URI" % pos
    pos = h.end()
    if pos < end and data[pos] == 0x3A:  # ':'
        p = _PORT_RE.match(data, pos + 1)
        if p is None:
            return "empty or non-numeric port in SIP URI"
        if p.end() - p.start() > 5 or int(p.group()) > 65535:
            return "port out of range in SIP URI"
        pos = p.end()
    while pos < end and data[pos] == 0x3B:  # ';'
        p = _PARAM_RE.match(data, pos)
        if p is None:
            if pos + 1 == end or data[pos + 1] in b";?=":
                return "empty URI parameter at offset %d" % pos
            return "malformed URI parameter at offset %d" % pos
        pos = p.end()
    if pos < end and data[pos] == 0x3F:  # '?'
        p = _HEADERS_RE.match(data, pos)
        if p is None or p.end() != end:
            return "malformed URI headers at offset %d" % pos
        pos = p.end()
    if pos < end:
        return "unexpected %r at offset %d in SIP URI" % (data[pos : pos + 1], pos)
    return "malformed SIP URI"


# ---------------------------------------------------------------------------
# Comparison (RFC 3261 section 19.1.4, RFC 3966 section 4)


def _param_map(u: URI) -> dict[bytes, bytes]:
    d: dict[bytes, bytes] = {}
    for name, value in u.param_list():
        key = unescape(name).lower()
        if key not in d:
            d[key] = b"" if value is None else unescape(value).lower()
    return d


def _header_set(headers: bytes) -> frozenset:
    if not headers:
        return frozenset()
    out = set()
    for item in headers.split(b"&"):
        name, _, value = item.partition(b"=")
        out.add((unescape(name).lower(), unescape(value)))
    return frozenset(out)


def _tel_number_key(number: bytes) -> bytes:
    return number.translate(None, _TEL_VISUAL).lower()


def uri_equal(a: URI, b: URI) -> bool:
    """URI equivalence as a proxy must judge it, not byte equality."""
    scheme = a.scheme
    if scheme != b.scheme:
        return False
    if scheme == "sip" or scheme == "sips":
        if a.port != b.port:
            return False
        if (a.user is None) != (b.user is None) or (a.password is None) != (b.password is None):
            return False
        if a.user is not None and unescape(a.user) != unescape(b.user):
            return False
        if a.password is not None and unescape(a.password) != unescape(b.password):
            return False
        ha, hb = a.host, b.host
        if ha != hb and _host_key(ha) != _host_key(hb):
            return False
        if a.params != b.params:
            pa, pb = _param_map(a), _param_map(b)
            for k in pa.keys() & pb.keys():
                if pa[k] != pb[k]:
                    return False
            for k in _MUST_MATCH_PARAMS:
                if (k in pa) != (k in pb):
                    return False
        if a.headers != b.headers and _header_set(a.headers) != _header_set(b.headers):
            return False
        return True
    if scheme == "tel":
        if _tel_number_key(a.user or b"") != _tel_number_key(b.user or b""):
            return False
        if a.params == b.params:
            return True
        return _param_map(a) == _param_map(b)
    return a.opaque == b.opaque
