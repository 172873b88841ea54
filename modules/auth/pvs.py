# SPDX-License-Identifier: GPL-2.0-or-later
"""auth: $au $ad $aU $ar $adu $aa — fields of the request's digest credentials.

Kamailio reads them from the first Authorization header of a REGISTER or
PUBLISH and the first Proxy-Authorization of other requests; once an auth
function has picked the credentials of its realm, kampy reads those.
"""

from kampy.module import PvDef
from kampy.script.ast import ConfigError
from kampy.script.pv import PV
from kampy.sip import digest
from kampy.sip.errors import ParseError

from .core import PROXY, WWW, split_username

_MISS = object()


def credentials(ctx):
    """The Credentials the auth PVs read, or None."""
    cred = ctx.data.get("auth.cred")
    if cred is not None:
        return cred[2]
    c = ctx.data.get("auth.pvcred", _MISS)
    if c is _MISS:
        msg = ctx.msg
        c = None
        if msg is not None and msg.is_request:
            v = msg.header(WWW if msg.method in ("REGISTER", "PUBLISH") else PROXY)
            if v is not None:
                try:
                    c = digest.parse_credentials(v)
                except ParseError:
                    c = None
        ctx.data["auth.pvcred"] = c
    return c


_FIELDS = {
    "au": lambda c: split_username(c.username)[0] or None,
    "ad": lambda c: split_username(c.username)[1] or None,
    "aU": lambda c: c.username,
    "ar": lambda c: c.realm,
    "adu": lambda c: c.uri,
    "aa": lambda c: c.params.get("algorithm"),
}


class AuthPV(PV):
    """One field of the credentials; $null without them."""

    __slots__ = ("fn",)

    def __init__(self, spec, fn):
        super().__init__(spec)
        self.fn = fn

    def get(self, ctx):
        c = credentials(ctx)
        if c is None or c.scheme.lower() != "digest":
            return None
        return self.fn(c)


def _factory(name):
    def factory(spec, resolve):
        if spec.inner is not None or spec.index is not None:
            raise ConfigError(spec.pos, "$%s takes no name or index" % name)
        return AuthPV(spec, _FIELDS[name])
    return factory


DOCS = {
    "au": "user part of the digest username", "ad": "domain part of the digest username",
    "aU": "whole digest username", "ar": "digest realm", "adu": "digest URI",
    "aa": "digest algorithm",
}

PVS = [PvDef(name, _factory(name), "$%s: %s" % (name, DOCS[name])) for name in _FIELDS]
