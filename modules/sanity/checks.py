# SPDX-License-Identifier: GPL-2.0-or-later
"""The sanity checks, each answering the way Kamailio's sanity module does.

A check returns None when it passes, or a Failure saying which reply to send
(code, reason, extra headers; code None when Kamailio sends no reply, e.g.
for a message that is missing its transaction identifiers).
"""

from kampy.module import IntV, Param, ParamValues
from kampy.sip import digest
from kampy.sip.errors import ParseError
from kampy.sip.headers import (
    parse_contacts, parse_name_addr, parse_params, parse_via_value, split_list,
)
from kampy.sip.uri import parse_uri

from ..sl.reply import reply

# msg_checks bits
RURI_SIP_VERSION = 1
RURI_SCHEME = 2
REQUIRED_HEADERS = 4
VIA_SIP_VERSION = 8        # a no-op in Kamailio (its Via parser already refuses)
VIA_PROTOCOL = 16          # a no-op in Kamailio
CSEQ_METHOD = 32
CSEQ_VALUE = 64
CL = 128
EXPIRES_VALUE = 256
PROXY_REQUIRE = 512
PARSE_URIS = 1024
CHECK_DIGEST = 2048
CHECK_DUPTAGS = 4096
AUTHORIZATION = 8192
VIA1_HEADER = 16384

# uri_checks bits
URI_RURI = 1
URI_FROM = 2
URI_TO = 4
URI_CONTACT = 8

SCHEMES = ("sip", "sips", "tel", "tels", "urn")
UINT_MAX = 0xFFFFFFFF

P = ParamValues([
    Param("default_checks", int, 3047, doc="checks sanity_check() runs without parameters"),
    Param("uri_checks", int, 7, doc="URIs the parse-uri check (1024) parses"),
    Param("proxy_require", str, "", doc="comma-separated extensions we support"),
    Param("autodrop", int, 1, doc="1: a failed check stops the script"),
    Param("noreply", int, 0, doc="1: no reply is sent; sanity_reply() sends it"),
])


class Failure:
    __slots__ = ("code", "reason", "headers")

    def __init__(self, code=None, reason="", headers=()):
        self.code = code
        self.reason = reason
        self.headers = list(headers)


NOREPLY = Failure()


def _uint(text: bytes):
    """Kamailio's str2valid_uint: digits only, at most 2^32-1."""
    if not text or len(text) > 10 or not text.isdigit():
        return None
    n = int(text)
    return n if n <= UINT_MAX else None


def check_ruri_sip_version(ctx):
    v = ctx.msg.version or b""
    if b"/" not in v:
        return NOREPLY
    if v.split(b"/", 1)[1] != b"2.0":
        return Failure(505, "Version Not Supported (R-URI)")
    return None


def check_ruri_scheme(ctx):
    try:
        u = parse_uri(ctx.msg.ruri)
    except ParseError:
        return Failure(400, "Bad Request URI")
    if u.scheme not in SCHEMES:
        return Failure(416, "Unsupported URI Scheme in Request URI")
    return None


def check_required_headers(ctx):
    msg = ctx.msg
    for key in ("from", "to", "call-id", "cseq"):
        n = msg.count(key)
        if n == 0 or n > 1:
            return NOREPLY     # Kamailio answers neither a missing nor a doubled one
    return None


def _cseq_parts(msg):
    v = msg.header("cseq")
    if v is None:
        return None
    parts = v.split()
    return parts if len(parts) == 2 else None


def check_cseq_method(ctx):
    msg = ctx.msg
    parts = _cseq_parts(msg)
    if parts is None:
        return NOREPLY
    if parts[1].decode("latin-1") != msg.method:
        return Failure(400, "CSeq method does not match request method")
    return None


def check_cseq_value(ctx):
    parts = _cseq_parts(ctx.msg)
    if parts is None:
        return NOREPLY
    if _uint(parts[0]) is None:
        return Failure(400, "CSeq number is illegal")
    return None


def check_cl(ctx):
    msg = ctx.msg
    v = msg.header("content-length")
    if v is None:
        return None
    body_len = len(msg.raw) - (len(msg) - len(msg.body))
    try:
        cl = msg.content_length
    except ParseError:
        return Failure(400, "Content-Length Failure")
    if cl != body_len:
        return Failure(400, "Content-Length mis-match")
    return None


def check_expires_value(ctx):
    msg = ctx.msg
    for v in msg.headers("expires")[:1]:
        v = v.strip()
        if not v:
            return Failure(400, "Missing number in Expires header")
        if not v.isdigit():
            return Failure(400, "Bad Expires Header")
        if _uint(v) is None:
            return Failure(400, "Expires value is illegal")
    return None


def _supported():
    return [t.strip() for t in P.proxy_require.split(",") if t.strip()]


def check_proxy_require(ctx):
    ours = _supported()
    for v in ctx.msg.headers("proxy-require"):
        for ext in v.split(b","):
            ext = ext.strip().decode("latin-1")
            if not ext:
                continue
            if ext not in ours:          # compared as written, as Kamailio does
                return Failure(420, "Bad Proxy Require Extension", ["Unsupported: " + ext])
    return None


def check_parse_uris(ctx, uri_checks):
    msg = ctx.msg
    if uri_checks & URI_RURI and msg.is_request:
        try:
            parse_uri(msg.ruri)
        except ParseError:
            return Failure(400, "Bad Request URI")
    for bit, key, reason in ((URI_FROM, "from", "Invalid From Header"),
                             # Kamailio's reason phrase, its spelling included
                             (URI_TO, "to", "Ivalid To Header")):
        if not uri_checks & bit:
            continue
        v = msg.header(key)
        if not v:
            return NOREPLY
        try:
            parse_name_addr(v).uri
        except ParseError:
            return Failure(400, reason)
    if uri_checks & URI_CONTACT:
        vals = msg.headers("contact")
        if vals:
            try:
                contacts = [c for v in vals for c in (parse_contacts(v) if v.strip() != b"*" else [])]
            except ParseError:
                return Failure(400, "Bad Contact Header")
            if contacts:
                try:
                    contacts[0].uri
                except ParseError:
                    return Failure(400, "Bad Contact URI")
    return None


