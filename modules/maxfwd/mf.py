# SPDX-License-Identifier: GPL-2.0-or-later
"""Max-Forwards: add when missing, refuse at zero, decrement otherwise."""

from kampy.module import IntV, Param, ParamValues
from kampy.sip.errors import ParseError


def _limit(v):
    if not 0 < v <= 255:
        raise ValueError("max_limit must be 1..255")
    return v


P = ParamValues([Param("max_limit", int, 70, doc="upper bound for the value we forward", check=_limit)])


def mf_process_maxfwd_header(ctx, max_value: IntV) -> int:
    """mf_process_maxfwd_header(max_value)

    2: the header was missing and was added with max_value; 1: decremented;
    -1: it was 0 (answer 483); -2: the header is broken."""
    msg = ctx.msg
    pos = msg.positions("max-forwards")
    if not pos:
        if not 0 <= max_value <= 255:
            return -2
        msg.add_header("Max-Forwards", str(max_value))
        return 2
    try:
        v = msg.max_forwards
    except ParseError:
        return -2
    if v == 0:
        return -1
    nv = min(v - 1, P.max_limit)
    msg.set_header_value(pos[0], str(nv))
    return 1


def is_maxfwd_lt(ctx, limit: IntV) -> int:
    """is_maxfwd_lt(max_value): Max-Forwards is lower than max_value

    1 yes, -1 no, -2 no header, -3 broken header."""
    msg = ctx.msg
    if not msg.has("max-forwards"):
        return -2
    try:
        v = msg.max_forwards
    except ParseError:
        return -3
    return 1 if v < limit else -1
