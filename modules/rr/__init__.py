# SPDX-License-Identifier: GPL-2.0-or-later
"""rr: Record-Route and loose routing (RFC 3261 §16.6, §16.12, §12.2)."""

from kampy.module import (
    BRANCH_ROUTE, FAILURE_ROUTE, Func, Module, PvDef, REQUEST_ROUTE,
)
from kampy.script.ast import ConfigError
from kampy.script.pv import FuncPV

from . import loose as L
from . import record as R
from .api import RRApi
from .params import P

RQ = REQUEST_ROUTE | BRANCH_ROUTE | FAILURE_ROUTE


def _direction_fixup(args, pos):
    a = args[0]
    if not P.append_fromtag:
        raise ConfigError(a.pos, "is_direction() needs modparam(\"rr\", \"append_fromtag\", 1)")
    if str(a.value).strip().lower() not in ("downstream", "upstream"):
        raise ConfigError(a.pos, "is_direction: unknown direction %r" % a.value)
    return args


exports = Module(
    name="rr",
    doc="Record-Route and loose routing.",
    params=P,
    functions=[
        Func("record_route", R.record_route, RQ),
        Func("record_route", R.record_route_params, RQ),
        Func("record_route_preset", R.record_route_preset, RQ),
        Func("record_route_preset", R.record_route_preset2, RQ),
        Func("record_route_advertised_address", R.record_route_advertised_address, RQ),
        Func("add_rr_param", R.add_rr_param, RQ),
        Func("remove_record_route", R.remove_record_route, REQUEST_ROUTE | FAILURE_ROUTE),
        Func("loose_route", L.loose_route, REQUEST_ROUTE),
        Func("loose_route_mode", L.loose_route_mode, REQUEST_ROUTE),
        Func("loose_route_preloaded", L.loose_route_preloaded, REQUEST_ROUTE),
        Func("check_route_param", L.w_check_route_param, REQUEST_ROUTE | FAILURE_ROUTE),
        Func("is_direction", L.w_is_direction, REQUEST_ROUTE | FAILURE_ROUTE, fixup=_direction_fixup),
    ],
    pvs=[PvDef("route_uri", lambda spec, resolve: FuncPV(spec, R.route_uri))],
    api=RRApi,
)
