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
        Func("xlog", L.xlog1, ANY_ROUTE), Func("xlog", L.xlog2, ANY_ROUTE),
        Func("xlog", L.xlog3, ANY_ROUTE),
        Func("xdbg", L.xdbg, ANY_ROUTE), Func("xinfo", L.xinfo, ANY_ROUTE),
        Func("xnotice", L.xnotice, ANY_ROUTE), Func("xwarn", L.xwarn, ANY_ROUTE),
        Func("xerr", L.xerr, ANY_ROUTE), Func("xbug", L.xbug, ANY_ROUTE),
        Func("xcrit", L.xcrit, ANY_ROUTE), Func("xalert", L.xalert, ANY_ROUTE),
        Func("xlogl", L.xlog1, ANY_ROUTE), Func("xlogl", L.xlog2, ANY_ROUTE),
    ],
)
