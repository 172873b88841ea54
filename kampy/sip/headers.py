# SPDX-License-Identifier: GPL-2.0-or-later
"""Header names and the parsers of header values (RFC 3261 §20, §25.1).

Each parser takes the unfolded value bytes of one header line and returns a
small object with __slots__; the message caches it so each value is parsed at
most once.  The grammar rules are quoted above the regexes that implement
them.  Every parser raises only ParseError.
"""

import re
import sys

from .errors import ParseError
from .uri import parse_uri

# --- names ------------------------------------------------------------------

# canonical key -> spelling used when we build a header ourselves
CANONICAL = {
    "accept": "Accept", "accept-encoding": "Accept-Encoding",
    "accept-language": "Accept-Language", "alert-info": "Alert-Info",
    "allow": "Allow", "allow-events": "Allow-Events",
    "authentication-info": "Authentication-Info",
    "authorization": "Authorization", "call-id": "Call-ID",
    "call-info": "Call-Info", "contact": "Contact",
    "content-disposition": "Content-Disposition",
    "content-encoding": "Content-Encoding",
    "content-language": "Content-Language",
    "content-length": "Content-Length", "content-type": "Content-Type",
    "cseq": "CSeq", "date": "Date", "error-info": "Error-Info",
    "event": "Event", "expires": "Expires", "from": "From",
    "identity": "Identity", "in-reply-to": "In-Reply-To",
    "max-forwards": "Max-Forwards", "mime-version": "MIME-Version",
    "min-expires": "Min-Expires", "organization": "Organization",
    "p-asserted-identity": "P-Asserted-Identity",
    "p-preferred-identity": "P-Preferred-Identity", "path": "Path",
    "priority": "Priority", "privacy": "Privacy",
    "proxy-authenticate": "Proxy-Authenticate",
    "proxy-authorization": "Proxy-Authorization",
    "proxy-require": "Proxy-Require", "rack": "RAck", "reason": "Reason",
    "record-route": "Record-Route", "refer-to": "Refer-To",
    "referred-by": "Referred-By", "reply-to": "Reply-To",
    "require": "Require", "retry-after": "Retry-After", "route": "Route",
    "rseq": "RSeq", "server": "Server", "session-expires": "Session-Expires",
    "subject": "Subject", "subscription-state": "Subscription-State",
    "supported": "Supported", "timestamp": "Timestamp", "to": "To",
    "unsupported": "Unsupported", "user-agent": "User-Agent", "via": "Via",
    "warning": "Warning", "www-authenticate": "WWW-Authenticate",
}

# RFC 3261 §7.3.3 and later RFCs' compact forms
COMPACT = {
    "i": "call-id", "m": "contact", "e": "content-encoding",
    "l": "content-length", "c": "content-type", "f": "from", "s": "subject",
    "k": "supported", "t": "to", "v": "via", "o": "event",
    "u": "allow-events", "r": "refer-to", "b": "referred-by",
    "x": "session-expires", "y": "identity",
}

# token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" )
_TOKEN = rb"[A-Za-z0-9\-.!%*_+`'~]+"
_TOKEN_RE = re.compile(_TOKEN)
_NAME_RE = re.compile(rb"(" + _TOKEN + rb")[ \t]*")

_KEY_CACHE: dict = {}


def header_key(name) -> str:
    """Canonical lowercase key of a header name (bytes or str), compact forms expanded."""
    key = _KEY_CACHE.get(name)
    if key is not None:
        return key
    raw = name.encode("utf-8", "surrogateescape") if isinstance(name, str) else bytes(name)
    m = _NAME_RE.fullmatch(raw)
    if m is None:
        raise ParseError("bad header name %r" % raw[:40])
    key = m.group(1).decode("ascii").lower()
    key = sys.intern(COMPACT.get(key, key))   # interned: `key in keys` hits on identity
    if len(_KEY_CACHE) < 4096:
        _KEY_CACHE[name] = key
    return key


