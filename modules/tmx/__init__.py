# SPDX-License-Identifier: GPL-2.0-or-later
"""tmx: tm extensions.  tm arrives later; until then every tmx function is
named here so that a config using one gets a clear error at startup."""

from kampy.module import Module

UNSUPPORTED = (
    "t_cancel_branches", "t_cancel_callid", "t_reply_callid", "t_flush_flags",
    "t_flush_xflags", "t_is_failure_route", "t_is_branch_route", "t_is_reply_route",
    "t_is_request_route", "t_suspend", "t_continue", "t_reuse_branch",
    "t_precheck_trans", "t_drop",
)

exports = Module(
    name="tmx",
    doc="tm extensions (none available yet: tm is not in kampy yet).",
    depends=[],
    unsupported=UNSUPPORTED,
)
