# SPDX-License-Identifier: GPL-2.0-or-later
"""registrar: reg_fetch_contacts(), reg_free_contacts() and $ulc(profile=>attr).

A profile is a copy of one AOR's contacts kept in this process (as
Kamailio keeps it in private memory) until fetched again or freed;
`$(ulc(p=>addr)[i])` reads contact i.  The profile "exp" holds the contact
event_route[usrloc:contact-expired] runs for.
"""

from kampy.script.ast import ConfigError
from kampy.script.pv import PV

from .common import AorError, extract_aor

PROFILES = {}

# attr -> value of a contact (None: an attribute of the record)
ATTRS = {
    "addr": lambda c: c["c"], "path": lambda c: c["p"] or None,
    "received": lambda c: c["r"] or None, "expires": lambda c: c["e"],
    "callid": lambda c: c["ci"], "q": lambda c: c["q"], "cseq": lambda c: c["cs"],
    "flags": lambda c: c["f"], "cflags": lambda c: c["cf"],
    "user_agent": lambda c: c["ua"] or None, "socket": lambda c: c["sk"] or None,
    "modified": lambda c: c["lm"], "methods": lambda c: c["m"], "ruid": lambda c: c["id"],
    "regid": lambda c: c.get("ri", 0), "instance": lambda c: c.get("in") or None,
    "conid": lambda c: None, "server_id": lambda c: 0,
}
RECORD_ATTRS = ("aor", "domain", "aorhash", "count")


def set_profile(name, domain, aor, aorhash, contacts):
    PROFILES[name] = {"domain": domain, "aor": aor, "aorhash": aorhash, "contacts": contacts}


def reg_fetch_contacts(ctx, domain, uri, profile) -> int:
    """reg_fetch_contacts(table, uri, profile): the AOR's contacts into $ulc(profile)"""
    api = ctx.rt.api("usrloc")
    PROFILES.pop(profile, None)
    try:
        aor, _u = extract_aor(uri, api.use_domain)
    except AorError:
        return -1
    try:
        cs = api.get(domain, aor)
    except api.UlError:
        return -1
    t = api.now()
    cs = [c for c in cs if api.valid(c, t)]
    if not cs:
        return -1
    set_profile(profile, domain, aor, api.aorhash(aor), cs)
    return 1


def reg_free_contacts(ctx, profile) -> int:
    """reg_free_contacts(profile): forget $ulc(profile)"""
    PROFILES.pop(profile, None)
    return 1


class UlcPV(PV):
    """$ulc(profile=>attr)[index]."""

    __slots__ = ("profile", "attr", "idx", "idx_pv")

    def __init__(self, spec, profile, attr, idx, idx_pv):
        super().__init__(spec)
        self.profile = profile
        self.attr = attr
        self.idx = idx
        self.idx_pv = idx_pv

    def get(self, ctx):
        p = PROFILES.get(self.profile)
        if self.attr == "count":
            return len(p["contacts"]) if p else 0
        if p is None:
            return None
        if self.attr in RECORD_ATTRS:
            return p[self.attr]
        i = self.idx if self.idx_pv is None else _int(self.idx_pv.get(ctx))
        i = i or 0
        cs = p["contacts"]
        if not -len(cs) <= i < len(cs):
            return None
        return ATTRS[self.attr](cs[i])


def _int(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


def ulc_factory(spec, resolve):
    inner = spec.inner
    if not isinstance(inner, str) or "=>" not in inner:
        raise ConfigError(spec.pos, "$ulc takes profile=>attribute")
    profile, _, attr = (x.strip() for x in inner.partition("=>"))
    if not profile or (attr not in ATTRS and attr not in RECORD_ATTRS):
        raise ConfigError(spec.pos, "unknown $ulc attribute %r (one of %s)"
                          % (attr, ", ".join(RECORD_ATTRS + tuple(ATTRS))))
    idx, idx_pv = None, None
    if spec.index is not None:
        if isinstance(spec.index, int):
            idx = spec.index
        elif isinstance(spec.index, str) and spec.index.strip().lstrip("-").isdigit():
            idx = int(spec.index)
        elif isinstance(spec.index, str) and spec.index.strip().startswith("$"):
            from kampy.script.pvparse import parse_pv
            idx_pv = resolve(parse_pv(spec.index.strip(), 0, spec.pos)[0])
        elif isinstance(spec.index, str):
            raise ConfigError(spec.pos, "bad index in $ulc")
        else:
            idx_pv = resolve(spec.index)
    return UlcPV(spec, profile, attr, idx, idx_pv)
