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
