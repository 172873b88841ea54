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

import functools

from ..sip import ParseError
from ..sip.headers import split_list
from .pv import b2s
from .pv_core import HdrcPV, HdrPV, _hdr_factory, _hdrc_factory, _index_now

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
        key = self.key_of(ctx)
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


class HflcPV(HdrcPV):
    """$hflc(name): the number of bodies of a list header, else of lines."""

    __slots__ = ()

    def get(self, ctx):
        key = self.key_of(ctx) if ctx.msg is not None else None
        if key not in _LISTS:
            return super().get(ctx)
        try:
            return len(_bodies(ctx.msg, key))
        except ParseError:
            return 0


HDR_PVS = {
    "hfl": functools.partial(_hdr_factory, cls=HflPV),
    "hflc": functools.partial(_hdrc_factory, cls=HflcPV),
}
