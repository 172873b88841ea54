# SPDX-License-Identifier: GPL-2.0-or-later
"""The compiler's inline code for the common shapes of a route.

A route reads PVs, compares them with literals and does small arithmetic on
every run.  Written as calls of the generic operators (runtime_ops) each of
those costs a few Python calls; written inline with a type test they cost a
few bytecodes, and the generic operator still handles every other type, so
the result is Kamailio's for any value.  PVs say what they give (PV.kind):
"strn" (a str or $null), "val" (an int or a str), "any".
"""

from . import ast as A
from .pv import ConstPV
from .pv_core import MsgPV, VarPV


class InlineCode:
    """Mixed into the Compiler: needs bind(), tmp(), in_route and msg_sure."""

    def pv_read(self, pv):
        """(code, kind) reading a resolved PV: $var straight from the route's
        dict, constants as literals, others through their getter."""
        t = type(pv)
        if t is VarPV and self.in_route:
            return "_v.get(%r, 0)" % pv.name, "val"
        if t is ConstPV:
            v = pv.value
            if type(v) is int:
                return repr(v), "int"
            if type(v) is str:
                return repr(v), "str"
        get = "%s(ctx)" % self.bind(pv.getter(), "_get")
        memo = getattr(pv, "memo", None) if isinstance(pv, MsgPV) else None
        if memo is not None and self.msg_sure and self.in_route:
            # the value kept in the message (pv_core._memo): a dict read, no call
            t = self.tmp()
            if memo[0] == "msg":
                return ("(%s if (%s := ctx.msg._cache.get(%r, _MISS)) is not _MISS else %s)"
                        % (t, t, memo[1], get)), pv.kind
            m = self.tmp()
            return ("(%s[1] if (%s := (%s := ctx.msg)._cache.get(%r)) is not None and %s[0] is %s.ruri"
                    " else %s)" % (t, t, m, memo[1], t, m, get)), pv.kind
        return get, pv.kind

    def as_str(self, src, kind) -> str:
        """Code converting a value to a string as Kamailio does ($null is "")."""
        if kind == "str":
            return src
        if kind == "strn":
            return "(%s or '')" % src
        if kind == "val":
            t = self.tmp()
            return "(%s if (%s := %s).__class__ is str else _to_str(%s))" % (t, t, src, t)
        return "_to_str(%s)" % src

    _CMP_FN = {"==": "_eq", "!=": "_ne", "<": "_ops.lt", ">": "_ops.gt",
               "<=": "_ops.le", ">=": "_ops.ge"}

    def fast_cmp(self, op, ls, lk, right):
        """Inline code for `value op literal` (the usual shape of a condition)
        with Kamailio's typing kept: a type test picks the plain Python
        comparison, anything unusual goes to the generic function."""
        fn = self._CMP_FN[op]
        if isinstance(right, A.IntLit):
            k = right.value
            if lk == "strn" and op in ("==", "!="):
                return "(%s %s %r)" % (ls, op, str(k))   # a string compares as a string; $null never equals
            if lk in ("val", "any"):
                t = self.tmp()
                return "(%s %s %r if (%s := %s).__class__ is int else %s(%s, %r))" % (
                    t, op, k, t, ls, fn, t, k)
            return None
        if isinstance(right, A.StrLit) and right.value and op in ("==", "!="):
            s = right.value
            if lk == "strn":
                return "(%s %s %r)" % (ls, op, s)
            if lk in ("val", "any"):
                t = self.tmp()
                return "(%s %s %r if (%s := %s).__class__ is str else %s(%s, %r))" % (
                    t, op, s, t, ls, fn, t, s)
        return None

    def fast_arith(self, op, ls, lk, right):
        """`value + 1`, `value - 1`, `value * 3` inline for an int, generic otherwise."""
        if not isinstance(right, A.IntLit) or lk not in ("val", "any"):
            return None
        fn = {"+": "_ops.add", "-": "_ops.sub", "*": "_ops.mul"}[op]
        t = self.tmp()
        return "(%s %s %r if (%s := %s).__class__ is int else %s(%s, %r))" % (
            t, op, right.value, t, ls, fn, t, right.value)
