# SPDX-License-Identifier: GPL-2.0-or-later
"""auth_db: www_authorize / proxy_authorize / auth_check / is_subscriber.

The digest work is the auth module's (rt.api("auth")); this file only
finds the HA1 of a user in the subscriber table, as Kamailio's auth_db does:
user column = the username's user part, domain column (with use_domain) =
the username's domain or else the realm; the HA1 from password_column, or
password_column_2 (ha1b) for a username that carries "@domain"; with
calculate_ha1 the column holds the plain password and the HA1 is computed.
"""

from kampy.module import Fmt, IntV
from kampy.script.ast import ConfigError, StrLit
from kampy.sip.errors import ParseError
from kampy.sip.uri import parse_uri

from . import db as D
from .params import P

AUTH_ERROR, AUTH_USER_UNKNOWN = -1, -3


def _auth(ctx):
    return ctx.rt.api("auth")


def _load_avps(ctx, row):
    if not row:
        return
    for key, col in D.credentials():
        v = row.get(col)
        if v is None:
            continue
        if isinstance(v, bytes):
            v = v.decode("utf-8", "surrogateescape")
        elif not isinstance(v, (int, str)):
            v = str(v)
        ctx.avps.add(key, v)


def _lookup(ctx, table, loaded):
    """The ha1_fn given to the auth API: the HA1 (str) or -3 / -1."""
    rt = ctx.rt
    a = _auth(ctx)

    def ha1(creds, realm):
        user, dom = _split(creds.username)
        col = P.password_column_2 if dom and not P.calculate_ha1 else P.password_column
        where = {P.user_column: user}
        if P.use_domain:
            where[P.domain_column] = dom or realm
        cols = [col] + [c for _, c in D.credentials() if c != col]
        try:
            row = D.fetch(rt, table, where, cols)
        except D.dbmod().DbError as e:
            D.error(rt, "cannot read %s: %s" % (table, e))
            return AUTH_ERROR
        if row is None:
            return AUTH_USER_UNKNOWN
        loaded.append(row)
        if P.force_generate_avps:
            _load_avps(ctx, row)
        value = row.get(col)
        if value is None:
            value = ""
        elif isinstance(value, bytes):
            value = value.decode("utf-8", "surrogateescape")
        value = str(value)
        if P.calculate_ha1:
            return a.calc_ha1(ctx, creds.username, realm, value)
        return value
    return ha1


def _split(name):
    user, _, dom = (name or "").partition("@")
    return user, dom


def digest_authenticate(ctx, realm, table, www, method=None) -> int:
    """The auth_db check: the code of Kamailio's www/proxy_authenticate."""
    if not table:
        D.log(ctx.rt, -1, "invalid table parameter - empty value")
        return AUTH_ERROR
    loaded = []
    rc = _auth(ctx).authenticate(ctx, realm, www, _lookup(ctx, table, loaded), method)
    if rc == 1 and loaded and not P.force_generate_avps:
        _load_avps(ctx, loaded[0])
    return rc


def www_authenticate(ctx, realm: Fmt, table: Fmt) -> int:
    """www_authenticate(realm, table): check the Authorization credentials
    against the subscriber table; 1 ok, -1 error, -2 wrong password, -3
    unknown user, -4 stale nonce, -5 no credentials, -6 nonce reused"""
    return digest_authenticate(ctx, realm, table, True)


def www_authenticate3(ctx, realm: Fmt, table: Fmt, method: Fmt) -> int:
    """www_authenticate(realm, table, method): with another method in the digest"""
    if not method:
        D.log(ctx.rt, -1, "invalid method parameter - empty value")
        return AUTH_ERROR
    return digest_authenticate(ctx, realm, table, True, method)


def proxy_authenticate(ctx, realm: Fmt, table: Fmt) -> int:
    """proxy_authenticate(realm, table): as www_authenticate, with Proxy-Authorization"""
    return digest_authenticate(ctx, realm, table, False)


def auth_check(ctx, realm: Fmt, table: Fmt, flags: IntV) -> int:
    """auth_check(realm, table, flags): www_authenticate for REGISTER,
    proxy_authenticate otherwise; flags 1: the auth user must be the From
    user (and To for REGISTER/PUBLISH, and R-URI for PUBLISH), -8 otherwise;
    flags 2 with 1: not for INVITE, BYE, PRACK, UPDATE, MESSAGE"""
    msg = ctx.msg
    if msg.method in ("ACK", "CANCEL"):
        return 1
    rc = digest_authenticate(ctx, realm, table, msg.method == "REGISTER")
    if rc != 1:
        return rc
    return _auth(ctx).check_identity(ctx, flags, bool(P.use_domain))


def is_subscriber(ctx, uri: Fmt, table: Fmt, flags: IntV) -> int:
    """is_subscriber(uri, table, flags): the URI's user is in the table (flags
    1: its domain too); loads the load_credentials AVPs unless flags has 2;
    1 found, -2 not found, -1 error"""
    rt = ctx.rt
    if not uri or not table:
        D.log(rt, -1, "is_subscriber: empty uri or table")
        return -1
    try:
        u = parse_uri(uri.encode("utf-8", "surrogateescape"))
    except ParseError:
        D.log(rt, -1, "is_subscriber: invalid uri %r" % uri)
        return -1
    where = {P.user_column: (u.user or b"").decode("utf-8", "surrogateescape")}
    if flags & 1:
        where[P.domain_column] = (u.host or b"").decode("utf-8", "surrogateescape")
    cols = [P.user_column] if flags & 2 else ([c for _, c in D.credentials()] or [P.user_column])
    try:
        row = D.fetch(rt, table, where, cols)
    except D.dbmod().DbError as e:
        D.error(rt, "cannot read %s: %s" % (table, e))
        return -1
    if row is None:
        return -2
    if not flags & 2:
        _load_avps(ctx, row)
    return 1


def table_fixup(index):
    """Startup: remember a table named literally, so mod_init can check its
    version before the fork; refuse an empty one."""
    def fixup(args, pos):
        a = args[index]
        if isinstance(a, StrLit):
            if not a.value.strip():
                raise ConfigError(a.pos, "empty table name not allowed")
            if "$" not in a.value:
                D.LITERAL_TABLES.add(a.value.strip())
        return args
    return fixup
