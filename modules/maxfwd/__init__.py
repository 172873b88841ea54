# SPDX-License-Identifier: GPL-2.0-or-later
"""maxfwd: Max-Forwards processing (RFC 3261 §16.6 step 3)."""

from kampy.module import Func, Module, REQUEST_ROUTE, FAILURE_ROUTE, BRANCH_ROUTE
from .mf import mf_process_maxfwd_header, is_maxfwd_lt, P

ROUTES = REQUEST_ROUTE | FAILURE_ROUTE | BRANCH_ROUTE

exports = Module(
    name="maxfwd",
    doc="Checks and decrements Max-Forwards.",
    params=P,
    functions=[
        Func("mf_process_maxfwd_header", mf_process_maxfwd_header, ROUTES),
        Func("maxfwd_process", mf_process_maxfwd_header, ROUTES),
        Func("is_maxfwd_lt", is_maxfwd_lt, ROUTES),
    ],
)
