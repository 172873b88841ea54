# SPDX-License-Identifier: GPL-2.0-or-later
"""cfgutils: config utilities (random events, sleep, gflags, locks, core_hash)."""

from kampy.module import ANY_ROUTE, Func, Module
from . import funcs as F

exports = Module(
    name="cfgutils",
    doc="Random decisions, delays, global flags, locks, core_hash, route helpers.",
    params=F.P,
    mod_init=F.mod_init,
    functions=[
        Func("rand_event", F.rand_event, ANY_ROUTE),
        Func("rand_set_prob", F.rand_set_prob, ANY_ROUTE, fixup=F.prob_fixup),
        Func("rand_reset_prob", F.rand_reset_prob, ANY_ROUTE),
        Func("rand_get_prob", F.rand_get_prob, ANY_ROUTE),
        Func("sleep", F.sleep, ANY_ROUTE),
        Func("usleep", F.usleep, ANY_ROUTE),
        Func("pkg_status", F.pkg_status, ANY_ROUTE),
        Func("pkg_summary", F.pkg_summary, ANY_ROUTE),
        Func("shm_status", F.shm_status, ANY_ROUTE),
        Func("shm_summary", F.shm_summary, ANY_ROUTE),
        Func("set_gflag", F.set_gflag, ANY_ROUTE),
        Func("reset_gflag", F.reset_gflag, ANY_ROUTE),
        Func("is_gflag", F.is_gflag, ANY_ROUTE),
        Func("lock", F.lock, ANY_ROUTE),
        Func("trylock", F.trylock, ANY_ROUTE),
        Func("unlock", F.unlock, ANY_ROUTE),
        Func("core_hash", F.core_hash, ANY_ROUTE),
        Func("check_route_exists", F.check_route_exists, ANY_ROUTE),
        Func("route_if_exists", F.route_if_exists, ANY_ROUTE),
    ],
    unsupported=("abort",),
)