# A header name as written before its colon (b"Via", b"v", b"CALL-ID ") -> key.
# parse() looks each line's name up here and takes the slow path for a
# spelling it has not seen (bytes only: a str key of equal hash would collide).
NAME_KEYS: dict = {}


def line_key(line: bytes) -> str:
    """Key of one (unfolded) header line; ParseError without a name and colon.
    Remembers the spelling for the fast path (bounded)."""
    name, colon, _ = line.partition(b":")
    if not colon or not name:
        raise ParseError("header line without a name and colon")
    key = header_key(name)
    if len(NAME_KEYS) < 4096:
        NAME_KEYS[name] = key
    return key


def display_name(key: str) -> str:
    """How we spell a header we write: Kamailio's usual capitalisation."""
    return CANONICAL.get(key) or "-".join(p.capitalize() for p in key.split("-"))


# --- list splitting ------------------------------------------------------------

def split_list(value: bytes, brackets: bool = True) -> list:
    """Split a comma list, ignoring commas inside quotes (and <> when asked).

    An empty element is a syntax error: SIP lists have no null elements.
    """
    if b'"' not in value and (not brackets or b"<" not in value):
        parts = value.split(b",")
    elif b'"' not in value:
        # <...> but no quotes: a comma inside brackets (a URI parameter or
        # header) joins its piece to the next one.  Inside or not is whether
        # the last bracket seen is '<', as in the loop below.
        parts = []
        acc = None
        for p in value.split(b","):
            acc = p if acc is None else acc + b"," + p
            if acc.rfind(b"<") <= acc.rfind(b">"):
                parts.append(acc)
                acc = None
        if acc is not None:
            parts.append(acc)
    else:
        parts = []
        start = 0
        quoted = angled = False
        i = 0
        n = len(value)
        while i < n:
            c = value[i]
            if quoted:
                if c == 0x5C:  # backslash escapes the next byte
                    i += 1
                elif c == 0x22:
                    quoted = False
            elif c == 0x22:
                quoted = True
            elif brackets and c == 0x3C:
                angled = True
            elif angled and c == 0x3E:
                angled = False
            elif c == 0x2C and not angled:
                parts.append(value[start:i])
                start = i + 1
            i += 1
        if quoted:
            raise ParseError("unterminated quoted string")
        parts.append(value[start:])
    out = []
    for p in parts:
        p = p.strip(b" \t")
        if not p:
            raise ParseError("empty list element")
        out.append(p)
    return out


# --- generic parameters ----------------------------------------------------------

# generic-param = token [ EQUAL gen-value ]; gen-value = token / host / quoted-string
_PARAM_RE = re.compile(
    rb'[ \t]*;[ \t]*([A-Za-z0-9\-.!%*_+`\'~]+)[ \t]*'
    rb'(?:=[ \t]*("(?:[^"\\]|\\.)*"|[A-Za-z0-9\-.!%*_+`\'~:\[\]]+))?[ \t]*',
    re.S,
)


def parse_params(raw: bytes) -> list:
    """`;a=b;c` → [(b"a", b"b"), (b"c", None)], names as written."""
    out = []
    pos = 0
    n = len(raw)
    while pos < n:
        m = _PARAM_RE.match(raw, pos)
        if m is None:
            raise ParseError("bad parameter near %r" % raw[pos:pos + 20])
        out.append((m.group(1), m.group(2)))
        pos = m.end()
    return out


# the usual shape: no spaces, no quotes (checked whole, then split)
_SIMPLE_PARAMS = re.compile(rb"(?:;[A-Za-z0-9\-.!%*_+`'~]+(?:=[A-Za-z0-9\-.!%*_+`'~:\[\]]+)?)+")


def check_params(raw: bytes):
    """Validate a parameter list at parse time; the dict is built on first use."""
    if not _SIMPLE_PARAMS.fullmatch(raw):
        parse_params(raw)


