# SPDX-License-Identifier: GPL-2.0-or-later
"""Script counters: declared with script_counter, changed from the script,
read with the cnt.* / stats RPCs (as "group:name" in kampy's counter table)."""

import re

from kampy.module import IntV, Param, ParamValues, Str
from kampy.script.ast import ConfigError

_NAME_RE = re.compile(r"\s*(?:([A-Za-z0-9_\-]+)\.)?([A-Za-z0-9_\-]+)(?:[\s:]+(.*))?\Z", re.S)


def parse_decl(text: str, default_group: str):
    """"[grp.]name[ description]" (a ":" may separate the description) ->
    (group, name, description); ValueError otherwise."""
    m = _NAME_RE.match(text)
    if m is None:
        raise ValueError("bad counter %r: expected [group.]name[ description]" % text)
    grp, name, desc = m.groups()
    return grp or default_group, name, (desc or "").strip()


def _check_decl(v):
    parse_decl(v, "script")
    return v


P = ParamValues([
    Param("script_counter", str, multi=True, check=_check_decl,
          doc="[group.]name[ description]: a counter for the script"),
    Param("script_cnt_grp_name", str, "script", doc="group of counters declared without one"),
])


def declared():
    """{(group, name): description} of the script counters."""
    out = {}
    for text in P.script_counter:
        g, n, d = parse_decl(text, P.script_cnt_grp_name)
        out[(g, n)] = d
    return out


def key_of(ref: str) -> str:
    """"grp.name" or "name" (script group) -> "grp:name"."""
    ref = ref.strip()
    if "." in ref:
        g, _, n = ref.partition(".")
        return "%s:%s" % (g, n)
    return "%s:%s" % (P.script_cnt_grp_name, ref)


def counter_fixup(fname):
    """A counter without a group must be declared with script_counter (Kamailio
    resolves counters at startup); one with a group may belong to a module."""
    def fixup(args, pos):
        a = args[0]
        ref = str(a.value).strip()
        if not ref or not re.fullmatch(r"(?:[A-Za-z0-9_\-]+\.)?[A-Za-z0-9_\-]+", ref):
            raise ConfigError(a.pos, "%s: bad counter name %r" % (fname, ref))
        if "." not in ref and (P.script_cnt_grp_name, ref) not in declared():
            raise ConfigError(a.pos, "%s: counter %r is not declared (modparam script_counter)"
                              % (fname, ref))
        return args
    return fixup


def mod_init(rt):
    """The declared counters exist (at 0) from the start."""
    for (g, n) in declared():
        rt.counters.declare("%s:%s" % (g, n))


def cnt_inc(ctx, name: Str) -> int:
    """cnt_inc([group.]name)"""
    ctx.rt.count(key_of(name), 1)
    return 1


def cnt_add(ctx, name: Str, n: IntV) -> int:
    """cnt_add([group.]name, number)"""
    ctx.rt.count(key_of(name), n)
    return 1


def cnt_reset(ctx, name: Str) -> int:
    """cnt_reset([group.]name)"""
    ctx.rt.counters.reset(key_of(name))
    return 1
