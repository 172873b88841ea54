# SPDX-License-Identifier: GPL-2.0-or-later
"""auth: script functions (Kamailio's names, arguments and return codes)."""

from kampy.module import Fmt, IntV, PVW
from kampy.sip.errors import ParseError

from .core import (AUTH_ERROR, AUTH_OK, PROXY, WWW, api, log)
from .params import ALGORITHMS


def consume_credentials(ctx) -> int:
    """consume_credentials(): remove the credentials an auth function used
    from the request, so they are not forwarded"""
    msg = ctx.msg
    if msg.method in ("ACK", "CANCEL", "PRACK"):
        return -1
    cred = ctx.data.get("auth.cred")
    if cred is None:
        log(ctx.rt, -1, "consume_credentials: no authorized credentials (error in the script)")
        return -1
    msg.remove_header_at(cred[1])
    return 1


def has_credentials(ctx, realm: Fmt) -> int:
    """has_credentials(realm): the request has Proxy-Authorization or
    Authorization credentials of that realm"""
    a = api(ctx.rt)
    for hname in (PROXY, WWW):
        try:
            if a.find_credentials(ctx.msg, realm, hname) is not None:
                return 1
        except ParseError:
            continue
    return -1


def _challenge(ctx, realm, flags, www):
    return api(ctx.rt).challenge(ctx, realm, flags, www)


def www_challenge(ctx, realm: Fmt, flags: IntV) -> int:
    """www_challenge(realm, flags): reply 401 with a WWW-Authenticate digest
    challenge; flags: 1 qop=auth, 2 qop=auth-int, 4 no 500 on error, 16 stale=true"""
    return _challenge(ctx, realm, flags, True)


def proxy_challenge(ctx, realm: Fmt, flags: IntV) -> int:
    """proxy_challenge(realm, flags): reply 407 with a Proxy-Authenticate
    challenge; flags as www_challenge"""
    return _challenge(ctx, realm, flags, False)


def auth_challenge(ctx, realm: Fmt, flags: IntV) -> int:
    """auth_challenge(realm, flags): www_challenge for REGISTER,
    proxy_challenge for other requests"""
    if ctx.msg.method in ("ACK", "CANCEL"):
        return 1
    return _challenge(ctx, realm, flags, ctx.msg.method == "REGISTER")


def _pv_auth(ctx, realm, passwd, flags, www, method=None):
    a = api(ctx.rt)
    if not passwd:
        log(ctx.rt, -1, "invalid password value - empty content")
        return AUTH_ERROR

    def ha1(creds, r):
        if flags & 1:
            return passwd
        return a.calc_ha1(ctx, creds.username, r, passwd)
    return a.authenticate(ctx, realm, www, ha1, method, flags)


def pv_www_authenticate(ctx, realm: Fmt, passwd: Fmt, flags: IntV) -> int:
    """pv_www_authenticate(realm, passwd, flags): check Authorization against
    a password (flags 1: it is the HA1) from a variable; 2/4/8: on failure put
    a challenge (no qop / auth / auth-int) in $avp(digest_challenge)"""
    return _pv_auth(ctx, realm, passwd, flags, True)


def pv_www_authenticate4(ctx, realm: Fmt, passwd: Fmt, flags: IntV, method: Fmt) -> int:
    """pv_www_authenticate(realm, passwd, flags, method): with another method in the digest"""
    if not method:
        log(ctx.rt, -1, "invalid method value - empty content")
        return AUTH_ERROR
    return _pv_auth(ctx, realm, passwd, flags, True, method)


def pv_proxy_authenticate(ctx, realm: Fmt, passwd: Fmt, flags: IntV) -> int:
    """pv_proxy_authenticate(realm, passwd, flags): as pv_www_authenticate,
    with Proxy-Authorization"""
    return _pv_auth(ctx, realm, passwd, flags, False)


def pv_auth_check(ctx, realm: Fmt, passwd: Fmt, flags: IntV, checks: IntV) -> int:
    """pv_auth_check(realm, passwd, flags, checks): pv_www_authenticate for
    REGISTER, pv_proxy_authenticate otherwise; checks 1: the auth user must
    be the From (To for REGISTER/PUBLISH) user (-8 otherwise)"""
    if ctx.msg.method in ("ACK", "CANCEL"):
        return AUTH_OK
    rc = _pv_auth(ctx, realm, passwd, flags, ctx.msg.method == "REGISTER")
    if rc != AUTH_OK:
        return rc
    a = api(ctx.rt)
    return a.check_identity(ctx, checks, a.use_domain)


def auth_get_www_authenticate(ctx, realm: Fmt, flags: IntV, dst: PVW) -> int:
    """auth_get_www_authenticate(realm, flags, pv): put a WWW-Authenticate
    header (with CRLF) into pv; flags as www_challenge"""
    a = api(ctx.rt)
    realm = a.realm(ctx, realm)
    if not realm:
        log(ctx.rt, -1, "invalid realm value - empty content")
        return -1
    qop = "auth-int" if flags & 2 else ("auth" if flags & 1 else None)
    hdr = a.challenge_header(ctx, realm, True, qop, bool(flags & 16), bind=False)
    if hdr is None:
        return -2
    dst.set(ctx, hdr + "\r\n")
    return 1


def auth_algorithm(ctx, alg: Fmt) -> int:
    """auth_algorithm(algorithm): MD5 or SHA-256 for this request's
    challenges and checks (overrides the algorithm parameter)"""
    alg = alg.strip()
    if alg not in ALGORITHMS:
        log(ctx.rt, -1, "invalid algorithm %r; possible values are \"MD5\" or \"SHA-256\"" % alg)
        return -1
    ctx.data["auth.alg"] = alg
    return 1