def param_dict(raw: bytes) -> dict:
    """`;a=b;C` → {b"a": b"b", b"c": b""}: lowercase names, the first one wins."""
    d = {}
    if _SIMPLE_PARAMS.fullmatch(raw):
        for p in raw[1:].split(b";"):
            k, _, v = p.partition(b"=")
            k = k.lower()
            if k not in d:
                d[k] = v
    else:
        for k, v in parse_params(raw):
            k = k.lower()
            if k not in d:
                d[k] = b"" if v is None else v
    return d


def find_param(params: list, name: bytes):
    """Value of a parameter (b"" when it has none), None when absent."""
    for k, v in params:
        if k.lower() == name:
            return b"" if v is None else v
    return None


def unquote(v: bytes) -> bytes:
    if len(v) >= 2 and v[0] == 0x22 and v[-1] == 0x22:
        v = v[1:-1]
        if b"\\" in v:
            v = re.sub(rb"\\(.)", rb"\1", v, flags=re.S)
    return v


class _Params:
    """Mixin for values with header parameters kept raw and parsed on use."""

    __slots__ = ()

    def param_list(self) -> list:
        """[(name, value or None)] in order, names as written."""
        return parse_params(self.params)

    def param(self, name):
        """A parameter's value (b"" when it has none), None when absent."""
        d = self._plist
        if d is None:
            d = self._plist = param_dict(self.params)
        if isinstance(name, str):
            name = name.encode()
        return d.get(name.lower())


# --- Via ---------------------------------------------------------------------------

# via-parm = sent-protocol LWS sent-by *( SEMI via-params )
# sent-protocol = protocol-name SLASH protocol-version SLASH transport
# sent-by = host [ COLON port ]; SLASH = SWS "/" SWS; COLON = SWS ":" SWS
_VIA_FAST = re.compile(
    rb"SIP/2\.0/([A-Za-z0-9\-.!%*_+`'~]+) ([A-Za-z0-9\-.]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?(;.*)?",
    re.S,
)
_VIA_SLOW = re.compile(
    rb"[ \t]*(" + _TOKEN + rb")[ \t]*/[ \t]*(" + _TOKEN + rb")[ \t]*/[ \t]*(" + _TOKEN + rb")"
    rb"[ \t]+([A-Za-z0-9\-.]+|\[[0-9A-Fa-f:.]+\])(?:[ \t]*:[ \t]*([0-9]{1,10}))?[ \t]*((?:;.*)?)",
    re.S,
)


class Via(_Params):
    __slots__ = ("raw", "protocol", "transport", "host", "port", "params", "_plist")

    def __init__(self, raw, protocol, transport, host, port, params):
        self.raw = raw
        self.protocol = protocol
        self.transport = transport
        self.host = host
        self.port = port
        self.params = params
        self._plist = None

    @property
    def branch(self):
        return self.param(b"branch")

    @property
    def received(self):
        return self.param(b"received")

    @property
    def rport(self):
        """None when absent, b"" when present without a value."""
        return self.param(b"rport")

    @property
    def maddr(self):
        return self.param(b"maddr")

    @property
    def ttl(self):
        v = self.param(b"ttl")
        return parse_uint(v, 255, "Via ttl") if v else None

    @property
    def sent_by(self) -> bytes:
        return self.host if self.port is None else self.host + b":%d" % self.port

    def __repr__(self):
        return "Via(%r)" % self.raw


def parse_via_value(v: bytes) -> Via:
    """One via-parm (a list element of a Via header)."""
    m = _VIA_FAST.fullmatch(v)
    if m is not None:
        transport, host, port, params = m.groups()
        protocol = b"SIP/2.0"
    else:
        m = _VIA_SLOW.fullmatch(v)
        if m is None:
            raise ParseError("bad Via %r" % v[:60])
        name, ver, transport, host, port, params = m.groups()
        protocol = name.upper() + b"/" + ver
    if port is not None:
        port = int(port)
        if port > 65535:
            raise ParseError("bad Via port")
    if params:
        check_params(params)  # stray ';' are errors (RFC 4475 badinv01)
    else:
        params = b""
    t = _TRANSPORTS.get(transport)
    if t is None:
        t = transport.upper().decode("ascii")
    return Via(v, protocol, t, host, port, params)


