# SPDX-License-Identifier: GPL-2.0-or-later
"""{re.subst,/re/repl/flags}: sed-like substitution on a value.

As in Kamailio's pv module: the expression is POSIX ERE with REG_NEWLINE
(flag `s` drops it), `i` ignores case, `g` replaces every match; `\\1`..`\\9`
in the replacement are groups and PVs there are read per message.  The
expression may be a PV (compiled per message, cached by text), where `\\{` and
`\\}` stand for braces.  No match leaves the value as it is; $null stays
$null; an empty or non-string value, or a bad expression read from a PV,
gives $null (Kamailio logs an error and the PV becomes $null).
"""

import re

from .ast import ConfigError
from .pv import to_str
from .regex import compile_subst


def _unbrace(text: str) -> str:
    return text.replace("\\{", "{").replace("\\}", "}")


def re_subst(args, pos, resolve=None):
    """Factory of {re.subst,expression}."""
    if len(args) != 1:
        raise ConfigError(pos, "transformation {re.subst} takes 1 argument (/re/repl/flags), got %d"
                          % len(args))
    arg = args[0]
    resolved = {}

    def pv_value(spec):
        pv = resolved.get(id(spec))
        if pv is None:
            pv = resolved[id(spec)] = resolve(spec)
        return pv

    if isinstance(arg, str):
        try:
            sub = compile_subst(_unbrace(arg), pos)
        except (ValueError, re.error) as e:
            raise ConfigError(pos, "transformation {re.subst}: bad expression %r: %s" % (arg, e)) from None
        # PVs of the replacement resolve now, so an unknown one is a startup error
        for p in sub.pieces:
            if not isinstance(p, (str, int)):
                if resolve is None:
                    raise ConfigError(pos, "transformation {re.subst}: no PVs here")
                pv_value(p)

        def fn(value, ctx):
            if value is None:
                return None
            text = to_str(value)
            if not text:
                return None
            return sub.apply(text, lambda spec: to_str(resolved[id(spec)].get(ctx)))
        return fn

    def fn_pv(value, ctx):
        if value is None:
            return None
        text = to_str(value)
        expr = arg.get(ctx)
        if not text or not isinstance(expr, str) or not expr:
            return None
        try:
            sub = compile_subst(_unbrace(expr))
            return sub.apply(text, lambda spec: to_str(pv_value(spec).get(ctx)))
        except (ValueError, re.error, ConfigError):
            return None
    return fn_pv


re_subst.resolving = True   # Registry.resolve passes its resolver (PVs in the replacement)

TRANSFORMS = {"re.subst": re_subst}
