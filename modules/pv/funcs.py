# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests on variables, unsetting them, and xavp helpers."""

import re

from kampy.module import Fmt, IntV, PVR, PVW, Str
from kampy.script.ast import ConfigError
from kampy.script.pv import to_str

_INT_RE = re.compile(r"[+-]?[0-9]+\Z")


def pv_isset(ctx, pv: PVR) -> int:
    """pv_isset(pvar): the variable has a value ($null is no value)"""
    return -1 if pv.get(ctx) is None else 1


def pv_unset(ctx, pv: PVW) -> int:
    """pv_unset(pvar): like assigning $null"""
    pv.unset(ctx)
    return 1


def is_int(ctx, pv: PVR) -> int:
    """is_int(pvar): an integer value (or a string holding only one)"""
    v = pv.get(ctx)
    if isinstance(v, int):
        return 1
    return 1 if isinstance(v, str) and _INT_RE.match(v.strip() if v else "") else -1


def type_fixup(args, pos):
    a = args[1]
    if str(a.value).strip().lower()[:1] not in ("i", "s", "n"):
        raise ConfigError(a.pos, "typeof: unknown type %r (int, str or null)" % a.value)
    return args


def typeof(ctx, pv: PVR, vtype: Str) -> int:
    """typeof(pvar, vtype): vtype is int, str or null (the first letter is enough)"""
    v = pv.get(ctx)
    t = vtype[:1].lower()
    if t == "n":
        return 1 if v is None else -1
    if t == "i":
        return 1 if isinstance(v, int) else -1
    if t == "s":
        return 1 if isinstance(v, str) else -1
    return -1


def not_empty(ctx, pv: PVR) -> int:
    """not_empty(pvar): a string value that is not empty"""
    v = pv.get(ctx)
    return 1 if isinstance(v, str) and v else -1


# --- xavp helpers --------------------------------------------------------------------------

def xavp_params_explode(ctx, sparams: Fmt, xname: Fmt) -> int:
    """xavp_params_explode(sparams, xname): "a=1;b=2" becomes a new item of
    $xavp(xname) with fields a and b (the values as strings)"""
    item = {}
    for p in sparams.split(";"):
        p = p.strip()
        if not p:
            continue
        name, _eq, val = p.partition("=")
        name = name.strip()
        if not name:
            continue
        item.setdefault(name, []).insert(0, val.strip())
    if not item:
        return -1
    ctx.xavps.setdefault(xname, []).insert(0, item)
    return 1


def xavp_params_implode(ctx, xname: Fmt, opv: PVW) -> int:
    """xavp_params_implode(xname, opv): item 0 of $xavp(xname) as "a=1;b=2"
    (fields in the order they were added)"""
    items = ctx.xavps.get(xname)
    if not items:
        return -1
    parts = []
    for name, vals in items[0].items():
        for v in vals:
            parts.append("%s=%s" % (name, to_str(v)))
    opv.set(ctx, ";".join(parts))
    return 1


def xavp_rm(ctx, xname: Fmt) -> int:
    """xavp_rm(rname): remove every item of $xavp(rname)"""
    return 1 if ctx.xavps.pop(xname, None) is not None else -1


def xavp_rm_child(ctx, xname: Fmt, cname: Fmt) -> int:
    """xavp_rm_child(rname, cname): remove field cname of item 0"""
    items = ctx.xavps.get(xname)
    if not items or cname not in items[0]:
        return -1
    del items[0][cname]
    return 1


def _child_set(ctx, xname, cname, value) -> int:
    items = ctx.xavps.get(xname)
    if not items:
        ctx.xavps[xname] = [{cname: [value]}]
        return 1
    vals = items[0].get(cname)
    if vals:
        vals[0] = value
    else:
        items[0][cname] = [value]
    return 1


def xavp_child_seti(ctx, xname: Fmt, cname: Fmt, ival: IntV) -> int:
    """xavp_child_seti(rname, cname, ival): set (or add) field cname of item 0"""
    return _child_set(ctx, xname, cname, ival)


def xavp_child_sets(ctx, xname: Fmt, cname: Fmt, sval: Fmt) -> int:
    """xavp_child_sets(rname, cname, sval)"""
    return _child_set(ctx, xname, cname, sval)