_TRANSPORTS = {t.encode(): t.upper() for t in ("UDP", "TCP", "TLS", "SCTP", "WS", "WSS",
                                               "udp", "tcp", "tls", "sctp", "ws", "wss")}


def parse_via(value: bytes) -> list:
    return [parse_via_value(p) for p in split_list(value, brackets=False)]


# --- name-addr / addr-spec (From, To, Contact, Route, Record-Route, ...) ----------

# name-addr = [ display-name ] LAQUOT addr-spec RAQUOT
# display-name = *(token LWS) / quoted-string
# possessive quantifiers (atomic groups for repeated groups, see uri.py): a
# display name without '<' after it must fail fast
_NA_RE = re.compile(
    rb'[ \t]*+(?:("(?>(?:[^"\\]|\\.)*)")[ \t]*+|((?>(?:[A-Za-z0-9\-.!%*_+`\'~]++[ \t]*+)*)))'
    rb'<([^<>]*+)>((?:[ \t]*;.*)?)[ \t]*',
    re.S,
)
# an addr-spec holding ',', ';' or '?' must be enclosed in <> (RFC 3261 §20.10)
_ADDR_RE = re.compile(rb"[ \t]*([^ \t;<>\"?,]+)[ \t]*((?:;.*)?)", re.S)


class NameAddr(_Params):
    """A name-addr or addr-spec with header params (`tag`, `expires`, ...)."""

    __slots__ = ("raw", "display", "uri_raw", "params", "brackets", "_plist", "_uri")

    def __init__(self, raw, display, uri_raw, params, brackets):
        self.raw = raw
        self.display = display    # as written, quotes included; None if absent
        self.uri_raw = uri_raw
        self.params = params      # raw, starting with ';' or b""
        self.brackets = brackets
        self._plist = None
        self._uri = None

    @property
    def uri(self):
        u = self._uri
        if u is None:
            u = self._uri = parse_uri(self.uri_raw)
        return u

    @property
    def tag(self):
        d = self._plist
        if d is None:
            d = self._plist = param_dict(self.params)
        return d.get(b"tag")

    @property
    def display_name(self) -> str:
        """The display name for people: unquoted and unescaped, "" if none."""
        d = self.display
        if not d:
            return ""
        return unquote(d).decode("utf-8", "replace")

    @property
    def expires(self):
        v = self.param(b"expires")
        if v is None or v == b"":
            return None
        return parse_uint(v, 0xFFFFFFFF, "Contact expires")

    @property
    def q(self):
        v = self.param(b"q")
        if not v:
            return None
        try:
            q = float(v)
        except ValueError:
            raise ParseError("bad q value") from None
        if not 0.0 <= q <= 1.0:
            raise ParseError("q out of range")
        return q

    def __repr__(self):
        return "NameAddr(%r)" % self.raw


# *(token LWS), written so that each repeat needs its blank: no nested
# ambiguity, so a long run of token characters fails in linear time
_DISPLAY_RE = re.compile(rb"[A-Za-z0-9\-.!%*_+`'~]+(?:[ \t]+[A-Za-z0-9\-.!%*_+`'~]+)*[ \t]*")


def parse_name_addr(v: bytes) -> NameAddr:
    if 34 not in v:   # no quoted display name: the usual `Name <uri>;params`, cut with partition
        before, lt, rest = v.partition(b"<")
        uri, gt, params = rest.partition(b">")
        if gt and 60 not in uri:
            d = before.strip(b" \t")
            params = params.lstrip(b" \t")
            if (not d or d.isalnum() or _DISPLAY_RE.fullmatch(d)) and (not params or params[0] == 59):
                na = NameAddr(v, d or None, uri, params, True)
                if params:
                    check_params(params)
                return na
    m = _NA_RE.fullmatch(v)
    if m is not None:
        quoted, tokens, uri, params = m.groups()
        display = quoted
        if display is None and tokens:
            display = tokens.rstrip(b" \t")
        brackets = True
    else:
        if b"<" in v or b'"' in v or b">" in v:
            raise ParseError("bad name-addr %r" % v[:60])
        m = _ADDR_RE.fullmatch(v)
        if m is None:
            raise ParseError("bad addr-spec %r" % v[:60])
        uri, params = m.groups()
        display = None
        brackets = False
    params = params.lstrip(b" \t") if params else b""
    na = NameAddr(v, display, uri, params, brackets)
    if params:
        check_params(params)
    return na


