# SPDX-License-Identifier: GPL-2.0-or-later
"""sl: stateless replies."""

from kampy.module import (
    Counter, EVENT_ROUTE, FAILURE_ROUTE, Func, Module, REQUEST_ROUTE,
)
from .reply import sl_send_reply, send_reply, sl_reply_error, filter_ack, COUNTERS

ROUTES = REQUEST_ROUTE | FAILURE_ROUTE | EVENT_ROUTE

exports = Module(
    name="sl",
    doc="Stateless replies to requests.",
    functions=[
        Func("sl_send_reply", sl_send_reply, ROUTES),
        Func("send_reply", send_reply, ROUTES),
        Func("sl_reply_error", sl_reply_error, ROUTES),
    ],
    counters=[Counter("sl", n) for n in COUNTERS],
    pre_script=filter_ack,
)
