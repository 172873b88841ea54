# SPDX-License-Identifier: GPL-2.0-or-later
"""POSIX regular expressions with the regcomp() flags textops uses, and the
sed-like `/re/repl/flags` expressions of subst().

Kamailio compiles the regex parameters of search/replace/remove_hf_re with
REG_EXTENDED|REG_ICASE|REG_NEWLINE, and subst() expressions with
REG_EXTENDED|REG_NEWLINE (flag `i` adds REG_ICASE, flag `s` drops
REG_NEWLINE).  REG_NEWLINE means: `.` and a negated bracket never match a
newline, and `^`/`$` match at line boundaries.  The translation of the POSIX
syntax itself is the core's (kampy.script.regex).
"""

import re

from kampy.script.ast import ConfigError
from kampy.script.pvparse import parse_pv
from kampy.script.pv import b2s, s2b, to_str
from kampy.script.regex import newline_safe, split_subst, translate

_CACHE = {}


_newline_safe = newline_safe   # the core's: one translation of REG_NEWLINE brackets


def ere(pattern: str, icase: bool = True, newline: bool = True, text: bool = False):
    """Compile a POSIX ERE once.  Patterns work on bytes (the message) unless
    `text` asks for one that works on str (script values).  Raises re.error."""
    key = (pattern, icase, newline, text)
    rx = _CACHE.get(key)
    if rx is None:
        src = translate(pattern)
        flags = re.M if newline else re.S
        if newline:
            src = _newline_safe(src)
        if icase:
            flags |= re.I
        rx = re.compile(src if text else s2b(src), flags)
        if len(_CACHE) < 4096:
            _CACHE[key] = rx
    return rx


def arg_text(a) -> str:
    """The text of a constant argument node (a string or a number)."""
    return str(a.value)


def regex_fixup(fname: str, *indexes, icase=True, newline=True, text=False):
    """A Func.fixup that compiles the constant regex arguments at startup, so
    a bad one is a config error with its position, as in Kamailio."""
    def fixup(args, pos):
        for i in indexes:
            a = args[i]
            try:
                ere(arg_text(a), icase, newline, text)
            except re.error as e:
                raise ConfigError(a.pos, "%s: bad regular expression %r: %s"
                                  % (fname, arg_text(a), e)) from None
        return args
    return fixup


# --- subst expressions --------------------------------------------------------------

class Subst:
    """One parsed `/re/repl/flags`: the compiled regex, the replacement as
    pieces (literal bytes, group number, "uri", or a PV spec), the g flag."""

    __slots__ = ("rx", "pieces", "glob", "_resolved")

    def __init__(self, rx, pieces, glob):
        self.rx = rx
        self.pieces = pieces
        self.glob = glob
        self._resolved = None

    def _parts(self, ctx):
        """Pieces with PV specs resolved against the running config (once)."""
        reg = ctx.rt.script.registry
        r = self._resolved
        if r is None or r[0] is not reg:
            parts = []
            for p in self.pieces:
                parts.append(reg.resolve(p) if not isinstance(p, (bytes, int, str)) else p)
            r = self._resolved = (reg, parts)
        return r[1]

    def expand(self, ctx, m) -> bytes:
        """The replacement for match m (bytes)."""
        out = []
        for p in self._parts(ctx):
            if isinstance(p, bytes):
                out.append(p)
            elif isinstance(p, int):
                out.append(m.group(p) or b"")
            elif p == "uri":
                out.append(ctx.msg.ruri or b"" if ctx.msg.is_request else b"")
            else:
                out.append(s2b(to_str(p.get(ctx))))
        return b"".join(out)

    def matches(self, data: bytes) -> list:
        """Non-empty matches (the first, or all with g)."""
        out = []
        for m in self.rx.finditer(data):
            if m.end() == m.start():
                continue
            out.append(m)
            if not self.glob:
                break
        return out

    def apply(self, ctx, data: bytes):
        """(new bytes, number of replacements)."""
        ms = self.matches(data)
        if not ms:
            return data, 0
        out = []
        last = 0
        for m in ms:
            out.append(data[last:m.start()])
            out.append(self.expand(ctx, m))
            last = m.end()
        out.append(data[last:])
        return b"".join(out), len(ms)


_SUBST_CACHE = {}


def _split(expr: str):
    """`/re/repl/flags` (any separator) -> (re, repl, flags, separator); ValueError."""
    return split_subst(expr) + (expr[0],)


def _repl_pieces(repl: str, sep: str, pos):
    pieces = []
    lit = []

    def flush():
        if lit:
            pieces.append(s2b("".join(lit)))
            lit.clear()

    i = 0
    n = len(repl)
    while i < n:
        c = repl[i]
        if c == "\\" and i + 1 < n:
            d = repl[i + 1]
            i += 2
            if d.isdigit() and d.isascii():
                flush()
                pieces.append(int(d))
            elif d == "u":
                flush()
                pieces.append("uri")
            elif d == "n":
                lit.append("\n")
            elif d == "r":
                lit.append("\r")
            elif d == "t":
                lit.append("\t")
            else:                           # \\, \$, \<sep> and the rest
                lit.append(d)
            continue
        if c == "$":
            try:
                spec, e = parse_pv(repl, i, pos)
            except ConfigError:
                spec = None
            if spec is not None:
                flush()
                pieces.append(spec)
                i = e
                continue
        lit.append(c)
        i += 1
    flush()
    return pieces


def parse_subst(expr: str, pos=None) -> Subst:
    """Parse and compile once; raises ValueError or re.error."""
    s = _SUBST_CACHE.get(expr)
    if s is not None:
        return s
    rex, repl, flags, sep = _split(expr)
    icase = False
    newline = True
    glob = False
    for f in flags:
        if f == "i":
            icase = True
        elif f == "g":
            glob = True
        elif f == "s":
            newline = False
        else:
            raise ValueError("unknown flag %r" % f)
    rx = ere(rex, icase, newline)
    pieces = _repl_pieces(repl, sep, pos)
    refs = [p for p in pieces if isinstance(p, int)]
    if refs and max(refs) > rx.groups:
        raise ValueError("\\%d refers to a group the expression does not have" % max(refs))
    s = Subst(rx, pieces, glob)
    if len(_SUBST_CACHE) < 4096:
        _SUBST_CACHE[expr] = s
    return s


def subst_fixup(fname: str, index: int = 0):
    """A Func.fixup checking a constant subst expression at startup."""
    def fixup(args, pos):
        a = args[index]
        try:
            parse_subst(arg_text(a), a.pos)
        except (ValueError, re.error) as e:
            raise ConfigError(a.pos, "%s: bad substitution expression %r: %s"
                              % (fname, arg_text(a), e)) from None
        return args
    return fixup


def text_of(b) -> str:
    return b2s(b) if isinstance(b, bytes) else b
