# SPDX-License-Identifier: GPL-2.0-or-later
"""sanity: RFC 3261 sanity checks of incoming requests, answered by sl."""

from kampy.module import (
    BRANCH_ROUTE, CORE_REPLY_ROUTE, FAILURE_ROUTE, Func, Module, ONREPLY_ROUTE,
    REQUEST_ROUTE,
)
from .checks import P, sanity_check, sanity_check1, sanity_check2, sanity_reply

ROUTES = REQUEST_ROUTE | ONREPLY_ROUTE | CORE_REPLY_ROUTE | FAILURE_ROUTE | BRANCH_ROUTE

exports = Module(
    name="sanity",
    doc="Sanity checks of SIP messages with Kamailio's replies.",
    params=P,
    depends=["sl"],
    functions=[
        Func("sanity_check", sanity_check, ROUTES),
        Func("sanity_check", sanity_check1, ROUTES),
        Func("sanity_check", sanity_check2, ROUTES),
        Func("sanity_reply", sanity_reply, REQUEST_ROUTE),
    ],
)
