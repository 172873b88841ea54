# SPDX-License-Identifier: GPL-2.0-or-later
"""shvset / varset: initial values of $shv and $var, set before the workers start."""

from kampy.module import Param, ParamValues


def parse_assignment(text: str):
    """"name=i:10" or "name=s:text" -> (name, value); ValueError otherwise."""
    name, eq, rest = text.partition("=")
    name = name.strip()
    if not eq or not name:
        raise ValueError("expected name=i:number or name=s:text, not %r" % text)
    kind, colon, value = rest.partition(":")
    kind = kind.strip().lower()
    if not colon or kind not in ("i", "s"):
        raise ValueError("expected name=i:number or name=s:text, not %r" % text)
    if kind == "i":
        try:
            return name, int(value.strip(), 0)
        except ValueError:
            raise ValueError("%r: %r is not an integer" % (text, value)) from None
    return name, value


def check_assignment(text):
    parse_assignment(text)
    return text


def make_params(*extra):
    return ParamValues([
        Param("shvset", str, multi=True, check=check_assignment, doc="name=i:1 or name=s:text"),
        Param("varset", str, multi=True, check=check_assignment, doc="name=i:1 or name=s:text"),
        *extra,
    ])


def apply(rt, P):
    """Give $shv and $var their configured start values (mod_init)."""
    for text in P.shvset:
        name, value = parse_assignment(text)
        rt.shv.set(name, value)
    for text in P.varset:
        name, value = parse_assignment(text)
        rt.vars[name] = value
