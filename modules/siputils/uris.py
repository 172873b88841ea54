# SPDX-License-Identifier: GPL-2.0-or-later
"""R-URI parameters, URI comparison, tel: to sip:, and URI parts in PVs."""

from kampy.module import Fmt, PVW
from kampy.script.pv import b2s, s2b, to_str
from kampy.sip.errors import ParseError
from kampy.sip.uri import parse_uri, uri_equal, unescape


def _log(ctx, text):
    ctx.rt.log(-1, "siputils: " + text)


def _ruri(ctx):
    msg = ctx.msg
    if not msg.is_request:
        return None
    try:
        return msg.ruri_uri
    except ParseError:
        _log(ctx, "cannot parse the R-URI")
        return None


def _find(u, name: str):
    """(found, value or None) of a URI param, names compared as written
    (Kamailio compares them case-sensitively)."""
    n = s2b(name)
    for k, v in u.param_list():
        if k == n:
            return True, v
    return False, None


def uri_param(ctx, name: Fmt) -> int:
    """uri_param(param): the R-URI has param without a value"""
    u = _ruri(ctx)
    if u is None:
        return -1
    found, v = _find(u, name)
    return 1 if found and not v else -1


def uri_param2(ctx, name: Fmt, value: Fmt) -> int:
    """uri_param(param, value): the R-URI has param=value (case-sensitive)"""
    u = _ruri(ctx)
    if u is None:
        return -1
    found, v = _find(u, name)
    return 1 if found and v is not None and v == s2b(value) else -1


def uri_param_any(ctx, name: Fmt) -> int:
    """uri_param_any(param): the R-URI has param, with or without a value"""
    u = _ruri(ctx)
    if u is None:
        return -1
    return 1 if _find(u, name)[0] else -1


def uri_param_rm(ctx, name: Fmt) -> int:
    """uri_param_rm(param): remove param from the R-URI"""
    u = _ruri(ctx)
    if u is None:
        return -1
    n = s2b(name)
    keep = [(k, v) for k, v in u.param_list() if k != n]
    if len(keep) == len(u.param_list()):
        return -1
    params = b";".join(k if v is None else k + b"=" + v for k, v in keep)
    ctx.msg.set_ruri(bytes(u.replace(params=params)))
    return 1


def add_uri_param(ctx, param: Fmt) -> int:
    """add_uri_param(param): append ;param (name=value) to the R-URI, before
    any ?headers"""
    u = _ruri(ctx)
    if u is None or not param:
        return -1
    p = s2b(param.lstrip(";"))
    if u.scheme not in ("sip", "sips", "tel"):
        _log(ctx, "add_uri_param: cannot add parameters to a %s URI" % u.scheme)
        return -1
    try:
        nu = u.replace(params=u.params + b";" + p if u.params else p)
    except (ParseError, ValueError) as e:
        _log(ctx, "add_uri_param: bad parameter %r: %s" % (param, e))
        return -1
    ctx.msg.set_ruri(bytes(nu))
    return 1


def get_uri_param(ctx, name: Fmt, var: PVW) -> int:
    """get_uri_param(name, var): var gets the value of R-URI param name"""
    u = _ruri(ctx)
    if u is None:
        return -1
    found, v = _find(u, name)
    if not found:
        return -1
    var.set(ctx, b2s(v or b""))
    return 1


# --- comparison ----------------------------------------------------------------------------

def _parse(s: str):
    b = s2b(s.strip())
    try:
        return parse_uri(b)
    except ParseError:
        if b":" not in b.split(b"@", 1)[0]:
            return parse_uri(b"sip:" + b)
        raise


def cmp_uri(ctx, s1: Fmt, s2: Fmt) -> int:
    """cmp_uri(str1, str2): equal as URIs (RFC 3261 §19.1.4): 1, else -1;
    -2 when one does not parse"""
    try:
        a, b = parse_uri(s2b(s1.strip())), parse_uri(s2b(s2.strip()))
    except ParseError:
        return -2
    return 1 if uri_equal(a, b) else -1


def cmp_aor(ctx, s1: Fmt, s2: Fmt) -> int:
    """cmp_aor(str1, str2): the same user (case-sensitive, unescaped), host
    (ignoring case) and port; "user@host" without a scheme is taken as sip"""
    try:
        a, b = _parse(s1), _parse(s2)
    except ParseError:
        return -2
    if unescape(a.user or b"") != unescape(b.user or b""):
        return -1
    if a.host.lower() != b.host.lower():
        return -1
    return 1 if a.port == b.port else -1


def tel2sip(ctx, uri: Fmt, hostpart: Fmt, result: PVW) -> int:
    """tel2sip(uri, hostpart, result): 1 converted, 2 not a tel URI, -1 error

    RFC 3261 §19.1.6: visual separators leave the number, its parameters are
    lowercased and stay in the user part, and user=phone is added."""
    if uri[:4].lower() != "tel:":
        return 2
    body = uri[4:]
    number, sep, params = body.partition(";")
    number = "".join(c for c in number if c not in "-.()")
    if not number:
        _log(ctx, "tel2sip: no number in %r" % uri)
        return -1
    host = hostpart
    for prefix in ("sip:", "sips:"):
        if host.lower().startswith(prefix):
            host = host[len(prefix):]
    if "@" in host:
        host = host.split("@", 1)[1]
    user = number + (";" + params.lower() if sep and params else "")
    new = "sip:%s@%s;user=phone" % (user, host)
    try:
        parse_uri(s2b(new))
    except ParseError as e:
        _log(ctx, "tel2sip: %r is not a URI: %s" % (new, e))
        return -1
    result.set(ctx, new)
    return 1


# --- parts of a URI held in a PV -----------------------------------------------------------

def _set_part(ctx, fname, pv, **part) -> int:
    v = pv.get(ctx)
    try:
        u = parse_uri(s2b(to_str(v)))
        nu = u.replace(**part)
    except (ParseError, ValueError) as e:
        _log(ctx, "%s: %s" % (fname, e))
        return -1
    pv.set(ctx, b2s(bytes(nu)))
    return 1


def set_uri_user(ctx, uri: PVW, user: Fmt) -> int:
    """set_uri_user(uri, user): an empty user removes it"""
    return _set_part(ctx, "set_uri_user", uri, user=s2b(user) if user else None)


def set_uri_host(ctx, uri: PVW, host: Fmt) -> int:
    """set_uri_host(uri, host)"""
    if not host:
        return -1
    return _set_part(ctx, "set_uri_host", uri, host=s2b(host))
