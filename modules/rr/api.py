# SPDX-License-Identifier: GPL-2.0-or-later
"""The API other modules get with `rt.api("rr")` (Kamailio's rr_api_t)."""

from kampy.script.pv import b2s
from kampy.script.regex import compile_posix

from . import loose as L
from . import record as R
from .params import P


class RRApi:
    """One per Runtime: the callbacks registered by other modules, and
    functions working on a request's Context."""

    def __init__(self, rt):
        self.rt = rt
        self.callbacks = []   # [(priority, fn)], run in ascending priority

    @property
    def append_fromtag(self) -> bool:
        """Whether our Record-Route carries ;ftag (is_direction() needs it)."""
        return bool(P.append_fromtag)

    # --- Record-Route -----------------------------------------------------------------
    def record_route(self, ctx, params: str = "") -> int:
        """record_route([params]) for ctx's request: 1, or -1 on error."""
        return R.do_record_route(ctx, params)

    def record_route_preset(self, ctx, addr: str, addr2: str = None) -> int:
        return R.do_preset(ctx, addr, addr2)

    def record_route_advertised_address(self, ctx, addr: str) -> int:
        return R.do_advertised(ctx, addr)

    def add_rr_param(self, ctx, param: str) -> int:
        """Add ";param" to our Record-Route, whether record_route() ran yet or not."""
        return R.do_add_rr_param(ctx, param)

    def set_rr_param(self, ctx, name: str, value) -> int:
        """Set ;name=value on our Record-Route, replacing an earlier one of that
        name (value "" for a bare ;name, None to remove)."""
        return R.do_set_rr_param(ctx, name, value)

    def set_rr_params(self, ctx, items: dict) -> int:
        """set_rr_param for several names at once (one rendering)."""
        return R.do_set_rr_params(ctx, items)

    def remove_record_route(self, ctx) -> int:
        return R.do_remove(ctx)

    def finalize(self, ctx, out_socket, msg=None) -> int:
        """Call just before serialising a request that leaves on out_socket:
        our Record-Route becomes two headers (;r2=on) when out_socket is not
        the socket the request came in on (enable_double_rr), one otherwise.
        msg: the message sent when it is not ctx.msg (a copy re-parsed from
        ctx.msg.serialize()).  1 done, -1 nothing to do (no record_route())."""
        return R.finalize(ctx, out_socket, msg)

    # --- Route ---------------------------------------------------------------------------
    def loose_route(self, ctx) -> int:
        return L.do_loose_route(ctx)

    def get_route_param(self, ctx, name: str):
        """A param of the Route that pointed at us in this (sequential)
        request, after loose_route(): its value, "" without one, None if absent."""
        return L.get_route_param(ctx, name)

    def get_route_params(self, ctx):
        """Every URI param of that Route ("lr;ftag=x"), or None."""
        p = L.route_params(ctx)
        return None if p is None else b2s(p)

    def check_route_param(self, ctx, regex) -> bool:
        """regex (a POSIX ERE string or a compiled pattern) matches ";" + params."""
        rx = compile_posix(regex) if isinstance(regex, str) else regex
        return L.check_route_param(ctx, rx)

    def is_direction(self, ctx, direction: str) -> bool:
        d = direction.strip().lower()
        if d not in ("downstream", "upstream"):
            raise ValueError("direction is downstream or upstream, not %r" % direction)
        return L.is_direction(ctx, d == "downstream")

    def register_callback(self, fn, priority: int = 0):
        """fn(ctx, route_params: str) runs whenever loose_route() routed a
        request by a Route of ours that has URI params (route_params as in
        "lr;ftag=x", no leading ';'); lower priorities run first."""
        self.callbacks.append((priority, fn))
        self.callbacks.sort(key=lambda c: c[0])