NOT_APPLICABLE = object()


def _check_digest(ctx):
    msg = ctx.msg
    vals = msg.headers("authorization") + msg.headers("proxy-authorization")
    if not vals:
        return None
    for v in vals:
        scheme = v.strip().split(None, 1)[0].lower() if v.strip() else b""
        if scheme != b"digest":
            return NOT_APPLICABLE
        try:
            c = digest.parse_credentials(v)
        except ParseError as e:
            if str(e).startswith("Digest credentials without"):
                return Failure(400, "Bad Auth Credentials")
            return Failure(400, "Bad Auth Header")
        if c.qop and (not c.nc or not c.cnonce):
            return Failure(400, "Bad Auth Credentials")
        if not c.username:
            return Failure(400, "Auth Empty User")
        if not c.nonce:
            return Failure(400, "Auth Empty Nonce")
        if not c.response:
            return Failure(400, "Auth Empty Response")
    return None


def check_digest(ctx):
    """2048: credentials of another scheme than Digest fail, without a reply."""
    r = _check_digest(ctx)
    return NOREPLY if r is NOT_APPLICABLE else r


def check_authorization(ctx):
    """8192: like 2048, but other schemes pass."""
    r = _check_digest(ctx)
    return None if r is NOT_APPLICABLE else r


def check_duptags(ctx):
    msg = ctx.msg
    for key, reason in (("from", "Many From Tag Params"), ("to", "Many To Tag Params")):
        v = msg.header(key)
        if v is None:
            return NOREPLY
        try:
            na = parse_name_addr(v)
            tags = [n for n, _v in parse_params(na.params) if n.lower() == b"tag"]
        except ParseError:
            return NOREPLY
        if len(tags) > 1:
            return Failure(400, reason)
    return None


def check_via1(ctx):
    v = ctx.msg.header("via")
    if v is None:
        return NOREPLY
    try:
        via = parse_via_value(split_list(v, brackets=False)[0])
    except ParseError:
        return NOREPLY
    return None if via.host else NOREPLY


# (bit, check, requests only)
CHECKS = (
    (RURI_SIP_VERSION, check_ruri_sip_version, True),
    (RURI_SCHEME, check_ruri_scheme, True),
    (REQUIRED_HEADERS, check_required_headers, False),
    (CSEQ_METHOD, check_cseq_method, True),
    (CSEQ_VALUE, check_cseq_value, False),
    (CL, check_cl, False),
    (EXPIRES_VALUE, check_expires_value, False),
    (PROXY_REQUIRE, check_proxy_require, True),
    (PARSE_URIS, None, False),
    (CHECK_DIGEST, check_digest, True),
    (CHECK_DUPTAGS, check_duptags, False),
    (AUTHORIZATION, check_authorization, True),
    (VIA1_HEADER, check_via1, False),
)


def run_checks(ctx, msg_checks, uri_checks):
    """The first Failure, or None."""
    is_req = ctx.msg.is_request
    for bit, fn, req_only in CHECKS:
        if not msg_checks & bit or (req_only and not is_req):
            continue
        try:
            f = check_parse_uris(ctx, uri_checks) if bit == PARSE_URIS else fn(ctx)
        except ParseError:
            f = NOREPLY
        if f is not None:
            return f
    return None


KEY = "sanity.reply"


def _send(ctx, f) -> None:
    msg = ctx.msg
    if f.code is None:
        ctx.data[KEY] = None          # Kamailio's FL_MSG_NOREPLY: no reply at all
        return
    if not msg.is_request or msg.method == "ACK":
        return
    if P.noreply:
        ctx.data[KEY] = (f.code, f.reason, f.headers)
        return
    reply(ctx, f.code, f.reason, f.headers)


def _check(ctx, msg_checks, uri_checks) -> int:
    f = run_checks(ctx, msg_checks, uri_checks)
    if f is None:
        return 1
    ctx.rt.log(3, "sanity: check failed: %s" % (f.reason or "no reply"), "<sanity>")
    _send(ctx, f)
    return 0 if P.autodrop else -1


def sanity_check(ctx) -> int:
    """sanity_check(): the default_checks, uri_checks from the parameter

    A failure sends its reply (unless noreply) and then stops the script when
    autodrop is 1, else returns -1."""
    return _check(ctx, P.default_checks, P.uri_checks)


def sanity_check1(ctx, msg_checks: IntV) -> int:
    """sanity_check(msg_checks)"""
    return _check(ctx, msg_checks, P.uri_checks)


def sanity_check2(ctx, msg_checks: IntV, uri_checks: IntV) -> int:
    """sanity_check(msg_checks, uri_checks)"""
    return _check(ctx, msg_checks, uri_checks)


def sanity_reply(ctx) -> int:
    """sanity_reply(): with noreply=1, send the reply the failed check chose
    (500 when none was recorded for this message)"""
    msg = ctx.msg
    if not msg.is_request or msg.method == "ACK" or not P.noreply:
        return 1
    info = ctx.data.get(KEY, (500, "Server Sanity Failure", []))
    if info is None:
        return 1
    code, reason, headers = info
    return 1 if reply(ctx, code, reason, headers) > 0 else -1