def parse_name_addr_list(value: bytes) -> list:
    return [parse_name_addr(p) for p in split_list(value)]


def parse_contacts(value: bytes):
    """Contact: `*` gives the string "*"; otherwise a list of NameAddr."""
    if value.strip(b" \t") == b"*":
        return "*"
    return parse_name_addr_list(value)


# --- scalar values -------------------------------------------------------------------

_DIGITS = re.compile(rb"[ \t]*([0-9]{1,20})[ \t]*")


def parse_uint(v: bytes, limit: int, what: str) -> int:
    m = _DIGITS.fullmatch(v)
    if m is None:
        raise ParseError("bad %s" % what)
    n = int(m.group(1))
    if n > limit:
        raise ParseError("%s too large" % what)
    return n


def parse_max_forwards(v: bytes) -> int:
    return parse_uint(v, 255, "Max-Forwards")


def parse_expires(v: bytes) -> int:
    return parse_uint(v, 0xFFFFFFFF, "Expires")


def parse_content_length(v: bytes) -> int:
    return parse_uint(v, 0x7FFFFFFF, "Content-Length")


class CSeq:
    __slots__ = ("number", "method")

    def __init__(self, number, method):
        self.number = number
        self.method = method

    def __repr__(self):
        return "CSeq(%d %s)" % (self.number, self.method)


# CSeq = "CSeq" HCOLON 1*DIGIT LWS Method
_CSEQ_RE = re.compile(rb"[ \t]*([0-9]{1,10})[ \t]+(" + _TOKEN + rb")[ \t]*")


def parse_cseq(v: bytes) -> CSeq:
    num, _, method = v.partition(b" ")
    if num.isdigit() and len(num) < 10 and method in _METHODS:
        return CSeq(int(num), _METHODS[method])
    m = _CSEQ_RE.fullmatch(v)
    if m is None:
        raise ParseError("bad CSeq")
    n = int(m.group(1))
    if n > 0xFFFFFFFF:
        raise ParseError("CSeq number too large")
    return CSeq(n, m.group(2).decode("ascii"))


_METHODS = {m.encode(): m for m in (
    "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK",
    "SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE")}

_CALLID_RE = re.compile(rb"[\x21-\x7e]+(?:@[\x21-\x7e]+)?")


def parse_call_id(v: bytes) -> bytes:
    if not _CALLID_RE.fullmatch(v):
        raise ParseError("bad Call-ID")
    return v


class RetryAfter(_Params):
    __slots__ = ("seconds", "comment", "params", "_plist")

    def __init__(self, seconds, comment, params):
        self.seconds = seconds
        self.comment = comment
        self.params = params
        self._plist = None

    @property
    def duration(self):
        v = self.param(b"duration")
        return None if v is None else parse_uint(v, 0xFFFFFFFF, "duration")


# Retry-After = delta-seconds [ comment ] *( SEMI retry-param )
_RA_RE = re.compile(rb"[ \t]*([0-9]{1,20})[ \t]*(\((?:[^()\\]|\\.)*\))?[ \t]*((?:;.*)?)", re.S)


def parse_retry_after(v: bytes) -> RetryAfter:
    m = _RA_RE.fullmatch(v)
    if m is None:
        raise ParseError("bad Retry-After")
    secs = int(m.group(1))
    if secs > 0xFFFFFFFF:
        raise ParseError("Retry-After too large")
    ra = RetryAfter(secs, m.group(2), m.group(3) or b"")
    if ra.params:
        check_params(ra.params)
    return ra


