# SPDX-License-Identifier: GPL-2.0-or-later
"""Operators of the config language at run time, with Kamailio's typing.

The compiled code calls these only where the operand types are not known
at startup; an int literal against an int literal is compiled inline.
Kamailio's rule: the left operand decides the type of `+` and of the
comparisons (an int on the left compares as ints, a string as strings).
"""

from .pv import to_int, to_str
from .regex import compile_posix


def truth(v) -> bool:
    """An expression's value in `if`: ints by value, strings as numbers."""
    if v is None:
        return False
    if isinstance(v, int):
        return v != 0
    return to_int(v) != 0


def eq(a, b) -> bool:
    if a is None or b is None:
        if a is None and b is None:
            return True
        other = b if a is None else a
        return other == ""
    if isinstance(a, int):
        return a == to_int(b)
    return a == to_str(b)


def ne(a, b) -> bool:
    return not eq(a, b)


def _pair(a, b):
    if isinstance(a, int):
        return a, to_int(b)
    if a is None and isinstance(b, int):
        return 0, b
    return to_str(a), to_str(b)


def lt(a, b):
    x, y = _pair(a, b)
    return x < y


def gt(a, b):
    x, y = _pair(a, b)
    return x > y


def le(a, b):
    x, y = _pair(a, b)
    return x <= y


def ge(a, b):
    x, y = _pair(a, b)
    return x >= y


def add(a, b):
    if isinstance(a, int) or (a is None and isinstance(b, int)):
        return to_int(a) + to_int(b)
    return to_str(a) + to_str(b)


def sub(a, b):
    return to_int(a) - to_int(b)


def mul(a, b):
    return to_int(a) * to_int(b)


def div(a, b):
    b = to_int(b)
    if b == 0:
        return 0
    a = to_int(a)
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def mod(a, b):
    b = to_int(b)
    if b == 0:
        return 0
    a = to_int(a)
    return a - b * div(a, b)


def streq(a, b):
    return to_str(a) == to_str(b)


def inteq(a, b):
    return to_int(a) == to_int(b)


def match(a, pattern) -> bool:
    """`a =~ pattern` with a pattern known only at run time."""
    try:
        rx = compile_posix(to_str(pattern))
    except Exception:
        return False
    return rx.search(to_str(a)) is not None


def strlen(v) -> int:
    return len(to_str(v))


def strempty(v) -> bool:
    return to_str(v) == ""


def fmt_value(v) -> str:
    """How a PV prints inside a format string: Kamailio's "<null>"."""
    if v is None:
        return "<null>"
    if isinstance(v, str):
        return v
    return str(v)
