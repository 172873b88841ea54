# SPDX-License-Identifier: GPL-2.0-or-later
"""POSIX extended regular expressions, as Kamailio's configs use them.

Kamailio compiles with glibc's regcomp(REG_EXTENDED); `=~` also uses
REG_ICASE.  We translate the POSIX/GNU syntax to Python's `re` once, at
startup: bracket classes ([[:digit:]]), GNU word escapes (\\w \\s \\b \\< \\>),
and a backslash before any other letter or digit, which glibc reads as the
character itself (so "\\d" matches "d" there, and here too).
"""

import re

_CLASSES = {
    "alpha": "a-zA-Z", "digit": "0-9", "alnum": "a-zA-Z0-9", "upper": "A-Z",
    "lower": "a-z", "space": r" \t\n\r\f\v", "blank": r" \t", "xdigit": "0-9A-Fa-f",
    "punct": r"!-/:-@\[-`{-~", "print": r" -~", "graph": r"!-~", "cntrl": r"\x00-\x1f\x7f",
    "word": "a-zA-Z0-9_",
}
_GNU_KEEP = set("wWsSbB")


def translate(pattern: str) -> str:
    """POSIX ERE (with GNU extensions) → Python regex source."""
    out = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            d = pattern[i + 1]
            if d in _GNU_KEEP:
                out.append("\\" + d)
            elif d == "<":
                out.append(r"\b(?=\w)")
            elif d == ">":
                out.append(r"\b(?<=\w)")
            elif d.isalnum():
                out.append(re.escape(d))
            else:
                out.append("\\" + d)
            i += 2
        elif c == "[":
            j = i + 1
            buf = ["["]
            if j < n and pattern[j] == "^":
                buf.append("^")
                j += 1
            if j < n and pattern[j] == "]":
                buf.append(r"\]")
                j += 1
            while j < n and pattern[j] != "]":
                if pattern.startswith("[:", j):
                    k = pattern.find(":]", j + 2)
                    if k < 0:
                        raise re.error("unterminated character class")
                    name = pattern[j + 2:k]
                    if name not in _CLASSES:
                        raise re.error("unknown character class [:%s:]" % name)
                    buf.append(_CLASSES[name])
                    j = k + 2
                    continue
                ch = pattern[j]
                buf.append("\\\\" if ch == "\\" else ("\\[" if ch == "[" else ch))
                j += 1
            if j >= n:
                raise re.error("unterminated [")
            buf.append("]")
            out.append("".join(buf))
            i = j + 1
        elif c == "{" and not re.match(r"\{\d*(,\d*)?\}", pattern[i:]):
            out.append(r"\{")
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


_CACHE = {}


def compile_posix(pattern: str, icase: bool = True, flags: int = 0):
    """Compile once; raises re.error with a readable message."""
    key = (pattern, icase, flags)
    rx = _CACHE.get(key)
    if rx is None:
        rx = re.compile(translate(pattern), flags | (re.I if icase else 0) | re.S)
        if len(_CACHE) < 2048:
            _CACHE[key] = rx
    return rx


# --- sed-like substitutions: /re/repl/flags ---------------------------------------------

def newline_safe(src: str) -> str:
    """Make every negated bracket of a translated pattern exclude "\\n", which
    is what regcomp's REG_NEWLINE does and Python's re has no flag for."""
    out = []
    i = 0
    n = len(src)
    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n:
            out.append(src[i:i + 2])
            i += 2
        elif c == "[":
            j = i + 1
            if j < n and src[j] == "^":
                out.append("[^\\n")
                j += 1
            else:
                out.append("[")
            while j < n and src[j] != "]":
                if src[j] == "\\" and j + 1 < n:
                    out.append(src[j:j + 2])
                    j += 2
                else:
                    out.append(src[j])
                    j += 1
            out.append("]")
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


class Subst:
    """One `/re/repl/flags` over text: the regex (POSIX ERE, REG_NEWLINE
    unless flag s, REG_ICASE with flag i), the replacement as pieces (text,
    a group number, or a PV spec), and whether flag g replaces every match."""

    __slots__ = ("rx", "pieces", "glob")

    def __init__(self, rx, pieces, glob):
        self.rx = rx
        self.pieces = pieces
        self.glob = glob

    def apply(self, text: str, pv_value=None) -> str:
        """The text with the (first, or every) non-empty match replaced;
        pv_value(spec) gives the text of a PV of the replacement."""
        out = []
        last = 0
        for m in self.rx.finditer(text):
            if m.end() == m.start():
                continue
            out.append(text[last:m.start()])
            for p in self.pieces:
                if p.__class__ is str:
                    out.append(p)
                elif p.__class__ is int:
                    out.append(m.group(p) or "")
                else:
                    out.append(pv_value(p) if pv_value is not None else "")
            last = m.end()
            if not self.glob:
                break
        if not out:
            return text
        out.append(text[last:])
        return "".join(out)


def split_subst(expr: str):
    """`/re/repl/flags` with any separator -> (re, repl, flags); ValueError."""
    if len(expr) < 3:
        raise ValueError("expression too short")
    sep = expr[0]
    if sep == "\\" or sep.isalnum() or sep.isspace():
        raise ValueError("bad separator %r" % sep)
    parts, cur = [], []
    i, n = 1, len(expr)
    while i < n and len(parts) < 2:
        c = expr[i]
        if c == "\\" and i + 1 < n:
            cur.append(sep if expr[i + 1] == sep and not parts else expr[i:i + 2])
            i += 2
            continue
        if c == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    if len(parts) < 2:
        raise ValueError("missing separator %r" % sep)
    return parts[0], parts[1], expr[i:]


def _subst_pieces(repl: str, pos, parse_pv):
    pieces, lit = [], []
    i, n = 0, len(repl)
    while i < n:
        c = repl[i]
        if c == "\\" and i + 1 < n:
            d = repl[i + 1]
            i += 2
            if d.isdigit() and d.isascii():
                if lit:
                    pieces.append("".join(lit))
                    lit = []
                pieces.append(int(d))
            else:
                lit.append({"n": "\n", "r": "\r", "t": "\t"}.get(d, d))
            continue
        if c == "$" and parse_pv is not None:
            try:
                spec, e = parse_pv(repl, i, pos)
            except Exception:
                spec = None
            if spec is not None:
                if lit:
                    pieces.append("".join(lit))
                    lit = []
                pieces.append(spec)
                i = e
                continue
        lit.append(c)
        i += 1
    if lit:
        pieces.append("".join(lit))
    return pieces


_SUBST_CACHE = {}


def compile_subst(expr: str, pos=None) -> Subst:
    """Parse and compile `/re/repl/flags` once; raises ValueError or re.error."""
    s = _SUBST_CACHE.get(expr)
    if s is not None:
        return s
    from .pvparse import parse_pv
    rex, repl, flags = split_subst(expr)
    icase = glob = False
    newline = True
    for f in flags:
        if f == "i":
            icase = True
        elif f == "g":
            glob = True
        elif f == "s":
            newline = False
        else:
            raise ValueError("unknown flag %r" % f)
    src = translate(rex)
    rx = re.compile(newline_safe(src) if newline else src,
                    (re.M if newline else re.S) | (re.I if icase else 0))
    pieces = _subst_pieces(repl, pos, parse_pv)
    refs = [p for p in pieces if p.__class__ is int]
    if refs and max(refs) > rx.groups:
        raise ValueError("\\%d refers to a group the expression does not have" % max(refs))
    s = Subst(rx, pieces, glob)
    if len(_SUBST_CACHE) < 1024:
        _SUBST_CACHE[expr] = s
    return s
