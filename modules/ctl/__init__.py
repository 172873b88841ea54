# SPDX-License-Identifier: GPL-2.0-or-later
"""ctl: the control socket (binrpc) kampyctl talks to.  The module holds the
parameters; the daemon opens the sockets."""

from kampy.module import Module
from .params import P

exports = Module(
    name="ctl",
    doc="Control interface parameters (binrpc sockets, fifo).",
    params=P,
)
