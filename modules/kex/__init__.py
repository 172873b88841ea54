# SPDX-License-Identifier: GPL-2.0-or-later
"""kex: Kamailio core extensions."""

from kampy.module import ANY_ROUTE, FAILURE_ROUTE, Func, Module, REQUEST_ROUTE
from . import funcs as F

exports = Module(
    name="kex",
    doc="Core extensions: script flags, $du helpers, pv_printf, is_myself, setdebug.",
    functions=[
        Func("setsflag", F.setsflag, ANY_ROUTE),
        Func("resetsflag", F.resetsflag, ANY_ROUTE),
        Func("issflagset", F.issflagset, ANY_ROUTE),
        Func("setdsturi", F.setdsturi, ANY_ROUTE, fixup=F.dsturi_fixup),
        Func("resetdsturi", F.resetdsturi, ANY_ROUTE),
        Func("isdsturiset", F.isdsturiset, ANY_ROUTE),
        Func("pv_printf", F.pv_printf, ANY_ROUTE),
        Func("avp_printf", F.pv_printf, ANY_ROUTE),
        Func("is_myself", F.is_myself, ANY_ROUTE),
        Func("setdebug", F.setdebug, ANY_ROUTE),
        Func("resetdebug", F.resetdebug, ANY_ROUTE),
        Func("km_append_branch", F.km_append_branch, REQUEST_ROUTE | FAILURE_ROUTE),
        Func("km_append_branch", F.km_append_branch1, REQUEST_ROUTE | FAILURE_ROUTE),
    ],
)
