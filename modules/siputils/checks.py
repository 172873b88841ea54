# SPDX-License-Identifier: GPL-2.0-or-later
"""Checks on the message and on script values: request/reply, To tag,
first hop, Supported options, GRUU, credentials user, number formats."""

import re

from kampy.module import Fmt, PVR, Str
from kampy.script.ast import ConfigError
from kampy.script.pv import b2s, s2b, to_str
from kampy.sip import digest
from kampy.sip.errors import ParseError
from kampy.sip.headers import header_key, parse_token_list
from kampy.sip.uri import parse_uri


def has_totag(ctx) -> int:
    """has_totag(): the To header has a tag (an in-dialog request)"""
    try:
        to = ctx.msg.to
    except ParseError:
        return -1
    return 1 if to is not None and to.tag else -1


def is_request(ctx) -> int:
    """is_request()"""
    return 1 if ctx.msg.is_request else -1


def is_reply(ctx) -> int:
    """is_reply()"""
    return -1 if ctx.msg.is_request else 1


def is_first_hop(ctx) -> int:
    """is_first_hop(): a request with a single Via; a reply whose top
    Record-Route is ours while it did not come from that address (a loop)"""
    msg = ctx.msg
    try:
        if msg.is_request:
            return 1 if len(msg.vias) == 1 else -1
        rrs = msg.record_routes
        if not rrs:
            return -1
        u = rrs[0].uri
    except ParseError:
        return -1
    host = b2s(u.host)
    if not ctx.rt.is_myself(host, u.port):
        return -1
    h = host[1:-1] if host.startswith("[") else host
    if h == ctx.src_ip and (u.port or 5060) == ctx.src_port:
        return -1
    return 1


KNOWN_OPTIONS = frozenset(("path", "100rel", "timer", "eventlist", "gruu", "outbound"))


def option_fixup(args, pos):
    a = args[0]
    if not str(a.value).strip():
        raise ConfigError(a.pos, "is_supported: empty option")
    return args


def is_supported(ctx, option: Str) -> int:
    """is_supported(option): option is in a Supported header (k is its
    compact form).  Kamailio knows path, 100rel, timer, eventlist, gruu and
    outbound; kampy compares any option tag."""
    want = option.strip().lower()
    for v in ctx.msg.headers("supported"):
        try:
            tags = parse_token_list(v)
        except ParseError:
            continue
        if any(t.lower() == want for t in tags):
            return 1
    return -1


def _gruu(ctx, uri: bytes) -> int:
    try:
        u = parse_uri(uri)
    except ParseError:
        return -1
    gr = u.param("gr")
    if gr is None:
        return -1
    return 1 if gr else 2


def is_gruu(ctx) -> int:
    """is_gruu(): the R-URI is a GRUU: 1 public (gr=instance), 2 temporary (gr)"""
    if not ctx.msg.is_request:
        return -1
    return _gruu(ctx, ctx.msg.ruri)


def is_gruu1(ctx, uri: Fmt) -> int:
    """is_gruu(uri)"""
    return _gruu(ctx, s2b(uri))


def _credentials(ctx):
    """The credentials is_user() looks at: those the auth module marked as
    authorized (ctx.data["auth.authorized"]), else the first digest
    credentials of Proxy-Authorization, then Authorization."""
    cred = ctx.data.get("auth.authorized")
    if cred is not None:
        return cred
    msg = ctx.msg
    for name in ("proxy-authorization", "authorization"):
        for v in msg.headers(name):
            try:
                c = digest.parse_credentials(v)
            except ParseError:
                continue
            if c.scheme.lower() == "digest":
                return c
    return None


def is_user(ctx, username: Fmt) -> int:
    """is_user(username): the user part of the credentials' username"""
    c = _credentials(ctx)
    if c is None:
        ctx.rt.log(-1, "siputils: is_user: no credentials")
        return -1
    name = c if isinstance(c, str) else (c.username or "")
    if not name:
        return -2
    user = name.split("@", 1)[0]
    return 1 if user == username else -1


# --- formats of values ---------------------------------------------------------------------

_E164 = re.compile(r"\+[0-9]{2,15}\Z")


def _pv_str(ctx, pv) -> str:
    v = pv.get(ctx)
    return "" if v is None else to_str(v)


def is_e164(ctx, pv: PVR) -> int:
    """is_e164(pv): "+" and 2 to 15 digits"""
    return 1 if _E164.match(_pv_str(ctx, pv)) else -1


def is_uri_user_e164(ctx, pv: PVR) -> int:
    """is_uri_user_e164(pv): the user of the URI held in pv is E.164"""
    try:
        u = parse_uri(s2b(_pv_str(ctx, pv)))
    except ParseError:
        return -1
    return 1 if u.user and _E164.match(b2s(u.user)) else -1


def is_tel_number(ctx, tval: Fmt) -> int:
    """is_tel_number(tval): an optional "+" and digits (after "+" not 0)"""
    if not tval:
        return -2
    i = 0
    if tval[0] == "+":
        if len(tval) < 2 or not "1" <= tval[1] <= "9":
            return -2
        i = 2
    return 1 if all("0" <= c <= "9" for c in tval[i:]) else -2


def is_numeric(ctx, tval: Fmt) -> int:
    """is_numeric(tval): decimal digits only"""
    return 1 if tval and all("0" <= c <= "9" for c in tval) else -2


def _alnum(c):
    return "0" <= c <= "9" or "a" <= c <= "z" or "A" <= c <= "Z"


def is_alphanum(ctx, tval: Fmt) -> int:
    """is_alphanum(tval): ASCII letters and digits only"""
    return 1 if tval and all(_alnum(c) for c in tval) else -2


def is_alphanumex(ctx, tval: Fmt, eset: Fmt) -> int:
    """is_alphanumex(tval, eset): letters, digits and the characters of eset"""
    return 1 if tval and all(_alnum(c) or c in eset for c in tval) else -3


def is_uri(ctx, vuri: Fmt) -> int:
    """is_uri(vuri): the value parses as a URI"""
    try:
        parse_uri(s2b(vuri))
    except ParseError:
        return -1
    return 1


def cmp_hdr_name(ctx, n1: Fmt, n2: Fmt) -> int:
    """cmp_hdr_name(str1, str2): the same header name (compact forms too)"""
    try:
        return 1 if header_key(n1.strip()) == header_key(n2.strip()) else -1
    except ParseError:
        return -2