class ContentType(_Params):
    __slots__ = ("type", "subtype", "params", "_plist")

    def __init__(self, type_, subtype, params):
        self.type = type_
        self.subtype = subtype
        self.params = params
        self._plist = None

    @property
    def mime(self) -> str:
        return self.type + "/" + self.subtype

    def __repr__(self):
        return "ContentType(%s)" % self.mime


# media-type = m-type SLASH m-subtype *(SEMI m-parameter)
_CT_RE = re.compile(rb"[ \t]*(" + _TOKEN + rb")[ \t]*/[ \t]*(" + _TOKEN + rb")[ \t]*((?:;.*)?)", re.S)


def parse_content_type(v: bytes) -> ContentType:
    m = _CT_RE.fullmatch(v)
    if m is None:
        raise ParseError("bad Content-Type")
    ct = ContentType(m.group(1).decode().lower(), m.group(2).decode().lower(), m.group(3) or b"")
    if ct.params:
        check_params(ct.params)
    return ct


# rfc1123-date = wkday "," SP date1 SP time SP "GMT"
_DATE_RE = re.compile(
    rb"[ \t]*(Mon|Tue|Wed|Thu|Fri|Sat|Sun),[ \t]+[0-9]{2}[ \t]+"
    rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[ \t]+[0-9]{4}[ \t]+"
    rb"[0-9]{2}:[0-9]{2}:[0-9]{2}[ \t]+GMT[ \t]*"
)


def parse_date(v: bytes) -> bytes:
    if not _DATE_RE.fullmatch(v):
        raise ParseError("bad Date (only GMT is allowed)")
    return v.strip()


def parse_token_list(v: bytes) -> list:
    if not v.strip(b" \t"):
        return []
    out = []
    for p in split_list(v, brackets=False):
        if not _TOKEN_RE.fullmatch(p):
            raise ParseError("bad token %r" % p[:30])
        out.append(p.decode("ascii"))
    return out


def _auth_challenges(v: bytes):
    from .digest import split_challenges
    return split_challenges(v)


def _auth_credentials(v: bytes):
    from .digest import parse_credentials
    return parse_credentials(v)


# key -> (parser of one header line's value, whether the header is a comma list)
PARSERS = {
    "via": (parse_via, True),
    "from": (parse_name_addr, False),
    "to": (parse_name_addr, False),
    "contact": (parse_contacts, True),
    "route": (parse_name_addr_list, True),
    "record-route": (parse_name_addr_list, True),
    "path": (parse_name_addr_list, True),
    "refer-to": (parse_name_addr, False),
    "referred-by": (parse_name_addr, False),
    "p-asserted-identity": (parse_name_addr_list, True),
    "p-preferred-identity": (parse_name_addr_list, True),
    "reply-to": (parse_name_addr, False),
    "cseq": (parse_cseq, False),
    "call-id": (parse_call_id, False),
    "max-forwards": (parse_max_forwards, False),
    "expires": (parse_expires, False),
    "min-expires": (parse_expires, False),
    "content-length": (parse_content_length, False),
    "content-type": (parse_content_type, False),
    "retry-after": (parse_retry_after, False),
    "date": (parse_date, False),
    "require": (parse_token_list, True),
    "proxy-require": (parse_token_list, True),
    "supported": (parse_token_list, True),
    "unsupported": (parse_token_list, True),
    "allow": (parse_token_list, True),
    "www-authenticate": (_auth_challenges, True),
    "proxy-authenticate": (_auth_challenges, True),
    "authorization": (_auth_credentials, False),
    "proxy-authorization": (_auth_credentials, False),
}

# headers RFC 3261 allows once per message
SINGLE = ("from", "to", "call-id", "cseq", "max-forwards", "content-type",
          "content-length", "expires", "min-expires", "date")


def _prefill_name_keys():
    for key, name in CANONICAL.items():
        for spelling in (name, key, name.upper()):
            NAME_KEYS[spelling.encode()] = header_key(key)
    for short in COMPACT:
        for spelling in (short, short.upper()):
            NAME_KEYS[spelling.encode()] = header_key(short)


_prefill_name_keys()
