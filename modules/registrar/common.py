# SPDX-License-Identifier: GPL-2.0-or-later
"""registrar: what save, lookup and the rest share: the address of record
of a URI, per-request settings from xavp_cfg, the SIP method bits."""

from kampy.sip.errors import ParseError
from kampy.sip.uri import parse_uri, unescape

from .params import P

AOR_MAX_SIZE = 512
USERNAME_MAX_SIZE, DOMAIN_MAX_SIZE = 64, 64

# Kamailio's method bits (parser/msg_parser.h), as stored in the methods column
METHODS = {
    "INVITE": 1, "CANCEL": 2, "ACK": 4, "BYE": 8, "INFO": 16, "REGISTER": 32,
    "SUBSCRIBE": 64, "NOTIFY": 128, "MESSAGE": 256, "OPTIONS": 512, "PRACK": 1024,
    "UPDATE": 2048, "REFER": 4096, "PUBLISH": 8192, "KDMQ": 16384,
}
METHOD_OTHER = 1 << 31
ALL_METHODS = 0xFFFFFFFF


class AorError(Exception):
    """The URI gives no address of record; `rerrno` says why (Kamailio's names)."""

    def __init__(self, rerrno):
        super().__init__(rerrno)
        self.rerrno = rerrno


def method_bit(name) -> int:
    return METHODS.get(str(name).upper(), METHOD_OTHER)


def methods_mask(text) -> int:
    """Bits of a comma separated method list ("INVITE, BYE"; quotes allowed)."""
    mask = 0
    for m in str(text).strip().strip('"').split(","):
        m = m.strip()
        if m:
            mask |= method_bit(m)
    return mask


def extract_aor(uri, use_domain):
    """(aor, parsed URI) as Kamailio's extract_aor: the unescaped user, with
    "@host" when use_domain (realm_prefix stripped), lower case (the user part
    kept as written with case_sensitive)."""
    if isinstance(uri, str):
        uri = uri.encode("utf-8", "surrogateescape")
    try:
        u = parse_uri(uri)
    except (ParseError, ValueError):
        raise AorError("R_AOR_PARSE") from None
    user = u.user or b""
    host = u.host or b""
    if len(user) + len(host) + 2 > AOR_MAX_SIZE or len(user) > USERNAME_MAX_SIZE \
            or len(host) > DOMAIN_MAX_SIZE:
        raise AorError("R_AOR_LEN")
    try:
        user = unescape(user).decode("utf-8", "surrogateescape")
    except (ValueError, UnicodeDecodeError):
        raise AorError("R_UNESCAPE") from None
    host = host.decode("utf-8", "surrogateescape")
    if not use_domain:
        return user.lower() if not (P.case_sensitive and user) else user, u
    pfx = P.realm_prefix
    if pfx and len(pfx) < len(host) and host.startswith(pfx):
        host = host[len(pfx):]
    if P.case_sensitive and user:
        return "%s@%s" % (user, host.lower()), u
    return ("%s@%s" % (user, host) if user else host).lower(), u


def xavp_cfg(ctx, name):
    """$xavp(<xavp_cfg>=>name), or None."""
    if not P.xavp_cfg:
        return None
    items = ctx.xavps.get(P.xavp_cfg)
    if not items:
        return None
    vals = items[0].get(name)
    return vals[0] if vals else None


def xavp_int(ctx, name):
    v = xavp_cfg(ctx, name)
    if v is None:
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def fill_rcd(ctx, c):
    """xavp_rcd: the matched contact's details for the script."""
    if not P.xavp_rcd:
        return
    ctx.xavps.setdefault(P.xavp_rcd, []).insert(0, {
        "ruid": [c["id"]], "contact": [c["c"]], "expires": [c["e"]],
        "received": [c["r"]] if c.get("r") else [],
    })
