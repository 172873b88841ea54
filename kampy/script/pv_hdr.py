# SPDX-License-Identifier: GPL-2.0-or-later
"""$hfl(name) and $hflc(name): header field bodies.

For Via, Route, Record-Route and Contact, Kamailio's $hfl indexes the
bodies, not the lines: `Via: a, b` followed by `Via: c` has three, and
$(hfl(Via)[1]) is b (where $(hdr(Via)[1]) is the line "c").  For any other
header $hfl is $hdr.  $hflc counts the same things.

One deliberate difference: Kamailio 5.6 gives $null for a negative index on
the four list headers (it counts one body too many before turning -1 into a
position); here -1 is the last body, as for $hdr.
"""

from ..sip import ParseError
from ..sip.headers import split_list
from .pv import PV, b2s
from .pv_core import HdrPV, _dyn_header_key, _header_name, _index_now, _no_index, _parse_index

# the headers whose bodies are counted one by one, and whether <> protect commas
_LISTS = {"via": False, "route": True, "record-route": True, "contact": True}


def _bodies(msg, key) -> list:
    out = []
    for v in msg.headers(key):
        if key == "contact" and v.strip(b" \t") == b"*":
            continue   # a wildcard is no contact address
        out.extend(split_list(v, brackets=_LISTS[key]))
    return out


class HflPV(HdrPV):
    """$hfl(name), $(hfl(name)[n]), $(hfl(name)[*])."""

    __slots__ = ()

    def get(self, ctx):
        msg = ctx.msg
        if msg is None:
            return None
        key = self.key if self.name_pv is None else _dyn_header_key(self.name_pv, ctx)
        if key not in _LISTS:
            return super().get(ctx) if key is not None else None
        try:
            i = _index_now(self.idx, self.idx_pv, ctx)
            if i == "*":
                return super().get(ctx)
            bodies = _bodies(msg, key)
            return b2s(bodies[i or 0]) if bodies else None
        except (ParseError, IndexError):
            return None


def _hfl_factory(spec, resolve):
    key, name_pv = _header_name(spec, resolve)
    idx, idx_pv = _parse_index(spec, spec.index, resolve)
    return HflPV(spec, key, name_pv, idx, idx_pv)


class HflcPV(PV):
    """$hflc(name): the number of bodies of a list header, else of lines."""

    __slots__ = ("key", "name_pv")

    def __init__(self, spec, key, name_pv):
        super().__init__(spec)
        self.key = key
        self.name_pv = name_pv

    def get(self, ctx):
        msg = ctx.msg
        if msg is None:
            return 0
        key = self.key if self.name_pv is None else _dyn_header_key(self.name_pv, ctx)
        if key is None:
            return 0
        if key not in _LISTS:
            return msg.count(key)
        try:
            return len(_bodies(msg, key))
        except ParseError:
            return 0


def _hflc_factory(spec, resolve):
    key, name_pv = _header_name(spec, resolve)
    _no_index(spec)
    return HflcPV(spec, key, name_pv)


HDR_PVS = {
    "hfl": _hfl_factory,
    "hflc": _hflc_factory,
}
