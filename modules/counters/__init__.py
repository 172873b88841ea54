# SPDX-License-Identifier: GPL-2.0-or-later
"""counters: counters the script declares and changes."""

from kampy.module import ANY_ROUTE, Func, Module
from . import funcs as F

exports = Module(
    name="counters",
    doc="Script counters: cnt_inc, cnt_add, cnt_reset.",
    params=F.P,
    mod_init=F.mod_init,
    functions=[
        Func("cnt_inc", F.cnt_inc, ANY_ROUTE, fixup=F.counter_fixup("cnt_inc")),
        Func("cnt_add", F.cnt_add, ANY_ROUTE, fixup=F.counter_fixup("cnt_add")),
        Func("cnt_reset", F.cnt_reset, ANY_ROUTE, fixup=F.counter_fixup("cnt_reset")),
    ],
)
