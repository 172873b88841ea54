# SPDX-License-Identifier: GPL-2.0-or-later
"""xlog: formatted log messages from the config."""

from kampy.module import ANY_ROUTE, Func, Module, Param, ParamValues
from . import log as L

P = ParamValues([
    Param("buf_size", int, 4096), Param("force_color", int, 0),
    Param("long_format", int, 0), Param("prefix", str, "<script>: "),
    Param("log_facility", str, "LOG_DAEMON"), Param("log_colors", str, "", multi=True),
    Param("methods_filter", int, -1), Param("prefix_mode", int, 0),
])
L.P = P

exports = Module(
    name="xlog",
    doc="Log messages with pseudo-variables expanded.",
    params=P,
    functions=[
        Func("xlog", L.xlog1, ANY_ROUTE, level=L.L_ERR),
        Func("xlog", L.xlog2, ANY_ROUTE, level_arg=0),
        Func("xlog", L.xlog3, ANY_ROUTE, level_arg=1),
        Func("xdbg", L.xdbg, ANY_ROUTE, level=L.L_DBG), Func("xinfo", L.xinfo, ANY_ROUTE, level=L.L_INFO),
        Func("xnotice", L.xnotice, ANY_ROUTE, level=L.L_NOTICE),
        Func("xwarn", L.xwarn, ANY_ROUTE, level=L.L_WARN),
        Func("xerr", L.xerr, ANY_ROUTE, level=L.L_ERR), Func("xbug", L.xbug, ANY_ROUTE, level=L.L_BUG),
        Func("xcrit", L.xcrit, ANY_ROUTE, level=L.L_CRIT),
        Func("xalert", L.xalert, ANY_ROUTE, level=L.L_ALERT),
        Func("xlogl", L.xlog1, ANY_ROUTE, level=L.L_ERR), Func("xlogl", L.xlog2, ANY_ROUTE, level_arg=0),
    ],
)
