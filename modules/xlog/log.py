# SPDX-License-Identifier: GPL-2.0-or-later
"""xlog functions: the level as Kamailio names it, the text with PVs expanded."""

from kampy.module import Fmt, Str
from kampy.runtime import (
    L_ALERT, L_BUG, L_CRIT, L_DBG, L_ERR, L_INFO, L_NOTICE, L_WARN, LEVEL_NAMES,
)
from kampy.script.pv import to_int

P = None  # set by the package: the module's parameter values


def _emit(ctx, level: int, text: str) -> int:
    if text.endswith("\n"):
        text = text[:-1]
    prefix = P.prefix if P is not None else "<script>: "
    ctx.rt.log(level, text, prefix.rstrip(": ").rstrip() or "<script>")
    return 1


def _level(name: str) -> int:
    name = name.strip()
    if name in LEVEL_NAMES:
        return LEVEL_NAMES[name]
    return to_int(name)


def xlog1(ctx, text: Fmt) -> int:
    """xlog(format): log at L_ERR"""
    return _emit(ctx, L_ERR, text)


def xlog2(ctx, level: Fmt, text: Fmt) -> int:
    """xlog(level, format): level is L_ALERT .. L_DBG, a number or a PV"""
    return _emit(ctx, _level(level), text)


def xlog3(ctx, facility: Str, level: Fmt, text: Fmt) -> int:
    """xlog(facility, level, format)"""
    return _emit(ctx, _level(level), text)


def xdbg(ctx, text: Fmt) -> int:
    """xdbg(format)"""
    return _emit(ctx, L_DBG, text)


def xinfo(ctx, text: Fmt) -> int:
    """xinfo(format)"""
    return _emit(ctx, L_INFO, text)


def xnotice(ctx, text: Fmt) -> int:
    """xnotice(format)"""
    return _emit(ctx, L_NOTICE, text)


def xwarn(ctx, text: Fmt) -> int:
    """xwarn(format)"""
    return _emit(ctx, L_WARN, text)


def xerr(ctx, text: Fmt) -> int:
    """xerr(format)"""
    return _emit(ctx, L_ERR, text)


def xbug(ctx, text: Fmt) -> int:
    """xbug(format)"""
    return _emit(ctx, L_BUG, text)


def xcrit(ctx, text: Fmt) -> int:
    """xcrit(format)"""
    return _emit(ctx, L_CRIT, text)


def xalert(ctx, text: Fmt) -> int:
    """xalert(format)"""
    return _emit(ctx, L_ALERT, text)
